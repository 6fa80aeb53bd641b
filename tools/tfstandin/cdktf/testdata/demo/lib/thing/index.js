"use strict";
const structs0_1 = require("./index-structs/structs0");
function demoThingBuildToHclTerraform(struct) {
    const attrs = {
        step: {
            value: cdktf.stringToHclTerraform(struct.step),
            isBlock: false,
            type: "simple",
            storageClassType: "string",
        },
    };
    return attrs;
}
class DemoThingBuildOutputReference extends cdktf.ComplexObject {
    get step() {
        return this.getStringAttribute('step');
    }
    get stepInput() {
        return this._step;
    }
    get digest() {
        return this.getStringAttribute('digest');
    }
}
exports.DemoThingBuildOutputReference = DemoThingBuildOutputReference;
function demoThingTimeoutsToHclTerraform(struct) {
    const attrs = {
        create: {
            value: cdktf.stringToHclTerraform(struct.create),
            isBlock: false,
            type: "simple",
            storageClassType: "string",
        },
    };
    return attrs;
}
class DemoThing extends cdktf.TerraformResource {
    static generateConfigForImport(scope, importToId, importFromId, provider) {
        return new cdktf.ImportableResource(scope, importToId, { terraformResourceType: "demo_thing", importId: importFromId, provider });
    }
    constructor(scope, id, config) {
        super(scope, id, {
            terraformResourceType: 'demo_thing',
        });
        this._effectiveLabels = new cdktf.StringMap(this, "effective_labels");
        this._build = new DemoThingBuildOutputReference(this, "build");
        this._rule = new DemoThingRuleList(this, "rule", true);
        this._status = new structs0_1.DemoThingStatusList(this, "status", false);
        this._name = config.name;
        this._build.internalValue = config.buildAttribute;
    }
    get name() {
        return this.getStringAttribute('name');
    }
    get nameInput() {
        return this._name;
    }
    get effectiveLabels() {
        return this._effectiveLabels;
    }
    get selfLink() {
        return this.getStringAttribute('self_link');
    }
    get zones() {
        return cdktf.Fn.tolist(this.getListAttribute('zones'));
    }
    get buildAttribute() {
        return this._build;
    }
    get buildAttributeInput() {
        return this._build.internalValue;
    }
    get status() {
        return this._status;
    }
    synthesizeHclAttributes() {
        const attrs = {
            name: {
                value: cdktf.stringToHclTerraform(this._name),
                isBlock: false,
                type: "simple",
                storageClassType: "string",
            },
            labels: {
                value: cdktf.hashMapperHcl(cdktf.stringToHclTerraform)(this._labels),
                isBlock: false,
                type: "map",
                storageClassType: "stringMap",
            },
            tags: {
                value: cdktf.listMapperHcl(cdktf.stringToHclTerraform, false)(this._tags),
                isBlock: false,
                type: "set",
                storageClassType: "stringList",
            },
            build: {
                value: demoThingBuildToHclTerraform(this._build.internalValue),
                isBlock: true,
                type: "list",
                storageClassType: "DemoThingBuildList",
            },
            rule: {
                value: cdktf.listMapperHcl(structs0_1.demoThingRuleToHclTerraform, true)(this._rule.internalValue),
                isBlock: true,
                type: "set",
                storageClassType: "DemoThingRuleList",
            },
            timeouts: {
                value: demoThingTimeoutsToHclTerraform(this._timeouts.internalValue),
                isBlock: true,
                type: "struct",
                storageClassType: "DemoThingTimeouts",
            },
        };
        return attrs;
    }
}
exports.DemoThing = DemoThing;

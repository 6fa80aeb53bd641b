"use strict";
function demoThingRuleActionToHclTerraform(struct) {
    const attrs = {
        kind: {
            value: cdktf.stringToHclTerraform(struct.kind),
            isBlock: false,
            type: "simple",
            storageClassType: "string",
        },
    };
    return attrs;
}
function demoThingRuleToHclTerraform(struct) {
    const attrs = {
        priority: {
            value: cdktf.numberToHclTerraform(struct.priority),
            isBlock: false,
            type: "simple",
            storageClassType: "number",
        },
        action: {
            value: demoThingRuleActionToHclTerraform(struct.action),
            isBlock: true,
            type: "list",
            storageClassType: "DemoThingRuleActionList",
        },
    };
    return attrs;
}
class DemoThingRuleOutputReference extends cdktf.ComplexObject {
    constructor(terraformResource, terraformAttribute, complexObjectIndex, complexObjectIsFromSet) {
        super(terraformResource, terraformAttribute, complexObjectIsFromSet, complexObjectIndex);
        this._action = new DemoThingRuleActionOutputReference(this, "action");
    }
    get priority() {
        return this.getNumberAttribute('priority');
    }
    get action() {
        return this._action;
    }
}
exports.DemoThingRuleOutputReference = DemoThingRuleOutputReference;
class DemoThingStatusOutputReference extends cdktf.ComplexObject {
    get state() {
        return this.getStringAttribute('state');
    }
    get ports() {
        return this.getNumberListAttribute('ports');
    }
}
exports.DemoThingStatusOutputReference = DemoThingStatusOutputReference;
class DemoThingStatusList extends cdktf.ComplexList {
    get(index) {
        return new DemoThingStatusOutputReference(this.terraformResource, this.terraformAttribute, index, this.wrapsSet);
    }
}
exports.DemoThingStatusList = DemoThingStatusList;

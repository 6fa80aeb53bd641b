"use strict";
function demoProviderRetryToHclTerraform(struct) {
    const attrs = {
        attempts: {
            value: cdktf.numberToHclTerraform(struct.attempts),
            isBlock: false,
            type: "simple",
            storageClassType: "number",
        },
    };
    return attrs;
}
class DemoProvider extends cdktf.TerraformProvider {
    constructor(scope, id, config) {
        super(scope, id, {
            terraformResourceType: 'demo',
        });
        this._alias = config.alias;
        this._project = config.project;
    }
    get project() {
        return this._project;
    }
    synthesizeHclAttributes() {
        const attrs = {
            alias: {
                value: cdktf.stringToHclTerraform(this._alias),
                isBlock: false,
                type: "simple",
                storageClassType: "string",
            },
            project: {
                value: cdktf.stringToHclTerraform(this._project),
                isBlock: false,
                type: "simple",
                storageClassType: "string",
            },
            token: {
                value: cdktf.stringToHclTerraform(this._token),
                isBlock: false,
                type: "simple",
                storageClassType: "string",
            },
            retry: {
                value: cdktf.listMapperHcl(demoProviderRetryToHclTerraform, true)(this._retry),
                isBlock: true,
                type: "list",
                storageClassType: "DemoProviderRetryList",
            },
        };
        return attrs;
    }
}
exports.DemoProvider = DemoProvider;

"use strict";
class DataDemoInfo extends cdktf.TerraformDataSource {
    constructor(scope, id, config = {}) {
        super(scope, id, {
            terraformResourceType: 'demo_info',
        });
        this._id = config.id;
    }
    get email() {
        return this.getStringAttribute('email');
    }
    get id() {
        return this.getStringAttribute('id');
    }
    synthesizeHclAttributes() {
        const attrs = {
            id: {
                value: cdktf.stringToHclTerraform(this._id),
                isBlock: false,
                type: "simple",
                storageClassType: "string",
            },
        };
        return attrs;
    }
}
exports.DataDemoInfo = DataDemoInfo;

export interface DataDemoInfoConfig extends cdktf.TerraformMetaArguments {
    readonly id?: string;
}

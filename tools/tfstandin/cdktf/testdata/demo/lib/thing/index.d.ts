export interface DemoThingConfig extends cdktf.TerraformMetaArguments {
    readonly name: string;
    readonly labels?: {
        [key: string]: string;
    };
    readonly tags?: string[];
    readonly buildAttribute?: DemoThingBuild;
    readonly rule: DemoThingRule[] | cdktf.IResolvable;
    readonly timeouts?: DemoThingTimeouts;
}
export interface DemoThingBuild {
    readonly step: string;
}
export interface DemoThingTimeouts {
    readonly create?: string;
}

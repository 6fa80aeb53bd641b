export interface DemoProviderConfig {
    readonly alias?: string;
    readonly project?: string;
    readonly token: string;
    readonly retry?: DemoProviderRetry[] | cdktf.IResolvable;
}
export interface DemoProviderRetry {
    readonly attempts: number;
}

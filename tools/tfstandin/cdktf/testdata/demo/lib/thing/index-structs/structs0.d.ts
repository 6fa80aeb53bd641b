export interface DemoThingRule {
    readonly priority?: number;
    readonly action: DemoThingRuleAction;
}
export interface DemoThingRuleAction {
    readonly kind: string;
}

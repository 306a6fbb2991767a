export * as CooldownBoard from "./CooldownBoard.ts"
export * as RedisRouterState from "./RedisRouterState.ts"
export * as SharedLedger from "./SharedLedger.ts"
export * as SharedPins from "./SharedPins.ts"

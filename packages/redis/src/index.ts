export * as CooldownBoard from "./CooldownBoard.ts"
export * as RedisRouterState from "./RedisRouterState.ts"

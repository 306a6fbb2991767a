/**
 * @llm-router/core: the routing engine. Each module is re-exported as a namespace:
 * `import { Router, RouterConfig } from "@llm-router/core"` then `Router.layer(...)`.
 */
export * as Chat from "./Chat.ts"
export * as Cost from "./Cost.ts"
export * as Deadline from "./Deadline.ts"
export * as Deployment from "./Deployment.ts"
export * as LlmClient from "./LlmClient.ts"
export * as LlmError from "./LlmError.ts"
export * as ModelCatalog from "./ModelCatalog.ts"
export * as ProviderError from "./ProviderError.ts"
export * as ReasoningEffort from "./ReasoningEffort.ts"
export * as RouteInfo from "./RouteInfo.ts"
export * as Router from "./Router.ts"
export * as RouterConfig from "./RouterConfig.ts"
export * as RouterMetrics from "./RouterMetrics.ts"
export * as RouterState from "./RouterState.ts"
export * as RouterTracing from "./RouterTracing.ts"
export * as Scrub from "./Scrub.ts"
export * as SessionAffinity from "./SessionAffinity.ts"
export * as Strategy from "./Strategy.ts"
export * as StreamingHttp from "./StreamingHttp.ts"
export * as TokenEstimate from "./TokenEstimate.ts"

/**
 * @llm-router/server: the OpenAI-compatible HTTP gateway, its LiteLLM-style config file and
 * the `llm-router` command line. Each module is re-exported as a namespace.
 */
export * as ApiError from "./ApiError.ts"
export * as Auth from "./Auth.ts"
export * as Cli from "./Cli.ts"
export * as Gateway from "./Gateway.ts"
export * as GatewayConfig from "./GatewayConfig.ts"
export * as Providers from "./Providers.ts"
export * as RequestBody from "./RequestBody.ts"
export * as ResponseStore from "./ResponseStore.ts"
export * as RouteHeaders from "./RouteHeaders.ts"
export * as RoutingTable from "./RoutingTable.ts"
export * as SharedResponseStore from "./SharedResponseStore.ts"
export * as StartupError from "./StartupError.ts"
export * as Turn from "./Turn.ts"
export * as UndiciHttpClient from "./UndiciHttpClient.ts"
export * as UpstreamLog from "./UpstreamLog.ts"

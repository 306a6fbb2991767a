/**
 * @llm-router/providers: which adapter calls which deployment, for an Effect app that uses the
 * router as a library (core, the adapters and an `HttpClient` layer; no gateway, CLI or Redis):
 * `import { Providers } from "@llm-router/providers"` then `Providers.builtin.clientFor`.
 */
export * as ProviderEnvironment from "./ProviderEnvironment.ts"
export * as Providers from "./Providers.ts"

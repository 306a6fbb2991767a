/**
 * Model groups the gateway cannot serve at all: every deployment is on a provider LiteLLM
 * speaks and this gateway does not (Bedrock, Vertex AI, …; see `ProviderEnvironment`). A
 * request for one (or for an alias of one) is answered 501 at once, naming the provider,
 * without a call to the router: the deployments' cooldown would otherwise turn the second
 * request into a 429 with `Retry-After`, which SDKs retry for nothing.
 */
import type { LlmError } from "@llm-router/core"
import { Providers } from "@llm-router/providers"
import type { GatewayConfig } from "./GatewayConfig.ts"

/** The error to answer for a requested model name, or `undefined` when the router should take it. */
export const make = (config: GatewayConfig): (model: string) => LlmError.LlmError | undefined => {
  const refused = new Map<string, LlmError.LlmError>()
  if (config.unsupportedDeployments.length === 0) return () => undefined
  const unsupported = new Set(config.unsupportedDeployments.map((d) => d.id))
  const groups = new Set(config.router.deployments.map((d) => d.group))
  for (const group of groups) {
    const members = config.router.deployments.filter((d) => d.group === group)
    if (members.every((d) => unsupported.has(d.id))) refused.set(group, Providers.notSupported(members[0]!))
  }
  const { aliases } = config.router.settings
  return (model) => refused.get(aliases.get(model)?.group ?? model)
}

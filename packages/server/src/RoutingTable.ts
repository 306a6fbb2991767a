/**
 * The resolved routing table as `llm-router check` prints it: strategy and reliability
 * settings, each model group with its deployments, aliases, and every fallback chain.
 * Secrets are never printed (a key shows as set or not); base URLs lose any credentials
 * and query string.
 */
import { RedisRouterState } from "@llm-router/redis"
import { Complexity, ComplexityRouter, type Deployment } from "@llm-router/core"
import * as GatewayConfig from "./GatewayConfig.ts"

/** A base URL without user info or query (either may hold a credential). */
export const safeUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
  } catch {
    return "(not a URL)"
  }
}

const seconds = (ms: number) => `${ms / 1000}s`

const deploymentLine = (d: Deployment.Deployment, keySource: string | undefined, unsupported: boolean): string => {
  const parts = [
    `${d.id}`,
    `provider=${d.provider}${unsupported ? " (NOT SUPPORTED: answers 501)" : ""}`,
    `model=${d.model}`,
    `api_base=${d.apiBase === undefined ? "(provider default)" : safeUrl(d.apiBase)}`,
    // Where the key comes from, never the key.
    `api_key=${d.apiKey === undefined ? "(none)" : `(set, from ${keySource ?? "the file"})`}`
  ]
  if (d.weight !== undefined) parts.push(`weight=${d.weight}`)
  if (d.order !== undefined) parts.push(`order=${d.order}`)
  if (d.rpm !== undefined) parts.push(`rpm=${d.rpm}`)
  if (d.tpm !== undefined) parts.push(`tpm=${d.tpm}`)
  if (d.timeoutMs !== undefined) parts.push(`timeout=${seconds(d.timeoutMs)}`)
  if (d.tags.length > 0) parts.push(`tags=${d.tags.join(",")}`)
  if (d.maxInputTokens !== undefined) parts.push(`context=${d.maxInputTokens}`)
  if (d.budget !== undefined) parts.push(`budget=$${d.budget.limitUsd}/${d.budget.period}`)
  return `    - ${parts.join("  ")}`
}

const chains = (title: string, map: ReadonlyMap<string, ReadonlyArray<string>>): Array<string> =>
  map.size === 0 ? [] : [title, ...[...map].map(([group, targets]) => `  ${group} -> ${targets.join(" -> ")}`)]

/** Where cooldowns live: the address only (a URL's password is never printed). */
export const sharedState = (config: GatewayConfig.GatewayConfig): string =>
  config.sharedState === undefined
    ? "none (each replica keeps its own cooldowns; set router_settings.redis_host to share them)"
    : `cooldowns shared through ${RedisRouterState.describe(config.sharedState)} (key prefix ${config.sharedState.keyPrefix})`

export const format = (config: GatewayConfig.GatewayConfig, source?: string): string => {
  const { deployments, settings } = config.router
  const groups = new Map<string, Array<Deployment.Deployment>>()
  for (const d of deployments) {
    const list = groups.get(d.group)
    if (list) list.push(d)
    else groups.set(d.group, [d])
  }
  const lines: Array<string> = []
  const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`
  lines.push(`Config ${source === undefined ? "" : `${source} `}is valid: ${plural(groups.size, "model group")}, ${plural(deployments.length, "deployment")}`)
  lines.push("")
  lines.push(`Strategy: ${settings.routingStrategy}`)
  lines.push(
    `Retries: ${settings.numRetries}  timeout: ${seconds(settings.timeoutMs)}` +
      (settings.streamTimeoutMs !== undefined ? `  stream first-chunk timeout: ${seconds(settings.streamTimeoutMs)}` : "") +
      `  mid-stream failure: ${settings.streamFailurePolicy}`
  )
  lines.push(
    settings.disableCooldowns
      ? "Cooldown: disabled"
      : `Cooldown: ${seconds(settings.cooldownMs)} after more than ${settings.allowedFails} failures in a minute (429 and broken keys at once)`
  )
  if (settings.providerBudgets.size > 0) {
    lines.push(`Provider budgets: ${[...settings.providerBudgets].map(([p, b]) => `${p} $${b.limitUsd}/${b.period}`).join(", ")}`)
  }
  lines.push(`Shared state: ${sharedState(config)}`)
  lines.push(
    settings.sessionAffinityTtlMs > 0
      ? `Session affinity: a session keeps its deployment until ${seconds(settings.sessionAffinityTtlMs)} unused (x-session-id, prompt_cache_key)`
      : "Session affinity: off"
  )
  lines.push("")
  lines.push("Model groups:")
  for (const [group, members] of groups) {
    lines.push(`  ${group}`)
    for (const d of members) {
      lines.push(deploymentLine(d, config.keySources.get(d.id), config.unsupportedDeployments.some((u) => u.id === d.id)))
    }
  }
  const wildcards = [...groups.keys()].filter((g) => g.includes("*"))
  if (wildcards.length > 0) {
    lines.push("")
    lines.push("Wildcards (a model name no group or alias has goes to the most specific match, with the requested model):")
    for (const pattern of wildcards) {
      const targets = groups.get(pattern)!.map((d) => (d.model === "*" && d.provider === "openai" ? "the provider the name says" : `${d.provider}/${d.model}`))
      lines.push(`  ${pattern} -> ${targets.join(", ")}`)
    }
  }
  if (settings.aliases.size > 0) {
    lines.push("")
    lines.push("Aliases:")
    for (const [alias, target] of settings.aliases) lines.push(`  ${alias} -> ${target.group}${target.hidden ? " (hidden)" : ""}`)
  }
  if (settings.complexityRouters !== undefined && settings.complexityRouters.size > 0) {
    lines.push("")
    lines.push("Complexity routers:")
    for (const [name, router] of settings.complexityRouters) {
      const ladder = Complexity.TIERS.map((tier) => `${tier} ${router.tiers[tier].join(", ") || "-"}`).join("  ")
      lines.push(`  ${name} (${ComplexityRouter.describeRules(router)}): ${ladder}  default ${router.defaultModel ?? "-"}`)
    }
  }
  const fallbackLines = [
    ...chains("Fallbacks:", settings.fallbacks),
    ...chains("Context-window fallbacks:", settings.contextWindowFallbacks),
    ...chains("Content-policy fallbacks:", settings.contentPolicyFallbacks),
    ...(settings.defaultFallbacks.length > 0 ? [`Default fallbacks: ${settings.defaultFallbacks.join(" -> ")}`] : [])
  ]
  lines.push("")
  if (fallbackLines.length === 0) lines.push("Fallbacks: (none)")
  else lines.push(...fallbackLines)
  lines.push("")
  lines.push(`Auth: ${config.masterKey === undefined ? "none (no general_settings.master_key)" : "master key set (Bearer token required on /v1 routes)"}`)
  lines.push(`Limits: request body ${config.maxRequestBytes} bytes, body timeout ${seconds(config.bodyTimeoutMs)}, shutdown grace ${seconds(config.gracefulShutdownMs)}`)
  const warning = GatewayConfig.unsupportedWarning(config)
  if (warning !== undefined) {
    lines.push("")
    lines.push(`Warning: ${warning}`)
  }
  const unsupported = GatewayConfig.unsupportedProviderWarnings(config)
  if (unsupported.length > 0) {
    lines.push("")
    lines.push("Unsupported providers:")
    for (const line of unsupported) lines.push(`  - ${line}`)
  }
  return lines.join("\n")
}

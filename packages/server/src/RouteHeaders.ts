/**
 * The `x-llm-router-*` response headers: how a response was produced (which group and
 * deployment served it, after how many attempts and fallbacks, how long it took), so a
 * caller sees failover without reading logs. Error responses carry what is known of the
 * route: the group asked for and the deployment that failed last.
 *
 * Beside them, LiteLLM's names for the same facts, for tools written against LiteLLM's proxy:
 * `x-litellm-model-id` (the deployment), `x-litellm-model-api-base` (its configured base URL,
 * without credentials or query), `x-litellm-model-group` (the group that served),
 * `x-litellm-response-cost` (USD, when the price is known), `x-litellm-attempted-retries`
 * (calls made before the one that answered) and `x-litellm-attempted-fallbacks` (fallback
 * groups entered).
 */
import type { RouteInfo } from "@llm-router/core"
import type * as ApiError from "./ApiError.ts"

export const names = {
  group: "x-llm-router-model-group",
  deployment: "x-llm-router-deployment",
  provider: "x-llm-router-provider",
  model: "x-llm-router-model",
  attempts: "x-llm-router-attempts",
  fallbacks: "x-llm-router-fallbacks",
  latencyMs: "x-llm-router-latency-ms",
  costUsd: "x-llm-router-cost-usd",
  /** The complexity tier (or "default"): on answers a complexity router routed; on requests, to force one. */
  tier: "x-llm-router-tier",
  requestId: "x-request-id",
  litellmModelId: "x-litellm-model-id",
  litellmApiBase: "x-litellm-model-api-base",
  litellmGroup: "x-litellm-model-group",
  litellmCost: "x-litellm-response-cost",
  litellmRetries: "x-litellm-attempted-retries",
  litellmFallbacks: "x-litellm-attempted-fallbacks"
} as const

/**
 * Header values must be visible ASCII: anything else (a group named in another script) is
 * percent-encoded, and a caller's model name is cut short so it cannot bloat the response.
 */
const safe = (value: string): string => {
  const short = value.length > 200 ? value.slice(0, 200) : value
  return /^[\x20-\x7e]*$/.test(short) ? short : encodeURIComponent(short)
}

/**
 * The header values that depend only on who served, made once per serving deployment (keyed by
 * its id, and kept while the group, provider and model it serves under stay the same).
 */
interface Served {
  readonly servedBy: string
  readonly provider: string
  readonly model: string
  readonly headers: { readonly group: string; readonly deployment: string; readonly provider: string; readonly model: string }
}
const servedByDeployment = new Map<string, Served>()
const servedOf = (route: RouteInfo.RouteInfo): Served["headers"] => {
  const found = servedByDeployment.get(route.deployment)
  if (found?.servedBy === route.servedBy && found.provider === route.provider && found.model === route.model) {
    return found.headers
  }
  const made: Served = {
    servedBy: route.servedBy,
    provider: route.provider,
    model: route.model,
    headers: { group: safe(route.servedBy), deployment: safe(route.deployment), provider: safe(route.provider), model: safe(route.model) }
  }
  // Deployments come from the config: a handful, so the map stays small.
  if (servedByDeployment.size < 10_000) servedByDeployment.set(route.deployment, made)
  return made.headers
}

/**
 * Headers for a served response. `model-group` is the group that served (after any fallback);
 * `apiBase` is the serving deployment's configured base URL, already stripped of credentials.
 */
export const ofRoute = (route: RouteInfo.RouteInfo, requestId: string, apiBase?: string): Record<string, string> => {
  const served = servedOf(route)
  // Literal keys (the values of `names`): the object is made from one shape on every request.
  const headers: Record<string, string> = {
    "x-llm-router-model-group": served.group,
    "x-llm-router-deployment": served.deployment,
    "x-llm-router-provider": served.provider,
    "x-llm-router-model": served.model,
    "x-llm-router-attempts": String(route.attempts),
    "x-llm-router-fallbacks": route.fallbacks.length === 0 ? "" : route.fallbacks.map(safe).join(","),
    "x-llm-router-latency-ms": String(Math.round(route.latencyMs)),
    "x-request-id": requestId,
    "x-litellm-model-id": served.deployment,
    "x-litellm-model-group": served.group,
    "x-litellm-attempted-retries": String(Math.max(0, route.attempts - 1)),
    "x-litellm-attempted-fallbacks": String(route.fallbacks.length)
  }
  if (apiBase !== undefined) headers[names.litellmApiBase] = safe(apiBase)
  if (route.costUsd !== undefined) {
    const cost = route.costUsd.toFixed(8)
    headers[names.costUsd] = cost
    headers[names.litellmCost] = cost
  }
  if (route.complexity !== undefined) headers[names.tier] = route.complexity.tier ?? "default"
  return headers
}

/** Headers for a failed request: the group asked for, and where the last failure came from. */
export const ofError = (
  error: ApiError.ApiError,
  group: string | undefined,
  latencyMs: number,
  requestId: string
): Record<string, string> => {
  const headers: Record<string, string> = {
    [names.latencyMs]: String(Math.round(latencyMs)),
    [names.requestId]: requestId
  }
  if (group !== undefined) headers[names.group] = safe(group)
  if (error.deployment !== undefined) headers[names.deployment] = safe(error.deployment)
  if (error.provider !== undefined) headers[names.provider] = safe(error.provider)
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds)
  return headers
}

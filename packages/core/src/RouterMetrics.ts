/**
 * The router's metrics, as Effect `Metric`s: requests, failures, retries, fallbacks and
 * cooldowns by group, deployment and outcome; latency and time-to-first-chunk histograms;
 * tokens and cost. Any exporter reads them (the gateway serves them as Prometheus text).
 * Labels are group, deployment, provider and error tag: never anything from a request body
 * and never a secret.
 */
import { Effect, Metric } from "effect"
import type { Deployment } from "./Deployment.ts"
import type { LlmError } from "./LlmError.ts"
import type { RouteInfo } from "./RouteInfo.ts"

const latencyBoundaries = Metric.exponentialBoundaries({ start: 1, factor: 2, count: 18 })

export const requests = Metric.counter("llm_router_requests_total", {
  description: "Requests answered by the router, by group, serving deployment and outcome",
  incremental: true
})
export const attemptFailures = Metric.counter("llm_router_attempt_failures_total", {
  description: "Failed calls to a deployment, by error",
  incremental: true
})
export const retries = Metric.counter("llm_router_retries_total", { description: "Retries within a model group", incremental: true })
export const fallbacks = Metric.counter("llm_router_fallbacks_total", {
  description: "Fallbacks from one model group to another",
  incremental: true
})
export const cooldowns = Metric.counter("llm_router_cooldowns_total", {
  description: "Times a deployment was taken out of rotation",
  incremental: true
})
export const latency = Metric.histogram("llm_router_latency_ms", {
  description: "Request latency through the router, in milliseconds",
  boundaries: latencyBoundaries
})
export const timeToFirstChunk = Metric.histogram("llm_router_time_to_first_chunk_ms", {
  description: "Time to the first content chunk of a stream, in milliseconds",
  boundaries: latencyBoundaries
})
export const tokens = Metric.counter("llm_router_tokens_total", { description: "Tokens used, by kind", incremental: true })
export const cost = Metric.counter("llm_router_cost_usd_total", { description: "Cost in USD of answered requests", incremental: true })

// Metrics bound to their labels are cached: the label sets are few (groups × deployments),
// and binding one costs more than the update itself.
const bound = new Map<string, Metric.Metric<number, unknown>>()
const labelled = <State>(metric: Metric.Metric<number, State>, attributes: Record<string, string>) => {
  let key = metric.id
  for (const name in attributes) key += "\u0000" + attributes[name]
  let found = bound.get(key)
  if (!found) bound.set(key, found = Metric.withAttributes(metric, attributes) as Metric.Metric<number, unknown>)
  return found
}

export const recordSuccess = (route: RouteInfo, streaming: boolean): Effect.Effect<void> =>
  Effect.suspend(() => {
    const labels = { group: route.group, deployment: route.deployment, provider: route.provider }
    const effects: Array<Effect.Effect<void>> = [
      Metric.update(labelled(requests, { ...labels, outcome: "success", stream: String(streaming) }), 1),
      Metric.update(labelled(latency, labels), route.latencyMs)
    ]
    if (route.timeToFirstChunkMs !== undefined) effects.push(Metric.update(labelled(timeToFirstChunk, labels), route.timeToFirstChunkMs))
    if (route.usage) {
      effects.push(Metric.update(labelled(tokens, { ...labels, kind: "prompt" }), route.usage.prompt_tokens))
      effects.push(Metric.update(labelled(tokens, { ...labels, kind: "completion" }), route.usage.completion_tokens))
    }
    if (route.costUsd !== undefined) effects.push(Metric.update(labelled(cost, labels), route.costUsd))
    return Effect.all(effects, { discard: true })
  })

export const recordRequestFailure = (group: string, error: LlmError, streaming: boolean): Effect.Effect<void> =>
  Metric.update(
    labelled(requests, { group, deployment: error.deployment ?? "", provider: error.provider, outcome: error._tag, stream: String(streaming) }),
    1
  )

export const recordFailure = (group: string, d: Deployment, error: LlmError, cooled: boolean): Effect.Effect<void> =>
  Effect.suspend(() => {
    const labels = { group, deployment: d.id, provider: d.provider }
    const failure = Metric.update(labelled(attemptFailures, { ...labels, error: error._tag }), 1)
    return cooled ? Effect.andThen(failure, Metric.update(labelled(cooldowns, labels), 1)) : failure
  })

export const recordRetry = (group: string): Effect.Effect<void> => Metric.update(labelled(retries, { group }), 1)

export const recordFallback = (from: string, to: string): Effect.Effect<void> =>
  Metric.update(labelled(fallbacks, { from, to }), 1)

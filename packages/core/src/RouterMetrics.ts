/**
 * The router's metrics, as Effect `Metric`s: requests, failures, retries, fallbacks and
 * cooldowns by group, deployment and outcome; latency and time-to-first-chunk histograms;
 * tokens and cost. Any exporter reads them (the gateway serves them as Prometheus text).
 * Labels are group, deployment, provider and error tag: never anything from a request body
 * and never a secret.
 */
import { type Context, Effect, Metric } from "effect"
import type { Deployment } from "./Deployment.ts"
import type { LlmError } from "./LlmError.ts"
import type { RouteInfo } from "./RouteInfo.ts"

type Labels = Readonly<Record<string, string>>

/**
 * A metric name with one `Metric` instance per label set, made on first use. Effect keeps
 * a single cached series key per metric instance: one instance shared by many label sets
 * (what `Metric.withAttributes` gives) re-sorts and re-serialises its labels whenever the
 * set alternates, which was a fifth of the router's own time. The label sets are few
 * (groups × deployments × outcomes), so one instance each costs nothing.
 */
const family = (make: (attributes: Labels) => Metric.Metric<number, unknown>) => {
  const instances = new Map<string, Metric.Metric<number, unknown>>()
  return (labels: Labels): Metric.Metric<number, unknown> => {
    let key = ""
    for (const name in labels) key += labels[name] + "\u0000"
    let found = instances.get(key)
    if (!found) instances.set(key, found = make(labels))
    return found
  }
}

const counter = (name: string, description: string) =>
  family((attributes) => Metric.counter(name, { description, attributes, incremental: true }))
const histogram = (name: string, description: string) =>
  family((attributes) => Metric.histogram(name, { description, attributes, boundaries: latencyBoundaries }))

const latencyBoundaries = Metric.exponentialBoundaries({ start: 1, factor: 2, count: 18 })

export const requests = counter("llm_router_requests_total", "Requests answered by the router, by group, serving deployment and outcome")
export const attemptFailures = counter("llm_router_attempt_failures_total", "Failed calls to a deployment, by error")
export const retries = counter("llm_router_retries_total", "Retries within a model group")
export const fallbacks = counter("llm_router_fallbacks_total", "Fallbacks from one model group to another")
export const cooldowns = counter("llm_router_cooldowns_total", "Times a deployment was taken out of rotation")
export const latency = histogram("llm_router_latency_ms", "Request latency through the router, in milliseconds")
export const timeToFirstChunk = histogram("llm_router_time_to_first_chunk_ms", "Time to the first content chunk of a stream, in milliseconds")
export const tokens = counter("llm_router_tokens_total", "Tokens used, by kind")
export const cost = counter("llm_router_cost_usd_total", "Cost in USD of answered requests")
export const complexityRequests = counter(
  "llm_router_complexity_requests_total",
  "Requests a complexity router routed, by router, tier (\"default\" without user text) and whether the tier was forced"
)

/** Counts one request routed by a complexity router (router names come from the config: few label sets). */
export const recordTier = (router: string, tier: string | undefined, forced: boolean) =>
  Metric.update(complexityRequests({ router, tier: tier ?? "default", forced: String(forced) }), 1)

/** The success-path metrics of one deployment, looked up once per label set. */
interface SuccessMetrics {
  readonly requests: Metric.Metric<number, unknown>
  readonly latency: Metric.Metric<number, unknown>
  readonly timeToFirstChunk: Metric.Metric<number, unknown>
  readonly promptTokens: Metric.Metric<number, unknown>
  readonly completionTokens: Metric.Metric<number, unknown>
  readonly cost: Metric.Metric<number, unknown>
}
/**
 * By deployment, then by the rest of the label set: a deployment is served under one or a few
 * label sets (a fallback is labelled with the group asked for), and no key is built per request.
 */
interface LabelledSuccessMetrics extends SuccessMetrics {
  readonly group: string
  readonly provider: string
  readonly streaming: boolean
}
const successMetrics = new Map<string, Array<LabelledSuccessMetrics>>()
const successMetricsOf = (route: RouteInfo, streaming: boolean): SuccessMetrics => {
  let sets = successMetrics.get(route.deployment)
  if (sets === undefined) successMetrics.set(route.deployment, sets = [])
  for (const m of sets) {
    if (m.group === route.group && m.provider === route.provider && m.streaming === streaming) return m
  }
  const labels = { group: route.group, deployment: route.deployment, provider: route.provider }
  const made: LabelledSuccessMetrics = {
    group: route.group,
    provider: route.provider,
    streaming,
    requests: requests({ ...labels, outcome: "success", stream: String(streaming) }),
    latency: latency(labels),
    timeToFirstChunk: timeToFirstChunk(labels),
    promptTokens: tokens({ ...labels, kind: "prompt" }),
    completionTokens: tokens({ ...labels, kind: "completion" }),
    cost: cost(labels)
  }
  sets.push(made)
  return made
}

/** Every success-path update, in the calling fiber's `context` (what `Metric.update` reads): this runs on each request. */
export const recordSuccessUnsafe = (route: RouteInfo, streaming: boolean, context: Context.Context<never>): void => {
  const m = successMetricsOf(route, streaming)
  m.requests.updateUnsafe(1, context)
  m.latency.updateUnsafe(route.latencyMs, context)
  if (route.timeToFirstChunkMs !== undefined) m.timeToFirstChunk.updateUnsafe(route.timeToFirstChunkMs, context)
  if (route.usage) {
    m.promptTokens.updateUnsafe(route.usage.prompt_tokens, context)
    m.completionTokens.updateUnsafe(route.usage.completion_tokens, context)
  }
  if (route.costUsd !== undefined) m.cost.updateUnsafe(route.costUsd, context)
}

/** Every success-path update in one step. */
export const recordSuccess = (route: RouteInfo, streaming: boolean): Effect.Effect<void> =>
  Effect.contextWith((context) => Effect.sync(() => recordSuccessUnsafe(route, streaming, context)))

/**
 * The group label of a request for a model that is no configured group or alias: a caller's
 * model name never becomes a label, or every distinct name would make a series.
 */
export const UNKNOWN_GROUP = "(unknown)"

/** A failed request, under its resolved group (`undefined`: the model named no group). */
export const recordRequestFailure = (group: string | undefined, error: LlmError, streaming: boolean): Effect.Effect<void> =>
  Metric.update(
    requests({ group: group ?? UNKNOWN_GROUP, deployment: error.deployment ?? "", provider: error.provider, outcome: error._tag, stream: String(streaming) }),
    1
  )

export const recordFailure = (group: string, d: Deployment, error: LlmError, cooled: boolean): Effect.Effect<void> =>
  Effect.suspend(() => {
    const labels = { group, deployment: d.id, provider: d.provider }
    const failure = Metric.update(attemptFailures({ ...labels, error: error._tag }), 1)
    return cooled ? Effect.andThen(failure, Metric.update(cooldowns(labels), 1)) : failure
  })

export const recordRetry = (group: string): Effect.Effect<void> => Metric.update(retries({ group }), 1)

export const recordFallback = (from: string, to: string): Effect.Effect<void> => Metric.update(fallbacks({ from, to }), 1)

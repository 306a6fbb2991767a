/**
 * One request's journey through a router: what it asked for, which groups and deployments it
 * has tried, and how many attempts it has made, across its retries and fallbacks. The attempt
 * loop, the fallback chains and the stream restarts all read and update the same `Run`.
 */
import type { Tracer } from "effect"
import type { Effect } from "effect"
import type { Deployment } from "../Deployment.ts"
import type * as LlmError from "../LlmError.ts"
import type { Overrides } from "../Overrides.ts"
import type { ComplexityRoute } from "../RouteInfo.ts"
import type { InFlight } from "./Calls.ts"

/** What the router needs to know of a request to route it, whatever the operation. */
export interface Routable {
  readonly model: string
  /** LiteLLM's routing metadata: `tags` select deployments by their `tags`. */
  readonly metadata?: { readonly tags?: ReadonlyArray<string> | undefined } | undefined
}

/**
 * The operation performed on one deployment in one attempt (a chat call, opening a stream, an
 * embedding…). The attempt loop is generic over it: it only sees its success or its `LlmError`.
 * It is made when the attempt starts (after the call is recorded as started), so it may read
 * the clock as it is made. `inFlight` is the count its start took: an operation that outlives
 * its attempt (an opened stream) keeps it and gives it back when it ends.
 */
export type Operation<A> = (deployment: Deployment, inFlight: InFlight) => Effect.Effect<A, LlmError.LlmError>

/** The router's view of one request, across its retries and fallbacks. */
export interface Run<Req extends Routable = Routable> {
  readonly request: Req
  readonly group: string
  readonly streaming: boolean
  readonly startedAt: number
  attempts: number
  readonly fallbacks: Array<string>
  /**
   * The groups tried so far besides `group`. This and the next two sets are made on first use:
   * most requests succeed at once and never need them.
   */
  visited: Set<string> | undefined
  /** Deployments that must not be called again for this request (the error cannot succeed there). */
  excluded: Set<string> | undefined
  /** Deployments that failed once for this request: others are preferred. */
  failed: Set<string> | undefined
  /** How many tokens the request's input holds (for context windows and tpm), made on first use. */
  estimatedTokens: number | undefined
  /** Counts the request's input tokens (a method, so a `Run` of a chat is a `Run` of any request). */
  estimate(request: Req): number
  /** The request's own policy (`num_retries`, `timeout`, `fallbacks`…), from its body or context (see `Overrides`). */
  readonly overrides: Overrides | undefined
  /** The request's session, when affinity is on and it names one (see `SessionAffinity`). */
  readonly session: string | undefined
  /** The request's span, when a tracer is installed (see `RouterTracing`). */
  readonly span: Tracer.Span | undefined
  /** Set when a complexity router chose `group` (see `ComplexityRouting`); the route reports it. */
  readonly complexity?: ComplexityRoute | undefined
}

/** What an operation returned, with who served it. */
export interface Served<A> {
  readonly value: A
  readonly deployment: Deployment
  readonly group: string
}

/** The provider name on the router's own errors. */
export const ROUTER = "llm-router"

/** Adds to one of a run's sets, making it on first use. */
export const addTo = (run: Run<any>, set: "visited" | "excluded" | "failed", id: string): void => {
  const members = run[set] ?? (run[set] = new Set())
  members.add(id)
}

export const estimatedTokens = <Req extends Routable>(run: Run<Req>): number =>
  (run.estimatedTokens ??= run.estimate(run.request))

/** Starts a new routing pass (a stream restart): the groups entered before may hold other deployments. */
export const resetChains = (run: Run<any>): void => {
  run.visited = undefined
  run.fallbacks.length = 0
}

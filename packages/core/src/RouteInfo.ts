/**
 * How a response was produced: which deployment served it, after how many attempts and
 * fallbacks, how long it took and what it cost. Every response carries one; the gateway
 * sends it as `x-llm-router-*` headers.
 */
import type { Usage } from "./Chat.ts"
import type { Tier } from "./Complexity.ts"
import * as Cost from "./Cost.ts"
import type { Deployment } from "./Deployment.ts"

export interface RouteInfo {
  /** The model group the caller asked for (after alias resolution). */
  readonly group: string
  /** The group that finally served; differs from `group` after a fallback. */
  readonly servedBy: string
  readonly deployment: string
  readonly provider: string
  readonly model: string
  /** Calls made to providers for this request, the successful one included. */
  readonly attempts: number
  /** Fallback groups entered, in order. */
  readonly fallbacks: ReadonlyArray<string>
  readonly latencyMs: number
  readonly timeToFirstChunkMs?: number | undefined
  readonly usage?: Usage | undefined
  /** Cost in USD; `undefined` when the model's price is unknown (never a silent 0). */
  readonly costUsd?: number | undefined
  /** Set on a stream that was restarted on another deployment after content had been sent. */
  readonly restarts?: number | undefined
  /** Set when a complexity router chose the group (`group` is then its tier's group). */
  readonly complexity?: ComplexityRoute | undefined
}

/** What a complexity router decided for a request. */
export interface ComplexityRoute {
  /** The complexity router's model name (what the caller asked for). */
  readonly router: string
  /** `undefined` when the request had no user text (it went to the default model). */
  readonly tier: Tier | undefined
  /** The classifier's score; `undefined` for a forced tier or no user text. */
  readonly score: number | undefined
  /** The signals that decided the tier, strongest first. */
  readonly signals: ReadonlyArray<string>
  /** Whether the request forced its tier (`metadata.complexity_tier`, `x-llm-router-tier`). */
  readonly forced: boolean
}

/** The route of one call to one deployment, as a provider adapter reports it (the router adds the rest). */
export const ofDeployment = (
  deployment: Deployment,
  latencyMs: number,
  usage: Usage | null | undefined,
  timeToFirstChunkMs?: number
): RouteInfo => ({
  group: deployment.group,
  servedBy: deployment.group,
  deployment: deployment.id,
  provider: deployment.provider,
  model: deployment.model,
  attempts: 1,
  fallbacks: [],
  latencyMs,
  ...(timeToFirstChunkMs !== undefined ? { timeToFirstChunkMs } : {}),
  usage: usage ?? undefined,
  costUsd: Cost.ofUsage(deployment, usage)
})

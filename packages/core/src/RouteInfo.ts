/**
 * How a response was produced: which deployment served it, after how many attempts and
 * fallbacks, how long it took and what it cost. Every response carries one; the gateway
 * sends it as `x-llm-router-*` headers.
 */
import type { Usage } from "./Chat.ts"

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
}

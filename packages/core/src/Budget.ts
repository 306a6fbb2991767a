/**
 * Spend limits, as LiteLLM's router takes them: a deployment's `max_budget` per
 * `budget_duration` (in its `litellm_params`), and a provider's `budget_limit` per
 * `time_period` (`provider_budget_config`). A deployment over either limit is no candidate
 * until the window ends; when no deployment of a group is left, the request fails with
 * `NoDeploymentAvailable` (a 429 whose `Retry-After` is the end of the window), which selects
 * the group's fallbacks like any other.
 *
 * Windows are fixed and counted from the epoch (a `1d` budget starts again at 00:00 UTC), so
 * replicas agree on them without talking. Spend is what `Cost.ofUsage` says a call cost; a
 * call whose price is unknown counts nothing. The spend so far is read synchronously (the
 * pick never waits) from a `Ledger`: this replica's memory, unless a shared store puts its own
 * in `MakeLedger` (`@llm-router/redis`).
 */
import { Context } from "effect"
import type { Deployment } from "./Deployment.ts"

/** One limit: at most `limitUsd` per window of `periodMs`. */
export interface Limit {
  /** What the spend is kept under: `deployment:{id}` or `provider:{name}`. */
  readonly key: string
  readonly limitUsd: number
  readonly periodMs: number
  /** For messages: `deployment gpt-4o/openai/gpt-4o` or `provider openai`. */
  readonly label: string
  /** As configured (`1d`), for messages. */
  readonly period: string
}

const units: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  mo: 30 * 86_400_000
}

/** LiteLLM's durations: `30s`, `10m`, `1h`, `1d`, `2w`, `1mo` (30 days); `undefined` for anything else. */
export const parseDuration = (text: string): number | undefined => {
  const match = /^\s*(\d+)\s*(s|m|h|d|w|mo)\s*$/.exec(text)
  if (match === null) return undefined
  const ms = Number(match[1]) * units[match[2]!]!
  return ms > 0 ? ms : undefined
}

export const windowOf = (limit: Limit, now: number): number => Math.floor(now / limit.periodMs)
export const windowEndsAt = (limit: Limit, now: number): number => (windowOf(limit, now) + 1) * limit.periodMs

/** Spend per limit and window (the window's number, `windowOf`). */
export interface Ledger {
  readonly spent: (limit: Limit, window: number) => number
  readonly add: (limit: Limit, window: number, usd: number) => void
}

/** This replica's ledger: the current window's spend per limit (an older window's is dropped). */
export class MemoryLedger implements Ledger {
  private readonly byKey = new Map<string, { readonly window: number; usd: number }>()
  spent(limit: Limit, window: number): number {
    const entry = this.byKey.get(limit.key)
    return entry !== undefined && entry.window === window ? entry.usd : 0
  }
  add(limit: Limit, window: number, usd: number): void {
    const entry = this.byKey.get(limit.key)
    if (entry !== undefined && entry.window === window) entry.usd += usd
    else this.byKey.set(limit.key, { window, usd })
  }
}

/**
 * How a router makes its ledger for its `limits`: in memory unless a shared store puts its
 * own here (which must know every limit at once, to read the fleet's spend before this
 * replica has served anything).
 */
export const MakeLedger = Context.Reference<(limits: ReadonlyArray<Limit>) => Ledger>("@llm-router/core/Budget/MakeLedger", {
  defaultValue: () => () => new MemoryLedger()
})

/** A provider's budget (`provider_budget_config`), resolved. */
export interface ProviderBudget {
  readonly limitUsd: number
  readonly periodMs: number
  readonly period: string
}

/** Each deployment's limits: its own and its provider's; deployments without any are left out. */
export const limitsOf = (
  deployments: ReadonlyArray<Deployment>,
  providers: ReadonlyMap<string, ProviderBudget>
): ReadonlyMap<string, ReadonlyArray<Limit>> => {
  const limits = new Map<string, ReadonlyArray<Limit>>()
  for (const d of deployments) {
    const own: Array<Limit> = []
    if (d.budget !== undefined) {
      own.push({ key: `deployment:${d.id}`, label: `deployment ${d.id}`, ...d.budget })
    }
    const provider = providers.get(d.provider)
    if (provider !== undefined) own.push({ key: `provider:${d.provider}`, label: `provider ${d.provider}`, ...provider })
    if (own.length > 0) limits.set(d.id, own)
  }
  return limits
}

/** The first of `limits` that the spend so far has reached at `now`, if any. */
export const exceeded = (ledger: Ledger, limits: ReadonlyArray<Limit> | undefined, now: number): Limit | undefined =>
  limits?.find((limit) => ledger.spent(limit, windowOf(limit, now)) >= limit.limitUsd)

/** Counts `usd` against every one of `limits`, in the window of `now`. */
export const record = (ledger: Ledger, limits: ReadonlyArray<Limit> | undefined, now: number, usd: number): void => {
  if (limits === undefined || !(usd > 0)) return
  for (const limit of limits) ledger.add(limit, windowOf(limit, now), usd)
}

export const describe = (limit: Limit): string => `${limit.label}: $${limit.limitUsd} per ${limit.period}`

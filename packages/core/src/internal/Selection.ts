/**
 * Selection: which deployments of a group may take an attempt, and which one does. First the
 * checks that depend only on the request and the config (tags, context window: `eligible`),
 * then, on each attempt's state snapshot, budgets, rpm/tpm limits, deployments this request
 * must avoid, cooldowns and `order` (`choose`), and last the session pin or the strategy
 * (`pick`). Pure functions of the engine, the run and the snapshot: the attempt loop runs them.
 */
import { Duration, Result } from "effect"
import * as Budget from "../Budget.ts"
import type { Deployment } from "../Deployment.ts"
import * as LlmError from "../LlmError.ts"
import type { Snapshot } from "../RouterState.ts"
import * as Strategy from "../Strategy.ts"
import type { Engine } from "./Engine.ts"
import { estimatedTokens, ROUTER, type Run } from "./Run.ts"

/**
 * The pre-call check: deployments whose context window cannot hold the request, or whose
 * tags do not match the request's `metadata.tags`, are not candidates. When nothing is
 * left, the error says why (a context-window error selects `context_window_fallbacks`).
 */
export const eligible = (engine: Engine, run: Run, group: string): Result.Result<ReadonlyArray<Deployment>, LlmError.LlmError> => {
  const byTags = withTags(engine, run, group)
  if (Result.isFailure(byTags) || !engine.settings.enablePreCallChecks) return byTags
  return withinContextWindow(run, group, byTags.success)
}

/**
 * The tags filter, as LiteLLM's (only with `enable_tag_filtering`): a request's `metadata.tags`
 * keep the deployments with one of them, else those tagged `default`; a request without tags
 * gets the `default` ones if any, else all. When the requested group has none of the tags the
 * request is at fault: a 400 naming the group and the tags (no retry, no fallback; a 429 would
 * have SDKs retry it for nothing). A fallback group without them is only skipped.
 */
export const withTags = (engine: Engine, run: Run, group: string): Result.Result<ReadonlyArray<Deployment>, LlmError.LlmError> => {
  const members: ReadonlyArray<Deployment> = engine.targets.get(group) ?? []
  if (!engine.settings.enableTagFiltering) return Result.succeed(members)
  const byDefault = () => members.filter((d) => d.tags.includes("default"))
  const tags = run.request.metadata?.tags
  // No tags asked for: the group's `default`-tagged deployments if any, made once per group.
  if (tags === undefined || tags.length === 0) return Result.succeed(untagged(members))
  const tagged = members.filter((d) => d.tags.some((t) => tags.includes(t)))
  if (tagged.length > 0) return Result.succeed(tagged)
  const defaults = byDefault()
  if (defaults.length > 0) return Result.succeed(defaults)
  const named = JSON.stringify(tags.length > 20 ? [...tags.slice(0, 20), "…"] : tags).slice(0, 500)
  const message = `No deployment of model group "${group}" has any of the tags ${named} (and none is tagged "default")`
  return Result.fail(
    group === run.group
      ? new LlmError.BadRequest({ provider: ROUTER, status: 400, param: "tags", message })
      : new LlmError.NoDeploymentAvailable({ provider: ROUTER, group, message })
  )
}

const untaggedOf = new WeakMap<ReadonlyArray<Deployment>, ReadonlyArray<Deployment>>()
const untagged = (members: ReadonlyArray<Deployment>): ReadonlyArray<Deployment> => {
  let found = untaggedOf.get(members)
  if (found === undefined) {
    found = members.some((d) => d.tags.includes("default")) ? members.filter((d) => d.tags.includes("default")) : members
    untaggedOf.set(members, found)
  }
  return found
}

/** The context-window filter (`enable_pre_call_checks`). */
export const withinContextWindow = (
  run: Run,
  group: string,
  members: ReadonlyArray<Deployment>
): Result.Result<ReadonlyArray<Deployment>, LlmError.LlmError> => {
  // Every member holds a request up to the smallest window: then no filter (and no estimate when none has one).
  const smallest = smallestWindow(members)
  if (smallest === Infinity || estimatedTokens(run) <= smallest) return Result.succeed(members)
  const fitting = members.filter((d) => d.maxInputTokens === undefined || estimatedTokens(run) <= d.maxInputTokens)
  if (fitting.length > 0) return Result.succeed(fitting)
  return Result.fail(
    new LlmError.ContextWindowExceeded({
      provider: ROUTER,
      message: `The request (about ${estimatedTokens(run)} tokens) exceeds the context window of every deployment of "${group}"`
    })
  )
}

const smallestWindowOf = new WeakMap<ReadonlyArray<Deployment>, number>()
/** The smallest context window among `members` (made once per array: the group's, or its `default` ones). */
const smallestWindow = (members: ReadonlyArray<Deployment>): number => {
  let smallest = smallestWindowOf.get(members)
  if (smallest === undefined) {
    smallest = Infinity
    for (const d of members) if (d.maxInputTokens !== undefined && d.maxInputTokens < smallest) smallest = d.maxInputTokens
    smallestWindowOf.set(members, smallest)
  }
  return smallest
}

/** The candidates not cooling down: the same array when none is, as on most requests. */
const notCooling = (candidates: ReadonlyArray<Deployment>, snapshot: Snapshot): ReadonlyArray<Deployment> => {
  // The store knows nothing is cooling: no deployment's stats are read.
  if (snapshot.noneCooling === true) return candidates
  const cooling = (d: Deployment) => (snapshot.stats.get(d.id)?.cooldownUntil ?? 0) !== 0
  return candidates.some(cooling) ? candidates.filter((d) => !cooling(d)) : candidates
}

// A deployment that has had its requests (or tokens, counting this request's estimate) for the
// minute is no candidate until the next.
const withinRateLimits = (run: Run, candidates: ReadonlyArray<Deployment>, snapshot: Snapshot) =>
  candidates.filter((d) => {
    const stats = snapshot.stats.get(d.id)
    if (stats === undefined) return true
    if (d.rpm !== undefined && stats.requestsThisMinute >= d.rpm) return false
    return d.tpm === undefined || stats.tokensThisMinute + estimatedTokens(run) <= d.tpm
  })

const overRateLimits = (group: string, candidates: ReadonlyArray<Deployment>, now: number) =>
  new LlmError.NoDeploymentAvailable({
    provider: ROUTER,
    group,
    message: `No deployments available for model group "${group}": every deployment has reached its rpm/tpm limit for this minute (${
      candidates.map((d) => `${d.id}: ${[d.rpm !== undefined ? `rpm ${d.rpm}` : "", d.tpm !== undefined ? `tpm ${d.tpm}` : ""].filter(Boolean).join(", ")}`).join("; ")
    })`,
    retryAfter: Duration.millis(60_000 - (now % 60_000))
  })

const withinBudget = (engine: Engine, ledger: Budget.Ledger, candidates: ReadonlyArray<Deployment>, now: number) =>
  candidates.filter((d) => Budget.exceeded(ledger, engine.budgetLimits.get(d.id), now) === undefined)

/** Every candidate is over a budget: a 429 until the first of their windows ends (or a fallback). */
const overBudget = (engine: Engine, group: string, candidates: ReadonlyArray<Deployment>, now: number) => {
  const reached = candidates.map((d) => Budget.exceeded(engine.ledger!, engine.budgetLimits.get(d.id), now)!)
  const reopens = Math.min(...reached.map((limit) => Budget.windowEndsAt(limit, now)))
  return new LlmError.NoDeploymentAvailable({
    provider: ROUTER,
    group,
    message: `No deployments available for model group "${group}": every deployment is over its budget (${
      [...new Set(reached.map(Budget.describe))].join("; ")
    })`,
    retryAfter: Duration.millis(Math.max(0, reopens - now))
  })
}

/** The deployments an attempt may pick from, and the healthy ones of the group (for deciding a retry). */
export interface Choice {
  readonly pool: ReadonlyArray<Deployment>
  readonly healthy: ReadonlyArray<Deployment>
}

/**
 * The pool of one attempt, or why there is none. `ignoreCooldown` is the last resort, when
 * every deployment of every chain is cooling: the one that recovers first is tried. With
 * nothing to call after an earlier failure, that failure (`lastError`) is the answer.
 */
export const choose = (
  engine: Engine,
  run: Run,
  group: string,
  candidates: ReadonlyArray<Deployment>,
  snapshot: Snapshot,
  ignoreCooldown: boolean,
  lastError: LlmError.LlmError | undefined
): Choice | LlmError.LlmError => {
  const ledger = engine.ledger
  const affordable = ledger === undefined ? candidates : withinBudget(engine, ledger, candidates, snapshot.now)
  if (affordable.length === 0) return overBudget(engine, group, candidates, snapshot.now)
  const unlimited = engine.rateLimited ? withinRateLimits(run, affordable, snapshot) : affordable
  if (unlimited.length === 0) return overRateLimits(group, affordable, snapshot.now)
  const callable = run.excluded === undefined ? unlimited : unlimited.filter((d) => !run.excluded!.has(d.id))
  const healthy = notCooling(callable, snapshot)
  if (healthy.length > 0) {
    const fresh = run.failed === undefined ? healthy : healthy.filter((d) => !run.failed!.has(d.id))
    return { pool: Strategy.lowestOrder(fresh.length > 0 ? fresh : healthy), healthy }
  }
  if (ignoreCooldown && callable.length > 0) {
    // Every deployment is cooling: try the one that recovers first rather than fail without a call.
    const soonest = callable.reduce((a, b) =>
      (snapshot.stats.get(a.id)?.cooldownUntil ?? 0) <= (snapshot.stats.get(b.id)?.cooldownUntil ?? 0) ? a : b
    )
    return { pool: [soonest], healthy }
  }
  if (lastError) return lastError
  const until = Math.min(...callable.map((d) => snapshot.stats.get(d.id)?.cooldownUntil ?? snapshot.now))
  return new LlmError.NoDeploymentAvailable({
    provider: ROUTER,
    group,
    message: callable.length === 0
      ? `Every deployment of model group "${group}" failed with an error it cannot recover from`
      : `No deployments available for model group "${group}": all ${callable.length} are cooling down`,
    ...(callable.length > 0 && Number.isFinite(until)
      ? { retryAfter: Duration.millis(Math.max(0, until - snapshot.now)) }
      : {})
  })
}

/**
 * The deployment of one attempt: a session goes back to its deployment while that is still in
 * the pool, else the strategy picks; a strategy whose filters leave nothing is answered as no
 * deployment available (so fallbacks act on it).
 */
export const pick = (
  engine: Engine,
  run: Run,
  group: string,
  pool: ReadonlyArray<Deployment>,
  snapshot: Snapshot,
  random: number
): Deployment | LlmError.LlmError => {
  const pinned = run.session !== undefined ? engine.pins?.get(group, run.session, snapshot.now) : undefined
  const chosen = (pinned !== undefined ? pool.find((c) => c.id === pinned) : undefined) ??
    engine.strategyFor(group)(pool, { snapshot, streaming: run.streaming, random, request: run.request, latency: engine.latency.estimates })
  return chosen ?? new LlmError.NoDeploymentAvailable({
    provider: ROUTER,
    group,
    message: `The routing strategy of model group "${group}" chose none of its ${pool.length} available deployments`
  })
}

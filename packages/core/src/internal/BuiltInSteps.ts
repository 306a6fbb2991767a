/**
 * The router's own filters, as pipeline steps (`Strategy.matchingTags`, `withinContextWindow`,
 * `withinBudget`, `withinRateLimits`, `healthy`, `lowestOrder`): each a pure function of
 * (candidates, context) with the refusal the router answers when it leaves nothing. Each
 * returns its input array when it removes nothing (the usual case), so a decision allocates
 * nothing, and the per-array memos keep working on a group's members array.
 */
import { Duration } from "effect"
import * as Budget from "../Budget.ts"
import type { Deployment } from "../Deployment.ts"
import * as LlmError from "../LlmError.ts"
import type { BuiltInName, Context, Filter, Pipeline, Step } from "../Strategy.ts"
import { ROUTER } from "./Run.ts"

/** Beyond this many candidates, what a step needs of them is prepared once per array (a group's is the same each time). */
export const LARGE = 16

/**
 * A step that is also a pipeline combinator: called with candidates it filters them, called
 * with a pipeline (in a `pipe`) it adds itself to it.
 */
export const dualStep = <Extra extends object>(keep: Step, extra: Extra): Filter & Extra => {
  const self = Object.assign(
    (input: ReadonlyArray<Deployment> | Pipeline, context?: Context): any =>
      Array.isArray(input)
        ? keep(input as ReadonlyArray<Deployment>, context!)
        : { ...(input as Pipeline), steps: [...(input as Pipeline).steps, self] },
    extra
  )
  return self as unknown as Filter & Extra
}

const builtIn = <const Name extends BuiltInName>(
  name: Name,
  keep: Step,
  refusal: (candidates: ReadonlyArray<Deployment>, context: Context) => LlmError.LlmError
): Filter & { readonly builtIn: Name } => dualStep(keep, { builtIn: name, refusal })

/** `candidates` less those failing `keep`: the same array when all pass (no allocation). */
const keepIf = (candidates: ReadonlyArray<Deployment>, keep: (d: Deployment) => boolean): ReadonlyArray<Deployment> => {
  for (let i = 0; i < candidates.length; i++) {
    if (!keep(candidates[i]!)) return candidates.filter(keep)
  }
  return candidates
}

const groupOf = (context: Context) => context.group ?? "(strategy)"

// ---------------------------------------------------------------------------------------------
// Tags

/**
 * LiteLLM's tag routing: a request's `metadata.tags` keep the deployments with one of them,
 * else those tagged `default`; a request without tags gets the `default` ones if any, else all.
 */
export const matchingTags = builtIn(
  "matchingTags",
  (candidates, context) => {
    const tags = context.tags
    // No tags asked for: the `default`-tagged deployments if any, made once per array.
    if (tags === undefined || tags.length === 0) return untagged(candidates)
    const tagged = candidates.filter((d) => d.tags.some((t) => tags.includes(t)))
    if (tagged.length > 0) return tagged.length === candidates.length ? candidates : tagged
    return candidates.filter((d) => d.tags.includes("default"))
  },
  // When the requested group has none of the tags the request is at fault: a 400 naming the
  // group and the tags (no retry, no fallback; a 429 would have SDKs retry it for nothing). A
  // fallback group without them is only skipped.
  (_, context) => {
    const tags = context.tags ?? []
    const named = JSON.stringify(tags.length > 20 ? [...tags.slice(0, 20), "…"] : tags).slice(0, 500)
    const group = groupOf(context)
    const message = `No deployment of model group "${group}" has any of the tags ${named} (and none is tagged "default")`
    return context.isFallback === true
      ? new LlmError.NoDeploymentAvailable({ provider: ROUTER, group, message })
      : new LlmError.BadRequest({ provider: ROUTER, status: 400, param: "tags", message })
  }
)

const untaggedOf = new WeakMap<ReadonlyArray<Deployment>, ReadonlyArray<Deployment>>()
const untagged = (candidates: ReadonlyArray<Deployment>): ReadonlyArray<Deployment> => {
  let found = untaggedOf.get(candidates)
  if (found === undefined) {
    found = candidates.some((d) => d.tags.includes("default"))
      ? candidates.filter((d) => d.tags.includes("default"))
      : candidates
    untaggedOf.set(candidates, found)
  }
  return found
}

// ---------------------------------------------------------------------------------------------
// Context window

/** The deployments whose context window (`max_input_tokens`) holds the request's estimated tokens. */
export const withinContextWindow = builtIn(
  "withinContextWindow",
  (candidates, context) => {
    // Every candidate holds a request up to the smallest window: then no filter (and no estimate when none has one).
    const smallest = smallestWindow(candidates)
    if (smallest === Infinity) return candidates
    const tokens = context.estimatedTokens ?? 0
    if (tokens <= smallest) return candidates
    return candidates.filter((d) => d.maxInputTokens === undefined || tokens <= d.maxInputTokens)
  },
  // Selects the group's `context_window_fallbacks`.
  (_, context) =>
    new LlmError.ContextWindowExceeded({
      provider: ROUTER,
      message: `The request (about ${context.estimatedTokens ?? 0} tokens) exceeds the context window of every deployment of "${
        groupOf(context)
      }"`
    })
)

const smallestWindowOf = new WeakMap<ReadonlyArray<Deployment>, number>()
/** The smallest context window among `candidates` (made once per array: the group's, or its `default` ones). */
const smallestWindow = (candidates: ReadonlyArray<Deployment>): number => {
  let smallest = smallestWindowOf.get(candidates)
  if (smallest === undefined) {
    smallest = Infinity
    for (const d of candidates) if (d.maxInputTokens !== undefined && d.maxInputTokens < smallest) smallest = d.maxInputTokens
    smallestWindowOf.set(candidates, smallest)
  }
  return smallest
}

// ---------------------------------------------------------------------------------------------
// Budget

/** The deployments under every budget (`context.overBudget`); all of them when there is no budget. */
export const withinBudget = builtIn(
  "withinBudget",
  (candidates, context) => {
    const overBudget = context.overBudget
    if (overBudget === undefined) return candidates
    const now = context.snapshot.now
    return keepIf(candidates, (d) => overBudget(d, now) === undefined)
  },
  // A 429 until the first of their windows ends (or a fallback).
  (candidates, context) => {
    const now = context.snapshot.now
    const reached = candidates.map((d) => context.overBudget!(d, now)!)
    const reopens = Math.min(...reached.map((limit) => Budget.windowEndsAt(limit, now)))
    const group = groupOf(context)
    return new LlmError.NoDeploymentAvailable({
      provider: ROUTER,
      group,
      message: `No deployments available for model group "${group}": every deployment is over its budget (${
        [...new Set(reached.map(Budget.describe))].join("; ")
      })`,
      retryAfter: Duration.millis(Math.max(0, reopens - now))
    })
  }
)

// ---------------------------------------------------------------------------------------------
// rpm / tpm

/**
 * The deployments under their `rpm` and `tpm` for this minute, counting this request's
 * estimated tokens: `rpm` / `tpm` as limits (LiteLLM's usage-based routing), not weights.
 */
export const withinRateLimits = builtIn(
  "withinRateLimits",
  (candidates, context) => {
    const stats = context.snapshot.stats
    return keepIf(candidates, (d) => {
      if (d.rpm === undefined && d.tpm === undefined) return true
      const used = stats.get(d.id)
      if (used === undefined) return true
      if (d.rpm !== undefined && used.requestsThisMinute >= d.rpm) return false
      return d.tpm === undefined || used.tokensThisMinute + (context.estimatedTokens ?? 0) <= d.tpm
    })
  },
  // A 429 until the minute ends.
  (candidates, context) => {
    const group = groupOf(context)
    const now = context.snapshot.now
    return new LlmError.NoDeploymentAvailable({
      provider: ROUTER,
      group,
      message: `No deployments available for model group "${group}": every deployment has reached its rpm/tpm limit for this minute (${
        candidates.map((d) =>
          `${d.id}: ${[d.rpm !== undefined ? `rpm ${d.rpm}` : "", d.tpm !== undefined ? `tpm ${d.tpm}` : ""].filter(Boolean).join(", ")}`
        ).join("; ")
      })`,
      retryAfter: Duration.millis(60_000 - (now % 60_000))
    })
  }
)

// ---------------------------------------------------------------------------------------------
// Cooldowns

const cooldownUntil = (context: Context, d: Deployment) => context.snapshot.stats.get(d.id)?.cooldownUntil ?? 0

/** The deployments not cooling down: the same array when none is, as on most requests. */
export const healthy = builtIn(
  "healthy",
  (candidates, context) => {
    // The store knows nothing is cooling: no deployment's stats are read.
    if (context.snapshot.noneCooling === true) return candidates
    return keepIf(candidates, (d) => cooldownUntil(context, d) === 0)
  },
  // A 429 until the first of them recovers.
  (candidates, context) => {
    const { now } = context.snapshot
    const group = groupOf(context)
    const until = Math.min(...candidates.map((d) => cooldownUntil(context, d) || now))
    return new LlmError.NoDeploymentAvailable({
      provider: ROUTER,
      group,
      message: `No deployments available for model group "${group}": all ${candidates.length} are cooling down`,
      ...(Number.isFinite(until) ? { retryAfter: Duration.millis(Math.max(0, until - now)) } : {})
    })
  }
)

/** Of cooling candidates, the one that recovers first (the router's last resort, when every chain is cooling). */
export const recoversFirst = (candidates: ReadonlyArray<Deployment>, context: Context): Deployment =>
  candidates.reduce((a, b) => (cooldownUntil(context, a) <= cooldownUntil(context, b) ? a : b))

// ---------------------------------------------------------------------------------------------
// order

/** Keeps the deployments with the lowest `order`; a deployment without one comes after all that have one. */
export const lowestOrder = builtIn(
  "lowestOrder",
  (candidates) => {
    if (candidates.length <= LARGE) return lowestOrderOf(candidates)
    let found = lowestOrderMemo.get(candidates)
    if (found === undefined) lowestOrderMemo.set(candidates, found = lowestOrderOf(candidates))
    return found
  },
  // Never leaves nothing of something; here for uniformity.
  (_, context) =>
    new LlmError.NoDeploymentAvailable({
      provider: ROUTER,
      group: groupOf(context),
      message: `No deployments available for model group "${groupOf(context)}"`
    })
)

const lowestOrderMemo = new WeakMap<ReadonlyArray<Deployment>, ReadonlyArray<Deployment>>()

const lowestOrderOf = (candidates: ReadonlyArray<Deployment>): ReadonlyArray<Deployment> => {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const d of candidates) {
    const order = d.order ?? Number.POSITIVE_INFINITY
    min = Math.min(min, order)
    max = Math.max(max, order)
  }
  // Usually no deployment has an order, or all share one: no new array.
  return min === max ? candidates : candidates.filter((d) => (d.order ?? Number.POSITIVE_INFINITY) === min)
}

/**
 * Routing strategies: given the healthy deployments of a group, the state snapshot and a
 * random number, pick one. Pure functions, so they are cheap and easy to test; the router
 * supplies the randomness (from `Random`, so runs are reproducible with a seed).
 */
import type { Deployment } from "./Deployment.ts"
import * as ModelCatalog from "./ModelCatalog.ts"
import type { RoutingStrategy } from "./RouterConfig.ts"
import type { DeploymentStats, Snapshot } from "./RouterState.ts"

export interface Context {
  readonly snapshot: Snapshot
  readonly streaming: boolean
  /** A uniform random number in [0, 1). */
  readonly random: number
}

export type Strategy = (candidates: ReadonlyArray<Deployment>, context: Context) => Deployment

const idle: DeploymentStats = { cooldownUntil: 0, inFlight: 0, requestsThisMinute: 0, tokensThisMinute: 0, recentFailures: 0 }
const statsOf = (context: Context, d: Deployment) => context.snapshot.stats.get(d.id) ?? idle

const pickWeighted = (candidates: ReadonlyArray<Deployment>, weights: ReadonlyArray<number>, random: number): Deployment => {
  const total = weights.reduce((a, b) => a + b, 0)
  if (!(total > 0)) return candidates[Math.floor(random * candidates.length)]!
  let threshold = random * total
  for (let i = 0; i < candidates.length; i++) {
    threshold -= weights[i]!
    if (threshold < 0) return candidates[i]!
  }
  return candidates[candidates.length - 1]!
}

/** Chooses uniformly among the candidates with the lowest score. */
const pickLowest = (candidates: ReadonlyArray<Deployment>, score: (d: Deployment) => number, random: number) => {
  let best = Number.POSITIVE_INFINITY
  let ties: Array<Deployment> = []
  for (const d of candidates) {
    const s = score(d)
    if (s < best) {
      best = s
      ties = [d]
    } else if (s === best) ties.push(d)
  }
  return ties.length === 0 ? candidates[0]! : ties[Math.floor(random * ties.length)]!
}

/**
 * LiteLLM's simple-shuffle: random, weighted by `weight` if any deployment has one, else by
 * `rpm`, else by `tpm`, else uniform. A deployment missing the chosen field weighs 0.
 */
export const simpleShuffle: Strategy = (candidates, { random }) => {
  for (const field of ["weight", "rpm", "tpm"] as const) {
    if (candidates.some((d) => d[field] !== undefined)) {
      return pickWeighted(candidates, candidates.map((d) => d[field] ?? 0), random)
    }
  }
  return candidates[Math.floor(random * candidates.length)]!
}

/** Fewest calls in flight right now. */
export const leastBusy: Strategy = (candidates, context) =>
  pickLowest(candidates, (d) => statsOf(context, d).inFlight, context.random)

/** Lowest mean latency (time to first chunk for streams); unmeasured deployments go first. */
export const lowestLatency: Strategy = (candidates, context) =>
  pickLowest(candidates, (d) => {
    const stats = statsOf(context, d)
    return (context.streaming ? stats.timeToFirstChunkMs ?? stats.latencyMs : stats.latencyMs) ?? 0
  }, context.random)

/** Lowest price per token (input plus output); a deployment with no known price goes last. */
export const lowestCost: Strategy = (candidates, context) =>
  pickLowest(candidates, (d) => {
    const known = ModelCatalog.lookup(d.model, d.provider)
    const input = d.inputCostPerToken ?? known?.inputPerToken
    const output = d.outputCostPerToken ?? known?.outputPerToken
    return input === undefined || output === undefined ? Number.POSITIVE_INFINITY : input + output
  }, context.random)

/**
 * LiteLLM's usage-based routing (v1 and v2 alike here): the fewest tokens used this minute.
 * Deployments at their `rpm` or `tpm` are not candidates at all (see the router's pre-call check).
 */
export const lowestUsage: Strategy = (candidates, context) =>
  pickLowest(candidates, (d) => statsOf(context, d).tokensThisMinute, context.random)

export const byName: { readonly [K in RoutingStrategy]: Strategy } = {
  "simple-shuffle": simpleShuffle,
  "least-busy": leastBusy,
  "latency-based-routing": lowestLatency,
  "cost-based-routing": lowestCost,
  "usage-based-routing": lowestUsage,
  "usage-based-routing-v2": lowestUsage
}

/** Keeps the deployments with the lowest `order`; a deployment without one comes after all that have one. */
export const lowestOrder = (candidates: ReadonlyArray<Deployment>): ReadonlyArray<Deployment> => {
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

/**
 * Routing strategies as values: a strategy is a pipeline of pure steps over the candidates
 * the router's own checks left (healthy, within budget and limits, lowest `order`): filters
 * and orderings that narrow the candidates, then a final pick. LiteLLM's `routing_strategy`
 * names are prebuilt pipelines of these steps (`byName`); an app composes its own with `pipe`
 * and gives it to the router (`Router.make(config, clientFor, { strategy })`). Steps are
 * plain synchronous functions of (candidates, context), compiled once into one function, so
 * a decision costs no allocation beyond what a step itself makes. The randomness comes from
 * the router (from `Random`, so runs are reproducible with a seed).
 *
 * ```ts
 * // The cheapest deployment whose p50 latency is under 500 ms, else the fastest.
 * const cheapFast = pipe(
 *   Strategy.candidates,
 *   Strategy.filter((d, context) => (Strategy.statsOf(context, d).latencyP50Ms ?? 0) < 500),
 *   Strategy.pickLowest(Strategy.pricePerToken),
 *   Strategy.orElse(pipe(Strategy.candidates, Strategy.pickLowest(Strategy.latencyP50)))
 * )
 * ```
 */
import type { Deployment } from "./Deployment.ts"
import type * as LatencyRouting from "./LatencyRouting.ts"
import * as ModelCatalog from "./ModelCatalog.ts"
import type { RoutingStrategy } from "./RouterConfig.ts"
import type { DeploymentStats, Snapshot } from "./RouterState.ts"

/** What a step sees besides the candidates. */
export interface Context {
  readonly snapshot: Snapshot
  readonly streaming: boolean
  /** A uniform random number in [0, 1): one per decision (a step that needs two may split it, see `randomPair`). */
  readonly random: number
  /** The request being routed: its `model`, `metadata`… (absent when a strategy is called outside a router). */
  readonly request?: { readonly model: string; readonly metadata?: unknown } | undefined
  /**
   * The router's adaptive latency estimates (`LatencyRouting`), which its calls feed once a
   * decision has read them (absent when a strategy is called outside a router). `latencyBased`
   * ranks by them.
   */
  readonly latency?: LatencyRouting.Estimates | undefined
}

/**
 * A final pick: given at least one candidate, chooses one. LiteLLM's strategies are picks
 * (`simpleShuffle`, `leastBusy`…), so a pick is also a complete strategy.
 */
export type Pick = (candidates: ReadonlyArray<Deployment>, context: Context) => Deployment

/**
 * A complete strategy: chooses a deployment among the candidates, or none when its filters
 * left nothing (the router then answers `NoDeploymentAvailable`, which fallbacks act on).
 */
export type Strategy = (candidates: ReadonlyArray<Deployment>, context: Context) => Deployment | undefined

/** A step of a pipeline: the candidates that go on (a subset, possibly reordered). */
export type Step = (candidates: ReadonlyArray<Deployment>, context: Context) => ReadonlyArray<Deployment>

/** The steps before the final pick, in order. Build with `pipe(candidates, filter(…), …, pick(…))`. */
export interface Pipeline {
  readonly steps: ReadonlyArray<Step>
}

/** The start of every pipeline: all the candidates the router's checks left. */
export const candidates: Pipeline = { steps: [] }

/** Adds a step. */
export const step = (next: Step) => (self: Pipeline): Pipeline => ({ steps: [...self.steps, next] })

/** Keeps the candidates for which `keep` holds (possibly none). Costs nothing when every candidate passes. */
export const filter = (keep: (deployment: Deployment, context: Context) => boolean) =>
  step((candidates, context) => {
    for (let i = 0; i < candidates.length; i++) {
      if (!keep(candidates[i]!, context)) return candidates.filter((d) => keep(d, context))
    }
    return candidates
  })

/** Keeps the candidates for which `keep` holds, if there is any; else all of them. */
export const prefer = (keep: (deployment: Deployment, context: Context) => boolean) =>
  step((candidates, context) => {
    const kept = candidates.filter((d) => keep(d, context))
    return kept.length > 0 ? kept : candidates
  })

/** Keeps the candidates with the lowest score (ties all stay). */
export const keepLowest = (score: (deployment: Deployment, context: Context) => number) =>
  step((candidates, context) => lowestTies(candidates, (d) => score(d, context)))

/** Orders the candidates by ascending score (a stable sort), for a pick that reads the order (`first`). */
export const sortBy = (score: (deployment: Deployment, context: Context) => number) =>
  step((candidates, context) => {
    const scored = candidates.map((d) => [score(d, context), d] as const)
    scored.sort((a, b) => a[0] - b[0])
    return scored.map(([, d]) => d)
  })

/**
 * Ends a pipeline with a pick: the strategy runs the steps in order and picks among what is
 * left, or chooses none if a step left nothing.
 */
export const pick = (final: Pick) => (self: Pipeline): Strategy => {
  const steps = self.steps
  if (steps.length === 0) return (candidates, context) => (candidates.length === 0 ? undefined : final(candidates, context))
  return (candidates, context) => {
    let current = candidates
    for (let i = 0; i < steps.length && current.length > 0; i++) current = steps[i]!(current, context)
    return current.length === 0 ? undefined : final(current, context)
  }
}

/** Ends a pipeline by choosing uniformly among the lowest-scoring candidates. */
export const pickLowest = (score: (deployment: Deployment, context: Context) => number) =>
  pick((candidates, context) => pickLowestOf(candidates, (d) => score(d, context), context.random))

/** The first candidate (after a `sortBy`, the best). */
export const first: Pick = (candidates) => candidates[0]!

/** `self`, or when it chooses none, `that` over the same candidates. */
export const orElse = (that: Strategy) => (self: Strategy): Strategy => (candidates, context) =>
  self(candidates, context) ?? that(candidates, context)

// ---------------------------------------------------------------------------------------------
// What a step can read.

const idle: DeploymentStats = { cooldownUntil: 0, inFlight: 0, requestsThisMinute: 0, tokensThisMinute: 0, recentFailures: 0 }

/** A deployment's stats in this decision's snapshot (an idle deployment's when it has none). */
export const statsOf = (context: Context, d: Deployment): DeploymentStats => context.snapshot.stats.get(d.id) ?? idle

/** Price per token, input plus output (the deployment's own, else the catalog's); unknown is `Infinity`. */
export const pricePerToken = (d: Deployment): number => {
  const known = d.inputCostPerToken === undefined || d.outputCostPerToken === undefined
    ? ModelCatalog.lookup(d.model, d.provider)
    : undefined
  const input = d.inputCostPerToken ?? known?.inputPerToken
  const output = d.outputCostPerToken ?? known?.outputPerToken
  return input === undefined || output === undefined ? Number.POSITIVE_INFINITY : input + output
}

/** Calls in flight right now. */
export const inFlight = (d: Deployment, context: Context): number => statsOf(context, d).inFlight

/** Mean latency of recent calls (time to first chunk for streams); 0 when unmeasured, so new deployments are tried. */
export const meanLatency = (d: Deployment, context: Context): number => {
  const stats = statsOf(context, d)
  return (context.streaming ? stats.timeToFirstChunkMs ?? stats.latencyMs : stats.latencyMs) ?? 0
}

/** Median latency of recent calls (time to first chunk for streams); 0 when unmeasured. */
export const latencyP50 = (d: Deployment, context: Context): number => {
  const stats = statsOf(context, d)
  return (context.streaming ? stats.timeToFirstChunkP50Ms ?? stats.latencyP50Ms : stats.latencyP50Ms) ?? 0
}

/** Tokens used this minute. */
export const tokensThisMinute = (d: Deployment, context: Context): number => statsOf(context, d).tokensThisMinute

/** Two distinct indices below `n` (n ≥ 2) from one uniform number, for the power of two random choices. */
export const randomPair = (random: number, n: number): readonly [number, number] => {
  const scaled = random * n
  const i = Math.floor(scaled)
  const j = Math.floor((scaled - i) * (n - 1))
  return [i, j >= i ? j + 1 : j]
}

// ---------------------------------------------------------------------------------------------
// LiteLLM's strategies, as picks.

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

const lowestTies = (candidates: ReadonlyArray<Deployment>, score: (d: Deployment) => number): ReadonlyArray<Deployment> => {
  let best = Number.POSITIVE_INFINITY
  let ties: Array<Deployment> = []
  for (const d of candidates) {
    const s = score(d)
    if (s < best) {
      best = s
      ties = [d]
    } else if (s === best) ties.push(d)
  }
  return ties.length === 0 ? candidates : ties
}

/** Chooses uniformly among the candidates with the lowest score. */
const pickLowestOf = (candidates: ReadonlyArray<Deployment>, score: (d: Deployment) => number, random: number) => {
  const ties = lowestTies(candidates, score)
  return ties[Math.floor(random * ties.length)]!
}

/**
 * LiteLLM's simple-shuffle: random, weighted by `weight` if any deployment has one, else by
 * `rpm`, else by `tpm`, else uniform. A deployment missing the chosen field weighs 0.
 */
export const simpleShuffle: Pick = (candidates, { random }) => {
  if (candidates.length > LARGE) return shuffleLarge(candidates, random)
  for (const field of ["weight", "rpm", "tpm"] as const) {
    if (candidates.some((d) => d[field] !== undefined)) {
      return pickWeighted(candidates, candidates.map((d) => d[field] ?? 0), random)
    }
  }
  return candidates[Math.floor(random * candidates.length)]!
}

/** Beyond this many candidates, what a pick needs of them is prepared once per array (a group's is the same each time). */
const LARGE = 16

/** Cumulative weights of a large candidate array (none: uniform), made once per array. */
const cumulativeOf = new WeakMap<ReadonlyArray<Deployment>, Float64Array | null>()

/** `simpleShuffle` over many candidates: the weights prepared once, then a binary search (reads no stats). */
const shuffleLarge = (candidates: ReadonlyArray<Deployment>, random: number): Deployment => {
  let cumulative = cumulativeOf.get(candidates)
  if (cumulative === undefined) {
    cumulative = null
    for (const field of ["weight", "rpm", "tpm"] as const) {
      if (candidates.some((d) => d[field] !== undefined)) {
        const sums = new Float64Array(candidates.length)
        let total = 0
        for (let i = 0; i < candidates.length; i++) sums[i] = total += candidates[i]![field] ?? 0
        cumulative = total > 0 ? sums : null
        break
      }
    }
    cumulativeOf.set(candidates, cumulative)
  }
  if (cumulative === null) return candidates[Math.floor(random * candidates.length)]!
  // The first index whose cumulative weight exceeds the threshold, as `pickWeighted` walks to it.
  const threshold = random * cumulative[cumulative.length - 1]!
  let low = 0
  let high = cumulative.length - 1
  while (low < high) {
    const mid = (low + high) >>> 1
    if (cumulative[mid]! > threshold) high = mid
    else low = mid + 1
  }
  return candidates[low]!
}

/** Fewest calls in flight right now. */
export const leastBusy: Pick = (candidates, context) => pickLowestOf(candidates, (d) => inFlight(d, context), context.random)

/** Lowest mean latency (time to first chunk for streams); unmeasured deployments go first. */
export const lowestLatency: Pick = (candidates, context) =>
  pickLowestOf(candidates, (d) => meanLatency(d, context), context.random)

/**
 * LiteLLM's `latency-based-routing`, in a router: its adaptive latency routing (`LatencyRouting`:
 * estimates that forget, probes, no herding), the same whether named in the config or ending a
 * pipeline of one's own. Outside a router (no `context.latency`), the lowest mean latency.
 */
export const latencyBased: Pick = (candidates, context) =>
  context.latency !== undefined ? context.latency.pick(candidates, context) : lowestLatency(candidates, context)

/** Lowest price per token (input plus output); a deployment with no known price goes last. */
export const lowestCost: Pick = (candidates, context) => pickLowestOf(candidates, pricePerToken, context.random)

/**
 * LiteLLM's usage-based routing (v1 and v2 alike here): the fewest tokens used this minute.
 * Deployments at their `rpm` or `tpm` are not candidates at all (see the router's pre-call check).
 */
export const lowestUsage: Pick = (candidates, context) =>
  pickLowestOf(candidates, (d) => tokensThisMinute(d, context), context.random)

/** LiteLLM's `routing_strategy` names, each a prebuilt pipeline (a pick over all candidates). */
export const byName: { readonly [K in RoutingStrategy]: Pick } = {
  "simple-shuffle": simpleShuffle,
  "least-busy": leastBusy,
  "latency-based-routing": latencyBased,
  "cost-based-routing": lowestCost,
  "usage-based-routing": lowestUsage,
  "usage-based-routing-v2": lowestUsage
}

/** Keeps the deployments with the lowest `order`; a deployment without one comes after all that have one. */
export const lowestOrder = (candidates: ReadonlyArray<Deployment>): ReadonlyArray<Deployment> => {
  if (candidates.length <= LARGE) return lowestOrderOf(candidates)
  let found = lowestOrderMemo.get(candidates)
  if (found === undefined) lowestOrderMemo.set(candidates, found = lowestOrderOf(candidates))
  return found
}

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

/**
 * Routing strategies as values: a strategy is a pipeline of pure steps over a group's
 * deployments: filters and orderings that narrow the candidates, then a final pick. The
 * router's own filters are steps too (`matchingTags`, `withinContextWindow`, `withinBudget`,
 * `withinRateLimits`, `healthy`, `lowestOrder`), each with the refusal the router answers when
 * it leaves nothing (a 429 until the budget or the minute reopens, a 400 for tags no deployment
 * has…). LiteLLM's `routing_strategy` names are prebuilt pipelines of these steps (`named`); an
 * app composes its own with `pipe` and gives it to the router (`Router.make(config, clientFor,
 * { strategy })`). Steps are plain synchronous functions of (candidates, context), compiled
 * once per group, so a decision costs no allocation beyond what a step itself makes. The
 * randomness comes from the router (from `Random`, so runs are reproducible with a seed).
 *
 * Where a pipeline starts says what the router does before its steps:
 * - `candidates`: after the router's filters as configured (`admitted`, with `withinRateLimits`
 *   under usage-based routing), as a pick alone or a function of your own is run;
 * - `members`: the whole group; the built-in steps it names act where they stand, and those it
 *   leaves out do not act at all (`admitted` is `members` and the built-in steps in the router's order).
 *
 * ```ts
 * // The cheapest deployment whose p50 latency is under 500 ms, else the fastest.
 * const cheapFast = pipe(
 *   Strategy.candidates,
 *   Strategy.filter((d, context) => (Strategy.statsOf(context, d).latencyP50Ms ?? 0) < 500),
 *   Strategy.pickLowest(Strategy.pricePerToken),
 *   Strategy.orElse(pipe(Strategy.candidates, Strategy.pickLowest(Strategy.latencyP50)))
 * )
 * // Ignore cooldowns, keep the rest of the router's filters.
 * const throughCooldowns = pipe(
 *   Strategy.members,
 *   Strategy.matchingTags, Strategy.withinContextWindow, Strategy.withinBudget, Strategy.lowestOrder,
 *   Strategy.pick(Strategy.simpleShuffle)
 * )
 * ```
 */
import type { Deployment } from "./Deployment.ts"
import type { Limit } from "./Budget.ts"
import * as BuiltIn from "./internal/BuiltInSteps.ts"
import type * as LatencyRouting from "./LatencyRouting.ts"
import type * as LlmError from "./LlmError.ts"
import * as ModelCatalog from "./ModelCatalog.ts"
import type { RoutingStrategy } from "./RouterConfig.ts"
import type { DeploymentStats, Snapshot } from "./RouterState.ts"

/**
 * What a step sees besides the candidates. A router fills every field; a strategy called on
 * its own needs only the first three (a built-in step then has nothing to check: no budget,
 * no estimate, no tags asked).
 */
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
  /** The model group being routed (named in refusals). */
  readonly group?: string | undefined
  /** True when `group` is a fallback of the group the request named: a tags refusal then only skips it. */
  readonly isFallback?: boolean | undefined
  /** The request's `metadata.tags` (`matchingTags`). */
  readonly tags?: ReadonlyArray<string> | undefined
  /** The request's input tokens, estimated (`withinContextWindow`, the `tpm` of `withinRateLimits`); 0 when absent. */
  readonly estimatedTokens?: number | undefined
  /**
   * The first budget limit a deployment has reached at `now`, if any (`withinBudget`); the
   * router's reads its `Budget.Ledger`. Absent: no budget.
   */
  readonly overBudget?: ((deployment: Deployment, now: number) => Limit | undefined) | undefined
}

/**
 * A final pick: given at least one candidate, chooses one. LiteLLM's strategies are picks
 * (`simpleShuffle`, `leastBusy`…), so a pick is also a complete strategy (run by a router
 * after its filters, as a pipeline from `candidates`).
 */
export type Pick = (candidates: ReadonlyArray<Deployment>, context: Context) => Deployment

/**
 * A complete strategy: chooses a deployment among the candidates, or none when its filters
 * left nothing (the router then answers the refusal of the built-in step that left nothing,
 * else `NoDeploymentAvailable`; fallbacks act on either).
 */
export interface Strategy {
  (candidates: ReadonlyArray<Deployment>, context: Context): Deployment | undefined
  /**
   * What it is made of, when built by `pick` (and `orElse`): the router runs these steps
   * itself, so it can say which filter refused. A function without one is run as a pick.
   */
  readonly plan?: Plan | undefined
}

/** A strategy as data: its pipeline, its pick, and the strategy that answers when it chooses none. */
export interface Plan {
  readonly pipeline: Pipeline
  readonly final: Pick
  readonly otherwise?: Strategy | undefined
}

/** A step of a pipeline: the candidates that go on (a subset, possibly reordered). */
export type Step = (candidates: ReadonlyArray<Deployment>, context: Context) => ReadonlyArray<Deployment>

/**
 * A step that says why it left nothing: the error a router answers then. Called with
 * candidates it filters them; in a `pipe` it adds itself to the pipeline.
 */
export interface Filter {
  (candidates: ReadonlyArray<Deployment>, context: Context): ReadonlyArray<Deployment>
  (self: Pipeline): Pipeline
  readonly refusal: (candidates: ReadonlyArray<Deployment>, context: Context) => LlmError.LlmError
  /** Which of the router's own filters this is, if it is one. */
  readonly builtIn?: BuiltInName | undefined
}

export type BuiltInName = "matchingTags" | "withinContextWindow" | "withinBudget" | "withinRateLimits" | "healthy" | "lowestOrder"

/** The steps before the final pick, in order. Build with `pipe(candidates, filter(…), …, pick(…))`. */
export interface Pipeline {
  readonly steps: ReadonlyArray<Step>
  /** `members`: the steps see the whole group. Absent: they see what the router's configured filters left. */
  readonly from?: "members" | undefined
}

/** The start of a pipeline that runs after the router's own filters, as configured (see the module's doc). */
export const candidates: Pipeline = { steps: [] }

/** The start of a pipeline over the whole group: only the built-in steps it names filter (see the module's doc). */
export const members: Pipeline = { steps: [], from: "members" }

/** Adds a step. */
export const step = (next: Step) => (self: Pipeline): Pipeline => ({ ...self, steps: [...self.steps, next] })

/** Keeps the candidates for which `keep` holds (possibly none). Costs nothing when every candidate passes. */
export const filter = (keep: (deployment: Deployment, context: Context) => boolean) =>
  step((candidates, context) => {
    for (let i = 0; i < candidates.length; i++) {
      if (!keep(candidates[i]!, context)) return candidates.filter((d) => keep(d, context))
    }
    return candidates
  })

/** A step that gives `refusal` as the router's answer when it leaves nothing (instead of `NoDeploymentAvailable`). */
export const refusing = (
  next: Step,
  refusal: (candidates: ReadonlyArray<Deployment>, context: Context) => LlmError.LlmError
): Filter => BuiltIn.dualStep(next, { refusal })

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
  const plan: Plan = { pipeline: self, final }
  if (steps.length === 0) {
    return Object.assign((candidates: ReadonlyArray<Deployment>, context: Context) =>
      candidates.length === 0 ? undefined : final(candidates, context), { plan })
  }
  return Object.assign((candidates: ReadonlyArray<Deployment>, context: Context) => {
    let current = candidates
    for (let i = 0; i < steps.length && current.length > 0; i++) current = steps[i]!(current, context)
    return current.length === 0 ? undefined : final(current, context)
  }, { plan })
}

/** Ends a pipeline by choosing uniformly among the lowest-scoring candidates. */
export const pickLowest = (score: (deployment: Deployment, context: Context) => number) =>
  pick((candidates, context) => pickLowestOf(candidates, (d) => score(d, context), context.random))

/** The first candidate (after a `sortBy`, the best). */
export const first: Pick = (candidates) => candidates[0]!

/** `self`, or when it chooses none, `that` over the same candidates (a router runs each from its own start). */
export const orElse = (that: Strategy) => (self: Strategy): Strategy => {
  const chosen = (candidates: ReadonlyArray<Deployment>, context: Context) => self(candidates, context) ?? that(candidates, context)
  const plan = self.plan
  if (plan === undefined) return chosen
  return Object.assign(chosen, {
    plan: { ...plan, otherwise: plan.otherwise === undefined ? that : orElse(that)(plan.otherwise) }
  })
}

// ---------------------------------------------------------------------------------------------
// The router's own filters, as steps.

/** LiteLLM's tag routing (the router applies it only with `enable_tag_filtering`): see `internal/BuiltInSteps`. */
export const matchingTags: Filter = BuiltIn.matchingTags
/** The candidates whose context window holds the request (the router applies it only with `enable_pre_call_checks`). */
export const withinContextWindow: Filter = BuiltIn.withinContextWindow
/** The candidates under every budget (`max_budget`, `provider_budget_config`). */
export const withinBudget: Filter = BuiltIn.withinBudget
/** The candidates under their `rpm` and `tpm` this minute, counting this request's estimated tokens. */
export const withinRateLimits: Filter = BuiltIn.withinRateLimits
/** The candidates not cooling down. */
export const healthy: Filter = BuiltIn.healthy
/** The candidates with the lowest `order` (LiteLLM's `order`); one without comes after all that have one. Never leaves nothing. */
export const lowestOrder: LowestOrder = BuiltIn.lowestOrder as LowestOrder

/** `lowestOrder` reads no context: it may be called with the candidates alone. */
export interface LowestOrder extends Filter {
  (candidates: ReadonlyArray<Deployment>): ReadonlyArray<Deployment>
}

/**
 * The router's filters in its order, over the whole group: tags, context window, budget,
 * (`rateLimits`: rpm/tpm), not cooling, lowest `order`.
 */
export const admission = (options: { readonly rateLimits?: boolean | undefined } = {}): Pipeline => ({
  from: "members",
  steps: [
    matchingTags,
    withinContextWindow,
    withinBudget,
    ...(options.rateLimits === true ? [withinRateLimits] : []),
    healthy,
    lowestOrder
  ]
})

/** The router's filters in its order, without rpm/tpm limits (`admission()`): where a pipeline that keeps them all starts. */
export const admitted: Pipeline = admission()

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

/** The failed share of the calls that ended in the last minute (`recentFailureRate`); 0 when none ended. */
export const failureRate = (d: Deployment, context: Context): number => statsOf(context, d).recentFailureRate ?? 0

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
  if (candidates.length > BuiltIn.LARGE) return shuffleLarge(candidates, random)
  for (const field of ["weight", "rpm", "tpm"] as const) {
    if (candidates.some((d) => d[field] !== undefined)) {
      return pickWeighted(candidates, candidates.map((d) => d[field] ?? 0), random)
    }
  }
  return candidates[Math.floor(random * candidates.length)]!
}

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

/** LiteLLM's `routing_strategy` names, each as its final pick (see `named` for the whole pipeline). */
export const byName: { readonly [K in RoutingStrategy]: Pick } = {
  "simple-shuffle": simpleShuffle,
  "least-busy": leastBusy,
  "latency-based-routing": latencyBased,
  "cost-based-routing": lowestCost,
  "usage-based-routing": lowestUsage,
  "usage-based-routing-v2": lowestUsage
}

/**
 * LiteLLM's `routing_strategy` names as the whole pipelines a router runs: the router's
 * filters (`admission`; rpm/tpm as limits only under usage-based routing) and the name's pick.
 */
export const named: { readonly [K in RoutingStrategy]: Strategy } = Object.fromEntries(
  Object.entries(byName).map(([name, final]) => [name, pick(final)(admission({ rateLimits: name.startsWith("usage-based-routing") }))])
) as { readonly [K in RoutingStrategy]: Strategy }

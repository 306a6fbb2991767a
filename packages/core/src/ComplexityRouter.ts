/**
 * The complexity router, as LiteLLM configures it: a `model_list` entry whose
 * `litellm_params.model` is `auto_router/complexity_router` names a model (its `model_name`) that
 * is not served by a deployment of its own. A request for it is classified (`Complexity`) and sent
 * to the model group of its tier (`complexity_router_config.tiers`), an ordinary group with its own
 * deployments, strategy, retries, cooldowns and fallbacks. This module decides the group; the
 * router serves it.
 *
 * The ladder: when the tier's group has no deployment available, the next tier up is tried (never
 * down), then `complexity_router_default_model`. A request may force a tier
 * (`metadata.complexity_tier`, or the gateway's `x-llm-router-tier` header).
 */
import { Schema } from "effect"
import type { ChatRequest } from "./Chat.ts"
import * as Complexity from "./Complexity.ts"
import * as LiteLlmComplexity from "./LiteLlmComplexity.ts"

/** The `litellm_params.model` that marks a complexity router. */
export const MODEL = "auto_router/complexity_router"

const Rest = [Schema.Record(Schema.String, Schema.Unknown)] as const
const Score = Schema.Finite
const Keywords = Schema.Array(Schema.String)

/** LiteLLM's `complexity_router_config`, by its names. */
export const ConfigInput = Schema.StructWithRest(
  Schema.Struct({
    /** Tier → model group; a list is tried in order before climbing to the next tier. */
    tiers: Schema.optionalKey(Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Array(Schema.String)]))),
    tier_boundaries: Schema.optionalKey(Schema.Struct({
      simple_medium: Schema.optionalKey(Score),
      medium_complex: Schema.optionalKey(Score),
      complex_reasoning: Schema.optionalKey(Score)
    })),
    token_thresholds: Schema.optionalKey(Schema.Struct({
      simple: Schema.optionalKey(Schema.Finite),
      complex: Schema.optionalKey(Schema.Finite)
    })),
    dimension_weights: Schema.optionalKey(Schema.Record(Schema.String, Schema.Finite)),
    code_keywords: Schema.optionalKey(Keywords),
    reasoning_keywords: Schema.optionalKey(Keywords),
    technical_keywords: Schema.optionalKey(Keywords),
    simple_keywords: Schema.optionalKey(Keywords),
    default_model: Schema.optionalKey(Schema.String)
  }),
  Rest
)
export type ConfigInput = typeof ConfigInput.Type

/** A complexity router, resolved. */
export interface ComplexityRouter {
  /** The model name requests ask for. */
  readonly name: string
  /** Per tier, the model groups to try in order (possibly none). */
  readonly tiers: Readonly<Record<Complexity.Tier, ReadonlyArray<string>>>
  /** Where a request goes when no tier group at or above its tier is available, or it has no user text. */
  readonly defaultModel: string | undefined
  /** "litellm" when the config set LiteLLM's scoring values (its rules then apply), "custom" for a classifier given in code, else "ours". */
  readonly rules: "ours" | "litellm" | "custom"
  readonly classifier: Complexity.Classifier
}

export interface ConfigIssue {
  readonly path: string
  readonly message: string
}

/** Whether the config sets any of LiteLLM's scoring values, and so asks for LiteLLM's rules. */
const setsLiteLlmRules = (c: ConfigInput): boolean =>
  c.tier_boundaries !== undefined || c.token_thresholds !== undefined || c.dimension_weights !== undefined ||
  c.code_keywords !== undefined || c.reasoning_keywords !== undefined || c.technical_keywords !== undefined ||
  c.simple_keywords !== undefined

/**
 * Resolves one `auto_router/complexity_router` entry. `known` says whether a model group (or alias)
 * exists; `path` is the entry's place in the config, for issues.
 */
export const resolve = (
  name: string,
  config: ConfigInput | undefined,
  defaultModel: string | undefined,
  known: (group: string) => boolean,
  path: string
): { readonly router: ComplexityRouter; readonly issues: ReadonlyArray<ConfigIssue> } => {
  const issues: Array<ConfigIssue> = []
  const c = config ?? {}
  const tiers: Record<Complexity.Tier, ReadonlyArray<string>> = { SIMPLE: [], MEDIUM: [], COMPLEX: [], REASONING: [] }
  for (const [key, value] of Object.entries(c.tiers ?? {})) {
    const tier = key.toUpperCase()
    if (!Complexity.isTier(tier)) {
      issues.push({ path: `${path}.complexity_router_config.tiers.${key}`, message: `unknown tier (tiers: ${Complexity.TIERS.join(", ")})` })
      continue
    }
    const groups = typeof value === "string" ? [value] : value
    groups.forEach((group, i) => {
      if (group === name) issues.push({ path: `${path}.complexity_router_config.tiers.${key}`, message: "a tier cannot route to the complexity router itself" })
      else if (!known(group)) {
        issues.push({
          path: `${path}.complexity_router_config.tiers.${key}${typeof value === "string" ? "" : `[${i}]`}`,
          message: `unknown model group "${group}"`
        })
      }
    })
    tiers[tier] = groups
  }
  const fallback = defaultModel ?? c.default_model
  if (fallback !== undefined && !known(fallback)) {
    issues.push({ path: `${path}.complexity_router_default_model`, message: `unknown model group "${fallback}"` })
  }
  if (Complexity.TIERS.every((t) => tiers[t].length === 0) && fallback === undefined) {
    issues.push({ path: `${path}.complexity_router_config.tiers`, message: "name a model group for at least one tier (or a complexity_router_default_model)" })
  }
  const weights = c.dimension_weights
  for (const key of Object.keys(weights ?? {})) {
    if (!(LiteLlmComplexity.DIMENSIONS as ReadonlyArray<string>).includes(key)) {
      issues.push({ path: `${path}.complexity_router_config.dimension_weights.${key}`, message: `unknown dimension (dimensions: ${LiteLlmComplexity.DIMENSIONS.join(", ")})` })
    }
  }
  const litellm = setsLiteLlmRules(c)
  const classifier = litellm
    ? LiteLlmComplexity.make({
      tierBoundaries: c.tier_boundaries,
      tokenThresholds: c.token_thresholds,
      dimensionWeights: weights as Partial<Record<LiteLlmComplexity.Dimension, number>> | undefined,
      codeKeywords: c.code_keywords,
      reasoningKeywords: c.reasoning_keywords,
      technicalKeywords: c.technical_keywords,
      simpleKeywords: c.simple_keywords
    })
    : Complexity.classifier
  return { router: { name, tiers, defaultModel: fallback, rules: litellm ? "litellm" : "ours", classifier }, issues }
}

/**
 * A complexity router made in code: `tiers` maps a tier to its model group (or groups, tried in
 * order), and `classifier` defaults to ours (`Complexity.classifier`); any `Complexity.Classifier`
 * fits, `LiteLlmComplexity.make(…)` included. Put it in a router's `settings.complexityRouters`
 * under its `name`.
 */
export const make = (options: {
  readonly name: string
  readonly tiers: Partial<Readonly<Record<Complexity.Tier, string | ReadonlyArray<string>>>>
  readonly defaultModel?: string | undefined
  readonly classifier?: Complexity.Classifier | undefined
}): ComplexityRouter => {
  const groups = (tier: Complexity.Tier): ReadonlyArray<string> => {
    const value = options.tiers[tier]
    return value === undefined ? [] : typeof value === "string" ? [value] : value
  }
  return {
    name: options.name,
    tiers: { SIMPLE: groups("SIMPLE"), MEDIUM: groups("MEDIUM"), COMPLEX: groups("COMPLEX"), REASONING: groups("REASONING") },
    defaultModel: options.defaultModel,
    rules: options.classifier === undefined ? "ours" : "custom",
    classifier: options.classifier ?? Complexity.classifier
  }
}

/** How a router classifies, in words (for `llm-router check` and `classify`). */
export const describeRules = (router: ComplexityRouter): string =>
  router.rules === "ours" ? "llm-router's classifier" : router.rules === "litellm" ? "LiteLLM's rules" : "a custom classifier"

/** What a complexity router decided for one request. */
export interface Decision {
  /** The model group to serve the request. */
  readonly group: string
  /** The request's tier; `undefined` when it had no user text (it went to the default model). */
  readonly tier: Complexity.Tier | undefined
  readonly score: number | undefined
  readonly signals: ReadonlyArray<string>
  /** Whether the tier was asked for by the request rather than classified. */
  readonly forced: boolean
}

/** A forced tier that is not one of the four. */
export class InvalidTier extends Schema.TaggedError<InvalidTier>()("InvalidTier", { message: Schema.String }) {}

/** The tier a request forces with `metadata.complexity_tier`, if any (any case). */
export const forcedTier = (request: ChatRequest): Complexity.Tier | InvalidTier | undefined => {
  const value = request.metadata?.["complexity_tier"]
  if (value === undefined || value === null || value === "") return undefined
  const tier = typeof value === "string" ? value.trim().toUpperCase() : value
  return Complexity.isTier(tier)
    ? tier
    : new InvalidTier({ message: `metadata.complexity_tier must be one of ${Complexity.TIERS.join(", ")}; got ${JSON.stringify(value)}` })
}

/**
 * Decides the group for `request`: its tier's groups in order, then each tier above, then the
 * default model, taking the first that `available` accepts. When none is available it still
 * answers the tier's first group (or the first configured above it, or the default), so the
 * group's own failover and fallbacks handle the outage.
 */
export const decide = (
  router: ComplexityRouter,
  request: ChatRequest,
  available: (group: string) => boolean
): Decision | InvalidTier => {
  const forced = forcedTier(request)
  if (forced instanceof InvalidTier) return forced
  let tier: Complexity.Tier
  let score: number | undefined
  let signals: ReadonlyArray<string>
  if (forced !== undefined) {
    tier = forced
    score = undefined
    signals = ["forced"]
  } else {
    const prompt = Complexity.scoredPrompt(request)
    if (prompt === undefined) {
      const group = router.defaultModel ?? router.tiers.MEDIUM[0] ?? firstGroupFrom(router, 0)!
      return { group, tier: undefined, score: undefined, signals: ["no-user-text"], forced: false }
    }
    const c = router.classifier(prompt)
    tier = c.tier
    score = c.score
    signals = c.signals
  }
  const decision = (group: string): Decision => ({ group, tier, score, signals, forced: forced !== undefined })
  for (let r = Complexity.rank(tier); r < Complexity.TIERS.length; r++) {
    for (const group of router.tiers[Complexity.TIERS[r]!]) if (available(group)) return decision(group)
  }
  if (router.defaultModel !== undefined && available(router.defaultModel)) return decision(router.defaultModel)
  return decision(firstGroupFrom(router, Complexity.rank(tier)) ?? router.defaultModel ?? firstGroupFrom(router, 0)!)
}

/** The first group configured at tier rank `from` or above. */
const firstGroupFrom = (router: ComplexityRouter, from: number): string | undefined => {
  for (let r = from; r < Complexity.TIERS.length; r++) {
    const groups = router.tiers[Complexity.TIERS[r]!]
    if (groups.length > 0) return groups[0]
  }
  return undefined
}

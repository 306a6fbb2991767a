/**
 * Fallback plans as values: which model groups answer when a group gives up, per the kind of
 * failure (LiteLLM's `fallbacks`, `context_window_fallbacks`, `content_policy_fallbacks`,
 * `default_fallbacks`, `max_fallbacks`). The config decodes into one; an app builds its own
 * with `pipe(FallbackPlan.empty, FallbackPlan.generic("gpt-4o", ["claude"]), …)` and gives it
 * to `Router.make`. A target may name a group, an alias or a deployment id (`model_info.id`):
 * a deployment named alone is tried on its own, with its group's retries.
 */
import * as LlmError from "./LlmError.ts"
import type { Settings } from "./RouterConfig.ts"

type Chains = ReadonlyMap<string, ReadonlyArray<string>>

export interface FallbackPlan {
  /** Any failure that selects a chain (`fallbacks`); `"*"` for every group. */
  readonly generic: Chains
  /** Context-window failures (`context_window_fallbacks`): when any is set, only these apply to them. */
  readonly contextWindow: Chains
  /** Content-policy failures (`content_policy_fallbacks`): likewise. */
  readonly contentPolicy: Chains
  /** For a group with no generic chain of its own (`default_fallbacks`). */
  readonly default: ReadonlyArray<string>
  /** How many fallbacks one request may enter, all chains together. */
  readonly maxFallbacks: number
}

export const empty: FallbackPlan = {
  generic: new Map(),
  contextWindow: new Map(),
  contentPolicy: new Map(),
  default: [],
  maxFallbacks: 5
}

/** The plan a config's settings describe. */
export const fromSettings = (settings: Settings): FallbackPlan => ({
  generic: settings.fallbacks,
  contextWindow: settings.contextWindowFallbacks,
  contentPolicy: settings.contentPolicyFallbacks,
  default: settings.defaultFallbacks,
  maxFallbacks: settings.maxFallbacks
})

const withChain = (chains: Chains, group: string, targets: ReadonlyArray<string>): Chains => new Map([...chains, [group, targets]])

/** `group`'s generic chain. */
export const generic = (group: string, targets: ReadonlyArray<string>) => (self: FallbackPlan): FallbackPlan => ({
  ...self,
  generic: withChain(self.generic, group, targets)
})
/** `group`'s chain for context-window failures. */
export const contextWindow = (group: string, targets: ReadonlyArray<string>) => (self: FallbackPlan): FallbackPlan => ({
  ...self,
  contextWindow: withChain(self.contextWindow, group, targets)
})
/** `group`'s chain for content-policy failures. */
export const contentPolicy = (group: string, targets: ReadonlyArray<string>) => (self: FallbackPlan): FallbackPlan => ({
  ...self,
  contentPolicy: withChain(self.contentPolicy, group, targets)
})
/** The chain of groups that have no generic chain of their own. */
export const withDefault = (targets: ReadonlyArray<string>) => (self: FallbackPlan): FallbackPlan => ({ ...self, default: targets })
export const withMaxFallbacks = (maxFallbacks: number) => (self: FallbackPlan): FallbackPlan => ({ ...self, maxFallbacks })

/** Which targets a failure of `group` with `error` falls back to, per the error's chain. */
export const chainFor = (plan: FallbackPlan, error: LlmError.LlmError, group: string): ReadonlyArray<string> => {
  const chain = LlmError.policy(error).fallback
  if (chain === "none") return []
  if (chain === "context-window" && plan.contextWindow.size > 0) {
    return plan.contextWindow.get(group) ?? plan.contextWindow.get("*") ?? []
  }
  if (chain === "content-policy" && plan.contentPolicy.size > 0) {
    return plan.contentPolicy.get(group) ?? plan.contentPolicy.get("*") ?? []
  }
  return plan.generic.get(group) ?? plan.default
}

/**
 * Whether a 200 whose choice was cut by a content filter becomes a policy violation for
 * `group`: when a chain exists to act on it. As in `chainFor`, once content-policy chains are
 * set only they apply, so a filtered answer never becomes an error with nowhere to go.
 */
export const actsOnContentFilter = (plan: FallbackPlan, group: string): boolean =>
  plan.contentPolicy.size > 0 ? plan.contentPolicy.has(group) || plan.contentPolicy.has("*") : plan.default.length > 0

/** Every target the plan names, for checking them against the router's groups and deployments. */
export const targets = (plan: FallbackPlan): ReadonlyArray<string> => [
  ...[plan.generic, plan.contextWindow, plan.contentPolicy].flatMap((chains) => [...chains.values()].flat()),
  ...plan.default
]

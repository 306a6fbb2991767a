/**
 * OpenAI's `reasoning_effort` levels, read once for every adapter that turns them into its
 * provider's control (Anthropic's thinking budget, Gemini's `thinkingConfig`).
 */
import { Result } from "effect"

/**
 * Thinking budgets in tokens, as LiteLLM maps the levels: low/medium/high/max are its
 * DEFAULT_REASONING_EFFORT_{LOW,MEDIUM,HIGH,MAX}_THINKING_BUDGET and minimal its generic
 * minimal budget; xhigh is ours, between high and max. `none` asks for no thinking.
 */
export const budgets = {
  none: 0,
  minimal: 128,
  low: 1024,
  medium: 2048,
  high: 4096,
  xhigh: 8192,
  max: 16384
} as const satisfies Readonly<Record<string, number>>

export type ReasoningEffort = keyof typeof budgets

export const levels = Object.keys(budgets) as ReadonlyArray<ReasoningEffort>

/**
 * The level `value` names, in any letter case; `undefined` when absent or null. A failure
 * carries the value back for the adapter to word its refusal. `hasOwn`, so "constructor"
 * and other `Object.prototype` names are not levels.
 */
export const parse = (value: unknown): Result.Result<ReasoningEffort | undefined, unknown> => {
  if (value === undefined || value === null) return Result.succeed(undefined)
  const key = typeof value === "string" ? value.toLowerCase() : undefined
  return key !== undefined && Object.hasOwn(budgets, key) ? Result.succeed(key as ReasoningEffort) : Result.fail(value)
}

/**
 * Anthropic's `thinking` (as a Messages API client sends it, through the gateway) as a level, for
 * providers that take a level: `enabled` is the largest level whose budget fits in its
 * `budget_tokens`, `disabled` is `none`; `adaptive`, absent or unknown say nothing.
 */
export const fromThinking = (thinking: unknown): ReasoningEffort | undefined => {
  if (typeof thinking !== "object" || thinking === null) return undefined
  const { type, budget_tokens: budget } = thinking as { readonly type?: unknown; readonly budget_tokens?: unknown }
  if (type === "disabled") return "none"
  if (type !== "enabled" || typeof budget !== "number") return undefined
  let level: ReasoningEffort = "low"
  for (const candidate of levels) if (candidate !== "none" && budgets[candidate] <= budget && budgets[candidate] > budgets[level]) level = candidate
  return level
}

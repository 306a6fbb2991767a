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

/**
 * Shared rules for turning a provider's failure into an `LlmError`: status codes, error
 * types and codes, message patterns, and `Retry-After` in its several spellings. Each
 * adapter extracts `type`, `code` and `message` from its own error body and hands them here,
 * so every provider classifies the same way. Patterns come from WIRE_FORMATS.md §6: context
 * window and content policy are checked before a 400 is called a plain bad request.
 */
import { Duration } from "effect"
import * as LlmError from "./LlmError.ts"

export interface Failure {
  readonly provider: string
  readonly deployment: string
  readonly status: number
  readonly type?: string | undefined
  readonly code?: string | undefined
  readonly param?: string | undefined
  readonly message?: string | undefined
  /** The raw body; only its first bytes are kept on the error. */
  readonly body?: string | undefined
  readonly retryAfter?: Duration.Duration | undefined
}

const BODY_EXCERPT = 512

export const excerpt = (body: string | undefined): string | undefined =>
  body === undefined || body.length === 0 ? undefined : body.length > BODY_EXCERPT ? body.slice(0, BODY_EXCERPT) + "…" : body

const contextWindowPatterns = [
  /context_length_exceeded/i,
  /maximum context length/i,
  /maximum context limit/i,
  /input tokens exceed the configured limit/i,
  /prompt is too long/i,
  /exceeds the maximum number of tokens/i,
  /exceeds? the available context size/i,
  /exceed_context_size_error/i,
  /too many input tokens/i,
  /input is too long/i,
  /context window/i,
  /exceed context limit/i
]
const contentPolicyPatterns = [
  /content_policy_violation/i,
  /invalid_prompt/i,
  /violating our usage policy/i,
  /rejected as a result of (our|the) safety system/i,
  /content_filter/i,
  /ResponsibleAIPolicyViolation/,
  /content management policy/i,
  /content filtering policy/i,
  /response was blocked/i
]
/**
 * Quota or billing exhausted: waiting will not help. Matched on the error's type and code,
 * plus a few unambiguous messages. Not on "exceeded your current quota… billing": Gemini
 * words its ordinary per-minute 429s that way.
 */
const quotaCodes = [/insufficient_quota/i, /credit_balance/i, /spend.?limit/i, /billing_hard_limit/i, /billing_error/i]
const quotaMessages = [/credit balance is too low/i, /spend limit/i, /request too large/i, /reached your specified API usage limits/i]
const rateLimitPatterns = [/rate.?limit/i, /RESOURCE_EXHAUSTED/, /quota exceeded/i, /ThrottlingException/, /too many requests/i]
const authPatterns = [/API_KEY_INVALID/, /API key not valid/i, /invalid.api.key/i, /invalid x-api-key/i]

const matches = (patterns: ReadonlyArray<RegExp>, ...texts: ReadonlyArray<string | undefined>) =>
  texts.some((text) => text !== undefined && patterns.some((p) => p.test(text)))

/** Maps a failed HTTP exchange with a provider to the one error union. */
export const classify = (failure: Failure): LlmError.LlmError => {
  const { status, type, code } = failure
  const message = failure.message ?? (failure.body ? `HTTP ${status}: ${excerpt(failure.body)}` : `HTTP ${status}`)
  const base = {
    provider: failure.provider,
    deployment: failure.deployment,
    status,
    message,
    ...(excerpt(failure.body) !== undefined ? { body: excerpt(failure.body)! } : {})
  }
  const retryAfter = failure.retryAfter !== undefined ? { retryAfter: failure.retryAfter } : {}
  const texts = [type, code, failure.message] as const
  // `string_above_max_length` (e.g. on `user`) is a validation error, not a context overflow.
  const isContextWindow = code !== "string_above_max_length" && matches(contextWindowPatterns, ...texts)

  if (status === 401 || matches(authPatterns, ...texts)) return new LlmError.AuthenticationFailed(base)
  if (status === 403) return new LlmError.PermissionDenied(base)
  if (status === 404) return new LlmError.ModelNotFound(base)
  if (status === 408) return new LlmError.Timeout({ ...base, phase: "request" })
  const quotaExhausted = matches(quotaCodes, type, code) || matches(quotaMessages, failure.message)
  // Anthropic reports an empty balance as a 400 and billing as a 402: still a quota, not a bad request.
  if (status === 429 || status === 402 || quotaExhausted || matches(rateLimitPatterns, type, code)) {
    return new LlmError.RateLimited({ ...base, ...retryAfter, ...(quotaExhausted || status === 402 ? { quotaExhausted: true } : {}) })
  }
  if (status >= 400 && status < 500) {
    if (isContextWindow) return new LlmError.ContextWindowExceeded(base)
    if (matches(contentPolicyPatterns, ...texts)) return new LlmError.ContentPolicyViolation(base)
    return new LlmError.BadRequest({ ...base, ...(failure.param ? { param: failure.param } : {}) })
  }
  if (status === 503 || status === 529 || /overloaded/i.test(`${type ?? ""} ${code ?? ""}`)) {
    return new LlmError.ServiceUnavailable({ ...base, ...retryAfter })
  }
  if (status === 504) return new LlmError.Timeout({ ...base, phase: "request" })
  return new LlmError.InternalServerError({ ...base, ...retryAfter })
}

/**
 * `retry-after-ms`, Azure's `x-ms-retry-after-ms`, then `retry-after` in seconds or as an
 * HTTP date. `now` (epoch ms, from `Clock`) is needed for the date form.
 */
export const retryAfterFromHeaders = (
  headers: Readonly<Record<string, string | undefined>>,
  now: number
): Duration.Duration | undefined => {
  for (const name of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    const value = Number(headers[name])
    if (headers[name] !== undefined && Number.isFinite(value) && value >= 0) return Duration.millis(value)
  }
  const raw = headers["retry-after"]
  if (raw === undefined || raw.trim() === "") return undefined
  const seconds = Number(raw)
  if (Number.isFinite(seconds) && seconds >= 0) return Duration.millis(seconds * 1000)
  const date = Date.parse(raw)
  return Number.isNaN(date) ? undefined : Duration.millis(Math.max(0, date - now))
}

/** A request that never got a response: refused, reset, DNS, TLS. */
export const connectionFailed = (provider: string, deployment: string, detail: string): LlmError.LlmError =>
  new LlmError.ConnectionFailed({ provider, deployment, message: `Could not reach ${provider} (${deployment}): ${detail}` })

/** A 2xx whose body is not what the provider documents, or a stream cut short. */
export const malformedResponse = (provider: string, deployment: string, status: number, detail: string, body?: string): LlmError.LlmError =>
  new LlmError.InternalServerError({
    provider,
    deployment,
    status,
    message: `${provider} (${deployment}) sent a response that could not be read: ${detail}`,
    ...(excerpt(body) !== undefined ? { body: excerpt(body)! } : {})
  })

/**
 * A 200 that answers nothing: no choice, or a stream that ended with no content, no tool call
 * and no finish reason. An upstream failure (it fails over, and counts toward a cooldown),
 * never a success passed on to the caller.
 */
export const emptyAnswer = (provider: string, deployment: string, detail: string): LlmError.LlmError =>
  new LlmError.InternalServerError({
    provider,
    deployment,
    status: 200,
    message: `${provider} (${deployment}) answered with nothing: ${detail}`
  })

/**
 * Anthropic's error bodies (`{"type":"error","error":{"type","message","details"?}}`), on a
 * failed HTTP status or as an `event: error` after a 200, mapped to `LlmError` through the
 * shared `ProviderError.classify`. A few of Anthropic's real shapes are decided here first,
 * because the shared rules would misread them: spend limits and an empty credit balance (a
 * 400 or 402, or a 429 with `details.error_code`) are exhausted quota, not a bad request or a
 * passing rate limit; "input length and `max_tokens` exceed context limit" is a context-window
 * overflow.
 */
import { type Deployment, LlmError, ProviderError } from "@llm-router/core"
import { type Duration, Result, Schema } from "effect"

export const ErrorBody = Schema.Struct({
  type: Schema.Literal("error"),
  error: Schema.Struct({
    type: Schema.String,
    message: Schema.optionalKey(Schema.String),
    details: Schema.optionalKey(Schema.NullOr(Schema.Struct({ error_code: Schema.optionalKey(Schema.String) })))
  })
})
export type ErrorBody = typeof ErrorBody.Type

const decodeBody = Schema.decodeUnknownResult(ErrorBody)

/** The HTTP status Anthropic uses for each `error.type` (for errors that arrive inside a 200 stream). */
export const statusOfType = (type: string): number => {
  switch (type) {
    case "invalid_request_error":
      return 400
    case "authentication_error":
      return 401
    case "billing_error":
      return 402
    case "permission_error":
      return 403
    case "not_found_error":
      return 404
    case "request_too_large":
      return 413
    case "rate_limit_error":
      return 429
    case "timeout_error":
      return 504
    case "overloaded_error":
      return 529
    default:
      return 500
  }
}

const quotaCodes = /spend_limit|credit_balance|billing|quota/i
const quotaMessages = [
  /credit balance is too low/i,
  /reached your specified (?:workspace )?API usage limits/i,
  /spend limit/i
]
const contextMessages = [/exceeds? (?:the )?context limit/i]

export interface Failure {
  readonly deployment: Deployment.Deployment
  readonly status: number
  /** The body as received (its first bytes end up on the error). */
  readonly body: string
  readonly retryAfter?: Duration.Duration | undefined
}

/** Reads Anthropic's error fields out of a body; anything else yields none. */
export const parse = (body: string): ErrorBody["error"] | undefined => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return undefined
  }
  const decoded = decodeBody(json)
  return Result.isSuccess(decoded) ? decoded.success.error : undefined
}

export const classify = (failure: Failure): LlmError.LlmError => {
  const { deployment, status, body } = failure
  const error = parse(body)
  const type = error?.type
  const code = error?.details?.error_code ?? undefined
  const message = error?.message
  const base = {
    provider: deployment.provider,
    deployment: deployment.id,
    status,
    message: message ?? `HTTP ${status}`,
    ...(ProviderError.excerpt(body) !== undefined ? { body: ProviderError.excerpt(body)! } : {})
  }
  if (
    status === 402 || type === "billing_error" ||
    (code !== undefined && quotaCodes.test(code)) ||
    (message !== undefined && quotaMessages.some((p) => p.test(message)))
  ) {
    return new LlmError.RateLimited({
      ...base,
      quotaExhausted: true,
      ...(failure.retryAfter !== undefined ? { retryAfter: failure.retryAfter } : {})
    })
  }
  if (status >= 400 && status < 500 && message !== undefined && contextMessages.some((p) => p.test(message))) {
    return new LlmError.ContextWindowExceeded(base)
  }
  return ProviderError.classify({
    provider: deployment.provider,
    deployment: deployment.id,
    status,
    type,
    code,
    message,
    body,
    retryAfter: failure.retryAfter
  })
}

/** An `event: error` after a 200: classified as the status Anthropic gives that error type. */
export const classifyStreamError = (deployment: Deployment.Deployment, data: string): LlmError.LlmError => {
  const error = parse(data)
  return classify({ deployment, status: error !== undefined ? statusOfType(error.type) : 500, body: data })
}

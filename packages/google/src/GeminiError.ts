/**
 * Gemini's errors → `LlmError`. A Gemini error is a `google.rpc.Status`
 * (`{"error":{"code","message","status","details":[…]}}`, sometimes wrapped in an array);
 * its `status` is the type, `details[].reason` (`ErrorInfo`, e.g. `API_KEY_INVALID`) the
 * code, `RetryInfo.retryDelay` (a protobuf Duration, "17s") the retry hint. The shared
 * `ProviderError.classify` decides the rest, except two cases it cannot tell apart from
 * text alone (see `fromStatus`).
 */
import { Duration, Schema } from "effect"
import { LlmError, ProviderError } from "@llm-router/core"
import * as GeminiWire from "./GeminiWire.ts"

export interface Origin {
  readonly provider: string
  readonly deployment: string
  /** Scrubs a secret from upstream text before it goes into an error (a proxy may echo the key). */
  readonly redact?: ((text: string) => string) | undefined
}

/** `origin.redact`, for text that may be absent. */
export const redact = <T extends string | undefined>(origin: Origin, text: T): T =>
  (text === undefined || origin.redact === undefined ? text : origin.redact(text)) as T

/** A protobuf Duration in JSON ("17s", "0.5s", "1.000340s") → Duration. */
export const parseRetryDelay = (value: unknown): Duration.Duration | undefined => {
  if (typeof value !== "string") return undefined
  const match = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(value)
  return match ? Duration.millis(Math.round(Number(match[1]) * 1000)) : undefined
}

/** "Please retry in 17.5s." / "retry in 644ms", which Gemini also puts in the message. */
const retryInMessage = (message: string | undefined): Duration.Duration | undefined => {
  const match = message === undefined ? null : /retry in (\d+(?:\.\d+)?)\s*(ms|s)\b/i.exec(message)
  if (!match) return undefined
  const n = Number(match[1])
  return Duration.millis(Math.round(match[2]!.toLowerCase() === "ms" ? n : n * 1000))
}

const TYPE_PREFIX = "type.googleapis.com/google.rpc."

interface Details {
  readonly reason?: string | undefined
  readonly retryDelay?: Duration.Duration | undefined
  readonly quotaIds: ReadonlyArray<string>
  readonly field?: string | undefined
}

const readDetails = (details: ReadonlyArray<unknown> | undefined): Details => {
  let reason: string | undefined
  let retryDelay: Duration.Duration | undefined
  let field: string | undefined
  const quotaIds: Array<string> = []
  for (const detail of details ?? []) {
    if (typeof detail !== "object" || detail === null) continue
    const d = detail as Record<string, unknown>
    const type = typeof d["@type"] === "string" ? d["@type"].replace(TYPE_PREFIX, "") : ""
    if (type === "ErrorInfo" && typeof d.reason === "string") reason ??= d.reason
    else if (type === "RetryInfo") retryDelay ??= parseRetryDelay(d.retryDelay)
    else if (type === "QuotaFailure" && Array.isArray(d.violations)) {
      for (const v of d.violations) {
        if (typeof v === "object" && v !== null && typeof (v as Record<string, unknown>).quotaId === "string") {
          quotaIds.push((v as Record<string, string>).quotaId!)
        }
      }
    } else if (type === "BadRequest" && Array.isArray(d.fieldViolations)) {
      const first = d.fieldViolations[0] as Record<string, unknown> | undefined
      if (typeof first?.field === "string") field ??= first.field
    }
  }
  return { reason, retryDelay, quotaIds, field }
}

/**
 * A daily (or zero) quota will not come back in seconds: such a 429 is `quotaExhausted`.
 * Gemini words its per-minute rate limits as "You exceeded your current quota, please check
 * your plan and billing details", which the shared quota patterns would read as exhausted
 * billing; the `QuotaFailure` quota id (`…PerMinute…` vs `…PerDay…`) is what tells them apart.
 */
const isQuotaExhausted = (quotaIds: ReadonlyArray<string>, message: string | undefined): boolean | undefined => {
  if (quotaIds.some((id) => /PerDay/i.test(id))) return true
  if (message !== undefined && /limit: 0\b/.test(message)) return true
  if (quotaIds.length > 0) return false
  return undefined
}

/** Maps one Gemini `Status` (from an error body or an in-stream error chunk) to an `LlmError`. */
export const fromStatus = (
  origin: Origin,
  httpStatus: number,
  status: GeminiWire.Status,
  body: string | undefined,
  headerRetryAfter?: Duration.Duration | undefined
): LlmError.LlmError => {
  status = { ...status, ...(status.message !== undefined ? { message: redact(origin, status.message) } : {}) }
  body = redact(origin, body)
  const details = readDetails(status.details)
  const retryAfter = details.retryDelay ?? headerRetryAfter ?? retryInMessage(status.message)
  const code = details.reason
  // `FAILED_PRECONDITION`: the API is not available to this key (region, billing). No request
  // will succeed on this deployment, but others can serve it: not a plain bad request.
  if (status.status === "FAILED_PRECONDITION") {
    return new LlmError.PermissionDenied({
      provider: origin.provider,
      deployment: origin.deployment,
      status: httpStatus,
      message: status.message ?? "FAILED_PRECONDITION",
      ...(ProviderError.excerpt(body) !== undefined ? { body: ProviderError.excerpt(body)! } : {})
    })
  }
  const classified = ProviderError.classify({
    provider: origin.provider,
    deployment: origin.deployment,
    status: httpStatus,
    type: status.status,
    code,
    param: details.field,
    message: status.message,
    body,
    retryAfter
  })
  if (classified._tag === "RateLimited") {
    const exhausted = isQuotaExhausted(details.quotaIds, status.message)
    if (exhausted !== undefined && exhausted !== (classified.quotaExhausted === true)) {
      return new LlmError.RateLimited({
        provider: classified.provider,
        message: classified.message,
        ...(classified.deployment !== undefined ? { deployment: classified.deployment } : {}),
        ...(classified.status !== undefined ? { status: classified.status } : {}),
        ...(classified.body !== undefined ? { body: classified.body } : {}),
        ...(classified.retryAfter !== undefined ? { retryAfter: classified.retryAfter } : {}),
        ...(exhausted ? { quotaExhausted: true } : {})
      })
    }
  }
  return classified
}

const ErrorEnvelope = Schema.Union([
  Schema.Struct({ error: GeminiWire.Status }),
  Schema.Array(Schema.Struct({ error: GeminiWire.Status }))
])
const decodeEnvelope = Schema.decodeUnknownResult(Schema.fromJsonString(ErrorEnvelope))

/** A non-2xx response body → `LlmError`. Bodies that are not Gemini's error JSON still classify by status. */
export const fromResponse = (
  origin: Origin,
  httpStatus: number,
  body: string,
  headerRetryAfter?: Duration.Duration | undefined
): LlmError.LlmError => {
  body = redact(origin, body)
  const decoded = decodeEnvelope(body)
  if (decoded._tag === "Success") {
    const envelope = decoded.success
    const status = Array.isArray(envelope) ? envelope[0]?.error : (envelope as { readonly error: GeminiWire.Status }).error
    if (status !== undefined) return fromStatus(origin, httpStatus, status, body, headerRetryAfter)
  }
  return ProviderError.classify({
    provider: origin.provider,
    deployment: origin.deployment,
    status: httpStatus,
    body,
    retryAfter: headerRetryAfter
  })
}

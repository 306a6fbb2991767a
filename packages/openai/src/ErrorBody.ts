/**
 * Reading an OpenAI-compatible failure: the `{"error":{type,code,param,message}}` body and
 * its variants (`{"error":"text"}`, flat `{"message":…}` from vLLM/Mistral, FastAPI's
 * `{"detail":…}`, HTML from an edge proxy, nothing at all), the retry hint (headers, else
 * "Please try again in 644ms" in the text), then the shared `ProviderError.classify`.
 * The deployment's key is scrubbed from everything kept, in case a server echoes it.
 */
import { LlmError, ProviderError } from "@llm-router/core"
import { Duration } from "effect"

export interface Extracted {
  readonly type?: string | undefined
  readonly code?: string | undefined
  /** A numeric `code` (vLLM, llama.cpp put the HTTP status there). */
  readonly statusCode?: number | undefined
  readonly param?: string | undefined
  readonly message?: string | undefined
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" ? (value.length > 0 ? value : undefined)
  : value === undefined || value === null ? undefined
  : JSON.stringify(value)

const fromObject = (error: Record<string, unknown>): Extracted => {
  const inner = error["innererror"] ?? error["inner_error"]
  const innerCode = typeof inner === "object" && inner !== null ? text((inner as Record<string, unknown>)["code"]) : undefined
  const code = error["code"]
  return {
    type: text(error["type"]) ?? innerCode,
    code: typeof code === "number" ? undefined : text(code),
    statusCode: typeof code === "number" ? code : typeof code === "string" && /^\d{3}$/.test(code) ? Number(code) : undefined,
    param: text(error["param"]),
    message: text(error["message"]) ?? text(error["detail"])
  }
}

/** The provider's own error fields, from a parsed body (any JSON value). */
export const extract = (json: unknown): Extracted | undefined => {
  const value = Array.isArray(json) ? json[0] : json
  if (typeof value !== "object" || value === null) return undefined
  const body = value as Record<string, unknown>
  const error = body["error"]
  if (typeof error === "object" && error !== null) return fromObject(error as Record<string, unknown>)
  if (typeof error === "string") return { message: error }
  if ("message" in body || "detail" in body) return fromObject(body)
  return undefined
}

export const parse = (body: string): Extracted | undefined => {
  if (body.length === 0) return undefined
  try {
    return extract(JSON.parse(body))
  } catch {
    return undefined
  }
}

const units: Readonly<Record<string, number>> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

/**
 * The wait a message asks for: OpenAI's Go durations ("try again in 644ms", "in 1.5s",
 * "in 6m0s") and Azure's words ("Please retry after 33 seconds").
 */
export const retryAfterFromText = (message: string | undefined): Duration.Duration | undefined => {
  if (message === undefined) return undefined
  const phrase = /(?:try again|retry)\s+(?:in|after)\s+((?:\d+(?:\.\d+)?\s*[a-z]+\s*)+)/i.exec(message)
  if (!phrase?.[1]) return undefined
  let total = 0
  let matched = false
  for (const part of phrase[1].matchAll(/(\d+(?:\.\d+)?)\s*(ms|milliseconds?|hours?|h|minutes?|min|m|seconds?|secs?|s)\b|(\d+(?:\.\d+)?)(ms|h|m|s)/gi)) {
    const amount = Number(part[1] ?? part[3])
    const unit = units[(part[2] ?? part[4] ?? "").toLowerCase()]
    if (unit === undefined || !Number.isFinite(amount)) break
    total += amount * unit
    matched = true
  }
  return matched ? Duration.millis(Math.round(total)) : undefined
}

/** Replaces every occurrence of the secret, so an echoing server cannot leak it into an error. */
export const scrub = (value: string | undefined, secret: string | undefined): string | undefined =>
  value === undefined || secret === undefined || secret.length < 4 ? value : value.split(secret).join("[REDACTED]")

export interface Context {
  readonly provider: string
  readonly deployment: string
  readonly secret?: string | undefined
}

/** A non-2xx answer (or an error object inside a 2xx) as an `LlmError`. */
export const classify = (
  context: Context,
  status: number,
  body: string,
  extracted: Extracted | undefined,
  headerRetryAfter: Duration.Duration | undefined
): LlmError.LlmError => {
  const message = scrub(extracted?.message, context.secret)
  const retryAfter = headerRetryAfter ?? retryAfterFromText(message)
  const error = ProviderError.classify({
    provider: context.provider,
    deployment: context.deployment,
    status,
    type: extracted?.type,
    code: extracted?.code,
    param: extracted?.param,
    message,
    body: scrub(body, context.secret),
    retryAfter
  })
  return correctQuota(error, extracted)
}

/**
 * Core's quota patterns include /billing/, but OpenAI's ordinary free-tier 429 text ("…Visit
 * https://platform.openai.com/account/billing to add a payment method") names billing too.
 * A `rate_limit_exceeded` code is a rate limit unless the text says the quota itself is gone.
 */
const correctQuota = (error: LlmError.LlmError, extracted: Extracted | undefined): LlmError.LlmError => {
  if (
    error._tag !== "RateLimited" || error.quotaExhausted !== true || extracted?.code !== "rate_limit_exceeded" ||
    /insufficient_quota|exceeded your current quota|request too large/i.test(extracted.message ?? "")
  ) return error
  return new LlmError.RateLimited({
    provider: error.provider,
    message: error.message,
    ...(error.deployment !== undefined ? { deployment: error.deployment } : {}),
    ...(error.status !== undefined ? { status: error.status } : {}),
    ...(error.body !== undefined ? { body: error.body } : {}),
    ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {})
  })
}

/**
 * The HTTP status an in-stream or in-body error object stands for: its numeric `code` when
 * it has one (vLLM, llama.cpp), else what its `type`/`code` name, else 500.
 */
export const statusOf = (extracted: Extracted): number => {
  if (extracted.statusCode !== undefined && extracted.statusCode >= 400 && extracted.statusCode < 600) return extracted.statusCode
  const names = `${extracted.type ?? ""} ${extracted.code ?? ""}`
  if (/rate_limit|insufficient_quota/i.test(names) || extracted.type === "tokens" || extracted.type === "requests") return 429
  if (/authentication|invalid_api_key/i.test(names)) return 401
  if (/permission/i.test(names)) return 403
  if (/not_found/i.test(names)) return 404
  if (/overloaded|unavailable/i.test(names)) return 503
  if (/invalid_request|context_length|exceed_context|content_policy|content_filter|invalid_prompt/i.test(names)) return 400
  return 500
}

/** A transport failure's cause in words (undici's errors, Node's connect errors, AggregateError). */
export const describeCause = (cause: unknown): string => {
  if (cause instanceof AggregateError && cause.errors.length > 0) return describeCause(cause.errors[0])
  if (cause instanceof Error) {
    const code = (cause as { readonly code?: unknown }).code
    const message = cause.message !== "" ? cause.message : typeof code === "string" ? code : cause.name
    return cause.cause !== undefined && cause.cause !== cause ? `${message} (${describeCause(cause.cause)})` : message
  }
  return typeof cause === "string" ? cause : "unknown transport error"
}

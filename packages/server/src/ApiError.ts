/**
 * Errors as the gateway answers them: OpenAI's `{"error":{"message","type","param","code"}}`
 * with the HTTP status an OpenAI client expects, so the official SDKs raise their own
 * matching error class (`RateLimitError` for 429, `AuthenticationError` for 401, …).
 * Every `LlmError` maps here in one table; the gateway's own refusals (body too large,
 * not JSON, wrong key) are `ApiError`s from the start. Messages are scrubbed of secrets.
 */
import { Duration, Schema } from "effect"
import { LlmError, Scrub } from "@llm-router/core"

/** OpenAI's error `type` strings; the SDKs pick their error class from the status alone. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "rate_limit_error"
  | "server_error"

export class ApiError extends Schema.TaggedError<ApiError>()("ApiError", {
  status: Schema.Number,
  type: Schema.String,
  message: Schema.String,
  code: Schema.NullOr(Schema.String),
  param: Schema.NullOr(Schema.String),
  /** Seconds, sent as `Retry-After`. */
  retryAfterSeconds: Schema.optionalKey(Schema.Number),
  /** The deployment and provider the error came from, for the route headers. */
  deployment: Schema.optionalKey(Schema.String),
  provider: Schema.optionalKey(Schema.String)
}) {}

const make = (
  status: number,
  type: ErrorType,
  message: string,
  code: string | null = null,
  param: string | null = null
): ApiError => new ApiError({ status, type, message, code, param })

export const invalidJson = (detail: string): ApiError =>
  make(400, "invalid_request_error", `The request body is not valid JSON: ${detail}`, "invalid_json")
export const invalidRequest = (message: string, param: string | null): ApiError =>
  make(400, "invalid_request_error", message, "invalid_request", param)
export const bodyTooLarge = (limitBytes: number): ApiError =>
  make(413, "invalid_request_error", `The request body exceeds the limit of ${limitBytes} bytes`, "request_too_large")
export const bodyTimeout = (timeoutMs: number): ApiError =>
  make(408, "invalid_request_error", `The request body did not arrive within ${timeoutMs} ms`, "request_timeout")
export const unauthorized = (message: string): ApiError =>
  make(401, "authentication_error", message, "invalid_api_key")
export const routeNotFound = (method: string, path: string): ApiError =>
  make(404, "invalid_request_error", `Unknown route ${method} ${path}`, "unknown_url")
/** The `code` of an HTTP/1.0 request with `Transfer-Encoding` (RFC 9112, 6.1). */
export const BAD_FRAMING = "bad_framing"
export const badFraming = (): ApiError =>
  make(400, "invalid_request_error", "HTTP/1.0 requests cannot use Transfer-Encoding: send a Content-Length, or use HTTP/1.1", BAD_FRAMING)
/** A refusal the client should send again shortly (a 503 with `Retry-After: 1`), maybe to another replica. */
const retryShortly = (message: string, code: string): ApiError =>
  new ApiError({ status: 503, type: "server_error", message, code, param: null, retryAfterSeconds: 1 })
export const modelNotFound = (id: string): ApiError =>
  make(404, "invalid_request_error", `The model '${id.length > 200 ? id.slice(0, 200) + "…" : id}' does not exist`, "model_not_found", "model")
/** The `code` of a request refused because the bodies in flight already hold all they may. */
export const OVERLOADED = "gateway_overloaded"
export const overloaded = (): ApiError =>
  retryShortly("The gateway is holding as many request bodies as it may: retry shortly", OVERLOADED)
/** The `code` of a request refused because the gateway is shutting down. */
export const SHUTTING_DOWN = "shutting_down"
export const shuttingDown = (): ApiError =>
  retryShortly("The gateway is shutting down: send the request again (another replica will take it)", SHUTTING_DOWN)
export const internal = (): ApiError => make(500, "server_error", "The gateway failed unexpectedly", "internal_error")

const retryAfterSeconds = (error: LlmError.LlmError): { retryAfterSeconds?: number } => {
  const ms = LlmError.retryAfterMillis(error)
  return ms === undefined ? {} : { retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) }
}

/**
 * The one table from the router's errors to HTTP. Upstream failures are a bad gateway
 * (502) or unavailable (503); upstream timeouts are a gateway timeout (504).
 */
export const fromLlmError = (error: LlmError.LlmError, scrub: (text: string) => string = (s) => s): ApiError => {
  const message = scrub(error.message)
  const origin = {
    ...(error.deployment !== undefined ? { deployment: error.deployment } : {}),
    provider: error.provider
  }
  const build = (status: number, type: ErrorType, code: string | null, param: string | null = null, extra = {}) =>
    new ApiError({ status, type, message, code, param, ...origin, ...extra })
  switch (error._tag) {
    case "RateLimited":
      return build(429, "rate_limit_error", error.quotaExhausted ? "insufficient_quota" : "rate_limit_exceeded", null, retryAfterSeconds(error))
    case "NoDeploymentAvailable":
      return build(429, "rate_limit_error", "no_deployment_available", null, {
        retryAfterSeconds: retryAfterSeconds(error).retryAfterSeconds ?? 1
      })
    case "AuthenticationFailed":
      return build(401, "authentication_error", "invalid_api_key")
    case "PermissionDenied":
      return build(403, "permission_error", "permission_denied")
    case "ModelNotFound":
      // 501: a deployment on a provider the gateway cannot call (`Providers.notSupported`).
      return error.status === 501
        ? build(501, "server_error", "provider_not_supported", "model")
        : build(404, "invalid_request_error", "model_not_found", "model")
    case "BadRequest":
      return build(400, "invalid_request_error", null, error.param ?? null)
    case "ContextWindowExceeded":
      return build(400, "invalid_request_error", "context_length_exceeded", "messages")
    case "ContentPolicyViolation":
      return build(400, "invalid_request_error", "content_policy_violation")
    case "Timeout":
      return build(504, "server_error", "timeout")
    case "ConnectionFailed":
      return build(502, "server_error", "upstream_connection_failed")
    case "ServiceUnavailable":
      return build(503, "server_error", "service_unavailable", null, retryAfterSeconds(error))
    case "InternalServerError":
      return build(502, "server_error", "upstream_error", null, retryAfterSeconds(error))
  }
}

/** The body an OpenAI client parses. */
export const body = (error: ApiError) => ({
  error: { message: error.message, type: error.type, param: error.param, code: error.code }
})

/** `Retry-After` for an error, when it has one. */
export const retryAfter = (error: ApiError): Duration.Duration | undefined =>
  error.retryAfterSeconds === undefined ? undefined : Duration.seconds(error.retryAfterSeconds)

/** The scrubber every outgoing message goes through (see `Scrub` in core). */
export const makeScrubber: (secrets: ReadonlyArray<string>) => (text: string) => string = Scrub.make

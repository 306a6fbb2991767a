/**
 * `LlmError` to `AiError`: each router failure as the `effect/ai` reason a caller matches on
 * (`Effect.catchReason("AiError", "RateLimitError", …)`), retryable where the router's own
 * table calls it transient, with where it happened under the reason's `llm-router` metadata.
 */
import type { LlmError } from "@llm-router/core"
import { Scrub } from "@llm-router/core"
import { AiError } from "effect/ai"
import * as RouteMetadata from "./RouteMetadata.ts"

const MODULE = "RouterLanguageModel"
const scrub = Scrub.make([])

export const reasonOf = (error: LlmError.LlmError): AiError.AiErrorReason => {
  const metadata = RouteMetadata.ofError(error)
  const description = scrub(error.message)
  const http = error.status === undefined ? undefined : { response: { status: error.status, headers: {} } }
  const withHttp = http === undefined ? {} : { http }
  switch (error._tag) {
    case "RateLimited":
      return error.quotaExhausted === true
        ? new AiError.QuotaExhaustedError({ metadata, ...withHttp })
        : new AiError.RateLimitError({ metadata, ...withHttp, ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }) })
    // Every deployment of the group is cooling down or over a limit: waiting helps, as after a 429.
    case "NoDeploymentAvailable":
      return new AiError.RateLimitError({ metadata, ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }) })
    case "AuthenticationFailed":
      return new AiError.AuthenticationError({ kind: "InvalidKey", description, metadata, ...withHttp })
    case "PermissionDenied":
      return new AiError.AuthenticationError({ kind: "InsufficientPermissions", description, metadata, ...withHttp })
    case "ModelNotFound":
      return new AiError.InvalidRequestError({ parameter: "model", description, metadata, ...withHttp })
    case "BadRequest":
      return new AiError.InvalidRequestError({ ...(error.param === undefined ? {} : { parameter: error.param }), description, metadata, ...withHttp })
    case "ContextWindowExceeded":
      return new AiError.InvalidRequestError({
        parameter: "messages",
        constraint: "exceeds the model's context window",
        description,
        metadata,
        ...withHttp
      })
    case "ContentPolicyViolation":
      return new AiError.ContentPolicyError({ description, metadata, ...withHttp })
    // NetworkError has no metadata: the deployment stands for the URL (which may carry a key
    // in its query), and the LlmError itself is the cause.
    case "Timeout":
    case "ConnectionFailed":
      return new AiError.NetworkError({
        reason: "TransportError",
        method: "POST",
        url: error.deployment ?? error.provider,
        description,
        cause: error
      })
    case "ServiceUnavailable":
    case "InternalServerError":
      return new AiError.InternalProviderError({ description, metadata, ...withHttp })
  }
}

export const fromLlmError = (method: string) => (error: LlmError.LlmError): AiError.AiError =>
  AiError.make({ module: MODULE, method, reason: reasonOf(error) })

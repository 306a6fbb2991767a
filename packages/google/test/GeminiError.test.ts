import { assert, describe, it } from "@effect/vitest"
import { LlmError } from "@llm-router/core"
import { GeminiError } from "@llm-router/google"
import { Duration } from "effect"

const origin = { provider: "gemini", deployment: "gemini/test" }

const body = (code: number, status: string, message: string, details: ReadonlyArray<unknown> = []) =>
  JSON.stringify({ error: { code, message, status, details } })

const retryInfo = (retryDelay: string) => ({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay })
const quotaFailure = (quotaId: string) => ({
  "@type": "type.googleapis.com/google.rpc.QuotaFailure",
  violations: [{ quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests", quotaId }]
})
const RATE_MESSAGE = "You exceeded your current quota, please check your plan and billing details. Please retry in 17.5s."

describe("GeminiError", () => {
  it("parses protobuf Duration retry delays", () => {
    assert.strictEqual(Duration.toMillis(GeminiError.parseRetryDelay("17s")!), 17_000)
    assert.strictEqual(Duration.toMillis(GeminiError.parseRetryDelay("0.5s")!), 500)
    assert.strictEqual(Duration.toMillis(GeminiError.parseRetryDelay("1.000340s")!), 1000)
    assert.strictEqual(GeminiError.parseRetryDelay("17"), undefined)
    assert.strictEqual(GeminiError.parseRetryDelay(17), undefined)
  })

  it("429 RESOURCE_EXHAUSTED per minute → RateLimited (retryable) with retryAfter from RetryInfo", () => {
    const error = GeminiError.fromResponse(origin, 429, body(429, "RESOURCE_EXHAUSTED", RATE_MESSAGE, [
      quotaFailure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
      retryInfo("17s")
    ]))
    assert.strictEqual(error._tag, "RateLimited")
    if (error._tag !== "RateLimited") return
    assert.strictEqual(Duration.toMillis(error.retryAfter!), 17_000)
    // The shared patterns would call "check your plan and billing" exhausted quota; the quota id says per-minute.
    assert.strictEqual(error.quotaExhausted, undefined)
    assert.isTrue(LlmError.policy(error).retrySameDeployment)
  })

  it("429 on a per-day quota → RateLimited with quotaExhausted", () => {
    const error = GeminiError.fromResponse(origin, 429, body(429, "RESOURCE_EXHAUSTED", RATE_MESSAGE, [
      quotaFailure("GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
      retryInfo("40s")
    ]))
    assert.strictEqual(error._tag, "RateLimited")
    assert.isTrue(error._tag === "RateLimited" && error.quotaExhausted === true)
    assert.isFalse(LlmError.policy(error).retrySameDeployment)
  })

  it("falls back to the message's \"retry in\" and then to the Retry-After header", () => {
    const fromMessage = GeminiError.fromResponse(origin, 429, body(429, "RESOURCE_EXHAUSTED", "Please retry in 644ms."))
    assert.strictEqual(LlmError.retryAfterMillis(fromMessage), 644)
    const fromHeader = GeminiError.fromResponse(origin, 429, body(429, "RESOURCE_EXHAUSTED", "quota"), Duration.seconds(3))
    assert.strictEqual(LlmError.retryAfterMillis(fromHeader), 3000)
  })

  const cases: ReadonlyArray<readonly [string, number, string, string, ReadonlyArray<unknown>, LlmError.Tag]> = [
    ["API_KEY_INVALID", 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [{
      "@type": "type.googleapis.com/google.rpc.ErrorInfo",
      reason: "API_KEY_INVALID",
      domain: "googleapis.com"
    }], "AuthenticationFailed"],
    ["context overflow", 400, "INVALID_ARGUMENT", "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).", [], "ContextWindowExceeded"],
    ["plain invalid argument", 400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.", [], "BadRequest"],
    ["region / billing precondition", 400, "FAILED_PRECONDITION", "User location is not supported for the API use.", [], "PermissionDenied"],
    ["UNAUTHENTICATED", 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", [], "AuthenticationFailed"],
    ["PERMISSION_DENIED", 403, "PERMISSION_DENIED", "The caller does not have permission", [], "PermissionDenied"],
    ["NOT_FOUND", 404, "NOT_FOUND", "models/nope is not found for API version v1beta", [], "ModelNotFound"],
    ["INTERNAL", 500, "INTERNAL", "An internal error has occurred.", [], "InternalServerError"],
    ["UNAVAILABLE", 503, "UNAVAILABLE", "The model is overloaded. Please try again later.", [], "ServiceUnavailable"],
    ["DEADLINE_EXCEEDED", 504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.", [], "Timeout"]
  ]
  for (const [name, status, type, message, details, tag] of cases) {
    it(`${status} ${name} → ${tag}`, () => {
      const error = GeminiError.fromResponse(origin, status, body(status, type, message, details))
      assert.strictEqual(error._tag, tag)
      assert.strictEqual(error.status, status)
      assert.strictEqual(error.message, message)
      assert.strictEqual(error.provider, "gemini")
      assert.strictEqual(error.deployment, "gemini/test")
    })
  }

  it("reads the field of a BadRequest violation as param, and array-wrapped (Vertex-style) bodies", () => {
    const error = GeminiError.fromResponse(origin, 400, JSON.stringify([{
      error: {
        code: 400,
        message: "Invalid value",
        status: "INVALID_ARGUMENT",
        details: [{ "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: "generation_config.temperature" }] }]
      }
    }]))
    assert.strictEqual(error._tag, "BadRequest")
    assert.strictEqual(error._tag === "BadRequest" ? error.param : undefined, "generation_config.temperature")
  })

  it("classifies a body that is not Gemini's error JSON by status alone", () => {
    const error = GeminiError.fromResponse(origin, 502, "<html>Bad Gateway</html>")
    assert.strictEqual(error._tag, "InternalServerError")
    assert.include(error.body ?? "", "Bad Gateway")
  })
})

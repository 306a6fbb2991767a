import { assert, describe, it } from "@effect/vitest"
import { Duration } from "effect"
import { LlmError } from "@llm-router/core"
import * as ApiError from "../src/ApiError.ts"

const origin = { provider: "openai", deployment: "gpt/openai/gpt-4o", message: "upstream said no" }

describe("ApiError.fromLlmError", () => {
  // status, OpenAI error type, code: what an OpenAI client keys its error classes on.
  const table: ReadonlyArray<readonly [LlmError.LlmError, number, string, string | null]> = [
    [new LlmError.RateLimited(origin), 429, "rate_limit_error", "rate_limit_exceeded"],
    [new LlmError.RateLimited({ ...origin, quotaExhausted: true }), 429, "rate_limit_error", "insufficient_quota"],
    [new LlmError.NoDeploymentAvailable({ provider: "llm-router", group: "g", message: "all cooling" }), 429, "rate_limit_error", "no_deployment_available"],
    [new LlmError.AuthenticationFailed(origin), 401, "authentication_error", "invalid_api_key"],
    [new LlmError.PermissionDenied(origin), 403, "permission_error", "permission_denied"],
    [new LlmError.ModelNotFound({ provider: "llm-router", status: 404, message: "Unknown model group" }), 404, "invalid_request_error", "model_not_found"],
    [new LlmError.BadRequest({ ...origin, param: "temperature" }), 400, "invalid_request_error", null],
    [new LlmError.ContextWindowExceeded(origin), 400, "invalid_request_error", "context_length_exceeded"],
    [new LlmError.ContentPolicyViolation(origin), 400, "invalid_request_error", "content_policy_violation"],
    [new LlmError.Timeout({ ...origin, phase: "request" }), 504, "server_error", "timeout"],
    [new LlmError.ConnectionFailed(origin), 502, "server_error", "upstream_connection_failed"],
    [new LlmError.ServiceUnavailable(origin), 503, "server_error", "service_unavailable"],
    [new LlmError.InternalServerError(origin), 502, "server_error", "upstream_error"]
  ]
  for (const [error, status, type, code] of table) {
    it(`${error._tag}${"quotaExhausted" in error && error.quotaExhausted ? " (quota)" : ""} → ${status} ${type}`, () => {
      const api = ApiError.fromLlmError(error)
      assert.strictEqual(api.status, status)
      assert.strictEqual(api.type, type)
      assert.strictEqual(api.code, code)
      assert.strictEqual(api.message, error.message)
      assert.strictEqual(api.provider, error.provider)
    })
  }

  it("keeps the parameter a bad request named", () => {
    assert.strictEqual(ApiError.fromLlmError(new LlmError.BadRequest({ ...origin, param: "temperature" })).param, "temperature")
  })

  it("turns retryAfter into whole seconds, at least one", () => {
    const limited = ApiError.fromLlmError(new LlmError.RateLimited({ ...origin, retryAfter: Duration.millis(2_300) }))
    assert.strictEqual(limited.retryAfterSeconds, 3)
    const soon = ApiError.fromLlmError(new LlmError.ServiceUnavailable({ ...origin, retryAfter: Duration.millis(10) }))
    assert.strictEqual(soon.retryAfterSeconds, 1)
    assert.isUndefined(ApiError.fromLlmError(new LlmError.RateLimited(origin)).retryAfterSeconds)
  })

  it("always gives NoDeploymentAvailable a Retry-After", () => {
    const none = ApiError.fromLlmError(new LlmError.NoDeploymentAvailable({ provider: "llm-router", group: "g", message: "x" }))
    assert.strictEqual(none.retryAfterSeconds, 1)
    const later = ApiError.fromLlmError(
      new LlmError.NoDeploymentAvailable({ provider: "llm-router", group: "g", message: "x", retryAfter: Duration.seconds(12) })
    )
    assert.strictEqual(later.retryAfterSeconds, 12)
  })

  it("shapes the body as OpenAI does", () => {
    const body = ApiError.body(ApiError.fromLlmError(new LlmError.ContextWindowExceeded(origin)))
    assert.deepStrictEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"])
    assert.strictEqual(body.error.code, "context_length_exceeded")
  })
})

describe("ApiError.makeScrubber", () => {
  it("removes configured secrets by value", () => {
    const scrub = ApiError.makeScrubber(["my-very-secret-key-42"])
    const out = scrub("upstream rejected my-very-secret-key-42 twice: my-very-secret-key-42")
    assert.notInclude(out, "my-very-secret-key-42")
    assert.include(out, "[redacted]")
  })

  it("removes key shapes providers echo back", () => {
    const scrub = ApiError.makeScrubber([])
    const cases = [
      "Incorrect API key provided: sk-proj-abc123********************wxyz.",
      "GET https://generativelanguage.googleapis.com/v1beta/models/x?key=AIzaSyDUMMYDUMMYDUMMYDUMMY123 failed",
      "header Authorization: Bearer abc.def.ghi was refused",
      "x-api-key: sk-ant-api03-abcdef123456 invalid"
    ]
    for (const text of cases) {
      const out = scrub(text)
      assert.notMatch(out, /sk-proj-abc|AIzaSy|abc\.def\.ghi|sk-ant-api03/, out)
    }
  })

  it("leaves ordinary messages alone", () => {
    const scrub = ApiError.makeScrubber(["short"])
    assert.strictEqual(scrub("The model is overloaded, try a shorter prompt"), "The model is overloaded, try a shorter prompt")
  })
})

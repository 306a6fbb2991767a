/**
 * Anthropic's real error shapes, classified without a server: the ones the shared rules would
 * misread (billing, spend limits, "exceed context limit") and the in-stream error events.
 */
import { assert, describe, it } from "@effect/vitest"
import { LlmError } from "@llm-router/core"
import { Duration } from "effect"
import * as AnthropicError from "../src/AnthropicError.ts"
import { deployment } from "./support.ts"

const d = deployment("http://127.0.0.1:1")
const body = (type: string, message: string, errorCode?: string) =>
  JSON.stringify({
    type: "error",
    error: { type, message, ...(errorCode ? { details: { error_code: errorCode } } : {}) },
    request_id: "req_1"
  })
const classify = (status: number, text: string, retryAfter?: Duration.Duration) =>
  AnthropicError.classify({ deployment: d, status, body: text, retryAfter })

describe("AnthropicError.classify", () => {
  it("treats an empty credit balance, billing errors and spend limits as exhausted quota", () => {
    const cases = [
      classify(400, body("invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.")),
      classify(402, body("billing_error", "Payment required")),
      classify(400, body("invalid_request_error", "You have reached your specified API usage limits. You will regain access on 2026-12-01 at 00:00 UTC.")),
      classify(429, body("rate_limit_error", "Spend cap reached", "enforced_spend_limit_reached"))
    ]
    for (const error of cases) {
      assert.strictEqual(error._tag, "RateLimited")
      assert.strictEqual(error._tag === "RateLimited" ? error.quotaExhausted : undefined, true)
      assert.strictEqual(LlmError.policy(error).retrySameDeployment, false)
    }
  })

  it("reads both context-overflow wordings as ContextWindowExceeded", () => {
    assert.strictEqual(classify(400, body("invalid_request_error", "prompt is too long: 208656 tokens > 200000 maximum"))._tag, "ContextWindowExceeded")
    assert.strictEqual(
      classify(400, body("invalid_request_error", "input length and `max_tokens` exceed context limit: 197626 + 8192 > 200000, decrease input length or `max_tokens` and try again"))._tag,
      "ContextWindowExceeded"
    )
  })

  it("maps statuses and types the usual way", () => {
    const table: ReadonlyArray<[number, string, string, LlmError.Tag]> = [
      [401, "authentication_error", "invalid x-api-key", "AuthenticationFailed"],
      [403, "permission_error", "no", "PermissionDenied"],
      [404, "not_found_error", "model: claude-x", "ModelNotFound"],
      [413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", "BadRequest"],
      [429, "rate_limit_error", "slow down", "RateLimited"],
      [500, "api_error", "Internal server error", "InternalServerError"],
      [504, "timeout_error", "Request timeout", "Timeout"],
      [529, "overloaded_error", "Overloaded", "ServiceUnavailable"]
    ]
    for (const [status, type, message, tag] of table) {
      const error = classify(status, body(type, message))
      assert.strictEqual(error._tag, tag, `${status} ${type}`)
      assert.strictEqual(error.status, status)
      assert.strictEqual(error.message, message)
      assert.include(error.body ?? "", type)
    }
  })

  it("keeps retry hints on overloads and rate limits", () => {
    const overloaded = classify(529, body("overloaded_error", "Overloaded"), Duration.seconds(3))
    assert.strictEqual(overloaded._tag, "ServiceUnavailable")
    assert.strictEqual(overloaded._tag === "ServiceUnavailable" ? Duration.toMillis(overloaded.retryAfter!) : 0, 3000)
    assert.isTrue(LlmError.policy(overloaded).retrySameDeployment)
  })

  it("classifies in-stream error events by their type", () => {
    const stream = (type: string, message: string) => AnthropicError.classifyStreamError(d, body(type, message))
    assert.strictEqual(stream("overloaded_error", "Overloaded")._tag, "ServiceUnavailable")
    assert.strictEqual(stream("rate_limit_error", "slow")._tag, "RateLimited")
    assert.strictEqual(stream("api_error", "boom")._tag, "InternalServerError")
    assert.strictEqual(stream("invalid_request_error", "prompt is too long: 5 tokens > 4 maximum")._tag, "ContextWindowExceeded")
    const garbage = AnthropicError.classifyStreamError(d, "not json")
    assert.strictEqual(garbage._tag, "InternalServerError")
    assert.strictEqual(garbage.body, "not json")
  })
})

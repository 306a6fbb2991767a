/**
 * The answer side without a server: the stop-reason table, what the Message schema accepts,
 * and the stream translator's refusal of out-of-order events.
 */
import { assert, describe, it } from "@effect/vitest"
import type { LlmError } from "@llm-router/core"
import { Result, Schema } from "effect"
import * as AnthropicResponse from "../src/AnthropicResponse.ts"
import * as AnthropicStream from "../src/AnthropicStream.ts"
import { deployment } from "./support.ts"

const d = deployment("http://127.0.0.1:1")

describe("AnthropicResponse.Message", () => {
  const decode = Schema.decodeUnknownResult(AnthropicResponse.Message)
  const base = { id: "m", type: "message", role: "assistant", model: "x", stop_reason: "end_turn", usage: { input_tokens: 1, output_tokens: 1 } }

  it("tolerates unknown blocks and fields but not a broken text block", () => {
    const ok = decode({
      ...base,
      container: null,
      content: [{ type: "thinking", thinking: "x", signature: "s" }, { type: "text", text: "hi", citations: null }]
    })
    assert.isTrue(Result.isSuccess(ok))
    if (Result.isSuccess(ok)) {
      assert.strictEqual(AnthropicResponse.toChatResponse(ok.success, { created: 1 }).choices[0]?.message.content, "hi")
    }
    assert.isTrue(Result.isFailure(decode({ ...base, content: [{ type: "text" }] })))
    assert.isTrue(Result.isFailure(decode({ ...base, content: [{ type: "tool_use", name: "x" }] })))
  })
})

describe("AnthropicResponse.toChatResponse: thinking", () => {
  it("shows thinking as reasoning_content and keeps every thinking block whole, in order, in thinking_blocks", () => {
    const thinking = { type: "thinking", thinking: "First, ", signature: "sig_a" }
    const redacted = { type: "redacted_thinking", data: "opaque" }
    const more = { type: "thinking", thinking: "then.", signature: "sig_b" }
    const decoded = Schema.decodeUnknownResult(AnthropicResponse.Message)({
      id: "m",
      type: "message",
      role: "assistant",
      model: "x",
      stop_reason: "end_turn",
      usage: { input_tokens: 1, output_tokens: 1 },
      content: [thinking, redacted, more, { type: "text", text: "Answer." }]
    })
    if (Result.isFailure(decoded)) return assert.fail(decoded.failure.message)
    const message = AnthropicResponse.toChatResponse(decoded.success, { created: 1 }).choices[0]?.message
    assert.strictEqual(message?.content, "Answer.")
    assert.strictEqual(message?.reasoning_content, "First, then.")
    assert.deepStrictEqual(message?.thinking_blocks, [thinking, redacted, more])
  })
})

describe("AnthropicResponse.finishReason", () => {
  it("maps every documented stop_reason", () => {
    const table: ReadonlyArray<[string | null, string | null]> = [
      ["end_turn", "stop"],
      ["stop_sequence", "stop"],
      ["pause_turn", "stop"],
      ["max_tokens", "length"],
      ["model_context_window_exceeded", "length"],
      ["tool_use", "tool_calls"],
      ["refusal", "content_filter"],
      [null, null]
    ]
    for (const [reason, expected] of table) assert.strictEqual(AnthropicResponse.finishReason(reason), expected, String(reason))
  })
})

describe("AnthropicStream.Translator", () => {
  const event = (name: string, data: unknown) => ({ _tag: "Event" as const, event: name, id: undefined, data: JSON.stringify(data) })
  const start = event("message_start", { type: "message_start", message: { id: "m", model: "x", usage: { input_tokens: 1 } } })

  it("refuses content before message_start and argument deltas for a text block", () => {
    const early = new AnthropicStream.Translator({ deployment: d, created: 0 })
    const result = early.push(event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "x" } }))
    assert.isFalse(Array.isArray(result))
    const translator = new AnthropicStream.Translator({ deployment: d, created: 0 })
    translator.push(start)
    translator.push(event("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }))
    const wrong = translator.push(event("content_block_delta", {
      type: "content_block_delta",
      index: 0,
      delta: { type: "input_json_delta", partial_json: "{" }
    }))
    assert.isFalse(Array.isArray(wrong))
    assert.match((wrong as LlmError.LlmError).message, /not a tool_use/)
  })

  it("ignores everything after message_stop and reports truncation before it", () => {
    const translator = new AnthropicStream.Translator({ deployment: d, created: 0 })
    translator.push(start)
    assert.match(translator.truncation()?.message ?? "", /truncated/)
    const last = translator.push(event("message_stop", { type: "message_stop" }))
    assert.isTrue(Array.isArray(last))
    assert.deepStrictEqual((last as ReadonlyArray<{ choices: ReadonlyArray<unknown> }>).map((c) => c.choices.length), [1, 0])
    assert.isUndefined(translator.truncation())
    assert.deepStrictEqual(translator.push(event("error", { type: "error", error: { type: "api_error", message: "x" } })), [])
  })
})

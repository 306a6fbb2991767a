/**
 * The Messages API in: a streamed answer's events add up (as Anthropic's SDK adds them up) to the
 * Message the same answer gets unstreamed, and a request goes through the chat shape and the
 * adapter's own translation back to what the client sent.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chat } from "@llm-router/core"
import { Result } from "effect"
import * as AnthropicRequest from "../src/AnthropicRequest.ts"
import * as InboundRequest from "../src/InboundRequest.ts"
import * as InboundResponse from "../src/InboundResponse.ts"
import * as InboundStream from "../src/InboundStream.ts"
import { deployment as deploymentAt } from "./support.ts"

const chunk = (delta: Chat.Delta, finish: Chat.FinishReason | null = null): Chat.ChatChunk => ({
  id: "msg_01",
  object: "chat.completion.chunk",
  created: 1,
  model: "claude-sonnet-4-5",
  choices: [{ index: 0, delta, finish_reason: finish }]
})
const signed = { type: "thinking", thinking: "Let me think.", signature: "sig-123" }
const usage: Chat.Usage = {
  prompt_tokens: 30,
  completion_tokens: 9,
  total_tokens: 39,
  prompt_tokens_details: { cached_tokens: 10, cache_write_tokens: 5 }
}
const answer: ReadonlyArray<Chat.ChatChunk> = [
  chunk({ role: "assistant", content: "" }),
  chunk({ reasoning_content: "Let me " }),
  chunk({ reasoning_content: "think." }),
  chunk({ thinking_blocks: [signed] }),
  chunk({ content: "Checking." }),
  chunk({ tool_calls: [{ index: 0, id: "toolu_a", type: "function", function: { name: "get_weather", arguments: "" } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: "{\"city\":" } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: "\"Paris\"}" } }] }),
  chunk({}, "tool_calls"),
  { ...chunk({}), choices: [], usage }
]

/** Adds the events up as Anthropic's SDK does (`MessageStream`'s accumulation). */
const accumulate = (events: ReadonlyArray<InboundStream.Event>) => {
  let message: Record<string, any> = {}
  const json = new Map<number, string>()
  for (const event of events) {
    const e = event as Record<string, any>
    switch (e["type"]) {
      case "message_start":
        message = structuredClone(e["message"])
        break
      case "content_block_start":
        message["content"][e["index"]] = structuredClone(e["content_block"])
        break
      case "content_block_delta": {
        const block = message["content"][e["index"]]
        const d = e["delta"]
        if (d.type === "text_delta") block.text += d.text
        if (d.type === "thinking_delta") block.thinking += d.thinking
        if (d.type === "signature_delta") block.signature = d.signature
        if (d.type === "input_json_delta") json.set(e["index"], (json.get(e["index"]) ?? "") + d.partial_json)
        break
      }
      case "content_block_stop":
        if (json.has(e["index"])) message["content"][e["index"]].input = JSON.parse(json.get(e["index"])!)
        break
      case "message_delta":
        message["stop_reason"] = e["delta"].stop_reason
        message["stop_sequence"] = e["delta"].stop_sequence
        message["usage"] = { ...message["usage"], ...e["usage"] }
        break
    }
  }
  return message
}

describe("Messages API in", () => {
  it("a streamed answer adds up to the Message the same answer gets unstreamed", () => {
    const translator = new InboundStream.Translator("claude")
    const events = [...translator.start(answer[0]), ...answer.flatMap((c) => translator.push(c)), ...translator.end()]
    const plain = InboundResponse.fromChat(Chat.collectChunks(answer))
    assert.deepStrictEqual(accumulate(events), plain)
    assert.deepStrictEqual(plain.content.map((block) => block.type), ["thinking", "text", "tool_use"])
    assert.strictEqual(plain.stop_reason, "tool_use")
    assert.deepStrictEqual(plain.usage, { input_tokens: 15, output_tokens: 9, cache_creation_input_tokens: 5, cache_read_input_tokens: 10 })
    assert.deepStrictEqual(events.map((e) => e.type).slice(0, 3), ["message_start", "ping", "content_block_start"])
    assert.deepStrictEqual(events.map((e) => e.type).slice(-2), ["message_delta", "message_stop"])
  })

  it("a request goes through the chat shape and back out of the adapter as the client wrote it", () => {
    const sent = {
      model: "claude-sonnet-4-5",
      max_tokens: 4096,
      system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
      thinking: { type: "enabled", budget_tokens: 2048 },
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: [signed, { type: "tool_use", id: "toolu_a", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_a", content: "sunny" }, { type: "text", text: "And?" }] }
      ]
    }
    const decoded = InboundRequest.decode(sent)
    assert.isTrue(Result.isSuccess(decoded))
    const chat = Result.isSuccess(decoded) ? InboundRequest.toChat(decoded.success) : Result.fail(undefined)
    assert.isTrue(Result.isSuccess(chat))
    if (!Result.isSuccess(chat)) return
    const deployment = deploymentAt("http://127.0.0.1:9")
    const out = AnthropicRequest.fromChat(chat.success, deployment, false)
    assert.isTrue(Result.isSuccess(out))
    if (!Result.isSuccess(out)) return
    assert.deepStrictEqual(out.success.system as unknown, sent.system)
    assert.deepStrictEqual(out.success.thinking as unknown, sent.thinking)
    assert.strictEqual(out.success.max_tokens, 4096)
    assert.deepStrictEqual(out.success.tools as unknown, sent.tools)
    assert.deepStrictEqual(out.success.messages as unknown, sent.messages)
  })
})

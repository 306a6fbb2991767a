/**
 * The request translation on its own: what reaches Anthropic for the awkward parts of OpenAI's
 * shape, which requests are refused before sending, and that every translated body passes the
 * mock's copy of Anthropic's validation.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Chat } from "@llm-router/core"
import { Redacted, Result } from "effect"
import * as AnthropicUpstream from "../../testing/src/upstream/AnthropicUpstream.ts"
import * as AnthropicRequest from "../src/AnthropicRequest.ts"
import { deployment, request } from "./support.ts"

const d = deployment("http://127.0.0.1:1", { apiKey: Redacted.make("k") })

const translate = (req: Partial<Chat.ChatRequest>, stream = false) => {
  const result = AnthropicRequest.fromChat(request(req), d, stream)
  if (Result.isFailure(result)) throw new Error(`unexpected failure: ${result.failure.message}`)
  // Everything the adapter sends must be something Anthropic accepts.
  assert.isUndefined(AnthropicUpstream.validate(JSON.parse(JSON.stringify(result.success))))
  return result.success
}

const refused = (req: Partial<Chat.ChatRequest>) => {
  const result = AnthropicRequest.fromChat(request(req), d, false)
  if (Result.isSuccess(result)) throw new Error("expected a BadRequest")
  assert.strictEqual(result.failure._tag, "BadRequest")
  assert.strictEqual(result.failure.provider, "anthropic")
  return result.failure
}

const tool: Chat.FunctionTool = { type: "function", function: { name: "lookup", parameters: { properties: { q: { type: "string" } } } } }

describe("AnthropicRequest.fromChat", () => {
  it("drops OpenAI-only fields and clamps temperature to Anthropic's range", () => {
    const body = translate({
      temperature: 1.7,
      stop: ["  ", "STOP"],
      frequency_penalty: 0.5,
      presence_penalty: 0.1,
      logit_bias: { "1": 2 },
      seed: 1,
      stream_options: { include_usage: true },
      n: 1
    })
    assert.strictEqual(body.temperature, 1)
    assert.deepStrictEqual(body.stop_sequences, ["STOP"])
    assert.deepStrictEqual(Object.keys(body).sort(), ["max_tokens", "messages", "model", "stop_sequences", "temperature"])
  })

  it("puts a user turn before a conversation that opens with the assistant", () => {
    const body = translate({
      messages: [
        { role: "system", content: "Be nice." },
        { role: "assistant", content: "Hi! How can I help?" },
        { role: "user", content: "Tell me a joke." }
      ]
    })
    assert.deepStrictEqual(body.messages.map((m) => m.role), ["user", "assistant", "user"])
    assert.strictEqual(body.system, "Be nice.")
  })

  it("merges consecutive assistant messages and trims a final prefill", () => {
    const body = translate({
      messages: [
        { role: "user", content: "Start" },
        { role: "assistant", content: "Part one." },
        { role: "assistant", content: [{ type: "text", text: "Part two. " }] }
      ]
    })
    assert.deepStrictEqual(body.messages[1], {
      role: "assistant",
      content: [{ type: "text", text: "Part one." }, { type: "text", text: "Part two." }]
    })
  })

  it("skips empty assistant text next to tool calls and adds a JSON-object schema type", () => {
    const body = translate({
      tools: [tool],
      messages: [
        { role: "user", content: "Find it" },
        { role: "assistant", content: "", tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: "" } }] },
        { role: "tool", tool_call_id: "c1", content: "" }
      ]
    })
    assert.deepStrictEqual(body.messages[1]?.content, [{ type: "tool_use", id: "c1", name: "lookup", input: {} }])
    assert.deepStrictEqual(body.messages[2]?.content, [{ type: "tool_result", tool_use_id: "c1" }])
    assert.deepStrictEqual(body.tools?.[0]?.input_schema, { type: "object", properties: { q: { type: "string" } } })
  })

  it("maps parallel_tool_calls: false without a tool_choice, and drops tool_choice without tools", () => {
    assert.deepStrictEqual(translate({ tools: [tool], parallel_tool_calls: false }).tool_choice, {
      type: "auto",
      disable_parallel_tool_use: true
    })
    const noTools = translate({ tool_choice: "required" })
    assert.isUndefined(noTools.tool_choice)
    assert.isUndefined(noTools.tools)
  })

  it("sends PDFs as documents, and a JSON schema Claude's grammar cannot take as the answer tool", () => {
    const body = translate({
      messages: [{
        role: "user",
        content: [{ type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } }, {
          type: "text",
          text: "Summarise"
        }]
      }],
      response_format: { type: "json_schema", json_schema: { name: "summary", schema: { type: "object", required: ["s"] } } }
    })
    assert.deepStrictEqual(body.messages[0]?.content, [
      { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } },
      { type: "text", text: "Summarise" }
    ])
    assert.isUndefined(body.system)
    assert.deepStrictEqual(body.tools?.map((t) => [t.name, t.input_schema]), [["json_tool_call", { type: "object", required: ["s"] }]])
    assert.deepStrictEqual(body.tool_choice, { type: "tool", name: "json_tool_call" })
  })

  it("sets stream only for streams", () => {
    assert.isUndefined(translate({}).stream)
    assert.strictEqual(translate({}, true).stream, true)
  })

  it("refuses what Anthropic cannot take, naming the field", () => {
    assert.strictEqual(refused({ n: 3 }).param, "n")
    assert.strictEqual(refused({ messages: [{ role: "system", content: "Only a system prompt" }] }).param, "messages")
    const image = (url: string) => refused({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }] })
    assert.strictEqual(image("data:image/png,rawbytes").param, "messages[0].content[0]")
    assert.match(image("data:image/bmp;base64,Qk0=").message, /image\/bmp/)
    assert.match(image("ftp://example.com/a.png").message, /http\(s\) URL or a base64 data URI/)
    const audio = refused({
      messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "x", format: "wav" } }] }]
    })
    assert.match(audio.message, /input_audio/)
    const notObject = refused({
      tools: [tool],
      messages: [
        { role: "user", content: "x" },
        { role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "lookup", arguments: "[1,2]" } }] }
      ]
    })
    assert.match(notObject.message, /JSON object/)
  })

  it("passes the mock's validation for a spread of conversations", () => {
    const conversations: ReadonlyArray<ReadonlyArray<Chat.Message>> = [
      [{ role: "user", content: "a" }],
      [{ role: "developer", content: "d" }, { role: "user", content: "a" }, { role: "user", content: "b" }],
      [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "assistant", content: null }, {
        role: "user",
        content: "c"
      }],
      [
        { role: "user", content: "q" },
        { role: "assistant", tool_calls: [{ id: "call:1", type: "function", function: { name: "lookup", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "call:1", content: "r" },
        { role: "system", content: "late system prompt" },
        { role: "assistant", content: "done" }
      ],
      [{ role: "assistant", content: "hello" }, { role: "assistant", content: "again" }, { role: "user", content: "hi" }]
    ]
    for (const messages of conversations) translate({ messages, tools: [tool] })
  })
})

describe("AnthropicRequest.defaultMaxTokens", () => {
  it("caps the catalog's maximum output, and falls back for unknown models", () => {
    assert.strictEqual(AnthropicRequest.defaultMaxTokens(deployment("x", { model: "claude-sonnet-4-5" })), 8192)
    assert.strictEqual(AnthropicRequest.defaultMaxTokens(deployment("x", { model: "not-a-model" })), 4096)
    assert.strictEqual(AnthropicRequest.defaultMaxTokens(deployment("x", { params: { max_tokens: 300 } })), 300)
  })
})

describe("AnthropicRequest.fromChat: reasoning", () => {
  const withEffort = (effort: unknown, extra: Partial<Chat.ChatRequest> = {}) =>
    ({ ...extra, reasoning_effort: effort }) as Partial<Chat.ChatRequest>

  it("maps every reasoning_effort to a thinking budget (LiteLLM's), any letter case; none sends no thinking", () => {
    for (const [effort, budget] of Object.entries(AnthropicRequest.THINKING_BUDGETS)) {
      const body = translate(withEffort(effort.toUpperCase(), { max_tokens: 100_000 }))
      assert.deepStrictEqual(body.thinking, { type: "enabled", budget_tokens: budget })
      assert.strictEqual(body.max_tokens, 100_000)
    }
    assert.deepStrictEqual(AnthropicRequest.THINKING_BUDGETS["low"], 1024)
    assert.deepStrictEqual(AnthropicRequest.THINKING_BUDGETS["high"], 4096)
    assert.notProperty(translate(withEffort("none")), "thinking")
    assert.notProperty(translate({}), "thinking")
  })

  it("puts the answer's allowance on top of a budget it would not exceed", () => {
    assert.strictEqual(translate(withEffort("medium", { max_tokens: 500 })).max_tokens, 500 + 2048)
    assert.strictEqual(translate(withEffort("medium", { max_completion_tokens: 2048 })).max_tokens, 2048 + 2048)
    assert.strictEqual(translate(withEffort("medium", { max_tokens: 2049 })).max_tokens, 2049)
  })

  it("refuses an effort it does not know, naming the parameter and the accepted values", () => {
    for (const effort of ["extreme", "constructor", "toString", 3, true]) {
      const error = refused(withEffort(effort))
      assert.strictEqual(error.param, "reasoning_effort")
      assert.include(error.message, "none, minimal, low, medium, high, xhigh, max")
    }
  })

  it("passes an Anthropic-shape thinking object through, and refuses a malformed one", () => {
    const asThinking = (thinking: unknown) => ({ thinking, max_tokens: 8000 }) as Partial<Chat.ChatRequest>
    assert.deepStrictEqual(translate(asThinking({ type: "enabled", budget_tokens: 3000 })).thinking, { type: "enabled", budget_tokens: 3000 })
    assert.deepStrictEqual(translate(asThinking({ type: "adaptive" })).thinking, { type: "adaptive" })
    assert.deepStrictEqual(translate(asThinking({ type: "disabled" })).thinking, { type: "disabled" })
    for (const bad of [{ type: "enabled", budget_tokens: 100 }, { type: "enabled" }, { type: "on" }, "yes"]) {
      assert.strictEqual(refused(asThinking(bad)).param, "thinking")
    }
  })

  it("leaves out what Anthropic refuses beside thinking: temperature, and top_p under 0.95", () => {
    const body = translate(withEffort("low", { temperature: 0.2, top_p: 0.5 }))
    assert.notProperty(body, "temperature")
    assert.notProperty(body, "top_p")
    assert.strictEqual(translate(withEffort("low", { top_p: 0.97 })).top_p, 0.97)
    // Without thinking both still pass.
    const plain = translate({ temperature: 0.2, top_p: 0.5 })
    assert.strictEqual(plain.temperature, 0.2)
    assert.strictEqual(plain.top_p, 0.5)
  })

  it("does not think where Anthropic would refuse it: a forced tool, or a tool loop without the thinking blocks", () => {
    const forced = translate(withEffort("high", { tools: [tool], tool_choice: "required" }))
    assert.notProperty(forced, "thinking")
    assert.deepStrictEqual(forced.tool_choice, { type: "any" })
    const loop = translate(withEffort("high", {
      tools: [tool],
      messages: [
        { role: "user", content: "Look it up." },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: "{\"q\":\"x\"}" } }] },
        { role: "tool", tool_call_id: "call_1", content: "42" }
      ]
    }))
    assert.notProperty(loop, "thinking")
    // A tool the model may call (auto) keeps thinking on.
    assert.deepStrictEqual(translate(withEffort("high", { tools: [tool] })).thinking, { type: "enabled", budget_tokens: 4096 })
  })

  it("takes the deployment's reasoning_effort when the request gives none; the request's wins", () => {
    const thinking = deployment("http://127.0.0.1:1", { params: { reasoning_effort: "high" } })
    const fromDeployment = AnthropicRequest.fromChat(request({}), thinking, false)
    assert.isTrue(Result.isSuccess(fromDeployment))
    if (Result.isSuccess(fromDeployment)) assert.deepStrictEqual(fromDeployment.success.thinking, { type: "enabled", budget_tokens: 4096 })
    const overridden = AnthropicRequest.fromChat(request(withEffort("none")), thinking, false)
    if (Result.isSuccess(overridden)) assert.notProperty(overridden.success, "thinking")
    else assert.fail("expected a body")
  })
})

describe("AnthropicRequest.fromChat: max_tokens with thinking", () => {
  it("adds the budget on top of the answer's allowance, but not past the model's output limit", () => {
    const opus = deployment("http://127.0.0.1:1", { model: "claude-opus-4-1", apiKey: Redacted.make("k") })
    const body = (max_tokens: number) => {
      const result = AnthropicRequest.fromChat(request({ max_tokens, reasoning_effort: "max" } as Partial<Chat.ChatRequest>), opus, false)
      return Result.getOrThrow(result)
    }
    // 2000 + 16384 fits Opus 4.1's 32000; 16000 + 16384 does not, so the total stops at 32000.
    assert.strictEqual(body(2000).max_tokens, 18384)
    assert.deepStrictEqual(body(16000).thinking, { type: "enabled", budget_tokens: 16384 })
    assert.strictEqual(body(16000).max_tokens, 32000)
  })
})

describe("AnthropicRequest.fromChat: thinking blocks handed back", () => {
  const call: Chat.ToolCall = { id: "call_1", type: "function", function: { name: "lookup", arguments: "{\"q\":\"x\"}" } }
  const loop = (thinking_blocks: unknown, extra: Record<string, unknown> = { reasoning_effort: "high" }) =>
    ({
      ...extra,
      tools: [tool],
      messages: [
        { role: "user", content: "Look it up." },
        { role: "assistant", content: null, tool_calls: [call], thinking_blocks },
        { role: "tool", tool_call_id: "call_1", content: "42" }
      ]
    }) as Partial<Chat.ChatRequest>
  const signed = { type: "thinking", thinking: "I should look it up.", signature: "sig_1" }
  const redacted = { type: "redacted_thinking", data: "opaque" }

  it("keeps thinking on through a tool loop whose assistant turn brings its blocks back, first in the turn", () => {
    const body = translate(loop([signed, redacted]))
    assert.deepStrictEqual(body.thinking, { type: "enabled", budget_tokens: 4096 })
    const assistant = body.messages[1]
    assert.strictEqual(assistant?.role, "assistant")
    assert.deepStrictEqual(
      (assistant?.content as ReadonlyArray<{ type: string }>).map((b) => b.type),
      ["thinking", "redacted_thinking", "tool_use"]
    )
    assert.deepStrictEqual((assistant?.content as ReadonlyArray<unknown>)[0], signed)
  })

  it("sends no thinking blocks to a request that does not think", () => {
    const body = translate(loop([signed], {}))
    assert.notProperty(body, "thinking")
    assert.deepStrictEqual((body.messages[1]?.content as ReadonlyArray<{ type: string }>).map((b) => b.type), ["tool_use"])
  })

  it("refuses thinking blocks that are not as they came back", () => {
    for (const bad of [[{ type: "thinking", thinking: "x" }], [{ type: "note" }], "blocks"]) {
      assert.match(refused(loop(bad)).param ?? "", /^messages\[1\]\.thinking_blocks/)
    }
  })
})

describe("AnthropicRequest.fromChat: prompt caching (LiteLLM's cache_control)", () => {
  const ephemeral = { type: "ephemeral" } as const
  const longPolicy = "You answer questions about this policy. ".repeat(50)

  it("carries cache_control from system parts, user parts and tools, sending a cached system prompt as blocks", () => {
    const body = translate({
      messages: [
        { role: "system", content: [{ type: "text", text: longPolicy, cache_control: ephemeral } as Chat.TextPart] },
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "Here is the contract.", cache_control: { type: "ephemeral", ttl: "1h" } } as Chat.TextPart,
            { type: "text", text: "What are the key terms?" }
          ]
        }
      ],
      tools: [{ ...tool, cache_control: ephemeral } as Chat.FunctionTool]
    })
    assert.deepStrictEqual(body.system, [
      { type: "text", text: longPolicy, cache_control: ephemeral },
      { type: "text", text: "Be brief." }
    ])
    assert.deepStrictEqual(body.messages[0]!.content, [
      { type: "text", text: "Here is the contract.", cache_control: { type: "ephemeral", ttl: "1h" } },
      { type: "text", text: "What are the key terms?" }
    ])
    assert.deepStrictEqual(body.tools![0]!.cache_control, ephemeral)
  })

  it("a message-level cache_control marks the message's last block, even a lone string or a tool result", () => {
    const body = translate({
      messages: [
        { role: "user", content: "A long document.", cache_control: ephemeral } as Chat.Message,
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "call_1", content: "result", cache_control: ephemeral } as Chat.Message
      ],
      tools: [tool]
    })
    // A lone text block with a breakpoint stays a block (a string cannot carry one).
    assert.deepStrictEqual(body.messages[0]!.content, [{ type: "text", text: "A long document.", cache_control: ephemeral }])
    assert.deepStrictEqual(body.messages[2]!.content, [{ type: "tool_result", tool_use_id: "call_1", content: "result", cache_control: ephemeral }])
  })

  it("without cache_control the system prompt is one string, as before", () => {
    const body = translate({
      messages: [
        { role: "system", content: [{ type: "text", text: "One." }, { type: "text", text: "Two." }] },
        { role: "system", content: "Three." },
        { role: "user", content: "hi" }
      ]
    })
    assert.strictEqual(body.system, "One.\nTwo.\n\nThree.")
  })

  it("refuses a cache_control Anthropic would refuse, naming where it is", () => {
    const bad = refused({
      messages: [{ role: "user", content: [{ type: "text", text: "x", cache_control: { type: "persistent" } } as Chat.TextPart] }]
    })
    assert.strictEqual(bad.param, "messages[0].content[0].cache_control")
    assert.strictEqual(refused({ tools: [{ ...tool, cache_control: "yes" } as unknown as Chat.FunctionTool] }).param, "tools[0].cache_control")
  })

  it("the mock refuses a fifth breakpoint, as Anthropic does", () => {
    const marked = (text: string) => ({ type: "text", text, cache_control: ephemeral }) as Chat.TextPart
    const result = AnthropicRequest.fromChat(
      request({ messages: [{ role: "user", content: ["a", "b", "c", "d", "e"].map(marked) }] }),
      d,
      false
    )
    assert.isTrue(Result.isSuccess(result))
    assert.include(
      AnthropicUpstream.validate(JSON.parse(JSON.stringify(Result.getOrThrow(result)))) ?? "",
      "A maximum of 4 blocks with cache_control"
    )
  })
})

/**
 * Round trips through the Anthropic mock: an OpenAI-shape request must reach the mock in
 * Anthropic's shape (asserted on the recorded body and headers) and come back in OpenAI's,
 * plain and streamed, with tools, images, cache usage and stop reasons.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chat } from "@llm-router/core"
import { Effect } from "effect"
import * as AnthropicUpstream from "../../testing/src/upstream/AnthropicUpstream.ts"
import * as Anthropic from "../src/Anthropic.ts"
import { chat, chunksOf, deployment, request, SECRET, streamParts } from "./support.ts"

const weatherTool: Chat.FunctionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
  }
}

const lastBody = (mock: AnthropicUpstream.AnthropicUpstream) => mock.requests[mock.requests.length - 1]?.body as Record<string, any>

describe("Anthropic.messagesUrl", () => {
  it("appends /v1/messages to the SDK-style base, and accepts a base ending in /v1", () => {
    assert.strictEqual(Anthropic.messagesUrl(undefined), "https://api.anthropic.com/v1/messages")
    assert.strictEqual(Anthropic.messagesUrl("http://127.0.0.1:9/"), "http://127.0.0.1:9/v1/messages")
    assert.strictEqual(Anthropic.messagesUrl("https://proxy.example/anthropic/v1"), "https://proxy.example/anthropic/v1/messages")
    assert.strictEqual(Anthropic.messagesUrl("https://proxy.example/v1/messages"), "https://proxy.example/v1/messages")
  })
})

describe("Anthropic chat", () => {
  it.live("sends Anthropic's shape and headers, and answers in OpenAI's", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "Hi there, friend." })
      const completion = yield* chat(deployment(mock.baseUrl), request({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "developer", content: [{ type: "text", text: "Use English." }] },
          { role: "user", content: "Hello" },
          { role: "user", content: [{ type: "text", text: "Are you there?" }] }
        ],
        temperature: 0.3,
        top_p: 0.9,
        stop: "END",
        user: "user-42",
        seed: 7,
        logprobs: true,
        metadata: { tags: ["fast"] }
      }))
      const recorded = mock.requests[0]!
      assert.strictEqual(recorded.path, "/v1/messages")
      assert.strictEqual(recorded.headers["x-api-key"], SECRET)
      assert.strictEqual(recorded.headers["anthropic-version"], "2023-06-01")
      assert.match(recorded.headers["content-type"] ?? "", /^application\/json/)
      assert.isUndefined(recorded.headers["authorization"])
      assert.deepStrictEqual(recorded.body, {
        model: "claude-haiku-4-5",
        max_tokens: 8192,
        system: "Be brief.\n\nUse English.",
        // Consecutive user messages are merged into one turn.
        messages: [{ role: "user", content: [{ type: "text", text: "Hello" }, { type: "text", text: "Are you there?" }] }],
        stop_sequences: ["END"],
        temperature: 0.3,
        top_p: 0.9,
        metadata: { user_id: "user-42" }
      })
      const response = completion.response
      assert.strictEqual(response.object, "chat.completion")
      assert.strictEqual(response.id, "msg_mock_1")
      assert.strictEqual(response.model, "claude-haiku-4-5")
      assert.deepStrictEqual(response.choices[0]?.message, { role: "assistant", content: "Hi there, friend." })
      assert.strictEqual(response.choices[0]?.finish_reason, "stop")
      const usage = response.usage!
      assert.strictEqual(usage.completion_tokens, 3)
      assert.strictEqual(usage.total_tokens, usage.prompt_tokens + 3)
      assert.strictEqual(completion.route.deployment, "anthropic/claude-haiku-4-5#1")
      assert.strictEqual(completion.route.provider, "anthropic")
      assert.strictEqual(completion.route.attempts, 1)
      assert.deepStrictEqual(completion.route.usage, usage)
      assert.isNumber(completion.route.costUsd)
    }))

  it.live("uses max_completion_tokens, then max_tokens, then the configured default", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make()
      yield* chat(deployment(mock.baseUrl), request({ max_tokens: 100, max_completion_tokens: 50 }))
      assert.strictEqual(lastBody(mock).max_tokens, 50)
      yield* chat(deployment(mock.baseUrl), request({ max_tokens: 100 }))
      assert.strictEqual(lastBody(mock).max_tokens, 100)
      yield* chat(deployment(mock.baseUrl, { params: { max_tokens: 1234 } }), request())
      assert.strictEqual(lastBody(mock).max_tokens, 1234)
      yield* chat(deployment(mock.baseUrl, { model: "claude-unknown-9" }), request())
      assert.strictEqual(lastBody(mock).max_tokens, 4096)
    }))

  it.live("accepts a base URL that already ends in /v1", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make()
      yield* chat(deployment(`${mock.baseUrl}/v1`), request())
      assert.strictEqual(mock.requests[0]?.path, "/v1/messages")
    }))

  it.live("reports cache reads and writes in the usage, and prices them", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({
        usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200 }
      })
      const { response, route } = yield* chat(deployment(mock.baseUrl), request())
      assert.deepStrictEqual(response.usage, {
        prompt_tokens: 1210,
        completion_tokens: 5,
        total_tokens: 1215,
        prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 200 }
      })
      // claude-haiku-4-5: $1/M input, $0.10/M cache read, $1.25/M cache write, $5/M output.
      assert.closeTo(route.costUsd!, 10 * 1e-6 + 1000 * 0.1e-6 + 200 * 1.25e-6 + 5 * 5e-6, 1e-12)
    }))

  it.live("maps stop reasons: max_tokens → length, stop_sequence → stop, refusal → content_filter", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "one two three four five" })
      const short = yield* chat(deployment(mock.baseUrl), request({ max_tokens: 2 }))
      assert.strictEqual(short.response.choices[0]?.finish_reason, "length")
      assert.strictEqual(short.response.choices[0]?.message.content, "one two ")
      const stopped = yield* chat(deployment(mock.baseUrl), request({ stop: ["four"] }))
      assert.strictEqual(stopped.response.choices[0]?.finish_reason, "stop")
      assert.strictEqual(stopped.response.choices[0]?.message.content, "one two three ")
      // …naming the sequence that stopped it, and not when the answer ended on its own.
      assert.strictEqual(stopped.response.choices[0]?.stop_sequence, "four")
      assert.notProperty(short.response.choices[0], "stop_sequence")
      const refusing = yield* AnthropicUpstream.make({ stopReason: "refusal" })
      const refused = yield* chat(deployment(refusing.baseUrl), request())
      assert.strictEqual(refused.response.choices[0]?.finish_reason, "content_filter")
      const overflowing = yield* AnthropicUpstream.make({ stopReason: "model_context_window_exceeded" })
      const overflowed = yield* chat(deployment(overflowing.baseUrl), request())
      assert.strictEqual(overflowed.response.choices[0]?.finish_reason, "length")
    }))

  it.live("sends images as base64 and url sources", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make()
      yield* chat(deployment(mock.baseUrl), request({
        messages: [{
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } }
          ]
        }]
      }))
      assert.deepStrictEqual(lastBody(mock).messages[0].content, [
        { type: "text", text: "What is in these?" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } }
      ])
    }))

  it.live("JSON mode becomes a system instruction and a fenced answer is unwrapped", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "```json\n{\"ok\":true}\n```" })
      const { response } = yield* chat(deployment(mock.baseUrl), request({ response_format: { type: "json_object" } }))
      assert.match(lastBody(mock).system, /valid JSON object/)
      assert.strictEqual(response.choices[0]?.message.content, "{\"ok\":true}")
    }))
})

describe("Anthropic tool calls", () => {
  it.live("sends tools and tool_choice, and returns tool_use as tool_calls", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ toolInput: { city: "Oslo" } })
      const { response } = yield* chat(deployment(mock.baseUrl), request({
        messages: [{ role: "user", content: "Weather in Oslo?" }],
        tools: [weatherTool],
        tool_choice: "required",
        parallel_tool_calls: false
      }))
      const body = lastBody(mock)
      assert.deepStrictEqual(body.tools, [{
        name: "get_weather",
        description: "Current weather for a city",
        input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
      }])
      assert.deepStrictEqual(body.tool_choice, { type: "any", disable_parallel_tool_use: true })
      const choice = response.choices[0]!
      assert.strictEqual(choice.finish_reason, "tool_calls")
      assert.isNull(choice.message.content)
      assert.deepStrictEqual(choice.message.tool_calls, [{
        id: "toolu_mock_1",
        type: "function",
        function: { name: "get_weather", arguments: "{\"city\":\"Oslo\"}" }
      }])
    }))

  it.live("maps every tool_choice", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make()
      const choices: Array<[Chat.ToolChoice, unknown]> = [
        ["auto", { type: "auto" }],
        ["none", { type: "none" }],
        [{ type: "function", function: { name: "get_weather" } }, { type: "tool", name: "get_weather" }]
      ]
      for (const [choice, expected] of choices) {
        yield* chat(deployment(mock.baseUrl), request({ tools: [weatherTool], tool_choice: choice }))
        assert.deepStrictEqual(lastBody(mock).tool_choice, expected)
        assert.strictEqual(lastBody(mock).tools.length, 1)
      }
    }))

  it.live("sends an earlier tool call and its result back as tool_use and tool_result", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "It is 3°C in Oslo." })
      const { response } = yield* chat(deployment(mock.baseUrl), request({
        tools: [weatherTool],
        messages: [
          { role: "system", content: "You check the weather." },
          { role: "user", content: "Weather in Oslo and Bergen?" },
          {
            role: "assistant",
            content: "",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Oslo\"}" } },
              { id: "call.2", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Bergen\"}" } }
            ]
          },
          { role: "tool", tool_call_id: "call_1", content: "3°C, rain" },
          { role: "tool", tool_call_id: "call.2", content: [{ type: "text", text: "5°C" }] },
          { role: "user", content: "Thanks. Summarise." }
        ]
      }))
      assert.deepStrictEqual(lastBody(mock).messages, [
        { role: "user", content: "Weather in Oslo and Bergen?" },
        {
          role: "assistant",
          content: [
            { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Oslo" } },
            { type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Bergen" } }
          ]
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "call_1", content: "3°C, rain" },
            { type: "tool_result", tool_use_id: "call_2", content: "5°C" },
            { type: "text", text: "Thanks. Summarise." }
          ]
        }
      ])
      assert.strictEqual(response.choices[0]?.message.content, "It is 3°C in Oslo.")
    }))

  it.live("invalid tool-call arguments are a BadRequest that never reaches the provider", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make()
      const error = yield* Effect.flip(chat(deployment(mock.baseUrl), request({
        tools: [weatherTool],
        messages: [
          { role: "user", content: "Hi" },
          { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: "{city:" } }] },
          { role: "tool", tool_call_id: "c1", content: "?" }
        ]
      })))
      assert.strictEqual(error._tag, "BadRequest")
      assert.strictEqual(error._tag === "BadRequest" ? error.param : undefined, "messages[1].tool_calls[0].function.arguments")
      assert.strictEqual(mock.requests.length, 0)
    }))
})

describe("Anthropic stream", () => {
  it.live("streams text as OpenAI chunks: role first, content deltas, finish, usage last", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({
        text: "Hello there, how are you today?",
        usage: { input_tokens: 12, cache_read_input_tokens: 30 }
      })
      const parts = yield* streamParts(deployment(mock.baseUrl), request({ stream: true }))
      assert.strictEqual(lastBody(mock).stream, true)
      assert.strictEqual(parts[0]?._tag, "Start")
      assert.strictEqual(parts[parts.length - 1]?._tag, "Done")
      const chunks = chunksOf(parts)
      assert.deepStrictEqual(chunks[0]?.choices[0]?.delta, { role: "assistant", content: "" })
      assert.isTrue(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === "msg_mock_1"))
      const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? "")).join("")
      assert.strictEqual(text, "Hello there, how are you today?")
      assert.strictEqual(chunks.filter((c) => typeof c.choices[0]?.delta.content === "string" && c.choices[0].delta.content.length > 0).length, 6)
      const finish = chunks[chunks.length - 2]!
      assert.strictEqual(finish.choices[0]?.finish_reason, "stop")
      const usageChunk = chunks[chunks.length - 1]!
      assert.deepStrictEqual(usageChunk.choices, [])
      assert.deepStrictEqual(usageChunk.usage, {
        prompt_tokens: 42,
        completion_tokens: 6,
        total_tokens: 48,
        prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 0 }
      })
      const done = parts[parts.length - 1]
      assert.deepStrictEqual(done?._tag === "Done" ? done.route.usage : undefined, usageChunk.usage)
      // Collected, the stream is the answer a plain call gives.
      const collected = Chat.collectChunks(chunks)
      assert.strictEqual(collected.choices[0]?.message.content, "Hello there, how are you today?")
    }))

  it.live("streams tool calls: id and name first, then argument fragments", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ toolInput: { city: "Oslo", days: 3 } })
      const parts = yield* streamParts(deployment(mock.baseUrl), request({
        tools: [weatherTool],
        tool_choice: { type: "function", function: { name: "get_weather" } }
      }))
      const chunks = chunksOf(parts)
      const deltas = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))
      assert.deepStrictEqual(deltas[0], {
        index: 0,
        id: "toolu_mock_1",
        type: "function",
        function: { name: "get_weather", arguments: "" }
      })
      const fragments = deltas.slice(1)
      assert.isAtLeast(fragments.length, 2)
      assert.isTrue(fragments.every((d) => d.index === 0 && d.id === undefined && d.function?.name === undefined))
      assert.deepStrictEqual(JSON.parse(fragments.map((d) => d.function?.arguments ?? "").join("")), { city: "Oslo", days: 3 })
      const collected = Chat.collectChunks(chunks)
      assert.strictEqual(collected.choices[0]?.finish_reason, "tool_calls")
      assert.deepStrictEqual(collected.choices[0]?.message.tool_calls, [{
        id: "toolu_mock_1",
        type: "function",
        function: { name: "get_weather", arguments: "{\"city\":\"Oslo\",\"days\":3}" }
      }])
    }))

  it.live("a streamed answer equals the plain one", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "Same answer either way.", toolInput: { city: "Rome" } })
      const req = request({ tools: [weatherTool], messages: [{ role: "user", content: "Weather in Rome?" }] })
      const plain = yield* chat(deployment(mock.baseUrl), req)
      const streamed = Chat.collectChunks(chunksOf(yield* streamParts(deployment(mock.baseUrl), req)))
      // Tool-call ids differ (the mock numbers its answers); everything else must match.
      const withoutIds = (message: Chat.ResponseMessage | undefined) => ({
        ...message,
        tool_calls: message?.tool_calls?.map((call) => ({ ...call, id: call.id.replace(/\d+$/, "") }))
      })
      assert.strictEqual(streamed.choices[0]?.message.tool_calls?.length, 1)
      assert.deepStrictEqual(withoutIds(streamed.choices[0]?.message), withoutIds(plain.response.choices[0]?.message))
      assert.strictEqual(streamed.choices[0]?.finish_reason, plain.response.choices[0]?.finish_reason)
      assert.deepStrictEqual(streamed.usage, plain.response.usage)
    }))
})

describe("Anthropic reasoning (extended thinking)", () => {
  const thinkingRequest = () => request({ reasoning_effort: "low" } as Partial<Chat.ChatRequest>)

  it.live("reasoning_effort turns thinking on; the thinking comes back as reasoning_content, apart from the answer", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "Four." })
      const completion = yield* chat(deployment(mock.baseUrl), thinkingRequest())
      assert.deepStrictEqual(lastBody(mock)["thinking"], { type: "enabled", budget_tokens: 1024 })
      const message = completion.response.choices[0]?.message
      assert.strictEqual(message?.content, "Four.")
      assert.strictEqual(message?.reasoning_content, AnthropicUpstream.THINKING_TEXT)
      // Without it, no thinking is asked for and none comes back.
      const plain = yield* chat(deployment(mock.baseUrl), request())
      assert.notProperty(lastBody(mock), "thinking")
      assert.notProperty(plain.response.choices[0]?.message ?? {}, "reasoning_content")
    }))

  it.live("streamed, thinking deltas arrive as reasoning_content deltas before the answer's content", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "Four." })
      const chunks = chunksOf(yield* streamParts(deployment(mock.baseUrl), thinkingRequest()))
      const deltas = chunks.flatMap((c) => c.choices.map((choice) => choice.delta))
      const reasoning = deltas.map((d) => d.reasoning_content ?? "").join("")
      const content = deltas.map((d) => d.content ?? "").join("")
      assert.strictEqual(reasoning, AnthropicUpstream.THINKING_TEXT)
      assert.strictEqual(content, "Four.")
      const firstReasoning = deltas.findIndex((d) => (d.reasoning_content ?? "").length > 0)
      const firstContent = deltas.findIndex((d) => (d.content ?? "").length > 0)
      assert.isTrue(firstReasoning >= 0 && firstReasoning < firstContent, `reasoning at ${firstReasoning}, content at ${firstContent}`)
      // No delta carries both.
      assert.isFalse(deltas.some((d) => d.reasoning_content !== undefined && d.content !== undefined))
      // Joined back, the stream is the answer a plain call gives, signed thinking block included.
      const joined = Chat.collectChunks(chunks).choices[0]?.message
      const plain = (yield* chat(deployment(mock.baseUrl), thinkingRequest())).response.choices[0]?.message
      assert.strictEqual(joined?.reasoning_content, AnthropicUpstream.THINKING_TEXT)
      assert.strictEqual(joined?.content, "Four.")
      assert.deepStrictEqual(joined?.thinking_blocks, [{ type: "thinking", thinking: AnthropicUpstream.THINKING_TEXT, signature: "sig_mock_1" }])
      assert.deepStrictEqual(plain?.thinking_blocks, [{ type: "thinking", thinking: AnthropicUpstream.THINKING_TEXT, signature: "sig_mock_2" }])
    }))

  it.live("a tool loop keeps thinking when the client sends the assistant message back as it came, plain and streamed", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "It is sunny." })
      const d = deployment(mock.baseUrl)
      for (const streamed of [false, true]) {
        const ask = request({ tools: [weatherTool], messages: [{ role: "user", content: "Weather in Paris?" }], reasoning_effort: "low" } as Partial<Chat.ChatRequest>)
        const first = streamed ? Chat.collectChunks(chunksOf(yield* streamParts(d, ask))) : (yield* chat(d, ask)).response
        const assistant = first.choices[0]?.message
        assert.strictEqual(assistant?.tool_calls?.length, 1, `streamed: ${streamed}`)
        assert.strictEqual(assistant?.thinking_blocks?.length, 1)
        // The client appends the assistant message as it came, then the tool's answer.
        const next = request({
          tools: [weatherTool],
          reasoning_effort: "low",
          messages: [
            ...ask.messages,
            assistant as Chat.Message,
            { role: "tool", tool_call_id: assistant!.tool_calls![0]!.id, content: "{\"sky\":\"clear\"}" }
          ]
        } as Partial<Chat.ChatRequest>)
        const answer = yield* chat(d, next)
        // The mock validates Anthropic's rule: a thinking tool loop's last assistant turn starts with its thinking block.
        const body = lastBody(mock)
        assert.deepStrictEqual(body["thinking"], { type: "enabled", budget_tokens: 1024 })
        assert.deepStrictEqual(body["messages"][1]["content"][0], assistant?.thinking_blocks?.[0])
        assert.strictEqual(answer.response.choices[0]?.message.content, "It is sunny.")
      }
    }))
})

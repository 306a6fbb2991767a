/**
 * Anthropic's Messages API route end to end: the official `@anthropic-ai/sdk` client
 * (`messages.create`, `.stream`, tools, thinking, `countTokens`) against the gateway in-process,
 * with the real adapters calling the HTTP mock upstreams. Claude deployments get the request as
 * the client wrote it; an Anthropic client fails over to GPT and Gemini, as the route headers
 * show; bad input answers in Anthropic's error shape.
 */
import Anthropic, { AuthenticationError, BadRequestError, NotFoundError, RateLimitError } from "@anthropic-ai/sdk"
import type { MessageCreateParamsNonStreaming, MessageParam, RawMessageStreamEvent, Tool, ToolResultBlockParam } from "@anthropic-ai/sdk/resources/messages"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as GatewayUnderTest from "./GatewayUnderTest.ts"
import { AnthropicUpstream } from "@llm-router/testing"

const MASTER_KEY = "sk-gateway-messages-master"

interface Env extends GatewayUnderTest.Upstreams {
  readonly origin: string
  readonly client: Anthropic
}
class TestEnv extends Context.Service<TestEnv, Env>()("test/gateway-messages/TestEnv") {}

const env = Layer.effect(TestEnv, Effect.gen(function*() {
  const mocks = yield* GatewayUnderTest.upstreams
  const { openai, anthropic } = mocks
  const yaml = `
model_list:${GatewayUnderTest.plainGroups(mocks)}
  # Claude is overloaded; GPT takes the retry.
  - model_name: failover
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.faultUrl("overloaded")}", api_key: sk-ant-mock, order: 1 }
    model_info: { id: failover-claude }
  - model_name: failover
    litellm_params: { model: openai/gpt-4o, api_base: "${openai.baseUrl}", api_key: sk-mock-openai, order: 2 }
    model_info: { id: failover-gpt }
  # A group whose only Claude deployment has a broken key, falling back to Gemini.
  - model_name: primary
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.faultUrl("auth")}", api_key: sk-ant-mock }
    model_info: { id: primary-broken }
  - model_name: limited
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.faultUrl("rate-limit")}", api_key: sk-ant-mock }
    model_info: { id: limited-claude }
  - model_name: streamfail
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.faultUrl("error-after-200")}", api_key: sk-ant-mock }
    model_info: { id: streamfail-claude }
router_settings:
  # Claude Code asks for Claude models by name: the gateway maps them to groups.
  model_group_alias:
    claude-sonnet-4-5-20250929: claude
    claude-haiku-4-5-20251001: gpt-4o
    claude-opus-4-1-20250805: failover
    claude-3-5-haiku-20241022: flash
  num_retries: 1
  allowed_fails: 0
  max_retry_after: 0.5
litellm_settings:
  fallbacks: [{ "primary": ["flash"] }]
general_settings:
  master_key: ${MASTER_KEY}
`
  // The Anthropic SDK's base URL has no /v1, as Claude Code's ANTHROPIC_BASE_URL.
  const origin = yield* GatewayUnderTest.start(yaml)
  return { origin, client: new Anthropic({ baseURL: origin, apiKey: MASTER_KEY, maxRetries: 0 }), ...mocks }
}).pipe(Effect.orDie))

const weatherTool: Tool = {
  name: "get_weather",
  description: "Current weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}
const user = (text: string): Array<MessageParam> => [{ role: "user", content: text }]

/**
 * Asks `model` `question` with `weatherTool` offered, then answers its call with `result` (a
 * `tool_result` for that call); the model's `tool_use` block, if it made one.
 */
const answerToolCall = (client: Anthropic, model: string, question: string, result: Omit<ToolResultBlockParam, "type" | "tool_use_id">) =>
  Effect.gen(function*() {
    const first = yield* Effect.promise(() =>
      client.messages.create({ model, max_tokens: 256, messages: user(question), tools: [weatherTool] })
    )
    const use = first.content.find((block) => block.type === "tool_use")
    yield* Effect.promise(() =>
      client.messages.create({
        model,
        max_tokens: 256,
        tools: [weatherTool],
        messages: [
          ...user(question),
          { role: "assistant", content: first.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: use?.type === "tool_use" ? use.id : "", ...result }] }
        ]
      })
    )
    return use
  })

const { failure } = GatewayUnderTest

const textOf = (content: ReadonlyArray<{ readonly type: string; readonly text?: string }>) =>
  content.flatMap((block) => (block.type === "text" ? [block.text ?? ""] : [])).join("")

layer(env, { excludeTestServices: true })("the Messages API route", (it) => {
  it.effect("answers messages.create from Claude, GPT and Gemini, with the route in its headers", () =>
    Effect.gen(function*() {
      const { client, anthropic } = yield* TestEnv
      for (const { model, deployment, provider } of GatewayUnderTest.eachProvider) {
        const { data, response } = yield* Effect.promise(() =>
          client.messages.create({ model, max_tokens: 256, system: "Be brief.", messages: user("Say hello") }).withResponse()
        )
        assert.strictEqual(data.type, "message", model)
        assert.strictEqual(data.role, "assistant")
        assert.match(data.id, /^msg_/)
        assert.include(textOf(data.content), "Hello from the mock.", model)
        assert.strictEqual(data.stop_reason, "end_turn", model)
        assert.isAbove(data.usage.input_tokens, 0, model)
        assert.isAbove(data.usage.output_tokens, 0, model)
        assert.strictEqual(response.headers.get("x-llm-router-deployment"), deployment)
        assert.strictEqual(response.headers.get("x-llm-router-provider"), provider)
      }
      // Claude got Anthropic's request as the client wrote it.
      const sent = anthropic.requests.at(-1)?.body as Record<string, unknown> | undefined
      assert.strictEqual(sent?.["system"], "Be brief.")
      assert.strictEqual(sent?.["max_tokens"], 256)
      assert.deepStrictEqual(sent?.["messages"], [{ role: "user", content: "Say hello" }])
    }))

  it.effect("fails over from Claude to GPT, and to Gemini through a fallback group, plain and streamed", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const within = yield* Effect.promise(() => client.messages.create({ model: "failover", max_tokens: 64, messages: user("hi") }).withResponse())
      assert.strictEqual(within.response.headers.get("x-llm-router-deployment"), "failover-gpt")
      assert.strictEqual(within.response.headers.get("x-llm-router-attempts"), "2")
      assert.include(textOf(within.data.content), "Hello from the mock.")

      const streamed = yield* Effect.promise(async () => {
        const stream = client.messages.stream({ model: "primary", max_tokens: 64, messages: user("Stream please") })
        const events: Array<RawMessageStreamEvent> = []
        stream.on("streamEvent", (event) => events.push(event))
        const message = await stream.finalMessage()
        const { response } = await stream.withResponse()
        return { events, message, headers: response.headers }
      })
      assert.strictEqual(streamed.headers.get("x-llm-router-fallbacks"), "flash")
      assert.strictEqual(streamed.headers.get("x-llm-router-deployment"), "gemini-main")
      const types = streamed.events.map((e) => e.type)
      assert.strictEqual(types[0], "message_start")
      assert.deepStrictEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"])
      assert.include(types, "content_block_delta")
      assert.include(textOf(streamed.message.content), "Hello from the mock.")
      assert.strictEqual(streamed.message.stop_reason, "end_turn")
      assert.isAbove(streamed.message.usage.input_tokens, 0)
      assert.isAbove(streamed.message.usage.output_tokens, 0)
    }))

  it.effect("uses tools on Claude natively and on GPT translated, plain and streamed", () =>
    Effect.gen(function*() {
      const { client, anthropic, openai } = yield* TestEnv
      for (const model of ["claude", "gpt-4o"]) {
        const first = yield* Effect.promise(() =>
          client.messages.create({ model, max_tokens: 256, messages: user("Weather in Paris?"), tools: [weatherTool] })
        )
        assert.strictEqual(first.stop_reason, "tool_use", model)
        const use = first.content.find((block) => block.type === "tool_use")
        assert.strictEqual(use?.type === "tool_use" ? use.name : undefined, "get_weather", model)
        assert.isObject(use?.type === "tool_use" ? use.input : undefined)
        const messages: Array<MessageParam> = [
          ...user("Weather in Paris?"),
          { role: "assistant", content: first.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: use?.type === "tool_use" ? use.id : "", content: "sunny" }] }
        ]
        const answer = yield* Effect.promise(() => client.messages.create({ model, max_tokens: 256, messages, tools: [weatherTool] }))
        // Claude's mock answers a tool result in words; OpenAI's calls the tool again whenever tools are offered.
        assert.strictEqual(answer.stop_reason, model === "claude" ? "end_turn" : "tool_use", model)
      }
      const toClaude = anthropic.requests.at(-1)?.body as { messages: Array<{ content: Array<Record<string, unknown>> }> }
      assert.isTrue(toClaude.messages[1]?.content.some((block) => block["type"] === "tool_use"))
      assert.strictEqual(toClaude.messages[2]?.content[0]?.["type"], "tool_result")
      const toGpt = openai.requests.at(-1)?.body as { messages: Array<Record<string, unknown>> }
      assert.deepStrictEqual(toGpt.messages.map((m) => m["role"]), ["user", "assistant", "tool"])
      assert.strictEqual(toGpt.messages[2]?.["content"], "sunny")

      // Streamed, the call's input arrives as input_json_deltas and the SDK assembles it.
      const streamed = yield* Effect.promise(() =>
        client.messages.stream({ model: "gpt-4o", max_tokens: 256, messages: user("Weather in Oslo?"), tools: [weatherTool] }).finalMessage()
      )
      const streamedUse = streamed.content.find((block) => block.type === "tool_use")
      assert.strictEqual(streamed.stop_reason, "tool_use")
      // The mock puts the question into the call's arguments: whole, once the deltas are joined.
      assert.include(Object.values(streamedUse?.type === "tool_use" ? streamedUse.input as object : {}), "Weather in Oslo?")
    }))

  it.effect("carries a failed tool result's is_error to Claude natively, to GPT and Gemini in words they see", () =>
    Effect.gen(function*() {
      const { client, anthropic, openai, gemini } = yield* TestEnv
      const failedTurn = (model: string) =>
        Effect.gen(function*() {
          const use = yield* answerToolCall(client, model, "Weather in Atlantis?", { content: "no such city", is_error: true })
          assert.strictEqual(use?.type, "tool_use", model)
        })
      yield* failedTurn("claude")
      const toClaude = anthropic.requests.at(-1)?.body as { messages: Array<{ content: Array<Record<string, unknown>> }> }
      assert.strictEqual(toClaude.messages[2]?.content[0]?.["type"], "tool_result")
      assert.strictEqual(toClaude.messages[2]?.content[0]?.["is_error"], true)

      yield* failedTurn("gpt-4o")
      const toGpt = openai.requests.at(-1)?.body as { messages: Array<Record<string, unknown>> }
      assert.strictEqual(toGpt.messages[2]?.["role"], "tool")
      assert.strictEqual(toGpt.messages[2]?.["content"], "Error: no such city")
      assert.notProperty(toGpt.messages[2], "is_error")

      yield* failedTurn("flash")
      const toGemini = gemini.requests.at(-1)?.body as { contents: Array<{ parts: Array<Record<string, unknown>> }> }
      const response = toGemini.contents.at(-1)?.parts[0]?.["functionResponse"] as { response?: unknown } | undefined
      assert.deepStrictEqual(response?.response, { error: "no such city" })
    }))

  it.effect("passes a tool result's image and PDF to every provider: in the result for Claude and Gemini, after it for GPT", () =>
    Effect.gen(function*() {
      const { client, anthropic, openai, gemini } = yield* TestEnv
      const png = { type: "base64" as const, media_type: "image/png" as const, data: "iVBORw0KGgo=" }
      const pdf = { type: "base64" as const, media_type: "application/pdf" as const, data: "JVBERi0xLjQ=" }
      for (const model of ["claude", "gpt-4o", "flash"]) {
        yield* answerToolCall(client, model, "Weather map of Paris?", {
          content: [{ type: "text", text: "map attached" }, { type: "image", source: png }, { type: "document", source: pdf }]
        })
      }
      const toClaude = anthropic.requests.at(-1)?.body as { messages: Array<{ content: Array<{ content?: Array<{ type: string }> }> }> }
      assert.deepStrictEqual(toClaude.messages[2]?.content[0]?.content?.map((b) => b.type), ["text", "image", "document"])

      const toGpt = (openai.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown }> }).messages
      assert.deepStrictEqual(toGpt.map((m) => m.role), ["user", "assistant", "tool", "user"])
      assert.deepStrictEqual(toGpt[2]?.content, [{ type: "text", text: "map attached" }])
      assert.deepStrictEqual((toGpt[3]?.content as Array<{ type: string }>).map((p) => p.type), ["text", "image_url", "file"])

      const toGemini = gemini.requests.at(-1)?.body as { contents: Array<{ parts: Array<Record<string, unknown>> }> }
      const parts = toGemini.contents.at(-1)?.parts ?? []
      assert.deepStrictEqual(parts.map((part) => Object.keys(part)[0]), ["functionResponse", "inlineData", "inlineData"])
      assert.deepStrictEqual(parts[1]?.["inlineData"], { mimeType: "image/png", data: "iVBORw0KGgo=" })
    }))

  it.effect("sends stop_sequences to every provider and says which one stopped Claude, plain and streamed", () =>
    Effect.gen(function*() {
      const { client, anthropic, openai, gemini } = yield* TestEnv
      // The mock's answer is "Hello from the mock.": Claude stops at " mock".
      const ask = { max_tokens: 64, stop_sequences: ["never said", " mock"], messages: user("Say hello") }
      const plain = yield* Effect.promise(() => client.messages.create({ model: "claude", ...ask }))
      assert.deepStrictEqual((anthropic.requests.at(-1)?.body as { stop_sequences?: unknown }).stop_sequences, ask.stop_sequences)
      assert.strictEqual(plain.stop_reason, "stop_sequence")
      assert.strictEqual(plain.stop_sequence, " mock")
      assert.strictEqual(textOf(plain.content), "Hello from the")

      const streamed = yield* Effect.promise(async () => {
        const stream = client.messages.stream({ model: "claude", ...ask })
        const deltas: Array<RawMessageStreamEvent> = []
        stream.on("streamEvent", (event) => event.type === "message_delta" && deltas.push(event))
        return { message: await stream.finalMessage(), deltas }
      })
      assert.strictEqual(streamed.message.stop_reason, "stop_sequence")
      assert.strictEqual(streamed.message.stop_sequence, " mock")
      assert.deepStrictEqual(
        streamed.deltas.map((e) => e.type === "message_delta" ? { stop_reason: e.delta.stop_reason, stop_sequence: e.delta.stop_sequence } : undefined),
        [{ stop_reason: "stop_sequence", stop_sequence: " mock" }]
      )

      // OpenAI and Gemini get them as `stop` and `stopSequences`; neither says whether one
      // stopped the answer, so the stop reads as the end of the turn.
      const gpt = yield* Effect.promise(() => client.messages.create({ model: "gpt-4o", ...ask }))
      assert.deepStrictEqual((openai.requests.at(-1)?.body as { stop?: unknown }).stop, ask.stop_sequences)
      assert.strictEqual(gpt.stop_reason, "end_turn")
      assert.isNull(gpt.stop_sequence)
      const flash = yield* Effect.promise(() => client.messages.create({ model: "flash", ...ask }))
      const config = (gemini.requests.at(-1)?.body as { generationConfig?: { stopSequences?: unknown } }).generationConfig
      assert.deepStrictEqual(config?.stopSequences, ask.stop_sequences)
      assert.strictEqual(flash.stop_reason, "end_turn")
      assert.isNull(flash.stop_sequence)
    }))

  it.effect("sends top_k to Claude and Gemini, and not to GPT, which refuses it", () =>
    Effect.gen(function*() {
      const { client, anthropic, openai, gemini } = yield* TestEnv
      for (const model of ["claude", "gpt-4o", "flash"]) {
        // The SDK no longer types the sampling parameters; Claude Code and older clients still send them.
        const body = { model, max_tokens: 64, top_k: 40, messages: user("hi") } as unknown as MessageCreateParamsNonStreaming
        yield* Effect.promise(() => client.messages.create(body))
      }
      assert.strictEqual((anthropic.requests.at(-1)?.body as { top_k?: unknown }).top_k, 40)
      assert.notProperty(openai.requests.at(-1)?.body as object, "top_k")
      assert.strictEqual((gemini.requests.at(-1)?.body as { generationConfig?: { topK?: unknown } }).generationConfig?.topK, 40)
    }))

  it.effect("thinks on Claude with the budget asked for, signed, plain and streamed, through a tool loop", () =>
    Effect.gen(function*() {
      const { client, anthropic, openai } = yield* TestEnv
      const thinking = { type: "enabled" as const, budget_tokens: 2048 }
      const plain = yield* Effect.promise(() => client.messages.create({ model: "claude", max_tokens: 4096, thinking, messages: user("2 + 2?") }))
      assert.deepStrictEqual((anthropic.requests.at(-1)?.body as { thinking?: unknown }).thinking, thinking)
      const block = plain.content[0]
      assert.strictEqual(block?.type, "thinking")
      assert.strictEqual(block?.type === "thinking" ? block.thinking : "", AnthropicUpstream.THINKING_TEXT)
      assert.isAbove(block?.type === "thinking" ? block.signature.length : 0, 0)

      const streamed = yield* Effect.promise(async () => {
        const stream = client.messages.stream({ model: "claude", max_tokens: 4096, thinking, messages: user("3 + 3?") })
        let thought = ""
        stream.on("thinking", (delta) => thought += delta)
        return { message: await stream.finalMessage(), thought }
      })
      assert.strictEqual(streamed.thought, AnthropicUpstream.THINKING_TEXT)
      const streamedBlock = streamed.message.content[0]
      assert.isAbove(streamedBlock?.type === "thinking" ? streamedBlock.signature.length : 0, 0)
      assert.include(textOf(streamed.message.content), "Hello from the mock.")

      // The assistant turn goes back as it came (signed thinking first) and Claude keeps thinking.
      const call = yield* Effect.promise(() =>
        client.messages.create({ model: "claude", max_tokens: 4096, thinking, tools: [weatherTool], messages: user("Weather in Paris?") })
      )
      const use = call.content.find((b) => b.type === "tool_use")
      assert.strictEqual(call.content[0]?.type, "thinking")
      yield* Effect.promise(() =>
        client.messages.create({
          model: "claude",
          max_tokens: 4096,
          thinking,
          tools: [weatherTool],
          messages: [
            ...user("Weather in Paris?"),
            { role: "assistant", content: call.content },
            { role: "user", content: [{ type: "tool_result", tool_use_id: use?.type === "tool_use" ? use.id : "", content: "sunny" }] }
          ]
        })
      )
      const loop = anthropic.requests.at(-1)?.body as { thinking?: unknown; messages: Array<{ content: Array<Record<string, unknown>> }> }
      assert.deepStrictEqual(loop.thinking, thinking)
      assert.deepStrictEqual(loop.messages[1]?.content[0], call.content[0] as never)

      // GPT gets no `thinking`, which OpenAI would refuse.
      yield* Effect.promise(() => client.messages.create({ model: "gpt-4o", max_tokens: 4096, thinking, messages: user("4 + 4?") }))
      assert.notProperty(openai.requests.at(-1)?.body as object, "thinking")
    }))

  it.effect("carries cache_control to Claude and reports cache usage", () =>
    Effect.gen(function*() {
      const { client, anthropic } = yield* TestEnv
      const policy = "Refunds are due within thirty days of purchase, on proof of payment. ".repeat(80)
      const ask = (question: string) =>
        Effect.promise(() =>
          client.messages.create({
            model: "claude",
            max_tokens: 256,
            system: [{ type: "text", text: policy, cache_control: { type: "ephemeral" } }],
            messages: user(question)
          })
        )
      const first = yield* ask("Refunds?")
      const sent = anthropic.requests.at(-1)?.body as { system: Array<{ cache_control?: unknown }> }
      assert.deepStrictEqual(sent.system[0]?.cache_control, { type: "ephemeral" })
      assert.isAbove(first.usage.cache_creation_input_tokens ?? 0, 0)
      const second = yield* ask("Exchanges?")
      assert.isAbove(second.usage.cache_read_input_tokens ?? 0, 0)
      assert.isBelow(second.usage.input_tokens, first.usage.input_tokens + (first.usage.cache_creation_input_tokens ?? 0))
      // Streamed, the cache usage comes in the message_delta.
      const streamed = yield* Effect.promise(() =>
        client.messages.stream({
          model: "claude",
          max_tokens: 256,
          system: [{ type: "text", text: policy, cache_control: { type: "ephemeral" } }],
          messages: user("Returns?")
        }).finalMessage()
      )
      assert.strictEqual(streamed.usage.cache_read_input_tokens, second.usage.cache_read_input_tokens)
      assert.isAbove(streamed.usage.input_tokens, 0)
    }))

  it.effect("answers output_config.format with JSON from every provider: natively on Claude, as response_format elsewhere", () =>
    Effect.gen(function*() {
      const { client, anthropic, openai, gemini } = yield* TestEnv
      const schema = {
        type: "object",
        properties: { city: { type: "string" }, population: { type: "integer" } },
        required: ["city", "population"],
        additionalProperties: false
      }
      for (const model of ["claude", "gpt-4o", "flash"]) {
        const answer = yield* Effect.promise(() =>
          client.messages.create({ model, max_tokens: 256, output_config: { format: { type: "json_schema", schema } }, messages: user("Largest city?") })
        )
        const json = JSON.parse(textOf(answer.content)) as Record<string, unknown>
        assert.isString(json["city"], model)
        assert.isNumber(json["population"], model)
      }
      assert.deepStrictEqual((anthropic.requests.at(-1)?.body as { output_config?: unknown }).output_config, { format: { type: "json_schema", schema } })
      const toGpt = (openai.requests.at(-1)?.body as { response_format?: { type: string; json_schema?: { schema?: unknown } } }).response_format
      assert.strictEqual(toGpt?.type, "json_schema")
      assert.deepStrictEqual(toGpt?.json_schema?.schema, schema)
      const config = (gemini.requests.at(-1)?.body as { generationConfig?: Record<string, unknown> }).generationConfig
      assert.strictEqual(config?.["responseMimeType"], "application/json")
    }))

  it.effect("takes a top-level cache_control (automatic caching) as a breakpoint on the last block", () =>
    Effect.gen(function*() {
      const { client, anthropic } = yield* TestEnv
      const policy = "Warranty claims need the serial number and the date of purchase. ".repeat(80)
      const ask = (question: string) =>
        Effect.promise(() =>
          client.messages.create({ model: "claude", max_tokens: 64, cache_control: { type: "ephemeral" }, system: policy, messages: user(question) })
        )
      const first = yield* ask("Warranty?")
      const sent = anthropic.requests.at(-1)?.body as { messages: Array<{ content: Array<Record<string, unknown>> }> }
      assert.deepStrictEqual(sent.messages[0]?.content.at(-1)?.["cache_control"], { type: "ephemeral" })
      assert.isAbove(first.usage.cache_creation_input_tokens ?? 0, 0)
    }))

  it.effect("counts tokens: exactly by Claude's own count for a Claude group, by the gateway's estimate for the others", () =>
    Effect.gen(function*() {
      const { client, anthropic } = yield* TestEnv
      const ask = { system: "Be brief.", messages: user("hi ".repeat(400)), tools: [weatherTool] }
      const exact = yield* Effect.promise(() => client.messages.countTokens({ model: "claude", ...ask }).withResponse())
      // Claude was asked, with the request as the Messages call would send it (no max_tokens).
      const asked = anthropic.requests.at(-1)!
      assert.strictEqual(asked.path, "/v1/messages/count_tokens")
      assert.strictEqual(asked.headers["x-api-key"], "sk-ant-mock")
      assert.deepStrictEqual(Object.keys(asked.body as object).sort(), ["messages", "model", "system", "tools"])
      assert.strictEqual(exact.data.input_tokens, AnthropicUpstream.countTokens(asked.body as Record<string, unknown>))
      assert.strictEqual(exact.response.headers.get("x-llm-router-deployment"), "anthropic-main")

      const short = yield* Effect.promise(() => client.messages.countTokens({ model: "gpt-4o", messages: user("hi") }))
      const estimated = yield* Effect.promise(() => client.messages.countTokens({ model: "gpt-4o", ...ask }).withResponse())
      assert.strictEqual(anthropic.requests.at(-1), asked)
      // An estimate is the gateway's: no deployment counted it.
      assert.isNull(estimated.response.headers.get("x-llm-router-deployment"))
      assert.isAbove(short.input_tokens, 0)
      assert.isAbove(estimated.data.input_tokens, short.input_tokens + 250)
      assert.notStrictEqual(estimated.data.input_tokens, exact.data.input_tokens)

      // An unknown group is Anthropic's not_found_error, as for a message.
      assert.instanceOf(yield* failure(() => client.messages.countTokens({ model: "no-such-group", messages: user("hi") })), NotFoundError)
    }))

  it.effect("serves Claude Code as it calls: beta headers and query, cached system blocks and tools, thinking, a tool loop, on Claude and failed over to GPT", () =>
    Effect.gen(function*() {
      const { origin, anthropic, openai } = yield* TestEnv
      // What Claude Code 2.x sends with ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN set.
      const headers = {
        accept: "application/json",
        "anthropic-beta": "claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
        "anthropic-dangerous-direct-browser-access": "true",
        "anthropic-version": "2023-06-01",
        authorization: `Bearer ${MASTER_KEY}`,
        "content-type": "application/json",
        "user-agent": "claude-cli/2.0.14 (external, cli)",
        "x-app": "cli",
        "x-stainless-lang": "js",
        "x-stainless-retry-count": "0",
        "x-stainless-timeout": "600"
      }
      const userId = "user_3f9a1c0e5b7d2a4f6e8c0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a_account__session_6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
      const system = [
        { type: "text", text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: "ephemeral" } },
        { type: "text", text: "You are an interactive CLI tool that helps users with software engineering tasks.", cache_control: { type: "ephemeral" } }
      ]
      // An MCP tool's name (`mcp__<server>__<tool>`) may be longer than OpenAI and Gemini take.
      const mcpTool = "mcp__company-knowledge-base-server__search_engineering_design_documents_by_topic"
      const tools = [
        {
          name: mcpTool,
          description: "Searches the design documents",
          input_schema: { type: "object", properties: { topic: { type: "string" } }, required: ["topic"] }
        },
        {
          name: "Bash",
          description: "Executes a given bash command",
          input_schema: {
            type: "object",
            properties: { command: { type: "string", description: "The command to execute" }, timeout: { type: "number" } },
            required: ["command"],
            additionalProperties: false,
            $schema: "http://json-schema.org/draft-07/schema#"
          }
        },
        {
          name: "Read",
          description: "Reads a file from the local filesystem",
          input_schema: { type: "object", properties: { file_path: { type: "string" } }, required: ["file_path"], additionalProperties: false },
          cache_control: { type: "ephemeral" }
        }
      ]
      const ask = { role: "user", content: [
        { type: "text", text: "<system-reminder>\nAs you answer the user's questions, you can use the following context.\n</system-reminder>" },
        { type: "text", text: "list the files here", cache_control: { type: "ephemeral" } }
      ] }
      const mainLoop = (model: string, messages: ReadonlyArray<unknown>) => ({
        model,
        messages,
        system,
        tools,
        metadata: { user_id: userId },
        max_tokens: 32000,
        thinking: { type: "enabled", budget_tokens: 31999 },
        stream: true
      })
      const post = (path: string, body: unknown) =>
        Effect.promise(async () => {
          const response = await fetch(`${origin}${path}`, { method: "POST", headers, body: JSON.stringify(body) })
          return { status: response.status, headers: response.headers, text: await response.text() }
        })
      const eventsOf = (text: string) =>
        [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!) as { type: string } & Record<string, unknown>)
      /** The assistant's content blocks, put together from the stream's events as the SDK does. */
      const contentOf = (events: ReadonlyArray<{ type: string } & Record<string, unknown>>) => {
        const blocks: Array<Record<string, unknown>> = []
        for (const event of events) {
          if (event.type === "content_block_start") blocks.push({ ...(event["content_block"] as object) })
          if (event.type !== "content_block_delta") continue
          const block = blocks[event["index"] as number]!
          const delta = event["delta"] as Record<string, string>
          if (delta["type"] === "thinking_delta") block["thinking"] = String(block["thinking"] ?? "") + delta["thinking"]
          if (delta["type"] === "signature_delta") block["signature"] = delta["signature"]
          if (delta["type"] === "text_delta") block["text"] = String(block["text"] ?? "") + delta["text"]
          if (delta["type"] === "input_json_delta") block["partial"] = String(block["partial"] ?? "") + delta["partial_json"]
        }
        return blocks.map(({ partial, ...block }): Record<string, unknown> =>
          block["type"] === "tool_use" ? { ...block, input: JSON.parse(String(partial ?? "{}")) } : block
        )
      }

      // Turn one: Claude thinks and calls Bash.
      const first = yield* post("/v1/messages?beta=true", mainLoop("claude-sonnet-4-5-20250929", [ask]))
      assert.strictEqual(first.status, 200, first.text)
      assert.strictEqual(first.headers.get("x-llm-router-deployment"), "anthropic-main")
      const firstEvents = eventsOf(first.text)
      assert.strictEqual(firstEvents[0]?.type, "message_start")
      assert.strictEqual(firstEvents.at(-1)?.type, "message_stop")
      const content = contentOf(firstEvents)
      assert.strictEqual(content[0]?.["type"], "thinking")
      const toolUse = content.at(-1)!
      assert.strictEqual(toolUse["type"], "tool_use")
      // The call comes back under the tool's own name, whatever name the model was given.
      assert.strictEqual(toolUse["name"], mcpTool)
      assert.isString((toolUse["input"] as { topic?: unknown }).topic)
      const sent = anthropic.requests.at(-1)!
      const body = sent.body as Record<string, unknown>
      assert.deepStrictEqual(body["system"], system)
      assert.deepStrictEqual(body["thinking"], { type: "enabled", budget_tokens: 31999 })
      assert.deepStrictEqual(body["metadata"], { user_id: userId })
      assert.deepStrictEqual((body["tools"] as Array<Record<string, unknown>>).at(-1)?.["cache_control"], { type: "ephemeral" })
      assert.deepStrictEqual((body["messages"] as Array<{ content: unknown }>)[0]?.content, ask.content)
      // Its betas go on to Claude, but not the OAuth one, which belongs to Claude Code's own login,
      // nor interleaved thinking, whose order of blocks the next turn could not give back.
      assert.strictEqual(sent.headers["anthropic-beta"], "claude-code-20250219,fine-grained-tool-streaming-2025-05-14")
      assert.strictEqual(sent.headers["x-api-key"], "sk-ant-mock")

      // Turn two: the command failed; Claude gets its signed thinking back and the failure as it was.
      // (Claude Code marks only the latest user turn: Anthropic takes at most four marks.)
      const second = [
        { role: "user", content: ask.content.map(({ type, text }) => ({ type, text })) },
        { role: "assistant", content },
        { role: "user", content: [
          { type: "tool_result", tool_use_id: toolUse["id"], content: "ls: .: Permission denied", is_error: true },
          { type: "text", text: "try again", cache_control: { type: "ephemeral" } }
        ] }
      ]
      const again = yield* post("/v1/messages?beta=true", mainLoop("claude-sonnet-4-5-20250929", second))
      assert.strictEqual(again.status, 200, again.text)
      assert.include(eventsOf(again.text).map((e) => e.type), "message_delta")
      const loop = anthropic.requests.at(-1)?.body as { messages: Array<{ content: Array<Record<string, unknown>> }> }
      assert.deepStrictEqual(loop.messages[1]?.content[0], content[0])
      assert.strictEqual(loop.messages[2]?.content[0]?.["is_error"], true)

      // The same turn on a group whose Claude is overloaded: GPT answers it, in Anthropic's events.
      const failedOver = yield* post("/v1/messages?beta=true", mainLoop("claude-opus-4-1-20250805", second))
      assert.strictEqual(failedOver.status, 200, failedOver.text)
      assert.strictEqual(failedOver.headers.get("x-llm-router-deployment"), "failover-gpt")
      assert.strictEqual(eventsOf(failedOver.text).at(-1)?.type, "message_stop")
      const toGpt = openai.requests.at(-1)?.body as { messages: Array<Record<string, unknown>>; tools: Array<unknown> }
      assert.deepStrictEqual(toGpt.messages.map((m) => m["role"]), ["system", "user", "assistant", "tool", "user"])
      assert.strictEqual(toGpt.messages[3]?.["content"], "Error: ls: .: Permission denied")
      assert.lengthOf(toGpt.tools, 3)
      const gptCall = contentOf(eventsOf(failedOver.text)).find((b) => b["type"] === "tool_use")
      assert.strictEqual(gptCall?.["name"], mcpTool)

      // …and on Gemini (which, as OpenAI, refuses a tool name over 64 characters).
      const onGemini = yield* post("/v1/messages?beta=true", mainLoop("claude-3-5-haiku-20241022", second))
      assert.strictEqual(onGemini.status, 200, onGemini.text)
      assert.strictEqual(onGemini.headers.get("x-llm-router-deployment"), "gemini-main")

      // The small fast model (titles, summaries), asked for by another Claude name, served by GPT.
      const quick = yield* post("/v1/messages?beta=true", {
        model: "claude-haiku-4-5-20251001",
        max_tokens: 512,
        system: [{ type: "text", text: "Summarize this coding conversation in under 50 characters." }],
        messages: [{ role: "user", content: "list the files here" }],
        metadata: { user_id: userId },
        temperature: 0
      })
      assert.strictEqual(quick.status, 200, quick.text)
      assert.strictEqual(quick.headers.get("x-llm-router-deployment"), "openai-main")
      assert.strictEqual((JSON.parse(quick.text) as { type: string }).type, "message")

      const counted = yield* post("/v1/messages/count_tokens?beta=true", { model: "claude-sonnet-4-5-20250929", system, tools, messages: [ask] })
      assert.strictEqual(counted.status, 200, counted.text)
      assert.isAbove((JSON.parse(counted.text) as { input_tokens: number }).input_tokens, 0)
    }))

  it.effect("answers errors in Anthropic's shape, as the SDK's own classes, and takes the key from x-api-key", () =>
    Effect.gen(function*() {
      const { client, origin } = yield* TestEnv
      const send = (body: string, headers: Record<string, string> = { "x-api-key": MASTER_KEY }) =>
        Effect.promise(async () => {
          const response = await fetch(`${origin}/v1/messages`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body })
          return { status: response.status, body: (await response.json()) as { type: string; error: { type: string; message: string } } }
        })
      const noMaxTokens = yield* send(JSON.stringify({ model: "claude", messages: user("hi") }))
      assert.strictEqual(noMaxTokens.status, 400)
      assert.strictEqual(noMaxTokens.body.type, "error")
      assert.strictEqual(noMaxTokens.body.error.type, "invalid_request_error")
      assert.include(noMaxTokens.body.error.message, "max_tokens")
      const badRole = yield* send(JSON.stringify({ model: "claude", max_tokens: 10, messages: [{ role: "system", content: "hi" }] }))
      assert.strictEqual(badRole.status, 400)
      assert.strictEqual(badRole.body.error.type, "invalid_request_error")
      assert.include(badRole.body.error.message, "messages[0].role")
      const unknownModel = yield* send(JSON.stringify({ model: "no-such-group", max_tokens: 10, messages: user("hi") }))
      assert.strictEqual(unknownModel.status, 404)
      assert.strictEqual(unknownModel.body.error.type, "not_found_error")
      const malformed = yield* send("{\"model\": ")
      assert.strictEqual(malformed.status, 400)
      assert.strictEqual(malformed.body.error.type, "invalid_request_error")
      const serverTool = yield* send(JSON.stringify({ model: "claude", max_tokens: 10, messages: user("hi"), tools: [{ type: "web_search_20250305", name: "web_search" }] }))
      assert.strictEqual(serverTool.status, 400)
      assert.include(serverTool.body.error.message, "web_search_20250305")
      const noKey = yield* send(JSON.stringify({ model: "claude", max_tokens: 10, messages: user("hi") }), {})
      assert.strictEqual(noKey.status, 401)
      assert.strictEqual(noKey.body.error.type, "authentication_error")
      // A bearer token works too (Claude Code's ANTHROPIC_AUTH_TOKEN).
      const bearer = yield* send(JSON.stringify({ model: "claude", max_tokens: 10, messages: user("hi") }), { authorization: `Bearer ${MASTER_KEY}` })
      assert.strictEqual(bearer.status, 200)

      const wrongKey = new Anthropic({ baseURL: origin, apiKey: "sk-wrong", maxRetries: 0 })
      assert.instanceOf(yield* failure(() => wrongKey.messages.create({ model: "claude", max_tokens: 10, messages: user("hi") })), AuthenticationError)
      assert.instanceOf(yield* failure(() => client.messages.create({ model: "no-such-group", max_tokens: 10, messages: user("hi") })), NotFoundError)
      const limited = yield* failure(() => client.messages.create({ model: "limited", max_tokens: 10, messages: user("hi") }))
      assert.instanceOf(limited, RateLimitError)
      assert.strictEqual((limited as RateLimitError).headers?.get("retry-after"), "1")
      assert.instanceOf(yield* failure(() => client.messages.create({ model: "claude", max_tokens: 0, messages: user("hi") })), BadRequestError)

      // A stream that fails after its first content ends with Anthropic's `error` event.
      const broken = yield* Effect.promise(async () => {
        const response = await fetch(`${origin}/v1/messages`, {
          method: "POST",
          headers: { "x-api-key": MASTER_KEY, "content-type": "application/json" },
          body: JSON.stringify({ model: "streamfail", max_tokens: 64, stream: true, messages: user("hi") })
        })
        return { status: response.status, text: await response.text() }
      })
      assert.strictEqual(broken.status, 200)
      const names = [...broken.text.matchAll(/^event: (.+)$/gm)].map((m) => m[1])
      assert.include(names, "content_block_delta")
      assert.strictEqual(names.at(-1), "error")
      assert.notInclude(broken.text, "sk-ant-mock")
    }))
})

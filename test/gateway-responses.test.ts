/**
 * The Responses API route end to end: the official `openai` client (`responses.create`, plain and
 * streamed, with tools and a json_schema) and the Vercel AI SDK's default OpenAI provider (which
 * speaks the Responses API) against the gateway in-process, with the real adapters calling the
 * HTTP mock upstreams. Each is served across providers with failover shown in the route headers;
 * conversations continue through the gateway's store; bad input answers in OpenAI's error shape.
 */
import { assert, layer } from "@effect/vitest"
import { createOpenAI } from "@ai-sdk/openai"
import { generateText, jsonSchema, Output, stepCountIs, streamText, tool } from "ai"
import { Context, Effect, Layer } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import OpenAI, { APIError, BadRequestError, NotFoundError } from "openai"
import type { ResponseStreamEvent } from "openai/resources/responses/responses"
import * as GatewayUnderTest from "./GatewayUnderTest.ts"
import { checkItemReferenceCap } from "./ItemReferenceCap.ts"
import { AnthropicUpstream, OpenAiUpstream } from "@llm-router/testing"

const MASTER_KEY = "sk-gateway-responses-master"
const WEATHER = { city: "Paris", celsius: 21 }
/**
 * Claude Sonnet 4.5 answers a JSON schema through Anthropic's native structured output
 * (`output_config.format`), which the mock fills from the schema: its strings are the mock's
 * text, its numbers 1 (see `Synthesize`).
 */
const WEATHER_FROM_CLAUDE = { city: "Paris", celsius: 1 }

interface Env extends GatewayUnderTest.Upstreams {
  readonly baseURL: string
  readonly client: OpenAI
  /** The paths the chat-only server was asked, in order. */
  readonly chatOnlyPaths: ReadonlyArray<string>
}
class TestEnv extends Context.Service<TestEnv, Env>()("test/gateway-responses/TestEnv") {}

const env = Layer.effect(TestEnv, Effect.gen(function*() {
  const mocks = yield* GatewayUnderTest.upstreams
  const { openai, anthropic } = mocks
  // Upstreams that answer with a JSON document, for structured output.
  const jsonOpenai = yield* OpenAiUpstream.make({ text: JSON.stringify(WEATHER), echo: false })
  const jsonClaude = yield* AnthropicUpstream.make({ text: WEATHER_FROM_CLAUDE.city })
  const empty = yield* emptyUpstream
  const chatOnly = yield* chatOnlyUpstream
  const yaml = `
model_list:${GatewayUnderTest.plainGroups(mocks)}
  # OpenAI answers 500 first; Claude takes the retry.
  - model_name: failover
    litellm_params: { model: openai/gpt-4o, api_base: "${openai.faultUrl("server-error")}", api_key: sk-mock-openai, order: 1 }
    model_info: { id: failover-openai }
  - model_name: failover
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.baseUrl}", api_key: sk-ant-mock, order: 2 }
    model_info: { id: failover-claude }
  # The same, for streams (its own group: a failure cools a deployment down for the others' tests).
  - model_name: failover-stream
    litellm_params: { model: openai/gpt-4o, api_base: "${openai.faultUrl("server-error")}", api_key: sk-mock-openai, order: 1 }
    model_info: { id: failover-stream-openai }
  - model_name: failover-stream
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.baseUrl}", api_key: sk-ant-mock, order: 2 }
    model_info: { id: failover-stream-claude }
  # A group whose only deployment has a broken key, falling back to Gemini.
  - model_name: primary
    litellm_params: { model: openai/gpt-4o, api_base: "${openai.faultUrl("auth")}", api_key: sk-mock-openai }
    model_info: { id: primary-broken }
  - model_name: json
    litellm_params: { model: openai/gpt-4o, api_base: "${jsonOpenai.faultUrl("overloaded")}", api_key: sk-mock-openai, order: 1 }
    model_info: { id: json-openai }
  - model_name: json
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${jsonClaude.baseUrl}", api_key: sk-ant-mock, order: 2 }
    model_info: { id: json-claude }
  - model_name: streamfail
    litellm_params: { model: openai/gpt-4o, api_base: "${openai.faultUrl("error-after-200")}", api_key: sk-mock-openai }
    model_info: { id: streamfail-1 }
  - model_name: json-gpt
    litellm_params: { model: openai/gpt-4o, api_base: "${jsonOpenai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: json-gpt }
  # An OpenAI-compatible server (translated) that answers nothing: no choice, or a stream of only a role chunk.
  - model_name: empty-first
    litellm_params: { model: groq/llama-3.3-70b, api_base: "${empty}", api_key: gsk-mock, order: 1 }
    model_info: { id: empty-groq }
  - model_name: empty-first
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.baseUrl}", api_key: sk-ant-mock, order: 2 }
    model_info: { id: empty-claude }
  # The same for streams (its own group: the empty deployment cools down after one empty answer).
  - model_name: empty-stream
    litellm_params: { model: groq/llama-3.3-70b, api_base: "${empty}", api_key: gsk-mock, order: 1 }
    model_info: { id: empty-stream-groq }
  - model_name: empty-stream
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.baseUrl}", api_key: sk-ant-mock, order: 2 }
    model_info: { id: empty-stream-claude }
  # An OpenAI-compatible server behind openai/ that has no Responses API.
  - model_name: chat-only
    litellm_params: { model: openai/llama, api_base: "${chatOnly.baseUrl}", api_key: sk-local }
    model_info: { id: chat-only }
  # Azure's v1 API takes the Responses API natively too.
  - model_name: azure-v1
    litellm_params: { model: azure/gpt-4o-deploy, api_base: "${openai.azureV1BaseUrl}", api_key: sk-mock-azure }
    model_info: { id: azure-v1 }
  # OpenAI's content filter cuts this one's answers (see the mock), Claude takes them instead.
  - model_name: filtered
    litellm_params: { model: openai/gpt-4o-content-filter, api_base: "${openai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: filtered-openai }
router_settings:
  num_retries: 1
  allowed_fails: 0
litellm_settings:
  fallbacks: [{ "primary": ["flash"] }]
  content_policy_fallbacks: [{ "filtered": ["claude"] }]
general_settings:
  master_key: ${MASTER_KEY}
`
  const baseURL = `${yield* GatewayUnderTest.start(yaml)}/v1`
  return { baseURL, client: new OpenAI({ baseURL, apiKey: MASTER_KEY, maxRetries: 0 }), chatOnlyPaths: chatOnly.paths, ...mocks }
}).pipe(Effect.orDie))

/** A chat-completions server whose every answer is empty: no choice, or a stream with only a role chunk. */
const emptyUpstream = Effect.acquireRelease(
  Effect.callback<{ readonly baseUrl: string; readonly close: () => void }>((resume) => {
    const server = createServer((request, response) => {
      let body = ""
      request.on("data", (chunk) => (body += chunk))
      request.on("end", () => {
        const base = { id: "e", created: 1, model: "llama-3.3-70b" }
        if ((JSON.parse(body) as { stream?: boolean }).stream !== true) {
          response.writeHead(200, { "content-type": "application/json" })
          return response.end(JSON.stringify({ ...base, object: "chat.completion", choices: [] }))
        }
        response.writeHead(200, { "content-type": "text/event-stream" })
        const role = { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }
        response.end(`data: ${JSON.stringify(role)}\n\ndata: [DONE]\n\n`)
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, close: () => server.close() })))
  }),
  ({ close }) => Effect.sync(close)
).pipe(Effect.map(({ baseUrl }) => baseUrl))

/**
 * An OpenAI-compatible server without the Responses API (as many behind `openai/` are): a 404 on
 * `/v1/responses`, chat completions answered ("Hello from chat."), plain or streamed.
 */
const chatOnlyUpstream = Effect.acquireRelease(
  Effect.callback<{ readonly baseUrl: string; readonly paths: Array<string>; readonly close: () => void }>((resume) => {
    const paths: Array<string> = []
    const server = createServer((request, response) => {
      let body = ""
      request.on("data", (chunk) => (body += chunk))
      request.on("end", () => {
        paths.push(request.url ?? "")
        if (request.url !== "/v1/chat/completions") {
          response.writeHead(404, { "content-type": "application/json" })
          return response.end(JSON.stringify({ detail: "Not Found" }))
        }
        const base = { id: "c", created: 1, model: "llama" }
        const usage = { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 }
        if ((JSON.parse(body) as { stream?: boolean }).stream !== true) {
          response.writeHead(200, { "content-type": "application/json" })
          const message = { role: "assistant", content: "Hello from chat." }
          return response.end(JSON.stringify({ ...base, object: "chat.completion", choices: [{ index: 0, message, finish_reason: "stop" }], usage }))
        }
        response.writeHead(200, { "content-type": "text/event-stream" })
        const chunk = (delta: object, finish: string | null) => ({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })
        response.end(
          [chunk({ role: "assistant", content: "Hello " }, null), chunk({ content: "from chat." }, null), chunk({}, "stop")]
            .map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n"
        )
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, paths, close: () => server.close() })))
  }),
  ({ close }) => Effect.sync(close)
)

const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "Current weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
  strict: true
}

const weatherFormat = {
  type: "json_schema" as const,
  name: "weather",
  strict: true,
  schema: {
    type: "object",
    properties: { city: { type: "string" }, celsius: { type: "number" } },
    required: ["city", "celsius"],
    additionalProperties: false
  }
}

/** The AI SDK's weather tool, recording each input it is run with in `executed`. */
const weatherTools = (executed: Array<unknown>) => ({
  get_weather: tool({
    description: "Current weather for a city",
    inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string" } }, required: ["city"] }),
    execute: async (input) => {
      executed.push(input)
      return { sky: "clear" }
    }
  })
})

const { failure } = GatewayUnderTest

layer(env, { excludeTestServices: true })("the Responses API route", (it) => {
  it.effect("answers responses.create through each provider, with the route in its headers", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      for (const { model, deployment, provider } of GatewayUnderTest.eachProvider) {
        const { data, response } = yield* Effect.promise(() =>
          client.responses.create({ model, instructions: "Be brief.", input: "Say hello" }).withResponse()
        )
        assert.strictEqual(data.object, "response")
        assert.strictEqual(data.status, "completed")
        assert.match(data.id, /^resp_/)
        assert.include(data.output_text, "Hello from the mock.", model)
        assert.strictEqual(data.output[0]?.type, "message")
        assert.isAbove(data.usage?.input_tokens ?? 0, 0)
        assert.strictEqual(data.usage?.total_tokens, (data.usage?.input_tokens ?? 0) + (data.usage?.output_tokens ?? 0))
        assert.strictEqual(response.headers.get("x-llm-router-deployment"), deployment)
        assert.strictEqual(response.headers.get("x-llm-router-provider"), provider)
      }
    }))

  it.effect("sends an OpenAI deployment the Responses request natively, and continues its conversation", () =>
    Effect.gen(function*() {
      const { client, openai } = yield* TestEnv
      const first = yield* Effect.promise(() =>
        client.responses.create({ model: "gpt-4o", instructions: "Be brief.", input: "Say hello", metadata: { app: "native" } }).withResponse()
      )
      const sent = openai.requests.at(-1)!
      assert.strictEqual(sent.path, "/v1/responses")
      // Unstored upstream (the gateway is the store); gpt-4o does not reason, so it is not asked
      // for encrypted reasoning (OpenAI would refuse: see gateway-responses-reasoning.test.ts).
      assert.deepStrictEqual(sent.body, {
        model: "gpt-4o",
        instructions: "Be brief.",
        input: [{ role: "user", content: "Say hello" }],
        metadata: { app: "native" },
        store: false
      })
      assert.strictEqual(first.data.output_text, "Hello from the mock. You said: Say hello")
      assert.strictEqual(first.data.model, "gpt-4o")
      assert.strictEqual(first.data.usage?.output_tokens, 8)
      // The gateway's ids, not the upstream's, so its store continues the conversation anywhere.
      assert.match(first.data.id, /^resp_/)
      assert.isFalse(first.data.id.startsWith("resp_mock_"))
      assert.match(first.data.output[0]?.id ?? "", new RegExp(`^msg_${first.data.id.slice(5)}_0$`))
      assert.strictEqual(first.response.headers.get("x-llm-router-deployment"), "openai-main")
      assert.strictEqual(first.response.headers.get("x-llm-router-provider"), "openai")
      assert.strictEqual(first.response.headers.get("x-llm-router-attempts"), "1")

      const second = yield* Effect.promise(() => client.responses.create({ model: "gpt-4o", input: "Again", previous_response_id: first.data.id, store: true }))
      const again = openai.requests.at(-1)!
      assert.strictEqual(again.path, "/v1/responses")
      const body = again.body as { input: Array<{ role?: string; type?: string }>; previous_response_id?: unknown; store?: unknown }
      assert.notProperty(body, "previous_response_id")
      assert.strictEqual(body.store, false)
      assert.deepStrictEqual(body.input.map((item) => item.role), ["user", "assistant", "user"])
      assert.strictEqual(second.output_text, "Hello from the mock. You said: Again")
      assert.strictEqual(second.previous_response_id, first.data.id)
    }))

  it.effect("a native answer cut by OpenAI's content filter selects the content-policy fallback", () =>
    Effect.gen(function*() {
      const { client, openai } = yield* TestEnv
      openai.clear()
      const { data, response } = yield* Effect.promise(() => client.responses.create({ model: "filtered", input: "Say hello" }).withResponse())
      // OpenAI was asked natively and answered `incomplete` for `content_filter`; Claude answered instead.
      assert.deepStrictEqual(openai.requests.map((r) => [r.path, (r.body as { model?: string }).model]), [["/v1/responses", "gpt-4o-content-filter"]])
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "anthropic-main")
      assert.strictEqual(response.headers.get("x-llm-router-fallbacks"), "claude")
      assert.strictEqual(data.status, "completed")
      assert.include(data.output_text, "Hello from the mock.")
    }))

  it.effect("streams natively from an OpenAI deployment: its typed events relayed under the gateway's ids, kept for the next turn", () =>
    Effect.gen(function*() {
      const { baseURL, client, openai, anthropic } = yield* TestEnv
      openai.clear()
      const completionTokens = (metrics: string) =>
        Number(/^llm_router_tokens_total\{[^}]*deployment="openai-main"[^}]*kind="completion"\} (\d+)$/m.exec(metrics)?.[1] ?? 0)
      const before = yield* Effect.promise(() => fetch(`${baseURL.slice(0, -3)}/metrics`).then((r) => r.text()))
      const { data: stream, response } = yield* Effect.promise(() =>
        client.responses.create({ model: "gpt-4o", instructions: "Be brief.", input: "Stream natively", stream: true }).withResponse()
      )
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "openai-main")
      assert.strictEqual(response.headers.get("x-llm-router-provider"), "openai")
      assert.strictEqual(response.headers.get("x-llm-router-attempts"), "1")
      const events = yield* Effect.promise(async () => {
        const events: Array<ResponseStreamEvent> = []
        for await (const event of stream) events.push(event)
        return events
      })
      // The upstream got OpenAI's own streamed Responses request, not a chat completion.
      assert.deepStrictEqual(openai.requests.map((r) => r.path), ["/v1/responses"])
      assert.deepStrictEqual(openai.requests[0]?.body, {
        model: "gpt-4o",
        instructions: "Be brief.",
        input: [{ role: "user", content: "Stream natively" }],
        store: false,
        stream: true
      })
      assert.deepStrictEqual(events.map((e) => e.type), [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        ...events.filter((e) => e.type === "response.output_text.delta").map(() => "response.output_text.delta"),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed"
      ])
      assert.deepStrictEqual(events.map((e) => e.sequence_number), events.map((_, i) => i))
      const created = events[0]
      const completed = events.at(-1)
      assert.isTrue(created?.type === "response.created" && completed?.type === "response.completed")
      if (created?.type !== "response.created" || completed?.type !== "response.completed") return
      // The gateway's ids on every event (never the upstream's), so its store knows the answer.
      const id = completed.response.id
      assert.match(id, /^resp_/)
      assert.isFalse(id.startsWith("resp_mock_"))
      assert.strictEqual(created.response.id, id)
      const itemId = `msg_${id.slice(5)}_0`
      assert.strictEqual(completed.response.output[0]?.id, itemId)
      for (const event of events) {
        if ("item_id" in event) assert.strictEqual(event.item_id, itemId, event.type)
        if ("item" in event) assert.strictEqual(event.item.id, itemId, event.type)
      }
      const text = events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join("")
      assert.strictEqual(text, "Hello from the mock. You said: Stream natively")
      assert.strictEqual(completed.response.output_text, text)
      assert.strictEqual(completed.response.usage?.output_tokens, 8)
      // Kept for the next turn, which Claude serves with the whole conversation.
      assert.strictEqual((yield* Effect.promise(() => client.responses.retrieve(id))).output_text, text)
      yield* Effect.promise(() => client.responses.create({ model: "claude", previous_response_id: id, input: "And?" }))
      const sent = anthropic.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown }> }
      assert.deepStrictEqual(sent.messages.map((m) => m.role), ["user", "assistant", "user"])
      assert.strictEqual(sent.messages[1]?.content, text)
      // Counted as a streamed success of the OpenAI deployment, with the tokens its last event reported.
      const after = yield* Effect.promise(() => fetch(`${baseURL.slice(0, -3)}/metrics`).then((r) => r.text()))
      assert.match(after, /^llm_router_requests_total\{[^}]*deployment="openai-main"[^}]*stream="true"[^}]*\} 1$/m)
      assert.strictEqual(completionTokens(after) - completionTokens(before), 8)
    }))

  it.effect("an empty answer from a translated deployment fails over, plain and streamed, as a chat's does", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const plain = yield* Effect.promise(() => client.responses.create({ model: "empty-first", input: "hi" }).withResponse())
      assert.strictEqual(plain.response.headers.get("x-llm-router-deployment"), "empty-claude")
      assert.strictEqual(plain.response.headers.get("x-llm-router-attempts"), "2")
      assert.include(plain.data.output_text, "Hello from the mock.")
      const { data: stream, response } = yield* Effect.promise(() =>
        client.responses.create({ model: "empty-stream", input: "hi", stream: true }).withResponse()
      )
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "empty-stream-claude")
      assert.strictEqual(response.headers.get("x-llm-router-attempts"), "2")
      const events = yield* Effect.promise(async () => {
        const events: Array<ResponseStreamEvent> = []
        for await (const event of stream) events.push(event)
        return events
      })
      assert.strictEqual(events.filter((e) => e.type === "response.created").length, 1)
      const completed = events.at(-1)
      assert.isTrue(completed?.type === "response.completed")
      if (completed?.type === "response.completed") assert.include(completed.response.output_text, "Hello from the mock.")
    }))

  it.effect("an openai/ server without the Responses API (a 404 on /responses) gets the chat call in the same attempt", () =>
    Effect.gen(function*() {
      const { client, chatOnlyPaths } = yield* TestEnv
      const plain = yield* Effect.promise(() => client.responses.create({ model: "chat-only", input: "hi" }).withResponse())
      assert.strictEqual(plain.data.output_text, "Hello from chat.")
      assert.strictEqual(plain.response.headers.get("x-llm-router-attempts"), "1")
      const streamed = yield* Effect.promise(async () => {
        const stream = client.responses.stream({ model: "chat-only", input: "hi" })
        return (await stream.finalResponse()).output_text
      })
      assert.strictEqual(streamed, "Hello from chat.")
      assert.deepStrictEqual(chatOnlyPaths, ["/v1/responses", "/v1/chat/completions", "/v1/responses", "/v1/chat/completions"])
    }))

  it.effect("sends an Azure v1 deployment the Responses request natively too, plain and streamed, keyed by api-key", () =>
    Effect.gen(function*() {
      const { client, openai } = yield* TestEnv
      openai.clear()
      const plain = yield* Effect.promise(() => client.responses.create({ model: "azure-v1", input: "Say hello" }).withResponse())
      assert.strictEqual(plain.response.headers.get("x-llm-router-deployment"), "azure-v1")
      assert.strictEqual(plain.data.output_text, "Hello from the mock. You said: Say hello")
      const streamed = yield* Effect.promise(async () => {
        const stream = client.responses.stream({ model: "azure-v1", input: "Stream it" })
        return (await stream.finalResponse()).output_text
      })
      assert.strictEqual(streamed, "Hello from the mock. You said: Stream it")
      assert.deepStrictEqual(openai.requests.map((r) => [r.path, r.headers["api-key"], (r.body as { model?: string }).model, (r.body as { stream?: boolean }).stream]), [
        ["/openai/v1/responses", "sk-mock-azure", "gpt-4o-deploy", undefined],
        ["/openai/v1/responses", "sk-mock-azure", "gpt-4o-deploy", true]
      ])
    }))

  it.effect("a native stream fails over before its first event, from a failing OpenAI deployment to Claude (translated)", () =>
    Effect.gen(function*() {
      const { client, openai } = yield* TestEnv
      openai.clear()
      const { data: stream, response } = yield* Effect.promise(() =>
        client.responses.create({ model: "failover-stream", input: "Stream please", stream: true }).withResponse()
      )
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "failover-stream-claude")
      assert.strictEqual(response.headers.get("x-llm-router-provider"), "anthropic")
      assert.strictEqual(response.headers.get("x-llm-router-attempts"), "2")
      const events = yield* Effect.promise(async () => {
        const events: Array<ResponseStreamEvent> = []
        for await (const event of stream) events.push(event)
        return events
      })
      // OpenAI was asked for a native stream (and answered 500) before Claude got the chat request.
      assert.deepStrictEqual(openai.requests.map((r) => [r.path, (r.body as { stream?: unknown }).stream]), [["/fault/server-error/v1/responses", true]])
      // The client sees one answer only: Claude's, numbered from 0.
      assert.strictEqual(events.filter((e) => e.type === "response.created").length, 1)
      assert.deepStrictEqual(events.map((e) => e.sequence_number), events.map((_, i) => i))
      const completed = events.at(-1)
      assert.strictEqual(completed?.type, "response.completed")
      assert.include(events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join(""), "Hello from the mock.")
    }))

  it.effect("fails over from OpenAI to Claude, and to Gemini through a fallback group, plain and streamed", () =>
    Effect.gen(function*() {
      const { client, anthropic, openai } = yield* TestEnv
      const within = yield* Effect.promise(() => client.responses.create({ model: "failover", input: "hi" }).withResponse())
      assert.strictEqual(within.response.headers.get("x-llm-router-deployment"), "failover-claude")
      assert.strictEqual(within.response.headers.get("x-llm-router-attempts"), "2")
      // OpenAI was asked natively (and answered 500) before Claude got the translated call.
      const asked = openai.requests.filter((r) => r.path.startsWith("/fault/server-error/"))
      assert.deepStrictEqual([...new Set(asked.map((r) => r.path))], ["/fault/server-error/v1/responses"])
      assert.include(within.data.output_text, "Hello from the mock.")
      // The instructions and input reached Claude as Anthropic's own request.
      const sent = anthropic.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown }> }
      assert.deepStrictEqual(sent.messages, [{ role: "user", content: "hi" }])

      const { data: stream, response } = yield* Effect.promise(() =>
        client.responses.create({ model: "primary", input: "Stream please", stream: true }).withResponse()
      )
      assert.include(response.headers.get("content-type") ?? "", "text/event-stream")
      assert.strictEqual(response.headers.get("x-llm-router-fallbacks"), "flash")
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "gemini-main")
      const events = yield* Effect.promise(async () => {
        const events: Array<ResponseStreamEvent> = []
        for await (const event of stream) events.push(event)
        return events
      })
      const types = events.map((e) => e.type)
      assert.strictEqual(types[0], "response.created")
      assert.strictEqual(types.at(-1), "response.completed")
      assert.includeMembers(types, ["response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.done", "response.output_item.done"])
      assert.deepStrictEqual(events.map((e) => e.sequence_number), events.map((_, i) => i))
      const text = events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join("")
      const completed = events.at(-1)
      assert.isTrue(completed?.type === "response.completed")
      if (completed?.type === "response.completed") {
        assert.strictEqual(completed.response.output_text, text)
        assert.isAbove(completed.response.usage?.output_tokens ?? 0, 0)
      }
      assert.include(text, "Hello from the mock.")
    }))

  it.effect("calls function tools and takes their output back, plain and streamed, across providers", () =>
    Effect.gen(function*() {
      const { client, anthropic, openai } = yield* TestEnv
      const first = yield* Effect.promise(() =>
        client.responses.create({ model: "failover", input: "Weather in Paris?", tools: [weatherTool] }).withResponse()
      )
      assert.strictEqual(first.response.headers.get("x-llm-router-provider"), "anthropic")
      const call = first.data.output.find((item) => item.type === "function_call")
      assert.strictEqual(call?.type === "function_call" ? call.name : undefined, "get_weather")
      const callId = call?.type === "function_call" ? call.call_id : ""
      assert.doesNotThrow(() => JSON.parse(call?.type === "function_call" ? call.arguments : ""))

      // Stateless: the client sends the whole conversation back, the call and its output included.
      const answer = yield* Effect.promise(() =>
        client.responses.create({
          model: "failover",
          store: false,
          tools: [weatherTool],
          input: [
            { role: "user", content: "Weather in Paris?" },
            { type: "function_call", call_id: callId, name: "get_weather", arguments: "{\"city\":\"Paris\"}" },
            { type: "function_call_output", call_id: callId, output: "{\"sky\":\"clear\"}" }
          ]
        })
      )
      const sent = anthropic.requests.at(-1)?.body as { messages: Array<{ role: string; content: Array<Record<string, unknown>> }> }
      assert.strictEqual(sent.messages[1]?.content[0]?.["type"], "tool_use")
      assert.deepStrictEqual(sent.messages[2]?.content[0], { type: "tool_result", tool_use_id: callId, content: "{\"sky\":\"clear\"}" })
      assert.strictEqual(answer.output[0]?.type, "message")

      // Streamed: the call arrives as function-call argument events, the whole of it in the end.
      const streamed = yield* Effect.promise(async () => {
        const stream = client.responses.stream({ model: "gpt-4o", input: "Weather in Oslo?", tools: [weatherTool] })
        const argumentDeltas: Array<string> = []
        stream.on("response.function_call_arguments.delta", (event) => argumentDeltas.push(event.delta))
        const final = await stream.finalResponse()
        return { final, argumentDeltas }
      })
      const streamedCall = streamed.final.output.find((item) => item.type === "function_call")
      assert.strictEqual(streamedCall?.type === "function_call" ? streamedCall.name : undefined, "get_weather")
      // Natively: OpenAI got the function tool in the Responses API's shape, and the call's id is the gateway's.
      const native = openai.requests.at(-1)!
      assert.strictEqual(native.path, "/v1/responses")
      assert.deepInclude(native.body as object, { stream: true, tools: [weatherTool] })
      assert.match(streamedCall?.id ?? "", new RegExp(`^fc_${streamed.final.id.slice(5)}_0$`))
      assert.strictEqual(streamed.argumentDeltas.join(""), streamedCall?.type === "function_call" ? streamedCall.arguments : "")
      assert.isAbove(streamed.argumentDeltas.length, 1)
    }))

  it.effect("answers a json_schema text format, parsed by the SDK, after failing over to Claude", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const { data, response } = yield* Effect.promise(() =>
        client.responses.parse({ model: "json", input: "Weather in Paris as JSON", text: { format: weatherFormat } }).withResponse()
      )
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "json-claude")
      assert.strictEqual(response.headers.get("x-llm-router-attempts"), "2")
      assert.deepStrictEqual(data.output_parsed, WEATHER_FROM_CLAUDE)
    }))

  it.effect("continues a conversation with previous_response_id, across providers", () =>
    Effect.gen(function*() {
      const { client, anthropic } = yield* TestEnv
      const first = yield* Effect.promise(() => client.responses.create({ model: "gpt-4o", instructions: "Be brief.", input: "My name is Ada." }))
      // The next turn goes to Claude, which gets the whole conversation from the gateway's store.
      const second = yield* Effect.promise(() =>
        client.responses.create({ model: "claude", previous_response_id: first.id, input: "What is my name?" })
      )
      assert.strictEqual(second.previous_response_id, first.id)
      const sent = anthropic.requests.at(-1)?.body as { system?: unknown; messages: Array<{ role: string; content: unknown }> }
      assert.deepStrictEqual(sent.messages.map((m) => m.role), ["user", "assistant", "user"])
      assert.strictEqual(sent.messages[0]?.content, "My name is Ada.")
      assert.strictEqual(sent.messages[1]?.content, first.output_text)
      // Instructions are not carried over, as with OpenAI.
      assert.isUndefined(sent.system)
      // A reference to one of the first answer's items works too.
      const item = first.output[0]!
      yield* Effect.promise(() =>
        client.responses.create({ model: "claude", input: [{ type: "item_reference", id: item.id! }, { role: "user", content: "Again?" }] })
      )
      const referenced = anthropic.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown }> }
      assert.deepStrictEqual(referenced.messages.map((m) => m.role), ["user", "assistant", "user"])

      // Stored answers can be read back and forgotten.
      const retrieved = yield* Effect.promise(() => client.responses.retrieve(second.id))
      assert.strictEqual(retrieved.output_text, second.output_text)
      yield* Effect.promise(() => client.responses.delete(second.id))
      assert.instanceOf(yield* failure(() => client.responses.retrieve(second.id)), NotFoundError)

      // Not stored (store: false), or unknown: a 400 that says so.
      const unstored = yield* Effect.promise(() => client.responses.create({ model: "gpt-4o", input: "hi", store: false }))
      const missing = yield* failure(() => client.responses.create({ model: "claude", previous_response_id: unstored.id, input: "and?" }))
      assert.instanceOf(missing, BadRequestError)
      assert.strictEqual((missing as BadRequestError).code, "previous_response_not_found")
      assert.strictEqual((missing as BadRequestError).param, "previous_response_id")
    }))

  it.effect("item references may point into at most 100 stored responses: past that, a 400 before any read", () =>
    Effect.flatMap(TestEnv, ({ client }) => checkItemReferenceCap(client)))

  it.effect("serves the Vercel AI SDK's default OpenAI provider: generateText, streamText, tools, structured output", () =>
    Effect.gen(function*() {
      const { baseURL, openai } = yield* TestEnv
      const provider = createOpenAI({ baseURL, apiKey: MASTER_KEY })
      const headerOf = (headers: Record<string, string> | undefined) => headers?.["x-llm-router-deployment"]

      const generated = yield* Effect.promise(() => generateText({ model: provider("failover"), prompt: "Say hello", maxRetries: 0 }))
      assert.include(generated.text, "Hello from the mock.")
      assert.strictEqual(headerOf(generated.response.headers), "failover-claude")
      assert.isAbove(generated.usage.inputTokens ?? 0, 0)

      const streamed = yield* Effect.promise(async () => {
        const result = streamText({ model: provider("primary"), prompt: "Stream please", maxRetries: 0 })
        let text = ""
        for await (const delta of result.textStream) text += delta
        return { text, headers: (await result.response).headers, finish: await result.finishReason }
      })
      assert.include(streamed.text, "Hello from the mock.")
      assert.strictEqual(headerOf(streamed.headers), "gemini-main")
      assert.strictEqual(streamed.finish, "stop")

      // A tool loop: the model calls the tool, the SDK runs it and sends the result back.
      const executed: Array<unknown> = []
      const withTools = yield* Effect.promise(() =>
        generateText({
          model: provider("failover"),
          prompt: "Weather in Paris?",
          maxRetries: 0,
          tools: weatherTools(executed),
          stopWhen: stepCountIs(2)
        })
      )
      assert.strictEqual(executed.length, 1)
      assert.strictEqual(withTools.steps.length, 2)
      assert.strictEqual(withTools.steps[0]?.finishReason, "tool-calls")
      assert.include(withTools.text, "Hello from the mock.")

      // A streamed tool loop natively on OpenAI: the AI SDK reads the relayed events (its own strict
      // schemas), runs the tool, and the next step goes natively with the call and its output.
      const nativeLoop = yield* Effect.promise(async () => {
        const executed: Array<unknown> = []
        const result = streamText({
          model: provider("gpt-4o"),
          prompt: "Weather in Paris?",
          maxRetries: 0,
          tools: weatherTools(executed),
          stopWhen: stepCountIs(2)
        })
        let text = ""
        for await (const delta of result.textStream) text += delta
        return { text, executed, steps: await result.steps, headers: (await result.response).headers }
      })
      // The mock calls the tool whenever one is offered: once per step.
      assert.strictEqual(nativeLoop.executed.length, 2)
      assert.strictEqual(nativeLoop.steps.length, 2)
      assert.strictEqual(nativeLoop.steps[0]?.finishReason, "tool-calls")
      assert.strictEqual(headerOf(nativeLoop.headers), "openai-main")
      const loopRequests = openai.requests.filter((r) => r.path === "/v1/responses").slice(-2)
      assert.deepStrictEqual(loopRequests.map((r) => (r.body as { stream?: boolean }).stream), [true, true])
      // The second step's input holds the call and its output.
      const secondInput = (loopRequests[1]?.body as { input: Array<{ type?: string }> }).input
      assert.includeMembers(secondInput.map((item) => item.type), ["function_call", "function_call_output"])

      // Structured output (`generateObject`'s successor in AI SDK 7: `Output.object`), failing over to Claude.
      const structured = yield* Effect.promise(() =>
        generateText({
          model: provider("json"),
          prompt: "Weather in Paris",
          maxRetries: 0,
          output: Output.object({ schema: jsonSchema<typeof WEATHER>(weatherFormat.schema as never) })
        })
      )
      assert.deepStrictEqual(structured.output, WEATHER_FROM_CLAUDE)
      assert.strictEqual(headerOf(structured.response.headers), "json-claude")
    }))

  it.effect("refuses bad input in OpenAI's error shape, and keeps serving", () =>
    Effect.gen(function*() {
      const { baseURL, client } = yield* TestEnv
      const send = (body: string, path = "/responses") =>
        Effect.promise(async () => {
          const response = await fetch(`${baseURL}${path}`, {
            method: "POST",
            headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
            body
          })
          return { status: response.status, body: (await response.json()) as { error: { message: string; type: string; param: string | null; code: string | null } } }
        })
      const malformed = yield* send("{\"model\": ")
      assert.strictEqual(malformed.status, 400)
      assert.strictEqual(malformed.body.error.code, "invalid_json")
      const noModel = yield* send(JSON.stringify({ input: "hi" }))
      assert.strictEqual(noModel.status, 400)
      assert.strictEqual(noModel.body.error.type, "invalid_request_error")
      assert.strictEqual(noModel.body.error.param, "model")
      const badItem = yield* send(JSON.stringify({ model: "gpt-4o", input: [{ type: "function_call_output" }] }))
      assert.strictEqual(badItem.status, 400)
      assert.match(badItem.body.error.param ?? "", /^input\[0\]/)
      const hosted = yield* send(JSON.stringify({ model: "gpt-4o", input: "hi", tools: [{ type: "web_search" }] }))
      assert.strictEqual(hosted.status, 400)
      assert.strictEqual(hosted.body.error.param, "tools[0].type")
      assert.include(hosted.body.error.message, "web_search")
      const background = yield* send(JSON.stringify({ model: "gpt-4o", input: "hi", background: true }))
      assert.strictEqual(background.status, 400)
      assert.strictEqual(background.body.error.param, "background")
      const empty = yield* send(JSON.stringify({ model: "gpt-4o" }))
      assert.strictEqual(empty.status, 400)
      assert.strictEqual(empty.body.error.param, "input")
      // The router's own errors, through the SDK: an unknown group is a 404.
      assert.instanceOf(yield* failure(() => client.responses.create({ model: "no-such-group", input: "hi" })), NotFoundError)
      const wrongKey = new OpenAI({ baseURL, apiKey: "sk-wrong", maxRetries: 0 })
      const denied = yield* failure(() => wrongKey.responses.create({ model: "gpt-4o", input: "hi" }))
      assert.instanceOf(denied, APIError)
      assert.strictEqual((denied as APIError).status, 401)
      // A stream that fails after its first content ends with an `error` event and `response.failed`.
      const broken = yield* Effect.promise(async () => {
        const response = await fetch(`${baseURL}/responses`, {
          method: "POST",
          headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "streamfail", input: "hi", stream: true })
        })
        return { status: response.status, text: await response.text() }
      })
      assert.strictEqual(broken.status, 200)
      const names = [...broken.text.matchAll(/^event: (.+)$/gm)].map((m) => m[1])
      assert.include(names, "response.output_text.delta")
      assert.deepStrictEqual(names.slice(-2), ["error", "response.failed"])
      assert.notInclude(broken.text, "sk-mock-openai")
      const ok = yield* Effect.promise(() => client.responses.create({ model: "gpt-4o", input: "still there?" }))
      assert.include(ok.output_text, "still there?")
    }))
})

/**
 * The gateway end to end: the official `openai` client (and the Vercel AI SDK) against the
 * gateway started in-process on a free port, with the real provider adapters calling the
 * HTTP mock upstreams of `@llm-router/testing` behind it.
 */
import { assert, layer } from "@effect/vitest"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { streamText } from "ai"
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import OpenAI, {
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError
} from "openai"
import { Gateway, GatewayConfig, Providers } from "@llm-router/server"
import { AnthropicUpstream, GeminiUpstream, OpenAiUpstream } from "@llm-router/testing"
import * as GatewayUnderTest from "./GatewayUnderTest.ts"

const MASTER_KEY = "sk-gateway-e2e-master"

interface Env {
  readonly baseURL: string
  readonly client: OpenAI
  readonly openai: OpenAiUpstream.OpenAiUpstream
  readonly slow: OpenAiUpstream.OpenAiUpstream
  readonly lagging: OpenAiUpstream.OpenAiUpstream
  readonly anthropic: AnthropicUpstream.AnthropicUpstream
  readonly gemini: GeminiUpstream.GeminiUpstream
}
class TestEnv extends Context.Service<TestEnv, Env>()("test/gateway/TestEnv") {}

const errorFaults = [
  "rate-limit",
  "auth",
  "permission",
  "not-found",
  "bad-request",
  "context-window",
  "content-policy",
  "overloaded",
  "server-error",
  "malformed-json"
] as const

const configFor = (m: GatewayUnderTest.Upstreams & { readonly slow: OpenAiUpstream.OpenAiUpstream; readonly lagging: OpenAiUpstream.OpenAiUpstream }) => {
  const openaiFault = (name: Parameters<typeof m.openai.faultUrl>[0]) => m.openai.faultUrl(name)
  const errorGroup = (fault: Parameters<typeof m.openai.faultUrl>[0]) => `
  - model_name: err-${fault}
    litellm_params: { model: openai/gpt-4o, api_base: "${openaiFault(fault)}", api_key: sk-mock-openai }
    model_info: { id: err-${fault} }`
  return `
model_list:${GatewayUnderTest.plainGroups(m)}
  - model_name: slow
    litellm_params: { model: openai/gpt-4o, api_base: "${m.slow.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: slow-openai }
  - model_name: lagging
    litellm_params: { model: openai/gpt-4o, api_base: "${m.lagging.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: lagging-openai }
  # Failover inside a group: the first deployment (order 1) answers 500.
  - model_name: failover
    litellm_params: { model: openai/gpt-4o, api_base: "${openaiFault("server-error")}", api_key: sk-mock-openai, order: 1 }
    model_info: { id: failover-broken }
  - model_name: failover
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${m.anthropic.baseUrl}", api_key: sk-ant-mock, order: 2 }
    model_info: { id: failover-healthy }
  # A group whose only deployment has a broken key, falling back to Gemini.
  - model_name: primary
    litellm_params: { model: openai/gpt-4o, api_base: "${openaiFault("auth")}", api_key: sk-mock-openai }
    model_info: { id: primary-broken }
  # Three interchangeable deployments, shuffled: for session affinity.
  - model_name: sticky
    litellm_params: { model: openai/gpt-4o, api_base: "${m.openai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: sticky-1 }
  - model_name: sticky
    litellm_params: { model: openai/gpt-4o, api_base: "${m.openai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: sticky-2 }
  - model_name: sticky
    litellm_params: { model: openai/gpt-4o, api_base: "${m.openai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: sticky-3 }
  - model_name: streamfail
    litellm_params: { model: openai/gpt-4o, api_base: "${openaiFault("error-after-200")}", api_key: sk-mock-openai }
    model_info: { id: streamfail-1 }
${errorFaults.map(errorGroup).join("")}
router_settings:
  num_retries: 1
  # Transient failures cool a deployment at once, so no test waits out a backoff.
  allowed_fails: 0
  # The mock's 1 s Retry-After is longer: the gateway answers 429 at once instead of waiting.
  max_retry_after: 0.5
litellm_settings:
  fallbacks: [{ "primary": ["flash"] }]
general_settings:
  master_key: ${MASTER_KEY}
`
}

const env = Layer.effect(TestEnv, Effect.gen(function*() {
  const openai = yield* OpenAiUpstream.make()
  const slow = yield* OpenAiUpstream.make({ chunkDelayMs: 40, text: "one two three four five six seven eight nine ten" })
  const lagging = yield* OpenAiUpstream.make({ latencyMs: 5_000 })
  const anthropic = yield* AnthropicUpstream.make()
  const gemini = yield* GeminiUpstream.make()
  const config = yield* GatewayConfig.parse(configFor({ openai, slow, lagging, anthropic, gemini }), { knownProviders: Providers.builtin.known })
  const context = yield* Layer.build(
    Gateway.layer({ config, clientFor: Providers.builtin.clientFor, port: 0, maxRequestBytes: 1024 * 1024 }).pipe(
      // The client `llm-router serve` calls providers through.
      Layer.provide(Providers.layerHttpClient)
    )
  )
  const address = Context.get(context, HttpServer.HttpServer).address
  const baseURL = `http://127.0.0.1:${address._tag === "UnixPathAddress" ? 0 : address.port}/v1`
  const client = new OpenAI({ baseURL, apiKey: MASTER_KEY, maxRetries: 0 })
  return { baseURL, client, openai, slow, lagging, anthropic, gemini }
}).pipe(Effect.orDie))

const user = (content: string) => [{ role: "user" as const, content }]
const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
  }
}

/** The error a call fails with (the client's own class), or a test failure if it succeeds. */
const failure = <A>(promise: () => Promise<A>) =>
  Effect.promise(() => promise().then(() => assert.fail("expected the call to fail"), (error: unknown) => error))

layer(env, { excludeTestServices: true })("gateway with the openai client", (it) => {
  it.effect("answers plain chat through each provider, with the route in its headers", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      for (const [model, deployment, provider] of [
        ["gpt-4o", "openai-main", "openai"],
        ["claude", "anthropic-main", "anthropic"],
        ["flash", "gemini-main", "gemini"]
      ] as const) {
        const { data, response } = yield* Effect.promise(() =>
          client.chat.completions.create({ model, messages: user("Say hello") }).withResponse()
        )
        assert.include(data.choices[0]?.message.content ?? "", "Hello from the mock.")
        assert.strictEqual(data.choices[0]?.finish_reason, "stop")
        assert.isAbove(data.usage?.total_tokens ?? 0, 0)
        assert.strictEqual(response.headers.get("x-llm-router-deployment"), deployment)
        assert.strictEqual(response.headers.get("x-llm-router-provider"), provider)
        assert.strictEqual(response.headers.get("x-llm-router-model-group"), model)
        assert.strictEqual(response.headers.get("x-llm-router-attempts"), "1")
        assert.isNotNull(response.headers.get("x-request-id"))
      }
    }))

  it.effect("streams through each provider", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      for (const model of ["gpt-4o", "claude", "flash"]) {
        const { data: stream, response } = yield* Effect.promise(() =>
          client.chat.completions.create({ model, messages: user("Stream please"), stream: true, stream_options: { include_usage: true } })
            .withResponse()
        )
        assert.include(response.headers.get("content-type") ?? "", "text/event-stream")
        assert.isNotNull(response.headers.get("x-llm-router-deployment"))
        const text = yield* Effect.promise(async () => {
          let out = ""
          for await (const chunk of stream) out += chunk.choices[0]?.delta.content ?? ""
          return out
        })
        assert.include(text, "Hello from the mock.", model)
      }
    }))

  it.effect("a stream carries usage only when the client asks for it, as OpenAI's does", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const chunksOf = (model: string, includeUsage: boolean) =>
        Effect.promise(async () => {
          const stream = await client.chat.completions.create({
            model,
            messages: user("Stream please"),
            stream: true,
            ...(includeUsage ? { stream_options: { include_usage: true } } : {})
          })
          const chunks: Array<OpenAI.Chat.Completions.ChatCompletionChunk> = []
          for await (const chunk of stream) chunks.push(chunk)
          return chunks
        })
      for (const model of ["gpt-4o", "claude", "flash"]) {
        const plain = yield* chunksOf(model, false)
        assert.isAbove(plain.length, 0, model)
        for (const chunk of plain) {
          assert.isAbove(chunk.choices.length, 0, `${model}: a chunk without choices`)
          assert.isTrue(chunk.usage === undefined || chunk.usage === null, `${model}: usage that was not asked for`)
        }
        const counted = yield* chunksOf(model, true)
        const last = counted.at(-1)
        assert.strictEqual(last?.choices.length, 0, model)
        assert.isAbove(last?.usage?.total_tokens ?? 0, 0, model)
      }
    }))

  it.effect("reasoning_effort makes Claude think; its thinking arrives as reasoning_content, plain and streamed", () =>
    Effect.gen(function*() {
      const { anthropic, client } = yield* TestEnv
      const plain = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "claude", messages: user("What is 2 + 2?"), reasoning_effort: "low" })
      )
      assert.deepStrictEqual((anthropic.requests.at(-1)?.body as { thinking?: unknown } | undefined)?.thinking, { type: "enabled", budget_tokens: 1024 })
      const message = plain.choices[0]?.message as { content: string | null; reasoning_content?: string } | undefined
      assert.include(message?.content ?? "", "Hello from the mock.")
      assert.strictEqual(message?.reasoning_content, AnthropicUpstream.THINKING_TEXT)

      const stream = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "claude", messages: user("And 3 + 3?"), reasoning_effort: "low", stream: true })
      )
      const { reasoning, content } = yield* Effect.promise(async () => {
        let reasoning = ""
        let content = ""
        for await (const chunk of stream) {
          const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined
          reasoning += delta?.reasoning_content ?? ""
          content += delta?.content ?? ""
        }
        return { reasoning, content }
      })
      assert.strictEqual(reasoning, AnthropicUpstream.THINKING_TEXT)
      assert.include(content, "Hello from the mock.")

      // A tool loop: the client sends the assistant message back as it came (thinking_blocks
      // included), and Claude keeps thinking; the mock refuses a thinking tool loop without them.
      const messages: Array<Record<string, unknown>> = [{ role: "user", content: "Weather in Paris?" }]
      const call = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "claude", messages: messages as never, tools: [weatherTool], reasoning_effort: "low" })
      )
      const assistant = call.choices[0]?.message as unknown as Record<string, unknown> & { tool_calls?: Array<{ id: string }> }
      assert.strictEqual(assistant.tool_calls?.length, 1)
      assert.strictEqual((assistant["thinking_blocks"] as Array<unknown> | undefined)?.length, 1)
      messages.push(assistant, { role: "tool", tool_call_id: assistant.tool_calls![0]!.id, content: "{\"sky\":\"clear\"}" })
      const answer = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "claude", messages: messages as never, tools: [weatherTool], reasoning_effort: "low" })
      )
      const sent = anthropic.requests.at(-1)?.body as { thinking?: unknown; messages: Array<{ content: Array<{ type: string }> }> }
      assert.deepStrictEqual(sent.thinking, { type: "enabled", budget_tokens: 1024 })
      assert.strictEqual(sent.messages[1]?.content[0]?.type, "thinking")
      assert.include(answer.choices[0]?.message.content ?? "", "Hello from the mock.")
    }))

  it.effect("prompt caching as LiteLLM does it: cache_control reaches Claude, and is taken off for GPT", () =>
    Effect.gen(function*() {
      const { anthropic, openai, client } = yield* TestEnv
      const ephemeral = { type: "ephemeral" }
      // Long enough for Anthropic to cache (AnthropicUpstream.MIN_CACHEABLE_TOKENS).
      const policy = "Refunds are due within thirty days of purchase, on proof of payment. ".repeat(80)
      const messages = [
        { role: "system", content: [{ type: "text", text: policy, cache_control: ephemeral }] },
        { role: "user", content: "What does it say about refunds?", cache_control: ephemeral }
      ]
      const tools = [{ ...weatherTool, cache_control: ephemeral }]
      const ask = (question: string) =>
        Effect.promise(() =>
          client.chat.completions.create({
            model: "claude",
            messages: [messages[0], { ...messages[1], content: question }] as never,
            tools: tools as never,
            tool_choice: "none"
          }).withResponse()
        )
      const first = yield* ask("What does it say about refunds?")
      assert.include(first.data.choices[0]?.message.content ?? "", "Hello from the mock.")
      const sent = anthropic.requests.at(-1)?.body as {
        system: Array<{ cache_control?: unknown }>
        messages: Array<{ content: Array<{ cache_control?: unknown }> }>
        tools: Array<{ cache_control?: unknown }>
      }
      assert.deepStrictEqual(sent.system[0]?.cache_control, ephemeral)
      assert.deepStrictEqual(sent.messages[0]?.content[0]?.cache_control, ephemeral)
      assert.deepStrictEqual(sent.tools[0]?.cache_control, ephemeral)
      // The first call writes the cache; the next, with the same prefix, reads it, and costs less.
      type Details = { cached_tokens?: number; cache_write_tokens?: number }
      const firstDetails = first.data.usage?.prompt_tokens_details as Details | undefined
      assert.isAbove(firstDetails?.cache_write_tokens ?? 0, 0)
      assert.strictEqual(firstDetails?.cached_tokens, 0)
      const second = yield* ask("And about exchanges?")
      const secondDetails = second.data.usage?.prompt_tokens_details as Details | undefined
      assert.isAbove(secondDetails?.cached_tokens ?? 0, 0)
      assert.isBelow(
        Number(second.response.headers.get("x-llm-router-cost-usd")),
        Number(first.response.headers.get("x-llm-router-cost-usd"))
      )

      // The same request, sent to GPT (as after a failover), goes without the marks.
      yield* Effect.promise(() => client.chat.completions.create({ model: "gpt-4o", messages: messages as never, tools: tools as never }))
      assert.notInclude(JSON.stringify(openai.requests.at(-1)?.body), "cache_control")
    }))

  it.effect("a session (x-session-id, or prompt_cache_key in the body) stays on one deployment, plain and streamed", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      /** The deployment that served one request, from its route header. */
      const deploymentOf = async (headers: Record<string, string>, body: Record<string, unknown> = {}, stream = false) => {
        const { data, response } = await client.chat.completions
          .create({ model: "sticky", messages: user("Hi"), stream, ...body } as never, { headers })
          .withResponse()
        if (stream) for await (const _ of data as unknown as AsyncIterable<unknown>) { /* drain */ }
        return response.headers.get("x-llm-router-deployment") ?? "none"
      }
      /** The deployments that served `n` requests in a row. */
      const seen = (n: number, f: () => Promise<string>) =>
        Effect.promise(async () => {
          const out = new Set<string>()
          for (let i = 0; i < n; i++) out.add(await f())
          return out
        })
      const bySession = yield* seen(12, () => deploymentOf({ "x-session-id": "conversation-1" }))
      assert.strictEqual(bySession.size, 1, [...bySession].join(","))
      const streamedSession = yield* seen(6, () => deploymentOf({ "x-litellm-session-id": "conversation-1" }, {}, true))
      assert.deepStrictEqual(streamedSession, bySession)
      const byCacheKey = yield* seen(12, () => deploymentOf({}, { prompt_cache_key: "conversation-2" }))
      assert.strictEqual(byCacheKey.size, 1)
      // Without a session the shuffle spreads the same traffic over the group.
      const unpinned = yield* seen(30, () => deploymentOf({}))
      assert.isAbove(unpinned.size, 1)
    }))

  it.effect("passes tool calls through, plain and streamed", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      for (const model of ["gpt-4o", "claude", "flash"]) {
        const plain = yield* Effect.promise(() =>
          client.chat.completions.create({ model, messages: user("Weather in Paris?"), tools: [weatherTool] })
        )
        const call = plain.choices[0]?.message.tool_calls?.[0]
        assert.strictEqual(plain.choices[0]?.finish_reason, "tool_calls", model)
        assert.strictEqual(call?.type, "function")
        assert.strictEqual(call?.type === "function" ? call.function.name : undefined, "get_weather")
        assert.doesNotThrow(() => JSON.parse(call?.type === "function" ? call.function.arguments : ""))
      }
      const streamed = yield* Effect.promise(async () => {
        const runner = client.chat.completions.stream({ model: "gpt-4o", messages: user("Weather in Oslo?"), tools: [weatherTool] })
        return await runner.finalChatCompletion()
      })
      const streamedCall = streamed.choices[0]?.message.tool_calls?.[0]
      assert.strictEqual(streamedCall?.type === "function" ? streamedCall.function.name : undefined, "get_weather")
      assert.doesNotThrow(() => JSON.parse(streamedCall?.type === "function" ? streamedCall.function.arguments : ""))
    }))

  it.effect("shows failover in the route headers: within a group and to a fallback group", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const within = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "failover", messages: user("hi") }).withResponse()
      )
      assert.strictEqual(within.response.headers.get("x-llm-router-deployment"), "failover-healthy")
      assert.strictEqual(within.response.headers.get("x-llm-router-attempts"), "2")
      assert.strictEqual(within.response.headers.get("x-llm-router-provider"), "anthropic")
      const fallback = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "primary", messages: user("hi"), stream: true }).withResponse()
      )
      assert.strictEqual(fallback.response.headers.get("x-llm-router-fallbacks"), "flash")
      assert.strictEqual(fallback.response.headers.get("x-llm-router-model-group"), "flash")
      assert.strictEqual(fallback.response.headers.get("x-llm-router-deployment"), "gemini-main")
      const text = yield* Effect.promise(async () => {
        let out = ""
        for await (const chunk of fallback.data) out += chunk.choices[0]?.delta.content ?? ""
        return out
      })
      assert.include(text, "Hello from the mock.")
    }))

  it.effect("raises the client's own error class for each kind of failure", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const call = (model: string) => () => client.chat.completions.create({ model, messages: user("hi") })
      const cases: ReadonlyArray<readonly [string, new(...args: Array<any>) => APIError, number, string | null]> = [
        ["err-rate-limit", RateLimitError, 429, "rate_limit_exceeded"],
        ["err-auth", AuthenticationError, 401, "invalid_api_key"],
        ["err-permission", PermissionDeniedError, 403, "permission_denied"],
        ["err-not-found", NotFoundError, 404, "model_not_found"],
        ["err-bad-request", BadRequestError, 400, null],
        ["err-context-window", BadRequestError, 400, "context_length_exceeded"],
        ["err-content-policy", BadRequestError, 400, "content_policy_violation"],
        ["err-overloaded", InternalServerError, 503, "service_unavailable"],
        ["err-server-error", InternalServerError, 502, "upstream_error"],
        ["err-malformed-json", InternalServerError, 502, "upstream_error"],
        ["no-such-group", NotFoundError, 404, "model_not_found"]
      ]
      for (const [model, errorClass, status, code] of cases) {
        const error = yield* failure(call(model))
        assert.instanceOf(error, errorClass, model)
        const api = error as APIError
        assert.strictEqual(api.status, status, model)
        if (code !== null) assert.strictEqual(api.code, code, model)
        assert.isString((api.error as { message?: unknown }).message, model)
        assert.isNotNull(api.headers?.get("x-request-id"), model)
        assert.notInclude(JSON.stringify(api.error), "sk-mock-openai", model)
      }
      const limited = (yield* failure(call("err-rate-limit"))) as RateLimitError
      assert.strictEqual(limited.headers.get("retry-after"), "1")
      assert.strictEqual(limited.headers.get("x-llm-router-deployment"), "err-rate-limit")
    }))

  it.effect("fails a stream with a real status before content, and with an error event after it", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const before = yield* failure(() => client.chat.completions.create({ model: "err-auth", messages: user("hi"), stream: true }))
      assert.instanceOf(before, AuthenticationError)
      const { data: stream, response } = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "streamfail", messages: user("hi"), stream: true }).withResponse()
      )
      assert.strictEqual(response.status, 200)
      const outcome = yield* Effect.promise(async () => {
        let text = ""
        try {
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
          return { text, error: undefined }
        } catch (error) {
          return { text, error }
        }
      })
      assert.instanceOf(outcome.error, APIError)
      assert.isAbove(outcome.text.length, 0)
    }))

  it.effect("rejects a wrong key and unknown models, and keeps serving", () =>
    Effect.gen(function*() {
      const { baseURL, client } = yield* TestEnv
      const wrong = new OpenAI({ baseURL, apiKey: "sk-not-the-key", maxRetries: 0 })
      assert.instanceOf(yield* failure(() => wrong.chat.completions.create({ model: "gpt-4o", messages: user("hi") })), AuthenticationError)
      assert.instanceOf(yield* failure(() => wrong.models.list()), AuthenticationError)
      const models = yield* Effect.promise(() => client.models.list())
      assert.includeMembers(models.data.map((m) => m.id), ["gpt-4o", "claude", "flash", "failover"])
      const ok = yield* Effect.promise(() => client.chat.completions.create({ model: "gpt-4o", messages: user("hi") }))
      assert.include(ok.choices[0]?.message.content ?? "", "Hello")
    }))

  it.effect("refuses bad input with the right 4xx in OpenAI's shape, and keeps serving", () =>
    Effect.gen(function*() {
      const { baseURL, client, openai } = yield* TestEnv
      const before = openai.requests.length
      const send = (body: string) =>
        Effect.promise(async () => {
          const response = await fetch(`${baseURL}/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
            body
          })
          return { status: response.status, body: (await response.json()) as { error: { type: string; param: string | null; code: string | null } } }
        })
      const malformed = yield* send("{\"model\": \"gpt-4o\", \"messages\": [")
      assert.strictEqual(malformed.status, 400)
      assert.strictEqual(malformed.body.error.code, "invalid_json")
      const missing = yield* send(JSON.stringify({ model: "gpt-4o" }))
      assert.strictEqual(missing.status, 400)
      assert.strictEqual(missing.body.error.param, "messages")
      const wrongTypes = yield* send(JSON.stringify({ model: 42, messages: "hi" }))
      assert.strictEqual(wrongTypes.status, 400)
      assert.strictEqual(wrongTypes.body.error.type, "invalid_request_error")
      assert.oneOf(wrongTypes.body.error.param, ["model", "messages"])
      // A body over the limit, through the official client: 413, in OpenAI's shape.
      const huge = yield* failure(() => client.chat.completions.create({ model: "gpt-4o", messages: user("x".repeat(2 * 1024 * 1024)) }))
      assert.instanceOf(huge, APIError)
      assert.strictEqual((huge as APIError).status, 413)
      assert.strictEqual((huge as APIError).code, "request_too_large")
      assert.strictEqual(openai.requests.length, before)
      const ok = yield* Effect.promise(() => client.chat.completions.create({ model: "gpt-4o", messages: user("still there?") }))
      assert.include(ok.choices[0]?.message.content ?? "", "still there?")
    }))

  it.effect("aborts the upstream request when the client disconnects mid-stream", () =>
    Effect.gen(function*() {
      const { client, slow } = yield* TestEnv
      const controller = new AbortController()
      yield* Effect.promise(async () => {
        const stream = await client.chat.completions.create(
          { model: "slow", messages: user("Count slowly"), stream: true },
          { signal: controller.signal }
        )
        try {
          for await (const chunk of stream) {
            if ((chunk.choices[0]?.delta.content ?? "").length > 0) controller.abort()
          }
        } catch {
          // The abort ends the iteration.
        }
      })
      yield* slow.awaitAborted(1).pipe(Effect.timeout("3 seconds"))
      assert.isAtLeast(slow.aborted, 1)
    }))

  it.effect("aborts the upstream request when the client gives up on a plain call", () =>
    Effect.gen(function*() {
      const { client, lagging } = yield* TestEnv
      const before = lagging.aborted
      const error = yield* failure(() =>
        client.chat.completions.create({ model: "lagging", messages: user("hi") }, { signal: AbortSignal.timeout(150) })
      )
      assert.instanceOf(error, APIError)
      // The mock holds its answer for 5 s: only the gateway's abort closes its socket before then.
      yield* lagging.awaitAborted(before + 1).pipe(Effect.timeout("3 seconds"))
      assert.isAbove(lagging.aborted, before)
    }))

  it.effect("streams to the Vercel AI SDK's OpenAI-compatible provider", () =>
    Effect.gen(function*() {
      const { baseURL } = yield* TestEnv
      const provider = createOpenAICompatible({ name: "llm-router", baseURL, apiKey: MASTER_KEY })
      const text = yield* Effect.promise(async () => {
        const result = streamText({ model: provider("claude"), prompt: "Say hello", maxRetries: 0 })
        let out = ""
        for await (const delta of result.textStream) out += delta
        return out
      })
      assert.include(text, "Hello from the mock.")
    }))
})

import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chat, Cost } from "@llm-router/core"
import { OpenAi } from "@llm-router/openai"
import { Effect, Redacted } from "effect"
import * as OpenAiUpstream from "../../testing/src/upstream/OpenAiUpstream.ts"
import { chunksOf, collect, deployment, KEY, lastBody, request, weatherTool } from "./fixtures.ts"

const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(NodeHttpClient.layerUndici))

describe("OpenAi round trip", () => {
  it.live("chat: the request reaches the mock in OpenAI shape and the answer comes back with usage and route", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl }))
      const { response, route } = yield* client.chat(request({
        temperature: 0.2,
        seed: 7,
        metadata: { tags: ["team-a"] },
        stream_options: { include_usage: true },
        logit_bias: { "50256": -100 }
      }))

      const sent = mock.requests.at(-1)!
      assert.strictEqual(sent.method, "POST")
      assert.strictEqual(sent.path, "/v1/chat/completions")
      assert.strictEqual(sent.headers["authorization"], `Bearer ${KEY}`)
      assert.strictEqual(sent.headers["content-type"], "application/json")
      const body = lastBody(mock.requests)
      assert.strictEqual(body["model"], "gpt-4o")
      assert.strictEqual(body["stream"], false)
      assert.strictEqual(body["temperature"], 0.2)
      assert.strictEqual(body["seed"], 7)
      assert.deepStrictEqual(body["logit_bias"], { "50256": -100 }, "unknown fields pass through")
      assert.isFalse("metadata" in body, "LiteLLM routing metadata is not sent")
      assert.isFalse("stream_options" in body, "stream_options is only valid with stream: true")
      assert.deepStrictEqual(body["messages"], request().messages)

      assert.strictEqual(response.object, "chat.completion")
      assert.strictEqual(response.model, "gpt-4o")
      assert.strictEqual(response.choices[0]?.message.content, "Hello from the mock. You said: What is the capital of France?")
      assert.strictEqual(response.choices[0]?.finish_reason, "stop")
      assert.isAbove(response.usage?.prompt_tokens ?? 0, 0)
      assert.strictEqual(route.deployment, "gpt/openai/gpt-4o")
      assert.strictEqual(route.group, "gpt")
      assert.strictEqual(route.servedBy, "gpt")
      assert.strictEqual(route.provider, "openai")
      assert.strictEqual(route.model, "gpt-4o")
      assert.strictEqual(route.attempts, 1)
      assert.deepStrictEqual(route.fallbacks, [])
      assert.isAtLeast(route.latencyMs, 0)
      assert.deepStrictEqual(route.usage, response.usage ?? undefined)
    })))

  it.live("stream: include_usage is asked for, chunks arrive between Start and Done, Done carries usage and cost", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const d = deployment({ apiBase: mock.baseUrl })
      const client = yield* OpenAi.make(d)
      const { parts, error } = yield* collect(client.stream(request({ stream: false, stream_options: { include_usage: false } })))
      assert.isUndefined(error)

      const body = lastBody(mock.requests)
      assert.strictEqual(body["stream"], true)
      assert.deepStrictEqual(body["stream_options"], { include_usage: true })
      assert.strictEqual(mock.requests.at(-1)!.headers["accept"], "text/event-stream")

      assert.strictEqual(parts[0]?._tag, "Start")
      assert.strictEqual(parts.at(-1)?._tag, "Done")
      assert.isTrue(parts.slice(1, -1).every((p) => p._tag === "Chunk"))
      const chunks = chunksOf(parts)
      const usageChunk = chunks.at(-1)!
      assert.deepStrictEqual(usageChunk.choices, [], "the final usage chunk has no choices")
      assert.isDefined(usageChunk.usage)
      const joined = Chat.collectChunks(chunks)
      assert.strictEqual(joined.choices[0]?.message.content, "Hello from the mock. You said: What is the capital of France?")
      assert.strictEqual(joined.choices[0]?.finish_reason, "stop")

      const done = parts.at(-1)!
      assert.strictEqual(done._tag, "Done")
      if (done._tag !== "Done") return
      assert.deepStrictEqual(done.route.usage, usageChunk.usage ?? undefined)
      assert.strictEqual(done.route.costUsd, Cost.ofUsage(d, usageChunk.usage))
      assert.isAbove(done.route.costUsd ?? 0, 0)
      assert.isDefined(done.route.timeToFirstChunkMs)
      const start = parts[0]!
      if (start._tag === "Start") assert.isUndefined(start.route.usage)
    })))

  it.live("tool calls, not streamed: the canned call comes back as OpenAI tool_calls", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl }))
      const { response } = yield* client.chat(request({ tools: [weatherTool], tool_choice: "auto" }))
      const body = lastBody(mock.requests)
      assert.deepStrictEqual(body["tools"], [weatherTool])
      assert.strictEqual(body["tool_choice"], "auto")
      const choice = response.choices[0]!
      assert.strictEqual(choice.finish_reason, "tool_calls")
      assert.isNull(choice.message.content)
      const call = choice.message.tool_calls?.[0]
      assert.strictEqual(call?.type, "function")
      assert.strictEqual(call?.function.name, "get_weather")
      assert.deepStrictEqual(JSON.parse(call?.function.arguments ?? "null"), { query: "What is the capital of France?" })
    })))

  it.live("tool calls, streamed: deltas keyed by index reassemble into two parallel calls", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl, model: "gpt-4o-parallel" }))
      const second: Chat.FunctionTool = { type: "function", function: { name: "get_time" } }
      const { parts, error } = yield* collect(client.stream(request({ tools: [weatherTool, second] })))
      assert.isUndefined(error)
      const chunks = chunksOf(parts)
      const argumentDeltas = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))
        .filter((t) => t.id === undefined && t.function?.arguments)
      assert.isAbove(argumentDeltas.length, 2, "arguments arrive split across chunks")
      const joined = Chat.collectChunks(chunks)
      const calls = joined.choices[0]?.message.tool_calls ?? []
      assert.deepStrictEqual(calls.map((c) => c.function.name), ["get_weather", "get_time"])
      for (const call of calls) {
        assert.deepStrictEqual(JSON.parse(call.function.arguments), { query: "What is the capital of France?" })
        assert.match(call.id, /^call_mock_/)
      }
      assert.strictEqual(joined.choices[0]?.finish_reason, "tool_calls")
    })))

  it.live("reasoning models take max_completion_tokens: o3-mini and gpt-5 get it moved, gpt-4o keeps max_tokens", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      for (const model of ["o3-mini", "gpt-5", "gpt-5-mini", "o1"]) {
        const client = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl, model }))
        yield* client.chat(request({ max_tokens: 256 }))
        const body = lastBody(mock.requests)
        assert.strictEqual(body["model"], model)
        assert.strictEqual(body["max_completion_tokens"], 256, model)
        assert.isFalse("max_tokens" in body, model)
      }
      const plain = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl, model: "gpt-4o" }))
      yield* plain.chat(request({ max_tokens: 256 }))
      assert.strictEqual(lastBody(mock.requests)["max_tokens"], 256)
      assert.isFalse("max_completion_tokens" in lastBody(mock.requests))
    })))

  it.live("Azure classic: deployments path, api-version and api-key header (no Bearer)", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAi.make(deployment({
        id: "gpt/azure/my-gpt4o",
        provider: "azure",
        model: "my-gpt4o",
        apiBase: `${mock.origin}/`,
        apiVersion: "2024-10-21"
      }))
      const { response } = yield* client.chat(request())
      const sent = mock.requests.at(-1)!
      assert.strictEqual(sent.path, "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21")
      assert.strictEqual(sent.headers["api-key"], KEY)
      assert.isUndefined(sent.headers["authorization"])
      assert.strictEqual(response.model, "my-gpt4o")
      const { error } = yield* collect(client.stream(request()))
      assert.isUndefined(error)
      assert.strictEqual(mock.requests.at(-1)!.path, "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21")
    })))

  it.live("Azure v1: {api_base}/chat/completions with api-key, no api-version", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAi.make(deployment({ provider: "azure", model: "my-gpt4o", apiBase: mock.azureV1BaseUrl }))
      yield* client.chat(request())
      const sent = mock.requests.at(-1)!
      assert.strictEqual(sent.path, "/openai/v1/chat/completions")
      assert.strictEqual(sent.headers["api-key"], KEY)
      assert.isUndefined(sent.headers["authorization"])
      assert.strictEqual(lastBody(mock.requests)["model"], "my-gpt4o")
    })))

  it.live("an OpenAI-compatible provider (groq) works through its api_base; ollama gets /v1 added and no auth", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const groq = yield* OpenAi.make(deployment({
        id: "llama/groq",
        provider: "groq",
        model: "llama-3.3-70b-versatile",
        apiBase: mock.baseUrl
      }))
      const { response, route } = yield* groq.chat(request())
      assert.strictEqual(lastBody(mock.requests)["model"], "llama-3.3-70b-versatile")
      assert.strictEqual(mock.requests.at(-1)!.headers["authorization"], `Bearer ${KEY}`)
      assert.strictEqual(response.model, "llama-3.3-70b-versatile")
      assert.strictEqual(route.provider, "groq")
      assert.isAbove(route.costUsd ?? 0, 0, "groq's llama-3.3-70b-versatile has a known price")

      const ollama = yield* OpenAi.make(deployment({ provider: "ollama", model: "llama3", apiKey: undefined, apiBase: mock.origin }))
      yield* ollama.chat(request())
      assert.strictEqual(mock.requests.at(-1)!.path, "/v1/chat/completions")
      assert.isUndefined(mock.requests.at(-1)!.headers["authorization"])
    })))

  it.live("cost: present for a known model, undefined (never 0) for an unknown one", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const known = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl, model: "gpt-4o" }))
      const unknown = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl, model: "my-finetune-xyz" }))
      const a = yield* known.chat(request())
      const b = yield* unknown.chat(request())
      const usage = a.response.usage!
      assert.closeTo(a.route.costUsd ?? -1, usage.prompt_tokens * 2.5e-6 + usage.completion_tokens * 10e-6, 1e-12)
      assert.isDefined(b.route.usage)
      assert.isUndefined(b.route.costUsd)
    })))

  it.live("a mock configured with a key rejects a wrong one with OpenAI's masked 401", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make({ apiKey: KEY })
      const good = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl }))
      yield* good.chat(request())
      const bad = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl, apiKey: Redacted.make("sk-wrong-key-000000") }))
      const error = yield* Effect.flip(bad.chat(request()))
      assert.strictEqual(error._tag, "AuthenticationFailed")
      assert.include(error.message, "sk-*")
    })))

  it.live("models: the mock lists models", () =>
    Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const list = yield* Effect.promise(() => fetch(`${mock.baseUrl}/models`).then((r) => r.json()))
      assert.strictEqual(list.object, "list")
      assert.isTrue(list.data.some((m: { id: string }) => m.id === "gpt-4o"))
    }))
})

import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { Deployment, LlmClient } from "@llm-router/core"
import { Chat, LlmError } from "@llm-router/core"
import { Google } from "@llm-router/google"
import { Effect, Fiber, Redacted, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { Scope } from "effect"
import type { HttpClient } from "effect/http"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { Fault } from "../../testing/src/upstream/MockUpstream.ts"
import * as GeminiUpstream from "../../testing/src/upstream/GeminiUpstream.ts"

const KEY = "AIzaSy-test-secret-key-0123456789"

const deployment = (apiBase: string, overrides: Partial<Deployment.Deployment> = {}): Deployment.Deployment => ({
  id: "flash/gemini/gemini-2.5-flash",
  group: "flash",
  provider: "gemini",
  model: "gemini-2.5-flash",
  apiKey: Redacted.make(KEY),
  apiBase,
  tags: [],
  params: {},
  ...overrides
})

const hello: Chat.ChatRequest = {
  model: "flash",
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello" }],
  temperature: 0.3,
  max_tokens: 64
}

const weatherTool: Chat.FunctionTool = {
  type: "function",
  function: {
    name: "weather",
    description: "Current weather",
    parameters: {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      additionalProperties: false,
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["city"]
    }
  }
}

const client = (apiBase: string, overrides?: Partial<Deployment.Deployment>) => Google.make(deployment(apiBase, overrides))

const collect = (parts: Stream.Stream<LlmClient.StreamPart, LlmError.LlmError>) => Stream.runCollect(parts)

const chunksOf = (parts: ReadonlyArray<LlmClient.StreamPart>) =>
  parts.flatMap((p) => (p._tag === "Chunk" ? [p.chunk] : []))

/** Polls a condition for up to ~1 s (the mock notices a closed socket asynchronously). */
const eventually = (check: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100 && !check(); i++) yield* Effect.sleep("10 millis")
    return check()
  })

/** Streams what a handler writes, for shapes no fault of the mock produces. */
const rawServer = (handler: (res: Http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.callback<Http.Server>((resume) => {
      const server = Http.createServer((req, res) => {
        req.resume()
        req.on("end", () => handler(res))
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`))

/** A test against real local sockets: live clock, undici client. */
const live = <A, E>(name: string, self: () => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>) =>
  it.live(name, () => Effect.provide(self(), NodeHttpClient.layerUndici))

describe("Google.endpoint", () => {
  it("appends version, model and method to the SDK-style base URL", () => {
    const d = deployment("https://generativelanguage.googleapis.com/")
    assert.strictEqual(Google.endpoint(d, false), "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent")
    assert.strictEqual(Google.endpoint(d, true), "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent")
    assert.strictEqual(
      Google.endpoint({ ...d, apiBase: undefined, apiVersion: "v1" }, false),
      "https://generativelanguage.googleapis.com/v1/models/gemini-2.5-flash:generateContent"
    )
    assert.strictEqual(Google.endpoint({ ...d, apiBase: "http://proxy/v1beta" }, false), "http://proxy/v1beta/models/gemini-2.5-flash:generateContent")
    assert.strictEqual(Google.endpoint({ ...d, model: "tunedModels/mine" }, false), "https://generativelanguage.googleapis.com/v1beta/tunedModels/mine:generateContent")
    assert.deepStrictEqual(Google.providers, ["gemini"])
  })
})

describe("Google adapter against the Gemini mock", () => {
  live("chat: translates the request, sends the key, and answers in OpenAI shape with usage and route", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make({ text: "Hello there, friend.", thoughtsTokenCount: 5 })
      const { response, route } = yield* (yield* client(mock.baseUrl)).chat(hello)

      assert.strictEqual(mock.requests.length, 1)
      const sent = mock.requests[0]!
      assert.strictEqual(sent.method, "POST")
      assert.strictEqual(sent.path, "/v1beta/models/gemini-2.5-flash:generateContent")
      assert.strictEqual(sent.headers["x-goog-api-key"], KEY)
      assert.strictEqual(sent.headers["authorization"], undefined)
      assert.deepStrictEqual(sent.body, {
        contents: [{ role: "user", parts: [{ text: "Say hello" }] }],
        systemInstruction: { parts: [{ text: "Be brief." }] },
        generationConfig: { temperature: 0.3, maxOutputTokens: 64 }
      })

      assert.strictEqual(response.object, "chat.completion")
      assert.strictEqual(response.model, "gemini-2.5-flash")
      assert.deepStrictEqual(response.choices, [{ index: 0, message: { role: "assistant", content: "Hello there, friend." }, finish_reason: "stop" }])
      // The mock counts a token per word: 4 words sent (system + user), 3 answered, 5 thinking.
      assert.deepStrictEqual(response.usage, {
        prompt_tokens: 4,
        completion_tokens: 8,
        total_tokens: 12,
        completion_tokens_details: { reasoning_tokens: 5 }
      })
      assert.strictEqual(route.deployment, "flash/gemini/gemini-2.5-flash")
      assert.strictEqual(route.provider, "gemini")
      assert.strictEqual(route.group, "flash")
      assert.strictEqual(route.model, "gemini-2.5-flash")
      assert.strictEqual(route.attempts, 1)
      assert.deepStrictEqual(route.usage, response.usage)
      assert.isAbove(route.costUsd ?? 0, 0)
      assert.isAtLeast(route.latencyMs, 0)
    }))

  live("stream: Start, role, text deltas, finish, usage chunk, Done; joins to the chat answer", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make({ text: "one two three four five" })
      const parts = yield* collect((yield* client(mock.baseUrl)).stream({ ...hello, stream: true }))

      const sent = mock.requests[0]!
      assert.strictEqual(sent.path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
      assert.strictEqual(sent.headers["x-goog-api-key"], KEY)
      assert.deepStrictEqual((sent.body as { contents: unknown }).contents, [{ role: "user", parts: [{ text: "Say hello" }] }])

      assert.strictEqual(parts[0]!._tag, "Start")
      assert.strictEqual(parts[parts.length - 1]!._tag, "Done")
      assert.strictEqual(parts.filter((p) => p._tag === "Start" || p._tag === "Done").length, 2)
      const chunks = chunksOf(parts)
      assert.deepStrictEqual(chunks[0]!.choices[0]!.delta, { role: "assistant", content: "" })
      const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content).filter((t) => typeof t === "string" && t.length > 0))
      assert.strictEqual(deltas.length, 5)
      const joined = Chat.collectChunks(chunks)
      assert.strictEqual(joined.choices[0]!.message.content, "one two three four five")
      assert.strictEqual(joined.choices[0]!.finish_reason, "stop")
      const usageChunk = chunks[chunks.length - 1]!
      assert.deepStrictEqual(usageChunk.choices, [])
      assert.deepStrictEqual(usageChunk.usage, { prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 })
      const done = parts[parts.length - 1]!
      assert.isTrue(done._tag === "Done" && done.route.usage?.total_tokens === 9 && done.route.costUsd !== undefined)
      assert.isTrue(done._tag === "Done" && done.route.timeToFirstChunkMs !== undefined)
    }))

  live("tools: declarations go out cleaned, a functionCall comes back as tool_calls, results go back as functionResponse", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make({ thoughtSignature: "c2lnLTE=" })
      const gemini = yield* client(mock.baseUrl)
      const ask: Chat.ChatRequest = { model: "flash", messages: [{ role: "user", content: "Weather in Oslo?" }], tools: [weatherTool], tool_choice: "auto" }
      const first = yield* gemini.chat(ask)

      // The mock rejects additionalProperties/$schema in parameters with a 400, so this also proves they were stripped.
      const sent = mock.requests[0]!.body as Record<string, unknown>
      assert.deepStrictEqual(sent.tools, [{
        functionDeclarations: [{
          name: "weather",
          description: "Current weather",
          parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } }, required: ["city"] }
        }]
      }])
      assert.deepStrictEqual(sent.toolConfig, { functionCallingConfig: { mode: "AUTO" } })

      const choice = first.response.choices[0]!
      assert.strictEqual(choice.finish_reason, "tool_calls")
      assert.strictEqual(choice.message.content, null)
      const call = choice.message.tool_calls![0]!
      assert.strictEqual(call.function.name, "weather")
      assert.deepStrictEqual(JSON.parse(call.function.arguments), { city: "mock" })
      assert.isTrue(call.id.startsWith("call_0"))

      const second = yield* gemini.chat({
        ...ask,
        messages: [...ask.messages, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: "{\"temp_c\":3}" }]
      })
      assert.strictEqual(second.response.choices[0]!.message.content, "Hello from the mock.")
      assert.strictEqual(second.response.choices[0]!.finish_reason, "stop")
      const contents = (mock.requests[1]!.body as { contents: unknown }).contents
      assert.deepStrictEqual(contents, [
        { role: "user", parts: [{ text: "Weather in Oslo?" }] },
        { role: "model", parts: [{ functionCall: { name: "weather", args: { city: "mock" } }, thoughtSignature: "c2lnLTE=" }] },
        { role: "user", parts: [{ functionResponse: { name: "weather", response: { temp_c: 3 } } }] }
      ])
    }))

  live("tools when streamed: the call arrives as one complete tool_call delta, finish_reason tool_calls", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make()
      const parts = yield* collect((yield* client(mock.baseUrl)).stream({
        model: "flash",
        messages: [{ role: "user", content: "Weather?" }],
        tools: [weatherTool],
        tool_choice: { type: "function", function: { name: "weather" } }
      }))
      assert.deepStrictEqual((mock.requests[0]!.body as Record<string, unknown>).toolConfig, {
        functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["weather"] }
      })
      const joined = Chat.collectChunks(chunksOf(parts))
      assert.strictEqual(joined.choices[0]!.finish_reason, "tool_calls")
      assert.deepStrictEqual(joined.choices[0]!.message.tool_calls, [
        { id: "call_0", type: "function", function: { name: "weather", arguments: "{\"city\":\"mock\"}" } }
      ])
    }))

  live("images: a data URI goes inline, an https URL as fileData", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make()
      yield* (yield* client(mock.baseUrl)).chat({
        model: "flash",
        messages: [{
          role: "user",
          content: [
            { type: "text", text: "Describe" },
            { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQSkZJRg==" } },
            { type: "image_url", image_url: { url: "https://example.com/a.png" } }
          ]
        }]
      })
      assert.deepStrictEqual((mock.requests[0]!.body as { contents: unknown }).contents, [{
        role: "user",
        parts: [
          { text: "Describe" },
          { inlineData: { mimeType: "image/jpeg", data: "/9j/4AAQSkZJRg==" } },
          { fileData: { fileUri: "https://example.com/a.png", mimeType: "image/png" } }
        ]
      }])
    }))

  live("MAX_TOKENS maps to length (chat and stream); candidateCount gives n choices", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make({ text: "a b c d e f" })
      const gemini = yield* client(mock.baseUrl)
      const short: Chat.ChatRequest = { model: "flash", messages: [{ role: "user", content: "x" }], max_completion_tokens: 2 }
      const chat = yield* gemini.chat(short)
      assert.strictEqual(chat.response.choices[0]!.finish_reason, "length")
      assert.strictEqual(chat.response.choices[0]!.message.content, "a b ")
      const streamed = Chat.collectChunks(chunksOf(yield* collect(gemini.stream(short))))
      assert.strictEqual(streamed.choices[0]!.finish_reason, "length")
      const two = yield* gemini.chat({ model: "flash", messages: [{ role: "user", content: "x" }], n: 2 })
      assert.deepStrictEqual(two.response.choices.map((c) => c.index), [0, 1])
      assert.strictEqual((mock.requests[2]!.body as { generationConfig: { candidateCount: number } }).generationConfig.candidateCount, 2)
    }))

  live("a blocked prompt (200 + promptFeedback.blockReason) is ContentPolicyViolation, chat and stream", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make()
      const gemini = yield* client(mock.faultUrl("content-policy"))
      const chat = yield* Effect.flip(gemini.chat(hello))
      assert.strictEqual(chat._tag, "ContentPolicyViolation")
      assert.include(chat.message, "SAFETY")
      const stream = yield* Effect.flip(collect(gemini.stream(hello)))
      assert.strictEqual(stream._tag, "ContentPolicyViolation")
      assert.strictEqual(mock.requests[0]!.path, "/fault/content-policy/v1beta/models/gemini-2.5-flash:generateContent")
    }))

  const expected: ReadonlyArray<readonly [Fault, LlmError.Tag]> = [
    ["rate-limit", "RateLimited"],
    ["quota", "RateLimited"],
    ["auth", "AuthenticationFailed"],
    ["permission", "PermissionDenied"],
    ["not-found", "ModelNotFound"],
    ["bad-request", "BadRequest"],
    ["context-window", "ContextWindowExceeded"],
    ["content-policy", "ContentPolicyViolation"],
    ["overloaded", "ServiceUnavailable"],
    ["server-error", "InternalServerError"],
    ["malformed-json", "InternalServerError"],
    ["wrong-shape", "InternalServerError"],
    ["reset-mid-body", "InternalServerError"],
    ["error-after-200", "InternalServerError"],
    ["connection-refused", "ConnectionFailed"]
  ]

  live("every fault becomes the right LlmError (chat), and the key appears in none", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make({ retryDelay: "1.5s" })
      for (const [fault, tag] of expected) {
        const error = yield* Effect.flip((yield* client(mock.faultUrl(fault))).chat(hello))
        assert.strictEqual(error._tag, tag, `${fault}: ${error.message}`)
        assert.strictEqual(error.provider, "gemini")
        assert.strictEqual(error.deployment, "flash/gemini/gemini-2.5-flash")
        for (const text of [error.message, JSON.stringify(error), String(error), error.body ?? ""]) {
          assert.notInclude(text, KEY, `${fault} leaks the key`)
        }
        if (fault === "rate-limit") {
          assert.strictEqual(LlmError.retryAfterMillis(error), 1500)
          assert.isTrue(error._tag === "RateLimited" && error.quotaExhausted === undefined)
          assert.strictEqual(error.status, 429)
        }
        if (fault === "quota") assert.isTrue(error._tag === "RateLimited" && error.quotaExhausted === true)
        if (fault === "malformed-json" || fault === "wrong-shape") {
          assert.strictEqual(error.status, 200)
          assert.isDefined(error.body)
        }
      }
    }))

  live("faults while streaming: errors before Start, after Start, and in the stream", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make({ retryDelay: "0.5s", text: "one two three four" })
      const run = (fault: Fault) =>
        Effect.gen(function*() {
          const seen: Array<LlmClient.StreamPart> = []
          const error = yield* Effect.flip(Stream.runForEach((yield* client(mock.faultUrl(fault))).stream(hello), (p) => Effect.sync(() => seen.push(p))))
          return { error, seen }
        })

      const limited = yield* run("rate-limit")
      assert.strictEqual(limited.error._tag, "RateLimited")
      assert.strictEqual(LlmError.retryAfterMillis(limited.error), 500)
      assert.strictEqual(limited.seen.length, 0)

      const midway = yield* run("error-after-200")
      assert.strictEqual(midway.error._tag, "InternalServerError")
      assert.strictEqual(midway.seen[0]!._tag, "Start")
      assert.include(chunksOf(midway.seen).map((c) => c.choices[0]?.delta.content ?? "").join(""), "one")
      assert.isFalse(midway.seen.some((p) => p._tag === "Done"))

      const reset = yield* run("reset-mid-body")
      assert.strictEqual(reset.error._tag, "InternalServerError")
      assert.include(reset.error.message, "cut short")
      assert.isFalse(reset.seen.some((p) => p._tag === "Done"))

      for (const fault of ["malformed-json", "wrong-shape"] as const) {
        const bad = yield* run(fault)
        assert.strictEqual(bad.error._tag, "InternalServerError", fault)
        assert.strictEqual(bad.error.status, 200)
      }
      assert.strictEqual((yield* run("connection-refused")).error._tag, "ConnectionFailed")
      assert.strictEqual((yield* run("overloaded")).error._tag, "ServiceUnavailable")
    }))

  live("a stream that ends cleanly before finishReason is an error, not a short answer", () =>
    Effect.gen(function*() {
      const base = yield* rawServer((res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.end(`data: ${JSON.stringify({ candidates: [{ content: { role: "model", parts: [{ text: "Hel" }] }, index: 0 }] })}\r\n\r\n`)
      })
      const parts: Array<LlmClient.StreamPart> = []
      const error = yield* Effect.flip(Stream.runForEach((yield* client(base)).stream(hello), (p) => Effect.sync(() => parts.push(p))))
      assert.strictEqual(error._tag, "InternalServerError")
      assert.include(error.message, "finishReason")
      assert.strictEqual(chunksOf(parts).map((c) => c.choices[0]?.delta.content ?? "").join(""), "Hel")

      // A complete last event that lacks only its blank line is still the end of the answer.
      const unterminated = yield* rawServer((res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.end(`data: ${JSON.stringify({ candidates: [{ content: { role: "model", parts: [{ text: "Hi" }] }, finishReason: "STOP", index: 0 }] })}`)
      })
      const ok = yield* collect((yield* client(unterminated)).stream(hello))
      assert.strictEqual(Chat.collectChunks(chunksOf(ok)).choices[0]!.message.content, "Hi")
      assert.strictEqual(ok[ok.length - 1]!._tag, "Done")
    }))

  live("a wrong key is AuthenticationFailed and a missing key PermissionDenied; the key is never echoed", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make({ apiKey: "the-right-key" })
      const wrong = yield* Effect.flip((yield* client(mock.baseUrl)).chat(hello))
      assert.strictEqual(wrong._tag, "AuthenticationFailed")
      assert.strictEqual(wrong.status, 400)
      assert.notInclude(JSON.stringify(wrong), KEY)
      const missing = yield* Effect.flip((yield* client(mock.baseUrl, { apiKey: undefined })).chat(hello))
      assert.strictEqual(missing._tag, "PermissionDenied")
      assert.strictEqual(mock.requests[1]!.headers["x-goog-api-key"], undefined)
    }))

  live("a key echoed back by the upstream (or a proxy) is scrubbed from errors", () =>
    Effect.gen(function*() {
      const echo = (status: number, body: string) =>
        rawServer((res) => {
          res.writeHead(status, { "content-type": status === 200 ? "text/event-stream" : "application/json" })
          res.end(body)
        })
      const errorBody = JSON.stringify({ error: { code: 400, message: `API key not valid: ${KEY}`, status: "INVALID_ARGUMENT" } })
      const chat = yield* Effect.flip((yield* client(yield* echo(400, errorBody))).chat(hello))
      const streamed = yield* Effect.flip(collect((yield* client(yield* echo(200, `data: ${errorBody}\r\n\r\n`))).stream(hello)))
      const malformed = yield* Effect.flip((yield* client(yield* echo(200, `<html>${KEY}</html>`))).chat(hello))
      for (const error of [chat, streamed, malformed]) {
        assert.notInclude(JSON.stringify(error), KEY)
        assert.notInclude(error.message + (error.body ?? ""), KEY)
      }
      assert.strictEqual(chat._tag, "AuthenticationFailed")
      assert.include(chat.message, "[redacted]")
      assert.strictEqual(streamed._tag, "AuthenticationFailed")
      assert.include(malformed.body ?? "", "[redacted]")
    }))

  live("interrupting a call waiting for headers closes the upstream socket", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make({ slowMs: 5000 })
      const gemini = yield* client(mock.faultUrl("slow-headers"))
      const fiber = yield* Effect.forkChild(gemini.chat(hello))
      assert.isTrue(yield* eventually(() => mock.requests.length === 1))
      assert.strictEqual(mock.aborted.length, 0)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(yield* eventually(() => mock.aborted.length === 1), "the mock saw the socket close")
    }))

  live("stopping a stream early aborts the upstream response", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make({ text: "a b c d e f g h", streamDelayMs: 300 })
      const gemini = yield* client(mock.baseUrl)
      // Start, role chunk, first text chunk: then the consumer walks away.
      const firstParts = yield* Stream.runCollect(Stream.take(gemini.stream(hello), 3))
      assert.strictEqual(firstParts.length, 3)
      assert.isTrue(yield* eventually(() => mock.aborted.length === 1), "the mock saw the stream's socket close")
      assert.strictEqual(mock.aborted[0]!.path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    }))

  live("reasoning_effort goes out as thinkingConfig (the strict mock takes it); thoughts come back as reasoning_tokens", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make({ text: "Hi there.", thoughtsTokenCount: 12 })
      const gemini = yield* client(mock.baseUrl)
      const { response, route } = yield* gemini.chat({ ...hello, reasoning_effort: "medium" })
      assert.deepStrictEqual((mock.requests[0]!.body as { generationConfig: unknown }).generationConfig, {
        temperature: 0.3,
        maxOutputTokens: 64,
        thinkingConfig: { thinkingBudget: 2048, includeThoughts: true }
      })
      assert.strictEqual(response.choices[0]!.message.content, "Hi there.")
      // A token per word: 4 sent, 2 answered, 12 thinking (counted in completion, as reasoning).
      assert.deepStrictEqual(response.usage, {
        prompt_tokens: 4,
        completion_tokens: 14,
        total_tokens: 18,
        completion_tokens_details: { reasoning_tokens: 12 }
      })
      assert.deepStrictEqual(route.usage, response.usage)

      const parts = yield* collect(gemini.stream({ ...hello, stream: true, reasoning_effort: "none" }))
      assert.deepStrictEqual((mock.requests[1]!.body as { generationConfig: unknown }).generationConfig, {
        temperature: 0.3,
        maxOutputTokens: 64,
        thinkingConfig: { thinkingBudget: 0 }
      })
      const chunks = chunksOf(parts)
      assert.deepStrictEqual(chunks[chunks.length - 1]!.usage?.completion_tokens_details, { reasoning_tokens: 12 })
      assert.strictEqual(parts[parts.length - 1]!._tag, "Done")
    }))

  live("a reasoning_effort Gemini does not know fails as BadRequest on reasoning_effort, without a call", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make()
      const gemini = yield* client(mock.baseUrl)
      const chat = yield* Effect.flip(gemini.chat({ ...hello, reasoning_effort: "ultra" }))
      const stream = yield* Effect.flip(collect(gemini.stream({ ...hello, reasoning_effort: 2 })))
      for (const error of [chat, stream]) {
        assert.strictEqual(error._tag, "BadRequest")
        assert.isTrue(error._tag === "BadRequest" && error.param === "reasoning_effort")
        assert.include(error.message, "\"xhigh\"")
        assert.strictEqual(error.deployment, "flash/gemini/gemini-2.5-flash")
      }
      assert.strictEqual(mock.requests.length, 0)
    }))

  live("thought parts come back as reasoning_content, chat and stream, and never as content", () =>
    Effect.gen(function*() {
      const usageMetadata = { promptTokenCount: 4, candidatesTokenCount: 2, thoughtsTokenCount: 30, totalTokenCount: 36 }
      const whole = yield* rawServer((res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({
          candidates: [{
            content: { role: "model", parts: [{ text: "**Greeting**\nA short hello.", thought: true }, { text: "Hello!" }] },
            finishReason: "STOP",
            index: 0
          }],
          usageMetadata,
          responseId: "t1"
        }))
      })
      const chat = yield* (yield* client(whole)).chat({ ...hello, reasoning_effort: "low" })
      assert.deepStrictEqual(chat.response.choices[0]!.message, {
        role: "assistant",
        content: "Hello!",
        reasoning_content: "**Greeting**\nA short hello."
      })
      assert.deepStrictEqual(chat.response.usage?.completion_tokens_details, { reasoning_tokens: 30 })
      assert.strictEqual(chat.response.usage?.completion_tokens, 32)

      const event = (parts: ReadonlyArray<unknown>, last = false) =>
        `data: ${JSON.stringify({
          candidates: [{ content: { role: "model", parts }, ...(last ? { finishReason: "STOP" } : {}), index: 0 }],
          ...(last ? { usageMetadata } : {}),
          responseId: "t2"
        })}\r\n\r\n`
      const streamed = yield* rawServer((res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write(event([{ text: "**Greeting**\n", thought: true }]))
        res.write(event([{ text: "A short hello.", thought: true }]))
        res.end(event([{ text: "Hello!" }], true))
      })
      const parts = yield* collect((yield* client(streamed)).stream({ ...hello, stream: true, reasoning_effort: "low" }))
      assert.strictEqual(parts[0]!._tag, "Start")
      assert.strictEqual(parts[parts.length - 1]!._tag, "Done")
      const deltas = chunksOf(parts).flatMap((c) => c.choices.map((choice) => choice.delta))
      assert.deepStrictEqual(deltas, [
        { role: "assistant", content: "" },
        { reasoning_content: "**Greeting**\n" },
        { reasoning_content: "A short hello." },
        { content: "Hello!" },
        {}
      ])
      const usageChunk = chunksOf(parts).at(-1)!
      assert.deepStrictEqual(usageChunk.usage, {
        prompt_tokens: 4,
        completion_tokens: 32,
        total_tokens: 36,
        completion_tokens_details: { reasoning_tokens: 30 }
      })
      assert.strictEqual(Chat.collectChunks(chunksOf(parts)).choices[0]!.message.content, "Hello!")
    }))

  it.effect("time to first chunk counts a thought summary, as the router does (TestClock)", () =>
    Effect.scoped(Effect.gen(function*() {
      const event = (parts: ReadonlyArray<unknown>, last = false) =>
        `data: ${JSON.stringify({
          candidates: [{ content: { role: "model", parts }, ...(last ? { finishReason: "STOP" } : {}), index: 0 }],
          responseId: "t3"
        })}\r\n\r\n`
      // The server sends a thought, then holds the answer until the test lets it go.
      let release: () => void = () => {}
      const held = new Promise<void>((resolve) => (release = resolve))
      const server = yield* rawServer((res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write(event([{ text: "Thinking.", thought: true }]))
        void held.then(() => res.end(event([{ text: "Hello!" }], true)))
      })
      const gemini = yield* client(server)
      const pull = yield* Stream.toPull(gemini.stream({ ...hello, stream: true, reasoning_effort: "low" }))
      const seen: Array<LlmClient.StreamPart> = []
      while (!seen.some((p) => p._tag === "Chunk" && (p.chunk.choices[0]?.delta.reasoning_content ?? "") !== "")) {
        seen.push(...(yield* pull))
      }
      // The answer comes 100 ms (of TestClock) after the thought.
      yield* TestClock.adjust("100 millis")
      release()
      const rest = yield* Stream.runCollect(Stream.fromPull(Effect.succeed(pull)))
      const done = [...seen, ...rest].find((p) => p._tag === "Done")
      assert.strictEqual(done?._tag === "Done" ? done.route.timeToFirstChunkMs : undefined, 0)
    })).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  live("a request Gemini cannot express fails as BadRequest without a call", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make()
      const error = yield* Effect.flip((yield* client(mock.baseUrl)).chat({
        model: "flash",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] }]
      }))
      assert.strictEqual(error._tag, "BadRequest")
      assert.strictEqual(mock.requests.length, 0)
    }))
})

describe("the Gemini mock is as strict as Gemini", () => {
  const post = (url: string, body: unknown, key: string | null = "k") =>
    Effect.promise(async () => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key !== null ? { "x-goog-api-key": key } : {}) },
        body: JSON.stringify(body)
      })
      return { status: response.status, body: (await response.json()) as { error?: { message: string; status: string } } }
    })

  live("rejects a system role in contents, unknown schema keywords, unbalanced function responses, a missing key", () =>
    Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make()
      const url = `${mock.baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`
      const system = yield* post(url, { contents: [{ role: "system", parts: [{ text: "x" }] }] })
      assert.strictEqual(system.status, 400)
      assert.strictEqual(system.body.error?.status, "INVALID_ARGUMENT")
      const schema = yield* post(url, {
        contents: [{ role: "user", parts: [{ text: "x" }] }],
        tools: [{ functionDeclarations: [{ name: "f", parameters: { type: "object", additionalProperties: false } }] }]
      })
      assert.strictEqual(schema.status, 400)
      assert.include(schema.body.error?.message ?? "", "additionalProperties")
      const unbalanced = yield* post(url, {
        contents: [
          { role: "user", parts: [{ text: "x" }] },
          { role: "model", parts: [{ functionCall: { name: "f", args: {} } }, { functionCall: { name: "g", args: {} } }] },
          { role: "user", parts: [{ functionResponse: { name: "f", response: {} } }] }
        ]
      })
      assert.strictEqual(unbalanced.status, 400)
      const anonymous = yield* post(url, { contents: [{ role: "user", parts: [{ text: "x" }] }] }, null)
      assert.strictEqual(anonymous.status, 403)
      const fine = yield* post(url, { contents: [{ role: "user", parts: [{ text: "x" }] }] })
      assert.strictEqual(fine.status, 200)
    }))
})

describe("Google adapter: response_format json_schema", () => {
  const schema = {
    type: "object",
    properties: { city: { type: "string" }, tags: { type: "array", items: { type: "string" } }, id: { $ref: "#/$defs/Id" } },
    required: ["city", "tags", "id"],
    additionalProperties: false,
    $defs: { Id: { type: "integer" } }
  }
  const asked: Chat.ChatRequest = {
    ...hello,
    response_format: { type: "json_schema", json_schema: { name: "place", schema, strict: true } }
  }
  // The mock's strings are its text (see `Synthesize`).
  const expected = { city: "Here you go.", tags: ["Here you go."], id: 1 }

  for (const [model, field] of [["gemini-2.5-flash", "responseJsonSchema"], ["gemini-2.0-flash", "responseSchema"]] as const) {
    live(`${model} gets the schema as ${field}, and answers JSON of it in content, plain and streamed`, () =>
      Effect.gen(function*() {
        const mock = yield* GeminiUpstream.make({ text: "Here you go." })
        const gemini = yield* client(mock.baseUrl, { model })
        const { response } = yield* gemini.chat(asked)
        const config = (mock.requests[0]!.body as { generationConfig: Record<string, unknown> }).generationConfig
        assert.strictEqual(config["responseMimeType"], "application/json")
        assert.deepStrictEqual(Object.keys(config).filter((k) => k.startsWith("response")).sort(), ["responseMimeType", field].sort())
        assert.deepStrictEqual(JSON.parse(response.choices[0]?.message.content ?? ""), expected)
        const streamed = Chat.collectChunks(chunksOf(yield* collect(gemini.stream(asked))))
        assert.deepStrictEqual(JSON.parse(streamed.choices[0]?.message.content ?? ""), expected)
        assert.strictEqual(streamed.choices[0]?.finish_reason, "stop")
      }))
  }
})

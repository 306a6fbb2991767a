import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { LlmError } from "@llm-router/core"
import { OpenAi } from "@llm-router/openai"
import { Duration, Effect, Stream } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { Fault } from "../../testing/src/upstream/MockUpstream.ts"
import * as OpenAiUpstream from "../../testing/src/upstream/OpenAiUpstream.ts"
import { chunksOf, collect, deployment, KEY, request } from "./fixtures.ts"

const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(NodeHttpClient.layerUndici))

/** A throwaway server answering every request with `handler`, for bodies the mock does not send. */
const serve = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly base: string; readonly close: () => void }>((resume) => {
      const server = createServer((req, res) => {
        req.resume()
        req.on("end", () => handler(req, res))
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
          close: () => {
            server.closeAllConnections()
            server.close()
          }
        })))
    }),
    ({ close }) => Effect.sync(close)
  )

const assertNoKey = (error: LlmError.LlmError) => {
  assert.notInclude(JSON.stringify(error), KEY)
  assert.notInclude(error.message, KEY)
  assert.notInclude(String(error), KEY)
}

interface Expectation {
  readonly tag: LlmError.Tag
  readonly status?: number | undefined
  readonly check?: (error: LlmError.LlmError, mode: "chat" | "stream") => void
}

const expectations: Record<Exclude<Fault, "slow-headers">, Expectation> = {
  "rate-limit": {
    tag: "RateLimited",
    status: 429,
    check: (e) => {
      assert.strictEqual(e._tag === "RateLimited" && e.retryAfter && Duration.toMillis(e.retryAfter), 1000)
      assert.isTrue(e._tag === "RateLimited" && e.quotaExhausted !== true, "a plain rate limit is not an exhausted quota")
    }
  },
  quota: { tag: "RateLimited", status: 429, check: (e) => assert.isTrue(e._tag === "RateLimited" && e.quotaExhausted === true) },
  auth: { tag: "AuthenticationFailed", status: 401 },
  permission: { tag: "PermissionDenied", status: 403 },
  "not-found": { tag: "ModelNotFound", status: 404 },
  "bad-request": { tag: "BadRequest", status: 400, check: (e) => assert.strictEqual(e._tag === "BadRequest" && e.param, "temperature") },
  "context-window": { tag: "ContextWindowExceeded", status: 400 },
  "content-policy": { tag: "ContentPolicyViolation", status: 400 },
  overloaded: { tag: "ServiceUnavailable", status: 503 },
  "server-error": { tag: "InternalServerError", status: 500 },
  "malformed-json": { tag: "InternalServerError", status: 200, check: (e) => assert.include(e.body ?? "", "chatcmpl-mock") },
  "wrong-shape": { tag: "InternalServerError", status: 200, check: (e) => assert.include(e.body ?? "", "Hello") },
  "reset-mid-body": {
    tag: "ConnectionFailed",
    status: 200,
    // A stream keeps the first bytes it read; a whole-body read loses them (undici discards a cut body).
    check: (e, mode) => mode === "stream" ? assert.include(e.body ?? "", "chatcmpl-mock") : assert.include(e.message, "broke off")
  },
  "error-after-200": { tag: "InternalServerError", status: 500, check: (e) => assert.include(e.message, "The server had an error") },
  "connection-refused": { tag: "ConnectionFailed", status: undefined }
}

describe("OpenAi faults", () => {
  it.live("every fault of the mock maps to the right LlmError, for chat and for stream, without the key", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      for (const [fault, expected] of Object.entries(expectations) as Array<[Exclude<Fault, "slow-headers">, Expectation]>) {
        const client = yield* OpenAi.make(deployment({ apiBase: mock.faultUrl(fault) }))
        const chatError = yield* Effect.flip(client.chat(request()))
        const { parts, error: streamError } = yield* collect(client.stream(request()))
        for (const [mode, error] of [["chat", chatError], ["stream", streamError]] as const) {
          assert.isDefined(error, `${fault} ${mode}`)
          if (error === undefined) continue
          assert.strictEqual(error._tag, expected.tag, `${fault} ${mode}: ${error.message}`)
          assert.strictEqual(error.status, expected.status, `${fault} ${mode} status`)
          assert.strictEqual(error.provider, "openai")
          assert.strictEqual(error.deployment, "gpt/openai/gpt-4o")
          assert.isAbove(error.message.length, 0)
          if (expected.status !== undefined && expected.status !== 200 && fault !== "error-after-200") {
            assert.include(error.body ?? "", "\"error\"", `${fault} ${mode} keeps the body`)
          }
          expected.check?.(error, mode)
          assertNoKey(error)
        }
        // Upstream errors before the 200 leave nothing on the stream; errors after it keep what came first.
        if (fault === "error-after-200" || fault === "reset-mid-body") {
          assert.strictEqual(parts[0]?._tag, "Start", fault)
          assert.isAbove(chunksOf(parts).length, 0, `${fault}: chunks before the failure are delivered`)
        } else if (fault !== "malformed-json" && fault !== "wrong-shape") {
          assert.deepStrictEqual(parts, [], fault)
        }
      }
    })))

  it.live("setFault fails requests on the plain base URL until healed", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl }))
      mock.setFault("overloaded")
      assert.strictEqual((yield* Effect.flip(client.chat(request())))._tag, "ServiceUnavailable")
      mock.setFault(undefined)
      const { response } = yield* client.chat(request())
      assert.strictEqual(response.object, "chat.completion")
    })))

  it.live("a 429 without retry headers takes its wait from the message (\"try again in 644ms\")", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make({ rateLimitHint: "message", retryAfterSeconds: 0.644 })
      const client = yield* OpenAi.make(deployment({ apiBase: mock.faultUrl("rate-limit") }))
      const error = yield* Effect.flip(client.chat(request()))
      assert.strictEqual(error._tag, "RateLimited")
      assert.strictEqual(error._tag === "RateLimited" && error.retryAfter && Duration.toMillis(error.retryAfter), 644)
    })))

  it.live("Azure: x-ms-retry-after-ms, content_filter, DeploymentNotFound", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make({ retryAfterSeconds: 6.5 })
      const azure = (fault: Fault) =>
        OpenAi.make(deployment({ provider: "azure", model: "dep", apiBase: mock.faultOrigin(fault), apiVersion: "2024-10-21" }))
      const limited = yield* Effect.flip((yield* azure("rate-limit")).chat(request()))
      assert.strictEqual(limited._tag, "RateLimited")
      assert.strictEqual(limited._tag === "RateLimited" && limited.retryAfter && Duration.toMillis(limited.retryAfter), 6500)
      const filtered = yield* Effect.flip((yield* azure("content-policy")).chat(request()))
      assert.strictEqual(filtered._tag, "ContentPolicyViolation")
      assert.include(filtered.body ?? "", "ResponsibleAIPolicyViolation")
      const missing = yield* Effect.flip((yield* azure("not-found")).chat(request()))
      assert.strictEqual(missing._tag, "ModelNotFound")
      assert.strictEqual(mock.requests.at(-1)?.path, "/fault/not-found/openai/deployments/dep/chat/completions?api-version=2024-10-21")
    })))

  it.live("slow headers interrupted by a timeout: the upstream socket is closed (abort proven)", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make({ slowMs: 10_000 })
      const client = yield* OpenAi.make(deployment({ apiBase: mock.faultUrl("slow-headers") }))
      const outcome = yield* client.chat(request()).pipe(Effect.timeout("100 millis"), Effect.flip)
      assert.strictEqual(outcome._tag, "TimeoutError")
      yield* mock.awaitAborted(1).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(mock.aborted, 1)

      const streamOutcome = yield* Stream.runDrain(client.stream(request())).pipe(Effect.timeout("100 millis"), Effect.flip)
      assert.strictEqual(streamOutcome._tag, "TimeoutError")
      yield* mock.awaitAborted(2).pipe(Effect.timeout("2 seconds"))
    })))

  it.live("a consumer that stops mid-stream, or right after Start, closes the upstream socket", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make({ chunkDelayMs: 20, streamChunks: 200 })
      const client = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl }))
      const parts = yield* Stream.runCollect(client.stream(request()).pipe(Stream.take(4)))
      assert.strictEqual(parts.length, 4)
      yield* mock.awaitAborted(1).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(mock.aborted, 1)
      // Even a consumer that stops at `Start`, before the body is read at all.
      const start = yield* Stream.runCollect(client.stream(request()).pipe(Stream.take(1)))
      assert.strictEqual(start[0]?._tag, "Start")
      yield* mock.awaitAborted(2).pipe(Effect.timeout("2 seconds"))
    })))

  it.live("a refused connection (nothing listening) is ConnectionFailed, never a defect", () =>
    live(Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.map(OpenAiUpstream.make(), (m) => m.port))
      const client = yield* OpenAi.make(deployment({ apiBase: `http://127.0.0.1:${port}/v1` }))
      const error = yield* Effect.flip(client.chat(request()))
      assert.strictEqual(error._tag, "ConnectionFailed")
      assert.match(error.message, /ECONNREFUSED/)
      const { error: streamError } = yield* collect(client.stream(request()))
      assert.strictEqual(streamError?._tag, "ConnectionFailed")
    })))

  it.live("a deployment without the api_base its provider needs fails its calls with ConnectionFailed naming api_base", () =>
    live(Effect.gen(function*() {
      const d = deployment({ provider: "hosted_vllm", model: "meta-llama/Llama-3.1-8B-Instruct", apiBase: undefined })
      assert.isTrue(OpenAi.validate(d).some((p) => p.includes("api_base")))
      const client = yield* OpenAi.make(d)
      const error = yield* Effect.flip(client.chat(request()))
      assert.strictEqual(error._tag, "ConnectionFailed")
      assert.include(error.message, "api_base")
      const { error: streamError } = yield* collect(client.stream(request()))
      assert.include(streamError?.message ?? "", "api_base")
    })))

  it.live("odd error bodies: HTML from an edge, empty, {error: string}, flat vLLM/llama.cpp shapes, a key-echoing server", () =>
    live(Effect.gen(function*() {
      const cases: Array<{
        readonly status: number
        readonly body: string
        readonly contentType?: string
        readonly tag: LlmError.Tag
        readonly includes?: string
      }> = [
        { status: 502, body: "<html><body><h1>502 Bad Gateway</h1></body></html>", contentType: "text/html", tag: "InternalServerError", includes: "502 Bad Gateway" },
        { status: 500, body: "", tag: "InternalServerError", includes: "HTTP 500" },
        { status: 504, body: "upstream timed out", contentType: "text/plain", tag: "Timeout" },
        { status: 400, body: JSON.stringify({ error: "model 'llama9' not found, try pulling it first" }), tag: "BadRequest", includes: "llama9" },
        {
          status: 400,
          body: JSON.stringify({
            error: { code: 400, type: "exceed_context_size_error", message: "request (4476 tokens) exceeds the available context size (4096 tokens)", n_prompt_tokens: 4476, n_ctx: 4096 }
          }),
          tag: "ContextWindowExceeded"
        },
        {
          status: 400,
          body: JSON.stringify({ object: "error", message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.", type: "BadRequestError", param: null, code: 400 }),
          tag: "ContextWindowExceeded"
        },
        {
          status: 422,
          body: JSON.stringify({ object: "error", message: { detail: [{ type: "extra_forbidden", loc: ["body", "stream_options"], msg: "Extra inputs are not permitted" }] }, type: "invalid_request_error", param: null, code: null }),
          tag: "BadRequest",
          includes: "extra_forbidden"
        },
        { status: 401, body: JSON.stringify({ error: { message: `bad key ${KEY} (echoed by a careless server)`, type: "invalid_request_error", code: "invalid_api_key" } }), tag: "AuthenticationFailed", includes: "[REDACTED]" }
      ]
      for (const c of cases) {
        const server = yield* serve((_, res) => {
          res.writeHead(c.status, { "content-type": c.contentType ?? "application/json" })
          res.end(c.body)
        })
        const client = yield* OpenAi.make(deployment({ apiBase: server.base }))
        const error = yield* Effect.flip(client.chat(request()))
        assert.strictEqual(error._tag, c.tag, c.body)
        assert.strictEqual(error.status, c.status)
        if (c.includes) assert.include(`${error.message} ${error.body ?? ""}`, c.includes)
        assertNoKey(error)
      }
    })))

  it.live("mid-stream errors (one echoing the key, one as `event: error`) and a stream that ends without [DONE]", () =>
    live(Effect.gen(function*() {
      const chunk = { id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] }
      const echoing = yield* serve((_, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.end(`data: ${JSON.stringify(chunk)}\n\ndata: ${JSON.stringify({ error: { message: `Rate limit for key ${KEY}. Please try again in 1.5s.`, type: "tokens", code: "rate_limit_exceeded" } })}\n\n`)
      })
      const client = yield* OpenAi.make(deployment({ apiBase: echoing.base }))
      const { parts, error } = yield* collect(client.stream(request()))
      assert.strictEqual(chunksOf(parts).length, 1)
      assert.strictEqual(error?._tag, "RateLimited")
      assert.strictEqual(error?._tag === "RateLimited" && error.retryAfter && Duration.toMillis(error.retryAfter), 1500)
      if (error) assertNoKey(error)

      const named = yield* serve((_, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.end(`data: ${JSON.stringify(chunk)}\n\nevent: error\ndata: {"message":"model is loading","type":"unavailable_error","code":503}\n\n`)
      })
      const loading = yield* collect((yield* OpenAi.make(deployment({ apiBase: named.base }))).stream(request()))
      assert.strictEqual(loading.error?._tag, "ServiceUnavailable")
      assert.strictEqual(loading.error?.status, 503)

      const truncated = yield* serve((_, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.end(`data: ${JSON.stringify(chunk)}\n\n`)
      })
      const cut = yield* OpenAi.make(deployment({ apiBase: truncated.base }))
      const result = yield* collect(cut.stream(request()))
      assert.strictEqual(result.error?._tag, "InternalServerError")
      assert.include(result.error?.message ?? "", "[DONE]")
      assert.strictEqual(result.error?.status, 200)
      assert.include(result.error?.body ?? "", "data: ")
    })))
})

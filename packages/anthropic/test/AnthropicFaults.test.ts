/**
 * Every fault the Anthropic mock can produce, plain and streamed, must come out as the right
 * `LlmError` (tag, status, retry hint, body excerpt) and never as a defect or a hang; the API
 * key must never appear in one; interrupting a call or ending a stream early must abort the
 * upstream request (the mock sees the socket close).
 */
import { assert, describe, it } from "@effect/vitest"
import type { LlmClient, LlmError } from "@llm-router/core"
import { Duration, Effect, Fiber, Scope, Stream } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as AnthropicUpstream from "../../testing/src/upstream/AnthropicUpstream.ts"
import type { Fault } from "../../testing/src/upstream/MockUpstream.ts"
import { chat, deployment, request, SECRET, stream } from "./support.ts"

/** Runs a stream to its end or failure, keeping what came before a failure. */
const drain = (parts: Stream.Stream<LlmClient.StreamPart, LlmError.LlmError>) =>
  Effect.gen(function*() {
    const seen: Array<LlmClient.StreamPart> = []
    const error = yield* parts.pipe(
      Stream.runForEach((part) => Effect.sync(() => seen.push(part))),
      Effect.flip
    )
    return { seen, error }
  })

/** Polls (real time) until `condition` holds; fails the test after `ms`. */
const eventually = (condition: () => boolean, what: string, ms = 2000) =>
  Effect.gen(function*() {
    for (let waited = 0; !condition(); waited += 5) {
      if (waited >= ms) return assert.fail(`timed out waiting for ${what}`)
      yield* Effect.sleep(Duration.millis(5))
    }
  })

const assertNoSecret = (error: LlmError.LlmError) => {
  for (const text of [error.message, error.body ?? "", String(error), JSON.stringify(error)]) {
    assert.notInclude(text, SECRET)
  }
}

interface Expected {
  readonly tag: LlmError.Tag
  readonly status?: number
  /** Text the error's body excerpt must contain. */
  readonly body?: string
  readonly message?: RegExp
}

const expectations: ReadonlyArray<[Fault, Expected]> = [
  ["rate-limit", { tag: "RateLimited", status: 429, body: "rate_limit_error" }],
  ["quota", { tag: "RateLimited", status: 429, body: "enforced_spend_limit_reached" }],
  ["auth", { tag: "AuthenticationFailed", status: 401, body: "authentication_error", message: /invalid x-api-key/ }],
  ["permission", { tag: "PermissionDenied", status: 403, body: "permission_error" }],
  ["not-found", { tag: "ModelNotFound", status: 404, message: /model: claude-haiku-4-5/ }],
  ["bad-request", { tag: "BadRequest", status: 400, body: "invalid_request_error" }],
  ["context-window", { tag: "ContextWindowExceeded", status: 400, message: /prompt is too long/ }],
  ["content-policy", { tag: "ContentPolicyViolation", status: 400, message: /content filtering policy/ }],
  ["overloaded", { tag: "ServiceUnavailable", status: 529, body: "overloaded_error" }],
  ["server-error", { tag: "InternalServerError", status: 500, body: "api_error" }],
  ["connection-refused", { tag: "ConnectionFailed" }]
]

const check = (error: LlmError.LlmError, expected: Expected, label: string) => {
  assert.strictEqual(error._tag, expected.tag, label)
  assert.strictEqual(error.provider, "anthropic", label)
  assert.strictEqual(error.deployment, "anthropic/claude-haiku-4-5#1", label)
  if (expected.status !== undefined) assert.strictEqual(error.status, expected.status, label)
  if (expected.body !== undefined) assert.include(error.body ?? "", expected.body, label)
  if (expected.message !== undefined) assert.match(error.message, expected.message, label)
  assertNoSecret(error)
}

describe("Anthropic faults before the answer", () => {
  it.live("each fault is the matching LlmError, plain and streamed", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ retryAfterSeconds: 7 })
      for (const [fault, expected] of expectations) {
        const d = deployment(mock.faultUrl(fault))
        const plain = yield* Effect.flip(chat(d, request()))
        check(plain, expected, `chat ${fault}`)
        const { seen, error } = yield* drain(stream(d, request({ stream: true })))
        check(error, expected, `stream ${fault}`)
        // Nothing was answered, so nothing (not even Start) may have been emitted.
        assert.strictEqual(seen.length, 0, `stream ${fault}`)
      }
    }))

  it.live("429 carries retry-after; a spend limit is exhausted quota", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ retryAfterSeconds: 7 })
      const limited = yield* Effect.flip(chat(deployment(mock.faultUrl("rate-limit")), request()))
      assert.strictEqual(limited._tag, "RateLimited")
      if (limited._tag !== "RateLimited") return
      assert.strictEqual(Duration.toMillis(limited.retryAfter!), 7000)
      assert.isUndefined(limited.quotaExhausted)
      const quota = yield* Effect.flip(chat(deployment(mock.faultUrl("quota")), request()))
      assert.strictEqual(quota._tag === "RateLimited" ? quota.quotaExhausted : undefined, true)
    }))

  it.live("setFault applies to the plain base URL until healed", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make()
      mock.setFault("overloaded")
      const error = yield* Effect.flip(chat(deployment(mock.baseUrl), request()))
      assert.strictEqual(error._tag, "ServiceUnavailable")
      mock.setFault(undefined)
      const { response } = yield* chat(deployment(mock.baseUrl), request())
      assert.strictEqual(response.choices[0]?.message.content, "Hello from the mock.")
    }))

  it.live("a wrong key is AuthenticationFailed and the key is not in the error", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ apiKey: "sk-ant-the-right-one" })
      const error = yield* Effect.flip(chat(deployment(mock.baseUrl), request()))
      assert.strictEqual(error._tag, "AuthenticationFailed")
      assert.strictEqual(error.status, 401)
      assertNoSecret(error)
    }))

  it.live("a port nobody listens on is ConnectionFailed", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const mock = yield* AnthropicUpstream.make().pipe(Scope.provide(scope))
      const base = mock.baseUrl
      yield* Scope.close(scope, undefined as never)
      const error = yield* Effect.flip(chat(deployment(base), request()))
      assert.strictEqual(error._tag, "ConnectionFailed")
      assert.isUndefined(error.status)
      assertNoSecret(error)
      const streamed = yield* drain(stream(deployment(base), request()))
      assert.strictEqual(streamed.error._tag, "ConnectionFailed")
    }))
})

describe("Anthropic broken answers", () => {
  it.live("malformed JSON and the wrong shape are typed errors with the first bytes", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make()
      const malformed = yield* Effect.flip(chat(deployment(mock.faultUrl("malformed-json")), request()))
      assert.strictEqual(malformed._tag, "InternalServerError")
      assert.strictEqual(malformed.status, 200)
      assert.match(malformed.message, /not JSON/)
      assert.match(malformed.body ?? "", /^\{"id":"msg_mock_/)
      const wrong = yield* Effect.flip(chat(deployment(mock.faultUrl("wrong-shape")), request()))
      assert.strictEqual(wrong._tag, "InternalServerError")
      assert.strictEqual(wrong.status, 200)
      assert.match(wrong.message, /not an Anthropic Message/)
      assert.include(wrong.body ?? "", "not a list of blocks")
    }))

  it.live("streamed: cut-off event data and a message_start without a message are typed errors", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make()
      const malformed = yield* drain(stream(deployment(mock.faultUrl("malformed-json")), request()))
      assert.strictEqual(malformed.error._tag, "InternalServerError")
      assert.match(malformed.error.message, /not JSON/)
      assert.include(malformed.error.body ?? "", "text_del")
      assert.strictEqual(malformed.seen[0]?._tag, "Start")
      const wrong = yield* drain(stream(deployment(mock.faultUrl("wrong-shape")), request()))
      assert.strictEqual(wrong.error._tag, "InternalServerError")
      assert.match(wrong.error.message, /message_start/)
    }))

  it.live("a reset mid-body is ConnectionFailed, plain and streamed", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "one two three four five six seven eight" })
      const plain = yield* Effect.flip(chat(deployment(mock.faultUrl("reset-mid-body")), request()))
      assert.strictEqual(plain._tag, "ConnectionFailed")
      assert.strictEqual(plain.status, 200)
      assertNoSecret(plain)
      const streamed = yield* drain(stream(deployment(mock.faultUrl("reset-mid-body")), request()))
      assert.strictEqual(streamed.error._tag, "ConnectionFailed")
      assert.strictEqual(streamed.seen[0]?._tag, "Start")
      assert.isFalse(streamed.seen.some((part) => part._tag === "Done"))
      assertNoSecret(streamed.error)
    }))

  it.live("an error event after the 200 fails the stream with the matching error, after the content so far", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "alpha beta gamma delta epsilon" })
      const { seen, error } = yield* drain(stream(deployment(mock.faultUrl("error-after-200")), request()))
      assert.strictEqual(error._tag, "ServiceUnavailable")
      assert.strictEqual(error.status, 529)
      assert.include(error.body ?? "", "overloaded_error")
      assert.strictEqual(seen[0]?._tag, "Start")
      const text = seen.flatMap((p) => (p._tag === "Chunk" ? p.chunk.choices.map((c) => c.delta.content ?? "") : [])).join("")
      assert.isAbove(text.length, 0)
      assert.isTrue("alpha beta gamma delta epsilon".startsWith(text))
      assert.isFalse(seen.some((part) => part._tag === "Done"))
      // Not streamed, Anthropic answers the same overload with a 529.
      const plain = yield* Effect.flip(chat(deployment(mock.faultUrl("error-after-200")), request()))
      assert.strictEqual(plain._tag, "ServiceUnavailable")
    }))
})

/** A one-off server for answers the mock does not make; closed with the test's scope. */
const bespoke = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.callback<Server>((resume) => {
        const server = createServer((req, res) => {
          req.resume()
          req.on("end", () => handler(req, res))
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.callback<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    ),
    (server) => ({ base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  )

describe("Anthropic odd answers", () => {
  it.live("a non-JSON error page keeps its status and first bytes", () =>
    Effect.gen(function*() {
      const server = yield* bespoke((_, res) => {
        res.writeHead(502, { "content-type": "text/html" })
        res.end("<html><body>502 Bad Gateway</body></html>")
      })
      const error = yield* Effect.flip(chat(deployment(server.base), request()))
      assert.strictEqual(error._tag, "InternalServerError")
      assert.strictEqual(error.status, 502)
      assert.include(error.body ?? "", "502 Bad Gateway")
    }))

  it.live("an SSE stream that stops without message_stop is a truncated-stream error", () =>
    Effect.gen(function*() {
      const server = yield* bespoke((_, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write(`event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"claude-haiku-4-5","usage":{"input_tokens":3,"output_tokens":1}}}\n\n`)
        res.write(`event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n`)
        res.write(`event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n`)
        res.end()
      })
      const { seen, error } = yield* drain(stream(deployment(server.base), request()))
      assert.strictEqual(error._tag, "InternalServerError")
      assert.strictEqual(error.status, 200)
      assert.match(error.message, /truncated/)
      const text = seen.flatMap((p) => (p._tag === "Chunk" ? p.chunk.choices.map((c) => c.delta.content ?? "") : [])).join("")
      assert.strictEqual(text, "Hel")
    }))

  it.live("a stream answered with a plain JSON body is malformed and shows that body", () =>
    Effect.gen(function*() {
      const server = yield* bespoke((_, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(`{"id":"msg_x","type":"message","content":[]}`)
      })
      const { error } = yield* drain(stream(deployment(server.base), request()))
      assert.strictEqual(error._tag, "InternalServerError")
      assert.match(error.message, /before message_start/)
      assert.include(error.body ?? "", `"type":"message"`)
    }))

  it.live("events without event: lines, unknown events and thinking blocks are tolerated", () =>
    Effect.gen(function*() {
      const server = yield* bespoke((_, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        const data = [
          `{"type":"message_start","message":{"id":"msg_2","model":"claude-haiku-4-5","usage":{"input_tokens":3,"output_tokens":1}}}`,
          `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`,
          `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`,
          `{"type":"content_block_stop","index":0}`,
          `{"type":"some_future_event","x":1}`,
          `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"now","input":{}}}`,
          `{"type":"content_block_stop","index":1}`,
          `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`,
          `{"type":"message_stop"}`
        ]
        // Split mid-line to exercise the parser across reads.
        const text = data.map((d) => `data: ${d}\n\n`).join("")
        res.write(text.slice(0, 101))
        setTimeout(() => res.end(text.slice(101)), 5)
      })
      const seen = yield* Stream.runCollect(stream(deployment(server.base), request()))
      const chunks = seen.flatMap((p) => (p._tag === "Chunk" ? [p.chunk] : []))
      const calls = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []))
      // A tool called without input still gets a JSON object as arguments.
      assert.deepStrictEqual(calls, [
        { index: 0, id: "toolu_1", type: "function", function: { name: "now", arguments: "" } },
        { index: 0, function: { arguments: "{}" } }
      ])
      assert.strictEqual(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason, "tool_calls")
      assert.strictEqual(chunks[chunks.length - 1]?.usage?.completion_tokens, 9)
      assert.strictEqual(seen[seen.length - 1]?._tag, "Done")
    }))
})

describe("Anthropic interruption", () => {
  it.live("interrupting a call waiting for headers closes the upstream socket", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ slowMs: 5000 })
      const fiber = yield* Effect.forkChild(chat(deployment(mock.faultUrl("slow-headers")), request()))
      yield* eventually(() => mock.requests.length === 1, "the request to arrive")
      assert.strictEqual(mock.disconnects, 0)
      yield* Fiber.interrupt(fiber)
      yield* eventually(() => mock.disconnects === 1, "the mock to see the socket close")
    }))

  it.live("interrupting a stream waiting for headers closes the upstream socket", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ slowMs: 5000 })
      const fiber = yield* Effect.forkChild(Stream.runDrain(stream(deployment(mock.faultUrl("slow-headers")), request())))
      yield* eventually(() => mock.requests.length === 1, "the request to arrive")
      yield* Fiber.interrupt(fiber)
      yield* eventually(() => mock.disconnects === 1, "the mock to see the socket close")
    }))

  it.live("ending a stream early closes the upstream socket mid-answer", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: "a b c d e f g h i j k l m n o p", chunkDelayMs: 20 })
      const parts = yield* Stream.runCollect(Stream.take(stream(deployment(mock.baseUrl), request()), 3))
      assert.strictEqual(parts.length, 3)
      yield* eventually(() => mock.disconnects === 1, "the mock to see the socket close")
    }))
})

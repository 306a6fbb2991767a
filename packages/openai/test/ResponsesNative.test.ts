/**
 * The OpenAI adapter's native Responses API calls against the HTTP mock (and, for answers the
 * mock does not give, a bare local server speaking OpenAI's wire format): a streamed call's
 * typed events in order, an `error` event or `response.failed` mid-stream as the `LlmError`
 * it names (after the events before it), a body cut before `response.completed`, a refusal
 * before any event; a plain answer cut by the content filter, or failed, as the router needs it.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { LlmClient, LlmError } from "@llm-router/core"
import { OpenAi } from "@llm-router/openai"
import { Effect, Stream } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as OpenAiUpstream from "../../testing/src/upstream/OpenAiUpstream.ts"
import { deployment, KEY } from "./fixtures.ts"

const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(NodeHttpClient.layerUndici))

const body = { input: [{ role: "user", content: "Say hello" }] }

/** The events of a native stream, and the error that ended it (if one did). */
const collect = (stream: Stream.Stream<Readonly<Record<string, unknown>>, LlmError.LlmError>) =>
  Effect.gen(function*() {
    const events: Array<Readonly<Record<string, unknown>>> = []
    const error = yield* stream.pipe(Stream.runForEach((event) => Effect.sync(() => events.push(event))), Effect.flip, Effect.option)
    return { types: events.map((e) => e["type"]), events, error: error._tag === "Some" ? error.value : undefined }
  })

/** A local server answering every request with `status`, `contentType` and `text`, until the scope closes. */
const answering = (status: number, contentType: string, text: string) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly baseUrl: string; readonly close: () => void }>((resume) => {
      const server = createServer((req, res) => {
        req.resume()
        req.on("end", () => {
          res.writeHead(status, { "content-type": contentType })
          res.end(text)
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, close: () => server.close() })))
    }),
    (server) => Effect.sync(server.close)
  )

const sse = (...events: ReadonlyArray<Record<string, unknown>>) =>
  events.map((event, i) => `event: ${String(event["type"])}\ndata: ${JSON.stringify({ ...event, sequence_number: i })}\n\n`).join("")

const native = (client: LlmClient.Service) => {
  assert.isDefined(client.responsesStream)
  return { stream: client.responsesStream!, plain: client.responses! }
}

describe("OpenAi native Responses API", () => {
  it.live("streams the typed events in order, asked for as a stream on /v1/responses", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = native(yield* OpenAi.make(deployment({ apiBase: mock.baseUrl })))
      const { types, events, error } = yield* collect(client.stream(body))
      assert.isUndefined(error)
      assert.strictEqual(types[0], "response.created")
      assert.strictEqual(types.at(-1), "response.completed")
      assert.include(types, "response.output_text.delta")
      const sent = mock.requests.at(-1)!
      assert.strictEqual(sent.path, "/v1/responses")
      assert.strictEqual(sent.headers["accept"], "text/event-stream")
      assert.strictEqual(sent.headers["authorization"], `Bearer ${KEY}`)
      assert.deepStrictEqual(sent.body, { ...body, model: "gpt-4o", stream: true })
      const completed = events.at(-1)!["response"] as { output_text: string }
      assert.strictEqual(completed.output_text, "Hello from the mock. You said: Say hello")
    }).pipe(Effect.scoped)))

  it.live("an error event mid-stream fails it with the error it names, after the events before it", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = native(yield* OpenAi.make(deployment({ apiBase: mock.faultUrl("error-after-200") })))
      const { types, error } = yield* collect(client.stream(body))
      assert.deepStrictEqual(types, ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.delta"])
      assert.strictEqual(error?._tag, "InternalServerError")
      assert.include(error?.message ?? "", "The server had an error")
    }).pipe(Effect.scoped)))

  it.live("a body cut before response.completed fails the stream; a refusal fails it before any event", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const cut = yield* collect(native(yield* OpenAi.make(deployment({ apiBase: mock.faultUrl("reset-mid-body") }))).stream(body))
      assert.strictEqual(cut.types.length, 5)
      assert.strictEqual(cut.error?._tag, "ConnectionFailed")
      const limited = yield* collect(native(yield* OpenAi.make(deployment({ apiBase: mock.faultUrl("rate-limit") }))).stream(body))
      assert.deepStrictEqual(limited.types, [])
      assert.strictEqual(limited.error?._tag, "RateLimited")
    }).pipe(Effect.scoped)))

  it.live("a consumer that stops mid-stream closes the upstream socket", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make({ chunkDelayMs: 20, streamChunks: 200 })
      const client = native(yield* OpenAi.make(deployment({ apiBase: mock.baseUrl })))
      const events = yield* Stream.runCollect(client.stream(body).pipe(Stream.take(6)))
      assert.strictEqual(events.length, 6)
      yield* mock.awaitAborted(1).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(mock.aborted, 1)
    }).pipe(Effect.scoped)))

  it.live("response.failed for the content filter fails the stream with a ContentPolicyViolation", () =>
    live(Effect.gen(function*() {
      const created = { type: "response.created", response: { id: "resp_up", object: "response", status: "in_progress", output: [] } }
      const failed = {
        type: "response.failed",
        response: { id: "resp_up", object: "response", status: "failed", output: [], error: { code: "content_filter", message: "The response was filtered" } }
      }
      const server = yield* answering(200, "text/event-stream", sse(created, failed))
      const { types, error } = yield* collect(native(yield* OpenAi.make(deployment({ apiBase: server.baseUrl }))).stream(body))
      assert.deepStrictEqual(types, ["response.created"])
      assert.strictEqual(error?._tag, "ContentPolicyViolation")
    }).pipe(Effect.scoped)))

  it.live("a plain answer: cut by the content filter it says so; failed, it is the error it names", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const filtered = yield* native(yield* OpenAi.make(deployment({ apiBase: mock.baseUrl, model: "gpt-4o-content-filter" }))).plain(body)
      assert.isTrue(filtered.contentFiltered)
      assert.strictEqual((filtered.value["incomplete_details"] as { reason: string }).reason, "content_filter")
      const whole = yield* native(yield* OpenAi.make(deployment({ apiBase: mock.baseUrl }))).plain(body)
      assert.isFalse(whole.contentFiltered)
      assert.strictEqual(whole.usage?.completion_tokens, 8)
      const server = yield* answering(200, "application/json", JSON.stringify({
        id: "resp_up",
        object: "response",
        status: "failed",
        output: [],
        error: { code: "content_policy_violation", message: "Your request was rejected as a result of our safety system." }
      }))
      const error = yield* Effect.flip(native(yield* OpenAi.make(deployment({ apiBase: server.baseUrl }))).plain(body))
      assert.strictEqual(error._tag, "ContentPolicyViolation")
    }).pipe(Effect.scoped)))
})

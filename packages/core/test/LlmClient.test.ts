/**
 * `LlmClient`'s helpers over any client: `chunks` (which keeps a stream's restarts, so that
 * `Chat.collectChunks` joins only the answer that finished) and the combinators `retry`,
 * `orElse`, `mapRequest`, `tap` and `tapError`, each checked on simulated providers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chat, LlmClient, type LlmError, type RouteInfo } from "@llm-router/core"
import { Effect, pipe, Schedule, Stream } from "effect"
import { assertTag, collectStream, DEFAULT_TEXT, deployment, failOnClock, harness, request, SimulatedProvider, streamedText, succeedOnClock } from "./Fixture.ts"

const { dropMidStream, fail, succeed } = SimulatedProvider

const tags = (parts: ReadonlyArray<LlmClient.StreamPart>) => parts.map((p) => p._tag)

/** One simulated deployment with a script, four chunks per streamed answer. */
const sim = (id: string, script: ReadonlyArray<SimulatedProvider.Behavior>, text?: string) =>
  SimulatedProvider.make({ deployment: id, script, chunks: 4, chunkIntervalMs: 10, ...(text === undefined ? {} : { text }) })

describe("LlmClient.chunks and Chat.collectChunks over a restarted stream", () => {
  it.effect("join only the answer after the restart", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })], stream_failure_policy: "restart" },
        {
          a: { script: [dropMidStream(2)], chunks: 4, chunkIntervalMs: 10, text: "The capital of France is Paris." },
          b: { chunks: 4, chunkIntervalMs: 10, text: "The capital of France is Paris." }
        }
      )
      const items = yield* succeedOnClock(Stream.runCollect(LlmClient.chunks(h.router.stream(request()))))
      // The restart is kept, after a's first chunks and before b's.
      const restart = items.findIndex((item) => "_tag" in item && item._tag === "Restarted")
      assert.isAbove(restart, 0)
      assert.strictEqual(Chat.collectChunks(items).choices[0]?.message.content, "The capital of France is Paris.")
    }))

  it("collectChunks without a restart joins every chunk", () => {
    const chunk = (content: string): Chat.ChatChunk => ({
      id: "c",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [{ index: 0, delta: { content } }]
    })
    assert.strictEqual(Chat.collectChunks([chunk("a"), chunk("b")]).choices[0]?.message.content, "ab")
  })
})

describe("LlmClient.retry", () => {
  const twice = Schedule.max([Schedule.spaced("1 second"), Schedule.recurs(2)])

  it.effect("retries a failed chat as the schedule says, on its clock", () =>
    Effect.gen(function*() {
      const a = yield* sim("a", [fail("ServiceUnavailable"), fail("ServiceUnavailable"), succeed("third time")])
      const { response } = yield* succeedOnClock(LlmClient.retry(a, twice).chat(request()), "2 seconds")
      assert.strictEqual(response.choices[0]?.message.content, "third time")
      assert.deepStrictEqual((yield* a.calls).map((c) => c.at), [0, 1000, 2000])
    }))

  it.effect("gives up with the last error when the schedule ends", () =>
    Effect.gen(function*() {
      const a = yield* sim("a", [fail("ServiceUnavailable"), fail("ServiceUnavailable"), fail("RateLimited")])
      assertTag(yield* failOnClock(LlmClient.retry(a, twice).chat(request())), "RateLimited")
      assert.strictEqual((yield* a.calls).length, 3)
    }))

  it.effect("opens a stream again: a failure before Start is silent, one after it leaves a Restarted part", () =>
    Effect.gen(function*() {
      const a = yield* sim("a", [fail("ServiceUnavailable"), dropMidStream(2), succeed()])
      const { parts, error } = yield* collectStream(LlmClient.retry(a, twice).stream(request()))
      assert.isUndefined(error)
      const t = tags(parts)
      assert.strictEqual(t[0], "Start")
      const restarted = t.indexOf("Restarted")
      assert.isAbove(restarted, 1, "the dropped attempt's content came first")
      assert.strictEqual(t[restarted + 1], "Start")
      assert.strictEqual(t.filter((x) => x === "Restarted").length, 1)
      const marker = parts[restarted]
      assert.strictEqual(marker?._tag === "Restarted" ? marker.reason._tag : undefined, "ConnectionFailed")
      assert.strictEqual(t.at(-1), "Done")
      assert.strictEqual(streamedText(parts), DEFAULT_TEXT)
      assert.strictEqual(Chat.collectChunks(yield* Stream.runCollect(LlmClient.chunks(Stream.fromIterable(parts)))).choices[0]?.message.content, DEFAULT_TEXT)
      assert.strictEqual((yield* a.calls).length, 3)
    }))

  it.effect("a stream that keeps failing ends with its error once the schedule is done", () =>
    Effect.gen(function*() {
      const a = yield* sim("a", [dropMidStream(1), dropMidStream(1), dropMidStream(1, "InternalServerError")])
      const { parts, error } = yield* collectStream(LlmClient.retry(a, twice).stream(request()))
      assertTag(error, "InternalServerError")
      assert.strictEqual(tags(parts).filter((x) => x === "Restarted").length, 2)
      assert.strictEqual((yield* a.calls).length, 3)
    }))
})

describe("LlmClient.orElse", () => {
  it.effect("answers a failed chat from the other client", () =>
    Effect.gen(function*() {
      const a = yield* sim("a", [fail("AuthenticationFailed")])
      const b = yield* sim("b", [succeed("from b")])
      const { response, route } = yield* LlmClient.orElse(a, b).chat(request())
      assert.strictEqual(response.choices[0]?.message.content, "from b")
      assert.strictEqual(route.deployment, "b")
    }))

  it.effect("a stream dropped mid-way goes on with the other client's answer after a Restarted part", () =>
    Effect.gen(function*() {
      const a = yield* sim("a", [dropMidStream(2)])
      const b = yield* sim("b", [succeed("from b")])
      const { parts, error } = yield* collectStream(pipe(a, LlmClient.orElse(b)).stream(request()))
      assert.isUndefined(error)
      const restarted = parts.find((p) => p._tag === "Restarted")
      assert.strictEqual(restarted?._tag === "Restarted" ? restarted.route.deployment : undefined, "a")
      assert.strictEqual(streamedText(parts), "from b")
      const done = parts.at(-1)
      assert.strictEqual(done?._tag === "Done" ? done.route.deployment : undefined, "b")
    }))

  it.effect("a stream that fails before it starts switches without a marker", () =>
    Effect.gen(function*() {
      const a = yield* sim("a", [fail("ServiceUnavailable")])
      const b = yield* sim("b", [succeed("from b")])
      const { parts } = yield* collectStream(LlmClient.orElse(a, b).stream(request()))
      assert.deepStrictEqual(tags(parts).filter((t) => t !== "Chunk"), ["Start", "Done"])
      assert.strictEqual(streamedText(parts), "from b")
    }))
})

describe("LlmClient.mapRequest, tap, tapError", () => {
  it.effect("mapRequest changes what the provider receives, for chat and stream", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const a = yield* sim("a", [])
      const spy: LlmClient.Service = {
        chat: (r) => Effect.suspend(() => (seen.push(r.model), a.chat(r))),
        stream: (r) => Stream.suspend(() => (seen.push(r.model), a.stream(r)))
      }
      const client = LlmClient.mapRequest(spy, (r) => ({ ...r, model: `${r.model}-mapped` }))
      yield* client.chat(request("x"))
      yield* collectStream(client.stream(request("y")))
      assert.deepStrictEqual(seen, ["x-mapped", "y-mapped"])
    }))

  it.effect("tap sees the final route of a chat and of a stream's Done; tapError sees failures", () =>
    Effect.gen(function*() {
      const routes: Array<RouteInfo.RouteInfo> = []
      const errors: Array<LlmError.LlmError> = []
      const a = yield* sim("a", [succeed(), succeed(), fail("ContextWindowExceeded")])
      const client = pipe(
        a,
        LlmClient.tap((route) => Effect.sync(() => routes.push(route))),
        LlmClient.tapError((error) => Effect.sync(() => errors.push(error)))
      )
      yield* client.chat(request())
      const { parts } = yield* collectStream(client.stream(request()))
      yield* Effect.flip(client.chat(request()))
      assert.strictEqual(routes.length, 2)
      assert.strictEqual(routes[0]?.deployment, "a")
      const done = parts.at(-1)
      assert.strictEqual(routes[1], done?._tag === "Done" ? done.route : undefined)
      assert.deepStrictEqual(errors.map((e) => e._tag), ["ContextWindowExceeded"])
    }))
})

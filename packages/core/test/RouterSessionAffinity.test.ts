/**
 * Session affinity: a session's requests go back to the deployment that served it last while
 * that is still a candidate; a pin follows the session when its deployment fails or cools
 * down, and is forgotten after `session_affinity_ttl_seconds` without use.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Chat, type LlmClient, SessionAffinity } from "@llm-router/core"
import { Effect, Random, Stream } from "effect"
import { TestClock } from "effect/testing"
import { collectStream, deployment, harness, request, SimulatedProvider } from "./Fixture.ts"

const { fail } = SimulatedProvider
const three = { model_list: [deployment("gpt", "a"), deployment("gpt", "b"), deployment("gpt", "c")] }

/** `n` requests in a row; the deployments that served them, in order. */
const servedBy = (router: LlmClient.Service, n: number, req: Chat.ChatRequest, session?: string) =>
  Effect.gen(function*() {
    const served: Array<string> = []
    for (let i = 0; i < n; i++) {
      const call = router.chat(req)
      const { route } = yield* (session === undefined ? call : Effect.provideService(call, SessionAffinity.SessionId, session))
      served.push(route.deployment)
    }
    return served
  })

const distinct = (xs: ReadonlyArray<string>) => new Set(xs).size

describe("session affinity", () => {
  it.effect("a session stays on one deployment under simple-shuffle; requests without one spread", () =>
    Effect.gen(function*() {
      const h = yield* harness(three)
      const unpinned = yield* servedBy(h.router, 30, request())
      assert.strictEqual(distinct(unpinned), 3)
      const s1 = yield* servedBy(h.router, 30, request(), "s1")
      assert.strictEqual(distinct(s1), 1)
      // Sessions are independent: with enough of them, each deployment holds some.
      const firsts = new Set<string>()
      for (let i = 0; i < 20; i++) firsts.add((yield* servedBy(h.router, 1, request(), `session-${i}`))[0]!)
      assert.strictEqual(firsts.size, 3)
    }).pipe(Random.withSeed(11)))

  it.effect("the session can come from the request: prompt_cache_key, or LiteLLM's metadata.session_id", () =>
    Effect.gen(function*() {
      const h = yield* harness(three)
      const byKey = yield* servedBy(h.router, 20, request("gpt", "hi", { prompt_cache_key: "conv-1" } as Partial<Chat.ChatRequest>))
      assert.strictEqual(distinct(byKey), 1)
      const byMetadata = yield* servedBy(h.router, 20, request("gpt", "hi", { metadata: { session_id: "conv-2" } } as Partial<Chat.ChatRequest>))
      assert.strictEqual(distinct(byMetadata), 1)
      // The context's id wins over the request's.
      const pinned = (yield* servedBy(h.router, 1, request(), "conv-3"))[0]!
      const mixed = yield* servedBy(h.router, 10, request("gpt", "hi", { prompt_cache_key: "conv-1" } as Partial<Chat.ChatRequest>), "conv-3")
      assert.deepStrictEqual(new Set(mixed), new Set([pinned]))
    }).pipe(Random.withSeed(12)))

  it.effect("a pinned deployment that fails hands the session to the one that served instead", () =>
    Effect.gen(function*() {
      // `order` makes the free choice a, so the session starts there; then a breaks.
      const h = yield* harness(
        { model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 }), deployment("gpt", "c", { order: 2 })], allowed_fails: 0, cooldown_time: 60 },
        { a: { script: [SimulatedProvider.succeed(), fail("ServiceUnavailable")] } }
      )
      const first = yield* servedBy(h.router, 1, request(), "s")
      assert.deepStrictEqual(first, ["a"])
      const second = yield* servedBy(h.router, 1, request(), "s")
      assert.notStrictEqual(second[0], "a")
      // a is cooling down for a minute: the session stays on its new deployment meanwhile.
      const rest = yield* servedBy(h.router, 10, request(), "s")
      assert.deepStrictEqual(new Set(rest), new Set([second[0]]))
    }).pipe(Random.withSeed(13)))

  it.effect("a pin outlives a recovered deployment, until the session goes unused for the ttl", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "a"), deployment("gpt", "b")],
          allowed_fails: 0,
          cooldown_time: 5,
          session_affinity_ttl_seconds: 60
        },
        { a: { script: [fail("ServiceUnavailable")] } }
      )
      // Requests without a session until a has failed once: it cools down for 5 s.
      while (h.callsTo("a") === 0) yield* servedBy(h.router, 1, request())
      // Meanwhile the session starts on b, the only healthy deployment.
      assert.deepStrictEqual(yield* servedBy(h.router, 1, request(), "s"), ["b"])
      yield* TestClock.adjust("30 seconds")
      // a is back (and answers now), but the session keeps b: its pin was used 30 s ago.
      assert.deepStrictEqual(new Set(yield* servedBy(h.router, 10, request(), "s")), new Set(["b"]))
      assert.deepStrictEqual(new Set(yield* servedBy(h.router, 10, request())), new Set(["a", "b"]))
      // Unused for longer than the ttl, the session is routed afresh each time: it shuffles over a and b.
      const fresh = new Set<string>()
      for (let i = 0; i < 12; i++) {
        yield* TestClock.adjust("61 seconds")
        fresh.add((yield* servedBy(h.router, 1, request(), "s"))[0]!)
      }
      assert.deepStrictEqual(fresh, new Set(["a", "b"]))
    }).pipe(Random.withSeed(14)))

  it.effect("session_affinity_ttl_seconds: 0 turns affinity off", () =>
    Effect.gen(function*() {
      const h = yield* harness({ ...three, session_affinity_ttl_seconds: 0 })
      assert.strictEqual(distinct(yield* servedBy(h.router, 30, request(), "s")), 3)
    }).pipe(Random.withSeed(15)))

  it.effect("streams keep their session too", () =>
    Effect.gen(function*() {
      const h = yield* harness(three)
      const served = new Set<string>()
      for (let i = 0; i < 10; i++) {
        const { parts } = yield* collectStream(Stream.provideService(h.router.stream(request()), SessionAffinity.SessionId, "s"))
        const start = parts[0]
        if (start?._tag === "Start") served.add(start.route.deployment)
      }
      assert.strictEqual(served.size, 1)
    }).pipe(Random.withSeed(16)))
})

describe("SessionAffinity.Pins", () => {
  it("forgets the least recently used pin past its capacity", () => {
    const pins = new SessionAffinity.Pins(60_000, 2)
    pins.set("g", "s1", "a", 0)
    pins.set("g", "s2", "b", 1)
    assert.strictEqual(pins.get("g", "s1", 2), "a") // s1 used: s2 is now the oldest
    pins.set("g", "s1", "a", 2)
    pins.set("g", "s3", "c", 3)
    assert.strictEqual(pins.size, 2)
    assert.isUndefined(pins.get("g", "s2", 4))
    assert.strictEqual(pins.get("g", "s1", 4), "a")
    assert.strictEqual(pins.get("g", "s3", 4), "c")
    // Groups do not share pins.
    assert.isUndefined(pins.get("other", "s1", 4))
  })

  it("says when a pin is news: new, moved, or back after its ttl; not another turn on the same deployment", () => {
    const pins = new SessionAffinity.Pins(60_000)
    assert.isTrue(pins.set("g", "s", "a", 0))
    assert.isFalse(pins.set("g", "s", "a", 30_000))
    assert.isTrue(pins.set("g", "s", "b", 31_000))
    assert.isTrue(pins.set("g", "s", "b", 100_000), "unused for longer than the ttl: a new pin")
    assert.isTrue(pins.set("other", "s", "b", 100_000))
  })

  it("ignores ids that are empty or too long to be a session", () => {
    assert.isUndefined(SessionAffinity.sessionOf(undefined, request()))
    assert.isUndefined(SessionAffinity.sessionOf("", request()))
    assert.isUndefined(SessionAffinity.sessionOf("x".repeat(257), request()))
    assert.strictEqual(SessionAffinity.sessionOf("x".repeat(256), request()), "x".repeat(256))
  })
})

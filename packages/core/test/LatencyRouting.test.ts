/**
 * Adaptive latency routing (`latency-based-routing`) through the router, on TestClock with a
 * seeded Random: steady traffic over simulated providers whose latency follows a function of
 * time, load and answer length. Traffic leaves a deployment that slows within a few requests
 * and comes back after it recovers; near-equal deployments share the traffic; a timeout keeps
 * a deployment away for a while, not for good; whole answers are compared per output token;
 * streams by their time to first chunk. Properties over random slowdowns and near-equal
 * latencies; the strategy's picks on hand-made states.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Chat, LatencyRouting, Overrides, RouterConfig, type RouterState, Strategy } from "@llm-router/core"
import { Arbitrary, Effect, pipe, Random, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Observed from "../src/internal/Observed.ts"
import { deployment, harness, type Harness, request } from "./Fixture.ts"

const SECOND = 1000

/** A deployment's latency: `ms(now, tokens)` for every call, with ±`jitter`. */
const latency = (ms: (now: number, tokens: number) => number, jitter = 0.1) => ({
  latency: { _tag: "Dynamic" as const, ms: (call: { now: number; outputTokens: number }) => ms(call.now, call.outputTokens), jitter },
  answerTokens: (req: Chat.ChatRequest) => req.max_tokens ?? 100
})

const group = (ids: ReadonlyArray<string>, extra: Record<string, unknown> = {}) => ({
  model_list: ids.map((id) => deployment("gpt", id)),
  routing_strategy: "latency-based-routing",
  ...extra
})

/** Sends one request every `everyMs` for `forMs`, concurrently, on TestClock; waits for all to end. */
const steady = (h: Harness, everyMs: number, forMs: number, tokens: (i: number) => number = () => 100, streaming = false) =>
  Effect.gen(function*() {
    const count = Math.floor(forMs / everyMs)
    for (let i = 0; i < count; i++) {
      const req = request("gpt", `request ${i}`, { max_tokens: tokens(i) })
      const call = streaming ? Stream.runDrain(h.router.stream(req)) : Effect.asVoid(h.router.chat(req))
      yield* Effect.forkChild(Effect.andThen(Effect.sleep(i * everyMs), Effect.ignore(call)))
    }
    yield* TestClock.adjust(forMs + 120 * SECOND)
  })

/** Calls to `id` among those made in [from, to). */
const share = (h: Harness, id: string, from: number, to: number) => {
  const calls = h.log.filter((c) => c.at >= from && c.at < to)
  return calls.length === 0 ? 0 : calls.filter((c) => c.deployment === id).length / calls.length
}

describe("latency-based-routing follows the providers", () => {
  it.effect("a deployment that becomes 5x slower gets at most a few requests, then traffic returns within a minute of its recovery", () =>
    Effect.gen(function*() {
      const spike = (now: number, tokens: number) => (now >= 60 * SECOND && now < 180 * SECOND ? 50 : 10) * tokens
      const h = yield* harness(group(["a", "b", "c"]), {
        a: latency(spike),
        b: latency((_, t) => 10 * t),
        c: latency((_, t) => 10 * t)
      })
      yield* steady(h, 100, 300 * SECOND)
      // Before: a third each, or near it.
      assert.isAbove(share(h, "a", 10 * SECOND, 60 * SECOND), 0.2)
      // The spike's first answer takes 5 s: until then calls in flight overdue are the only evidence.
      const slowCalls = h.log.filter((c) => c.deployment === "a" && c.at >= 60 * SECOND && c.at < 180 * SECOND).length
      assert.isAtMost(slowCalls, 20, `${slowCalls} calls to a while it was slow`)
      assert.isAtMost(share(h, "a", 70 * SECOND, 180 * SECOND), 0.05)
      // Recovered at 180 s: back to a fair share within 60 s.
      assert.isAbove(share(h, "a", 200 * SECOND, 240 * SECOND), 0.2)
    }).pipe(Random.withSeed(1)))

  it.effect("traffic leaves within a few requests of the slowdown: fewer than the requests of its first slow answer", () =>
    Effect.gen(function*() {
      const h = yield* harness(group(["a", "b", "c"]), {
        a: latency((now, t) => (now >= 30 * SECOND ? 50 : 10) * t),
        b: latency((_, t) => 10 * t),
        c: latency((_, t) => 10 * t)
      })
      yield* steady(h, 100, 40 * SECOND)
      // Before its first slow answer comes back (5 s), a third of the 50 requests would go to a blindly.
      const duringFirstAnswer = h.log.filter((c) => c.deployment === "a" && c.at >= 30 * SECOND && c.at < 35 * SECOND).length
      assert.isAtMost(duringFirstAnswer, 6)
      const after = h.log.filter((c) => c.deployment === "a" && c.at >= 35 * SECOND && c.at < 40 * SECOND).length
      assert.strictEqual(after, 0)
    }).pipe(Random.withSeed(2)))

  it.effect("near-equal deployments share the traffic: each of three within 2 % of one another takes 20-47 %", () =>
    Effect.gen(function*() {
      const h = yield* harness(group(["a", "b", "c"]), {
        a: latency((_, t) => 10 * t),
        b: latency((_, t) => 10.1 * t),
        c: latency((_, t) => 10.2 * t)
      })
      yield* steady(h, 100, 120 * SECOND)
      for (const id of ["a", "b", "c"]) {
        const s = share(h, id, 0, 120 * SECOND)
        assert.isAtLeast(s, 0.2, `${id}: ${s}`)
        assert.isAtMost(s, 0.47, `${id}: ${s}`)
      }
    }).pipe(Random.withSeed(3)))

  it.effect("no herd when being busy makes a deployment slower: the load spreads", () =>
    Effect.gen(function*() {
      const loaded = (base: number) => ({
        latency: {
          _tag: "Dynamic" as const,
          ms: (call: { inFlight: number; outputTokens: number }) => base * call.outputTokens * (1 + 0.2 * (call.inFlight - 1)),
          jitter: 0.1
        },
        answerTokens: () => 100
      })
      const h = yield* harness(group(["a", "b", "c"]), { a: loaded(8), b: loaded(8.2), c: loaded(8.4) })
      yield* steady(h, 100, 120 * SECOND)
      for (const id of ["a", "b", "c"]) assert.isAtLeast(share(h, id, 10 * SECOND, 120 * SECOND), 0.2, id)
    }).pipe(Random.withSeed(4)))

  it.effect("a timeout is a penalty: the next requests avoid the deployment, which is tried again later", () =>
    Effect.gen(function*() {
      const h = yield* harness(group(["a", "b"], { timeout: 3 }), {
        a: { ...latency((now, t) => (now >= 20 * SECOND && now < 21 * SECOND ? 1_000 : 10) * t) },
        b: latency((_, t) => 10 * t)
      })
      yield* steady(h, 200, 90 * SECOND)
      const timedOut = h.log.filter((c) => c.deployment === "a" && c.at >= 20 * SECOND && c.at < 21 * SECOND).length
      assert.isAtLeast(timedOut, 1)
      // The timeouts come at 23-24 s; for the next ten seconds a gets nothing.
      assert.strictEqual(share(h, "a", 24 * SECOND, 34 * SECOND), 0)
      // The penalty fades: a is back to a fair share within a minute.
      assert.isAbove(share(h, "a", 60 * SECOND, 90 * SECOND), 0.3)
    }).pipe(Random.withSeed(5)))

  it.effect("whole answers are compared per output token: long answers on the faster deployment are not slowness", () =>
    Effect.gen(function*() {
      // a takes 10 ms a token, b 14; every other answer is 600 tokens, the rest 50.
      const h = yield* harness(group(["a", "b"]), { a: latency((_, t) => 300 + 10 * t), b: latency((_, t) => 300 + 14 * t) })
      yield* steady(h, 100, 120 * SECOND, (i) => (i % 2 === 0 ? 600 : 50))
      assert.isAbove(share(h, "a", 10 * SECOND, 120 * SECOND), 0.9)
    }).pipe(Random.withSeed(6)))

  it.effect("streams are ranked by time to first chunk, not by how long they run", () =>
    Effect.gen(function*() {
      // a's first chunk comes after 150 ms and the rest slowly (850 ms in all); b's after 405 ms, then fast (440 ms).
      const h = yield* harness(group(["a", "b"]), {
        a: { latency: { _tag: "Fixed", ms: 50 }, chunks: 8, chunkIntervalMs: 100 },
        b: { latency: { _tag: "Fixed", ms: 400 }, chunks: 8, chunkIntervalMs: 5 }
      })
      yield* steady(h, 100, 60 * SECOND, () => 100, true)
      assert.isAbove(share(h, "a", 5 * SECOND, 60 * SECOND), 0.9)
    }).pipe(Random.withSeed(7)))

  it.effect("routing_strategy_args: lowest_latency_buffer 0 sends near-equal traffic to the fastest, as in LiteLLM", () =>
    Effect.gen(function*() {
      const h = yield* harness(group(["a", "b"], { routing_strategy_args: { lowest_latency_buffer: 0 } }), {
        a: latency((_, t) => 10 * t, 0),
        b: latency((_, t) => 10.5 * t, 0)
      })
      yield* steady(h, 100, 60 * SECOND)
      // Only probes reach b.
      assert.isAbove(share(h, "a", 10 * SECOND, 60 * SECOND), 0.9)
    }).pipe(Random.withSeed(8)))
})

describe("in a pipeline of one's own", () => {
  it.effect("a filter then adaptive latency routing: the filter holds, and a slowdown of the fastest left moves traffic to the other", () =>
    Effect.gen(function*() {
      const adaptive = LatencyRouting.make()
      const strategy = pipe(Strategy.candidates, Strategy.filter((d) => d.id !== "c"), Strategy.pick(adaptive.pick))
      const h = yield* harness({ model_list: ["a", "b", "c"].map((id) => deployment("gpt", id)) }, {
        a: latency((now, t) => (now >= 30 * SECOND ? 50 : 8) * t),
        b: latency((_, t) => 10 * t),
        c: latency((_, t) => 5 * t)
      }, { latency: adaptive, strategy })
      yield* steady(h, 100, 60 * SECOND)
      assert.strictEqual(h.callsTo("c"), 0)
      assert.isAbove(share(h, "a", 5 * SECOND, 30 * SECOND), 0.9)
      assert.isAbove(share(h, "b", 40 * SECOND, 60 * SECOND), 0.9)
    }).pipe(Random.withSeed(9)))
})

describe("latency-based-routing named in a pipeline of one's own", () => {
  it.effect("is the router's adaptive routing: it leaves a deployment that slowed down and returns after its recovery", () =>
    Effect.gen(function*() {
      // No `latency` option and the config's strategy is simple-shuffle: only the pipeline names latency routing.
      const strategy = pipe(Strategy.candidates, Strategy.filter((d) => d.id !== "c"), Strategy.pick(Strategy.byName["latency-based-routing"]))
      const h = yield* harness({ model_list: ["a", "b", "c"].map((id) => deployment("gpt", id)) }, {
        a: latency((now, t) => (now >= 30 * SECOND && now < 60 * SECOND ? 50 : 8) * t),
        b: latency((_, t) => 10 * t),
        c: latency((_, t) => 5 * t)
      }, { strategy })
      yield* steady(h, 100, 150 * SECOND)
      assert.strictEqual(h.callsTo("c"), 0)
      assert.isAbove(share(h, "a", 5 * SECOND, 30 * SECOND), 0.9)
      assert.isAbove(share(h, "b", 40 * SECOND, 60 * SECOND), 0.9)
      // Recovered at 60 s: a mean of its last ten latencies would keep a's slow answers for five
      // minutes; the adaptive estimates forget them, and a probe notices the recovery.
      assert.isAbove(share(h, "a", 100 * SECOND, 150 * SECOND), 0.9)
    }).pipe(Random.withSeed(11)))

  it("outside a router (no estimates in the context) it is the lowest mean latency", () => {
    const ds = [{ id: "a" }, { id: "b" }] as unknown as ReadonlyArray<Parameters<Strategy.Pick>[0][number]>
    const stats = new Map([["a", { cooldownUntil: 0, inFlight: 0, requestsThisMinute: 0, tokensThisMinute: 0, recentFailures: 0, latencyMs: 900 }], [
      "b",
      { cooldownUntil: 0, inFlight: 0, requestsThisMinute: 0, tokensThisMinute: 0, recentFailures: 0, latencyMs: 300 }
    ]])
    const context = { snapshot: { now: 0, stats }, streaming: false, random: 0 }
    assert.strictEqual(Strategy.byName["latency-based-routing"](ds, context).id, "b")
    // With estimates in the context, it ranks by them.
    const adaptive = LatencyRouting.make()
    adaptive.observer.answered(adaptive.observer.started("a", false, 0), { latencyMs: 100, outputTokens: 100 }, 100)
    adaptive.observer.answered(adaptive.observer.started("b", false, 0), { latencyMs: 1000, outputTokens: 100 }, 1000)
    assert.strictEqual(Strategy.byName["latency-based-routing"](ds, { ...context, snapshot: { now: 1000, stats }, latency: adaptive }).id, "a")
  })
})

describe("the router's latency feed", () => {
  it("tells the estimates of calls only once a decision has read them, so a router routing by something else pays nothing", () => {
    const adaptive = LatencyRouting.make()
    const feed = Observed.feed(adaptive, false)
    assert.isUndefined(feed.observer())
    feed.estimates.pick([{ id: "a" }] as unknown as Parameters<Strategy.Pick>[0], { snapshot: { now: 0, stats: new Map() }, streaming: false, random: 0 })
    assert.strictEqual(feed.observer(), adaptive.observer)
    // An app's own routing is fed from the start: its pipeline may call its pick directly.
    assert.strictEqual(Observed.feed(adaptive, true).observer(), adaptive.observer)
  })
})

describe("what the estimates learn from", () => {
  it.effect("a mock_response answer says nothing of a deployment's latency; a real one does", () =>
    Effect.gen(function*() {
      const adaptive = LatencyRouting.make()
      const h = yield* harness(group(["a", "b"]), { a: latency((_, t) => 10 * t), b: latency((_, t) => 10 * t) }, { latency: adaptive })
      yield* Effect.provideService(steady(h, 100, 5 * SECOND), Overrides.Current, { mockResponse: "canned" })
      const now = 5 * SECOND + 120 * SECOND
      assert.isUndefined(adaptive.estimate("a", false, now))
      assert.isUndefined(adaptive.estimate("b", false, now))
      yield* steady(h, 100, 5 * SECOND)
      assert.isDefined(adaptive.estimate("a", false, 2 * now))
    }).pipe(Random.withSeed(10)))
})

describe("routing_strategy_args", () => {
  it.effect("LiteLLM's latency keys decode in the strategy's units; a bad value is refused with its path", () =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode(group(["a"], {
        routing_strategy_args: { ttl: 60, lowest_latency_buffer: 0.5, max_latency_list_size: 20 }
      }))
      assert.deepStrictEqual(config.settings.latencyArgs, { ttlMs: 60_000, lowestLatencyBuffer: 0.5, maxLatencyListSize: 20 })
      assert.isUndefined((yield* RouterConfig.decode(group(["a"]))).settings.latencyArgs)
      const error = yield* Effect.flip(RouterConfig.decode(group(["a"], { routing_strategy_args: { max_latency_list_size: 0 } })))
      assert.include(error.issues.map((i) => i.path).join(), "routing_strategy_args.max_latency_list_size")
    }))
})

describe("latency-based-routing, properties", () => {
  const Slowdown = Schema.Struct({
    slow: Schema.Literals(["a", "b", "c"]),
    factor: Schema.Int.check(Schema.isBetween({ minimum: 3, maximum: 10 })),
    seed: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000 }))
  })
  it.effect.prop(
    "any deployment slowing 3-10x is left within a few requests and has its share back within a minute of recovering",
    { case: Arbitrary.schema(Slowdown) },
    ({ case: { factor, seed, slow } }) =>
      Effect.gen(function*() {
        const perToken = (id: string) => (now: number, tokens: number) =>
          (id === slow && now >= 30 * SECOND && now < 90 * SECOND ? factor : 1) * 10 * tokens
        const h = yield* harness(group(["a", "b", "c"]), { a: latency(perToken("a")), b: latency(perToken("b")), c: latency(perToken("c")) })
        yield* steady(h, 100, 150 * SECOND)
        const whileSlow = h.log.filter((c) => c.deployment === slow && c.at >= 30 * SECOND && c.at < 90 * SECOND).length
        assert.isAtMost(whileSlow, 20)
        // Recovered at 90 s: within a minute, a 5 s window in which it has a fair share (a fifth at least), as the bench counts a return.
        const windows = Array.from({ length: 12 }, (_, i) => share(h, slow, 90 * SECOND + i * 5 * SECOND, 95 * SECOND + i * 5 * SECOND))
        assert.isTrue(windows.some((s) => s >= 0.2), `${slow} ${factor}x, seed ${seed}: shares after recovery: ${windows.map((s) => s.toFixed(2)).join(" ")}`)
      }).pipe(Random.withSeed(seed)),
    { timeout: 120_000, arbitrary: { runs: 12, seed: 16 } }
  )

  const Spread = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 5 }))
  const NearEqual = Schema.Struct({
    spreads: Schema.Tuple([Spread, Spread, Spread]),
    seed: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000 }))
  })
  it.effect.prop(
    "three deployments within 5 % of one another each take at least 15 % of the traffic",
    { case: Arbitrary.schema(NearEqual) },
    ({ case: { seed, spreads } }) =>
      Effect.gen(function*() {
        const ids = ["a", "b", "c"] as const
        const behaviours = Object.fromEntries(ids.map((id, i) => [id, latency((_, t) => (10 + spreads[i]! / 10) * t)]))
        const h = yield* harness(group(ids), behaviours)
        yield* steady(h, 100, 60 * SECOND)
        for (const id of ids) assert.isAtLeast(share(h, id, 0, 60 * SECOND), 0.15, `${id} with spreads ${spreads}`)
      }).pipe(Random.withSeed(seed)),
    { timeout: 120_000, arbitrary: { runs: 12, seed: 16 } }
  )
})

describe("the strategy's picks", () => {
  const d = (id: string) => ({ id }) as Parameters<LatencyRouting.LatencyRouting["pick"]>[0][number]
  const snapshotAt = (now: number): RouterState.Snapshot => ({ now, stats: new Map() })
  const answer = (lr: LatencyRouting.LatencyRouting, id: string, at: number, ms: number, tokens = 100) =>
    lr.observer.answered(lr.observer.started(id, false, at - ms), { latencyMs: ms, outputTokens: tokens }, at)

  const pickAt = (lr: LatencyRouting.LatencyRouting, ds: ReadonlyArray<ReturnType<typeof d>>, now: number, random = 0.99) =>
    lr.pick(ds, { snapshot: snapshotAt(now), streaming: false, random }).id

  it("a deployment that was the fastest and slowed down is probed after probeAfterMs times how much slower (at most 30 s), one at a time", () => {
    const lr = LatencyRouting.make({ probeAfterMs: 10_000 })
    const ds = [d("a"), d("b")]
    for (let t = 1000; t <= 3000; t += 500) {
      answer(lr, "a", t, 1000)
      answer(lr, "b", t, 800)
    }
    assert.strictEqual(pickAt(lr, ds, 3000, 0), "b")
    // b becomes five times slower than it was.
    for (let t = 3500; t <= 6000; t += 500) answer(lr, "b", t, 4000)
    for (let t = 4000; t <= 35_000; t += 1000) answer(lr, "a", t, 1000)
    // Four times slower than a now: probed 30 s after its last answer (at 6 s), not sooner.
    assert.strictEqual(pickAt(lr, ds, 35_000), "a")
    answer(lr, "a", 36_500, 1000)
    assert.strictEqual(pickAt(lr, ds, 36_500), "b")
    const probe = lr.observer.started("b", false, 36_500)
    // With the probe in flight, no second one.
    assert.strictEqual(pickAt(lr, ds, 36_600), "a")
    lr.observer.answered(probe, { latencyMs: 800, outputTokens: 100 }, 37_300)
    // Its old samples have faded: one answer at its usual speed makes it the fastest again.
    assert.strictEqual(pickAt(lr, ds, 37_300, 0), "b")
  })

  it("a deployment slower than the fastest from the start is probed every two minutes only: a probe there costs and seldom finds a change", () => {
    const lr = LatencyRouting.make({ probeAfterMs: 10_000 })
    const ds = [d("a"), d("b")]
    answer(lr, "a", 1000, 1000)
    answer(lr, "b", 1000, 1300)
    const probes: Array<number> = []
    for (let t = 2000; t <= 300_000; t += 1000) {
      answer(lr, "a", t, 1000)
      if (pickAt(lr, ds, t) === "b") {
        probes.push(t)
        answer(lr, "b", t + 1300, 1300)
      }
    }
    // Were it a deployment that may come back, every 13 s (10 s times 1.3).
    assert.deepStrictEqual(probes, [122_000, 244_000])
  })

  it("a probe's answer within the buffer is confirmed by one call at a time, not followed by a herd; a second answer ends that", () => {
    const lr = LatencyRouting.make({ probeAfterMs: 10_000 })
    const ds = [d("a"), d("b")]
    answer(lr, "a", 1000, 1000)
    answer(lr, "b", 1000, 1300)
    for (let t = 2000; t <= 122_000; t += 1000) answer(lr, "a", t, 1000)
    assert.strictEqual(pickAt(lr, ds, 122_000), "b")
    // A lucky answer: as fast as a.
    lr.observer.answered(lr.observer.started("b", false, 122_000), { latencyMs: 1000, outputTokens: 100 }, 123_000)
    const picks = (now: number) => new Set(Array.from({ length: 20 }, (_, i) => pickAt(lr, ds, now, i / 20)))
    assert.deepStrictEqual([...picks(123_000)].sort(), ["a", "b"])
    const confirming = lr.observer.started("b", false, 123_000)
    // One call to b in flight, on one answer: the others go to a.
    assert.deepStrictEqual([...picks(123_100)], ["a"])
    // A second answer as fast confirms it: b shares the traffic, several calls at once.
    lr.observer.answered(confirming, { latencyMs: 1000, outputTokens: 100 }, 124_000)
    lr.observer.started("b", false, 124_000)
    assert.deepStrictEqual([...picks(124_100)].sort(), ["a", "b"])
  })

  it("whole answers are compared at one length: one that answered long is not slow, one that answered short is not fast", () => {
    const lr = LatencyRouting.make()
    const ds = [d("a"), d("b")]
    // a: long answers at 10 ms a token (6.3 s each); b: short ones at 20 ms a token (1 s each).
    for (let t = 10_000; t <= 12_000; t += 500) {
      answer(lr, "a", t, 300 + 10 * 600, 600)
      answer(lr, "b", t, 1000, 50)
    }
    // By raw latency b is six times faster; at one length, a is.
    for (let r = 0; r < 1; r += 0.1) assert.strictEqual(pickAt(lr, ds, 12_000, r), "a")
  })

  it("deployments within the buffer of the fastest share the traffic at random; one beyond it gets none", () => {
    const lr = LatencyRouting.make({ lowestLatencyBuffer: 0.2 })
    const ds = [d("a"), d("b"), d("c")]
    for (const [id, ms] of [["a", 1000], ["b", 1150], ["c", 1300]] as const) answer(lr, id, 1000, ms)
    const counts = new Map<string, number>()
    for (let r = 0; r < 1; r += 0.001) {
      const id = lr.pick(ds, { snapshot: snapshotAt(1000), streaming: false, random: r }).id
      counts.set(id, (counts.get(id) ?? 0) + 1)
    }
    assert.isUndefined(counts.get("c"))
    assert.strictEqual(counts.get("a"), 500)
    assert.strictEqual(counts.get("b"), 500)
  })
})

/**
 * The cooldown rule (`applyFailure`), the in-memory store on TestClock, and the error policy
 * table that tells the router what each failure means.
 */
import { assert, describe, it } from "@effect/vitest"
import { LlmError, RouterState } from "@llm-router/core"
import { Deferred, Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

const failure = (fields: Partial<RouterState.Failure> = {}): RouterState.Failure => ({
  reason: "InternalServerError",
  countsTowardCooldown: true,
  coolsImmediately: false,
  allowedFails: 2,
  cooldownMs: 5000,
  ...fields
})

const apply = (failures: ReadonlyArray<readonly [number, RouterState.Failure]>, start = RouterState.emptyEntry) =>
  failures.reduce((entry, [now, f]) => RouterState.applyFailure(entry, f, now), start)

describe("applyFailure", () => {
  it("cools down on more than allowedFails failures within the window, and starts counting afresh", () => {
    const two = apply([[1000, failure()], [2000, failure()]])
    assert.strictEqual(two.cooldownUntil, 0)
    const three = RouterState.applyFailure(two, failure(), 3000)
    assert.strictEqual(three.cooldownUntil, 8000)
    assert.strictEqual(three.cooldownReason, "InternalServerError")
    assert.strictEqual(three.failures.length, 0)
  })

  it("forgets failures older than a minute", () => {
    const entry = apply([[0, failure()], [30_000, failure()], [61_000, failure()]])
    assert.strictEqual(entry.cooldownUntil, 0)
    assert.deepStrictEqual(entry.failures, [30_000, 61_000])
    assert.strictEqual(RouterState.applyFailure(entry, failure(), 62_000).cooldownUntil, 67_000)
  })

  it("cools at once when the failure says so, whatever allowedFails is", () => {
    const entry = apply([[500, failure({ coolsImmediately: true, allowedFails: 100, cooldownMs: 30_000 })]])
    assert.strictEqual(entry.cooldownUntil, 30_500)
  })

  it("failures the request caused only end the in-flight call", () => {
    const start = { ...RouterState.emptyEntry, inFlight: 2 }
    const entry = apply([[0, failure({ countsTowardCooldown: false, coolsImmediately: true, allowedFails: 0 })]], start)
    assert.strictEqual(entry.cooldownUntil, 0)
    assert.strictEqual(entry.failures.length, 0)
    assert.strictEqual(entry.inFlight, 1)
  })

  it("a new cooldown never shortens one already running", () => {
    const cooling = apply([[0, failure({ coolsImmediately: true, cooldownMs: 60_000 })]])
    const again = RouterState.applyFailure(cooling, failure({ coolsImmediately: true, cooldownMs: 1000 }), 10_000)
    assert.strictEqual(again.cooldownUntil, 60_000)
    const longer = RouterState.applyFailure(cooling, failure({ coolsImmediately: true, cooldownMs: 90_000 }), 10_000)
    assert.strictEqual(longer.cooldownUntil, 100_000)
  })

  it("a zero cooldown time never takes a deployment out of rotation", () => {
    const entry = apply([[0, failure({ coolsImmediately: true, cooldownMs: 0 })]])
    assert.strictEqual(entry.cooldownUntil, 0)
  })
})

describe("applyStart and applySuccess", () => {
  it("make a new entry and leave the one given as it was", () => {
    const started = RouterState.applyStart(RouterState.emptyEntry, 1000)
    const served = RouterState.applySuccess(started, { latencyMs: 30, timeToFirstChunkMs: 3, tokens: 9 }, 1200)
    assert.deepStrictEqual(RouterState.emptyEntry, {
      cooldownUntil: 0, cooldownReason: "", failures: [], outcomeBucket: 0, outcomes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      inFlight: 0, latencies: [], latencyTimes: [], ttfcs: [], ttfcTimes: [], minute: 0, requests: 0, tokens: 0
    })
    assert.deepStrictEqual([started.inFlight, started.requests, started.latencies], [1, 1, []])
    assert.deepStrictEqual(
      [served.inFlight, served.requests, served.tokens, served.latencies, served.latencyTimes, served.ttfcs],
      [0, 1, 9, [30], [1200], [3]]
    )
  })

  it("keep the last ten samples and start a new minute's counts", () => {
    let entry = RouterState.emptyEntry
    for (let i = 1; i <= 12; i++) entry = RouterState.applySuccess(RouterState.applyStart(entry, i), { latencyMs: i, tokens: 1 }, i)
    assert.deepStrictEqual(entry.latencies, [3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    assert.deepStrictEqual(entry.latencyTimes, [3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    assert.deepStrictEqual([entry.requests, entry.tokens], [12, 12])
    const nextMinute = RouterState.applyStart(entry, 60_000)
    assert.deepStrictEqual([nextMinute.requests, nextMinute.tokens, nextMinute.inFlight], [1, 0, 1])
  })
})

describe("admitCooldown", () => {
  it("takes the deployment out until the given time and clears its failure count", () => {
    const failing = apply([[1000, failure()], [2000, failure()]])
    const cooled = RouterState.admitCooldown(failing, { until: 62_000, reason: "RateLimited" }, 2_000)
    assert.strictEqual(cooled.cooldownUntil, 62_000)
    assert.strictEqual(cooled.cooldownReason, "RateLimited")
    assert.deepStrictEqual(cooled.failures, [])
  })

  it("never shortens a cooldown already running, and ignores one already over", () => {
    const cooling = apply([[0, failure({ coolsImmediately: true, cooldownMs: 60_000 })]])
    assert.strictEqual(RouterState.admitCooldown(cooling, { until: 30_000, reason: "x" }, 10_000), cooling)
    assert.strictEqual(RouterState.admitCooldown(cooling, { until: 60_000, reason: "x" }, 10_000), cooling)
    assert.strictEqual(RouterState.admitCooldown(cooling, { until: 90_000, reason: "x" }, 10_000).cooldownUntil, 90_000)
    assert.strictEqual(RouterState.admitCooldown(RouterState.emptyEntry, { until: 5_000, reason: "x" }, 5_000), RouterState.emptyEntry)
  })
})

describe("memory store", () => {
  it.effect("reports cooldowns on TestClock and lets them expire", () =>
    Effect.gen(function*() {
      const state = yield* RouterState.makeMemory
      yield* state.onStart("a")
      const started = yield* state.onFailure("a", failure({ coolsImmediately: true, cooldownMs: 5000, reason: "RateLimited" }))
      assert.deepStrictEqual(started, { deployment: "a", until: 5000, reason: "RateLimited" })
      const snap = yield* state.snapshot(["a", "b"])
      assert.strictEqual(snap.stats.get("a")?.cooldownUntil, 5000)
      assert.strictEqual(snap.stats.get("a")?.inFlight, 0)
      assert.strictEqual(snap.stats.get("b")?.cooldownUntil, 0)
      assert.deepStrictEqual((yield* state.cooldowns).map((c) => c.deployment), ["a"])
      // A failure that does not extend the cooldown reports no new cooldown.
      assert.isUndefined(yield* state.onFailure("a", failure({ coolsImmediately: true, cooldownMs: 1000 })))
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual((yield* state.snapshot(["a"])).stats.get("a")?.cooldownUntil, 5000)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* state.snapshot(["a"])).stats.get("a")?.cooldownUntil, 0)
      assert.deepStrictEqual(yield* state.cooldowns, [])
    }))

  it.effect("admits a cooldown from elsewhere, which then expires on its own", () =>
    Effect.gen(function*() {
      const state = yield* RouterState.makeMemory
      yield* TestClock.adjust("1 second")
      assert.isTrue(yield* state.admitCooldown({ deployment: "a", until: 11_000, reason: "ServiceUnavailable" }))
      assert.isFalse(yield* state.admitCooldown({ deployment: "a", until: 5_000, reason: "ServiceUnavailable" }))
      assert.deepStrictEqual(yield* state.cooldowns, [{ deployment: "a", until: 11_000, reason: "ServiceUnavailable" }])
      assert.strictEqual((yield* state.snapshot(["a"])).stats.get("a")?.cooldownUntil, 11_000)
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* state.cooldowns, [])
      // A cooldown that ended while it travelled changes nothing.
      assert.isFalse(yield* state.admitCooldown({ deployment: "b", until: 11_000, reason: "x" }))
    }))

  it.effect("the recent failure rate: the failed share of the calls ended in the last minute, in ten-second buckets", () =>
    Effect.gen(function*() {
      const state = yield* RouterState.makeMemory
      const rate = Effect.map(state.snapshot(["a"]), (s) => s.stats.get("a")?.recentFailureRate)
      assert.isUndefined(yield* rate)
      const ok = Effect.andThen(state.onStart("a"), state.onSuccess("a", { latencyMs: 10, tokens: 5 }))
      const fail = Effect.andThen(state.onStart("a"), state.onFailure("a", failure({ allowedFails: 1_000 })))
      const callerFault = Effect.andThen(state.onStart("a"), state.onFailure("a", failure({ countsTowardCooldown: false })))
      // With cooldowns off (`disable_cooldowns`) a failure still counts in the rate.
      const failNoCooldown = Effect.andThen(state.onStart("a"), state.onFailure("a", failure({ countsTowardCooldown: false, countsAsFailure: true })))
      // At volume the rate is the true share, not skewed by a cap on either side.
      for (let i = 0; i < 198; i++) yield* ok
      yield* fail
      yield* failNoCooldown
      yield* callerFault
      assert.strictEqual(yield* rate, 2 / 200)
      // Since the last success: one failure counted toward allowed_fails (the other is not a cooldown's).
      assert.strictEqual((yield* state.snapshot(["a"])).stats.get("a")?.recentFailures, 1)
      // 55 s later the first calls are still in the minute.
      yield* TestClock.adjust("55 seconds")
      yield* fail
      assert.strictEqual(yield* rate, 3 / 201)
      // 10 s on, their bucket has left the window: only the last failure is recent, at full weight.
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* rate, 1)
      // A success after it counts beside it; a minute after both, nothing is recent.
      yield* ok
      assert.strictEqual(yield* rate, 0.5)
      yield* TestClock.adjust("61 seconds")
      assert.isUndefined(yield* rate)
    }))

  it.effect("a success clears the failure count at once", () =>
    Effect.gen(function*() {
      const state = yield* RouterState.makeMemory
      const fail = Effect.andThen(state.onStart("a"), state.onFailure("a", failure({ allowedFails: 2 })))
      yield* fail
      yield* fail
      assert.strictEqual((yield* state.snapshot(["a"])).stats.get("a")?.recentFailures, 2)
      yield* state.onStart("a")
      yield* state.onSuccess("a", { latencyMs: 10, tokens: 5 })
      assert.strictEqual((yield* state.snapshot(["a"])).stats.get("a")?.recentFailures, 0)
      // Two more failures are within allowedFails again: no cooldown.
      assert.isUndefined(yield* fail)
      assert.isUndefined(yield* fail)
      assert.isDefined(yield* fail)
    }))

  it.effect("tracks calls in flight, latency over the last ten samples and per-minute usage", () =>
    Effect.gen(function*() {
      const state = yield* RouterState.makeMemory
      yield* state.onStart("a")
      yield* state.onStart("a")
      assert.strictEqual((yield* state.snapshot(["a"])).stats.get("a")?.inFlight, 2)
      yield* state.onSuccess("a", { latencyMs: 1000, timeToFirstChunkMs: 100, tokens: 7 })
      for (let i = 0; i < 10; i++) {
        yield* state.onStart("a")
        yield* state.onSuccess("a", { latencyMs: 100, tokens: 1 })
      }
      const stats = (yield* state.snapshot(["a"])).stats.get("a")!
      assert.strictEqual(stats.inFlight, 1)
      assert.strictEqual(stats.latencyMs, 100, "the 1000 ms sample fell out of the last ten")
      assert.strictEqual(stats.timeToFirstChunkMs, 100)
      assert.strictEqual(stats.requestsThisMinute, 12)
      assert.strictEqual(stats.tokensThisMinute, 17)
      yield* TestClock.adjust(Duration.minutes(1))
      const next = (yield* state.snapshot(["a"])).stats.get("a")!
      assert.strictEqual(next.requestsThisMinute, 0)
      assert.strictEqual(next.tokensThisMinute, 0)
    }))

  it.effect("concurrent calls on one deployment are counted exactly: each update is one atomic step on its entry", () =>
    Effect.gen(function*() {
      const state = yield* RouterState.makeMemory
      const stats = Effect.map(state.snapshot(["a"]), (s) => s.stats.get("a")!)
      const calls = 200
      const started = yield* Deferred.make<void>()
      const end = yield* Deferred.make<void>()
      let running = 0
      // Each fiber starts, yields to the others mid-call, and ends one way or another.
      const call = (i: number) =>
        Effect.gen(function*() {
          yield* state.onStart("a")
          if (++running === calls) yield* Deferred.succeed(started, undefined)
          yield* Deferred.await(end)
          if (i % 4 === 0) yield* state.onFailure("a", failure({ countsTowardCooldown: false }))
          else yield* state.onSuccess("a", { latencyMs: i, tokens: 2 })
        })
      const all = yield* Effect.forkChild(Effect.forEach(Array.from({ length: calls }, (_, i) => i), call, { concurrency: "unbounded" }))
      yield* Deferred.await(started)
      assert.strictEqual((yield* stats).inFlight, calls)
      yield* Deferred.succeed(end, undefined)
      yield* Fiber.join(all)
      const after = yield* stats
      assert.strictEqual(after.inFlight, 0)
      assert.strictEqual(after.requestsThisMinute, calls)
      assert.strictEqual(after.tokensThisMinute, 2 * (calls - calls / 4))
    }))

  it.effect("stats read again in the same millisecond show every update made in between", () =>
    Effect.gen(function*() {
      const state = yield* RouterState.makeMemory
      const snapshot = yield* state.snapshot(["a"])
      assert.strictEqual(snapshot.stats.get("a")!.inFlight, 0)
      yield* state.onStart("a")
      assert.strictEqual(snapshot.stats.get("a")!.inFlight, 1)
      yield* state.onSuccess("a", { latencyMs: 40, timeToFirstChunkMs: 4, tokens: 3 })
      const served = snapshot.stats.get("a")!
      assert.deepStrictEqual([served.inFlight, served.latencyP50Ms, served.timeToFirstChunkMs, served.tokensThisMinute], [0, 40, 4, 3])
      yield* state.onStart("a")
      yield* state.onSuccess("a", { latencyMs: 20, tokens: 1 })
      const twice = snapshot.stats.get("a")!
      assert.deepStrictEqual([twice.latencyP50Ms, twice.latencyMs, twice.timeToFirstChunkMs], [20, 30, 4])
    }))

  it.effect("a snapshot says when nothing is cooling, so a router need not read each deployment", () =>
    Effect.gen(function*() {
      const state = yield* RouterState.makeMemory
      assert.isTrue((yield* state.snapshot(["a", "b"])).noneCooling)
      yield* state.onStart("a")
      yield* state.onFailure("a", failure({ coolsImmediately: true, cooldownMs: 5000 }))
      assert.isFalse((yield* state.snapshot(["b"])).noneCooling)
      yield* TestClock.adjust("5 seconds")
      assert.isTrue((yield* state.snapshot(["a", "b"])).noneCooling)
      assert.isTrue(yield* state.admitCooldown({ deployment: "b", until: 9000, reason: "RateLimited" }))
      assert.isFalse((yield* state.snapshot(["a"])).noneCooling)
    }))

  it.effect("latency percentiles over samples that expire after LATENCY_WINDOW_MS", () =>
    Effect.gen(function*() {
      const state = yield* RouterState.makeMemory
      const succeed = (latencyMs: number, timeToFirstChunkMs?: number) =>
        Effect.andThen(state.onStart("a"), state.onSuccess("a", { latencyMs, timeToFirstChunkMs, tokens: 1 }))
      const statsNow = Effect.map(state.snapshot(["a"]), (s) => s.stats.get("a")!)
      // Old samples: five slow calls.
      for (let i = 0; i < 5; i++) yield* succeed(1000, 500)
      yield* TestClock.adjust(RouterState.LATENCY_WINDOW_MS - 60_000)
      // Recent samples: 10, 20, …, 50 ms.
      for (let i = 1; i <= 5; i++) yield* succeed(i * 10)
      const both = yield* statsNow
      assert.strictEqual(both.latencyP50Ms, 50, "median of 10..50 and five 1000s (nearest rank)")
      assert.strictEqual(both.latencyP90Ms, 1000)
      assert.strictEqual(both.timeToFirstChunkP50Ms, 500)
      // A minute later the slow samples have expired; the recent ones have not.
      yield* TestClock.adjust(60_000)
      const recent = yield* statsNow
      assert.strictEqual(recent.latencyP50Ms, 30)
      assert.strictEqual(recent.latencyP90Ms, 50)
      assert.strictEqual(recent.latencyMs, 30)
      assert.isUndefined(recent.timeToFirstChunkP50Ms)
      // And then those too: the deployment counts as unmeasured.
      yield* TestClock.adjust(RouterState.LATENCY_WINDOW_MS)
      const none = yield* statsNow
      assert.isUndefined(none.latencyP50Ms)
      assert.isUndefined(none.latencyMs)
    }))
})

describe("error policy", () => {
  const origin = { provider: "p", message: "m" }
  const errors: ReadonlyArray<LlmError.LlmError> = [
    new LlmError.RateLimited(origin),
    new LlmError.RateLimited({ ...origin, quotaExhausted: true }),
    new LlmError.AuthenticationFailed(origin),
    new LlmError.PermissionDenied(origin),
    new LlmError.ModelNotFound(origin),
    new LlmError.BadRequest(origin),
    new LlmError.ContextWindowExceeded(origin),
    new LlmError.ContentPolicyViolation(origin),
    new LlmError.Timeout({ ...origin, phase: "request" }),
    new LlmError.ConnectionFailed(origin),
    new LlmError.ServiceUnavailable(origin),
    new LlmError.InternalServerError(origin)
  ]
  const cannotSucceedThere = new Set(["AuthenticationFailed", "PermissionDenied", "ModelNotFound", "BadRequest", "ContextWindowExceeded", "ContentPolicyViolation"])

  it("never retries the same deployment on errors that cannot succeed there", () => {
    for (const error of errors) {
      const quota = error._tag === "RateLimited" && error.quotaExhausted === true
      const expected = !(cannotSucceedThere.has(error._tag) || quota)
      assert.strictEqual(LlmError.policy(error).retrySameDeployment, expected, `${error._tag}${quota ? " (quota)" : ""}`)
    }
  })

  it("rate limits, broken keys, permissions, unknown models and exhausted quotas cool at once", () => {
    const immediate = errors.filter((e) => LlmError.policy(e).coolsImmediately).map((e) => e._tag)
    assert.deepStrictEqual(immediate, ["RateLimited", "RateLimited", "AuthenticationFailed", "PermissionDenied", "ModelNotFound"])
  })

  it("errors the request caused do not count toward cooldown and select their own chain", () => {
    assert.strictEqual(LlmError.policy(new LlmError.BadRequest(origin)).fallback, "none")
    assert.strictEqual(LlmError.policy(new LlmError.ContextWindowExceeded(origin)).fallback, "context-window")
    assert.strictEqual(LlmError.policy(new LlmError.ContentPolicyViolation(origin)).fallback, "content-policy")
    for (const tag of ["BadRequest", "ContextWindowExceeded", "ContentPolicyViolation"]) {
      const p = LlmError.policy(errors.find((e) => e._tag === tag)!)
      assert.isFalse(p.countsTowardCooldown, tag)
      assert.isFalse(p.tryOtherDeployments, tag)
    }
  })

  it("retryAfterMillis reads the provider's hint", () => {
    assert.strictEqual(LlmError.retryAfterMillis(new LlmError.RateLimited({ ...origin, retryAfter: Duration.seconds(3) })), 3000)
    assert.isUndefined(LlmError.retryAfterMillis(new LlmError.RateLimited(origin)))
    assert.isUndefined(LlmError.retryAfterMillis(new LlmError.BadRequest(origin)))
    assert.isTrue(LlmError.isLlmError(errors[0]))
    assert.isFalse(LlmError.isLlmError({ _tag: "Nope" }))
  })
})

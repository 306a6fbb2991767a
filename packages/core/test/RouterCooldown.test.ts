/**
 * Cooldown through the router, on TestClock: `allowed_fails` within a minute,
 * `allowed_fails_policy` per error kind, errors that cool at once, `cooldown_time` and the
 * provider's `retryAfter`, a success clearing the count, a new cooldown never shortening a
 * running one, and the rule that cooldowns alone never fail a request without a call.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import { TestClock } from "effect/testing"
import { assertTag, deployment, failOnClock, harness, request, SimulatedProvider, succeedOnClock } from "./Fixture.ts"

const { fail, hang, succeed } = SimulatedProvider

/** Primary `a` (order 1) and backup `b` (order 2) in one group: every request tries `a` first unless it is cooling. */
const pair = (settings: Record<string, unknown>, script: ReadonlyArray<SimulatedProvider.Behavior>, a: Record<string, unknown> = {}) =>
  harness(
    { model_list: [deployment("gpt", "a", { order: 1, ...a }), deployment("gpt", "b", { order: 2 })], ...settings },
    { a: { script } }
  )

const coolingUntil = (h: { readonly state: { readonly snapshot: (ids: ReadonlyArray<string>) => Effect.Effect<{ readonly stats: ReadonlyMap<string, { readonly cooldownUntil: number }> }> } }, id: string) =>
  Effect.map(h.state.snapshot([id]), (s) => s.stats.get(id)?.cooldownUntil ?? 0)

describe("allowed_fails", () => {
  it.effect("more than allowed_fails failures within a minute take a deployment out for cooldown_time", () =>
    Effect.gen(function*() {
      const h = yield* pair({ allowed_fails: 2, cooldown_time: 10 }, [fail("InternalServerError"), fail("InternalServerError"), fail("InternalServerError")])
      for (let i = 0; i < 3; i++) {
        const { route } = yield* h.router.chat(request())
        assert.strictEqual(route.deployment, "b")
        assert.strictEqual(route.attempts, 2, `request ${i}: a failed, then b`)
        yield* TestClock.adjust("1 second")
      }
      // The third failure (at t=2 s) cooled a until t=12 s: a gets nothing until then.
      assert.strictEqual(yield* coolingUntil(h, "a"), 12_000)
      for (let i = 0; i < 5; i++) {
        const { route } = yield* h.router.chat(request())
        assert.strictEqual(route.attempts, 1)
        assert.strictEqual(route.deployment, "b")
        yield* TestClock.adjust("1 second")
      }
      assert.strictEqual(h.callsTo("a"), 3)
      yield* TestClock.adjust("4 seconds")
      // Back in rotation (its script is over: it succeeds now).
      assert.strictEqual((yield* h.router.chat(request())).route.deployment, "a")
    }))

  it.effect("failures spread over more than a minute do not cool", () =>
    Effect.gen(function*() {
      const h = yield* pair({ allowed_fails: 1 }, [fail("ServiceUnavailable"), fail("ServiceUnavailable"), fail("ServiceUnavailable")])
      for (let i = 0; i < 4; i++) {
        yield* h.router.chat(request())
        yield* TestClock.adjust("61 seconds")
      }
      assert.strictEqual(h.callsTo("a"), 4, "three failures and a success, never cooling")
      assert.strictEqual(h.callsTo("b"), 3)
    }))

  it.effect("a success clears the failure count at once", () =>
    Effect.gen(function*() {
      const h = yield* pair({ allowed_fails: 1 }, [fail("ServiceUnavailable"), succeed(), fail("ServiceUnavailable"), succeed()])
      for (let i = 0; i < 4; i++) yield* h.router.chat(request())
      // Without the successes in between, the second failure would have cooled a.
      assert.strictEqual(yield* coolingUntil(h, "a"), 0)
      assert.deepStrictEqual(h.order(), ["a", "b", "a", "a", "b", "a"])
    }))

  it.effect("allowed_fails_policy sets the limit per error kind", () =>
    Effect.gen(function*() {
      const settings = {
        allowed_fails: 100,
        timeout: 1,
        allowed_fails_policy: { TimeoutErrorAllowedFails: 0, InternalServerErrorAllowedFails: 3 }
      }
      const timeouts = yield* pair(settings, [hang])
      yield* succeedOnClock(timeouts.router.chat(request()), "1 second")
      assert.isAbove(yield* coolingUntil(timeouts, "a"), 0, "one timeout is more than 0 allowed")

      const errors = yield* pair(settings, Array(4).fill(fail("InternalServerError")))
      for (let i = 0; i < 3; i++) yield* errors.router.chat(request())
      assert.strictEqual(yield* coolingUntil(errors, "a"), 0, "three are allowed")
      yield* errors.router.chat(request())
      assert.isAbove(yield* coolingUntil(errors, "a"), 0, "the fourth is one too many")
    }))

  it.effect("disable_cooldowns keeps every deployment in rotation", () =>
    Effect.gen(function*() {
      const h = yield* pair({ allowed_fails: 0, disable_cooldowns: true }, [fail("RateLimited"), fail("AuthenticationFailed"), fail("ServiceUnavailable")])
      for (let i = 0; i < 4; i++) yield* h.router.chat(request())
      assert.strictEqual(h.callsTo("a"), 4)
    }))
})

describe("errors that cool at once", () => {
  const immediate: ReadonlyArray<readonly [string, SimulatedProvider.Behavior]> = [
    ["RateLimited", fail("RateLimited")],
    ["AuthenticationFailed", fail("AuthenticationFailed")],
    ["PermissionDenied", fail("PermissionDenied")],
    ["ModelNotFound", fail("ModelNotFound")],
    ["quota exhausted", fail("RateLimited", { quotaExhausted: true })]
  ]
  it.effect.each(immediate)("%s cools the deployment on the first failure", ([, behaviour]) =>
    Effect.gen(function*() {
      const h = yield* pair({ allowed_fails: 100, cooldown_time: 7 }, [behaviour])
      yield* h.router.chat(request())
      assert.strictEqual(yield* coolingUntil(h, "a"), 7000)
      yield* h.router.chat(request())
      assert.strictEqual(h.callsTo("a"), 1)
    }))

  const never: ReadonlyArray<readonly [string, SimulatedProvider.Behavior]> = [
    ["BadRequest", fail("BadRequest")],
    ["ContextWindowExceeded", fail("ContextWindowExceeded")],
    ["ContentPolicyViolation", fail("ContentPolicyViolation")]
  ]
  it.effect.each(never)("%s (the request's fault) never counts", ([, behaviour]) =>
    Effect.gen(function*() {
      const h = yield* pair({ allowed_fails: 0 }, [behaviour, behaviour, behaviour])
      for (let i = 0; i < 3; i++) yield* Effect.exit(h.router.chat(request()))
      assert.strictEqual(yield* coolingUntil(h, "a"), 0)
      assert.strictEqual(h.callsTo("a"), 3)
      assert.strictEqual(h.callsTo("b"), 0)
    }))
})

describe("cooldown length", () => {
  it.effect("a deployment's cooldown_time wins over the router's", () =>
    Effect.gen(function*() {
      const h = yield* pair({ cooldown_time: 5 }, [fail("RateLimited")], { cooldown_time: 42 })
      yield* h.router.chat(request())
      assert.strictEqual(yield* coolingUntil(h, "a"), 42_000)
    }))

  it.effect("the provider's retryAfter makes it longer, never shorter", () =>
    Effect.gen(function*() {
      const long = yield* pair({ cooldown_time: 5 }, [fail("RateLimited", { retryAfter: "20 seconds" })])
      yield* long.router.chat(request())
      assert.strictEqual(yield* coolingUntil(long, "a"), 20_000)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual((yield* long.router.chat(request())).route.deployment, "b", "still cooling after the default 5 s")
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual((yield* long.router.chat(request())).route.deployment, "a")

      const short = yield* pair({ cooldown_time: 5 }, [fail("RateLimited", { retryAfter: "1 second" })])
      yield* short.router.chat(request())
      assert.strictEqual(yield* coolingUntil(short, "a"), 25_000, "now + 5 s (TestClock is at 20 s)")
    }))

  it.effect("a new cooldown never shortens a running one", () =>
    Effect.gen(function*() {
      // One deployment: the second request finds it cooling and, rather than fail without a call, calls it anyway.
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], num_retries: 0, cooldown_time: 5 },
        { a: { script: [fail("RateLimited", { retryAfter: "50 seconds" }), fail("RateLimited", { retryAfter: "1 second" })] } }
      )
      yield* failOnClock(h.router.chat(request()), 0)
      assert.strictEqual(yield* coolingUntil(h, "a"), 50_000)
      yield* TestClock.adjust("1 second")
      yield* failOnClock(h.router.chat(request()), 0)
      assert.strictEqual(h.callsTo("a"), 2)
      assert.strictEqual(yield* coolingUntil(h, "a"), 50_000)
      assert.deepStrictEqual((yield* h.state.cooldowns).map((c) => [c.deployment, c.until]), [["a", 50_000]])
    }))
})

describe("cooldown never leaves a caller with nothing", () => {
  it.effect("every deployment of the group cooling: the one that recovers first is tried", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("gpt", "b"), deployment("gpt", "c")], num_retries: 2 },
        {
          a: { script: [fail("RateLimited", { retryAfter: "40 seconds" })] },
          b: { script: [fail("RateLimited", { retryAfter: "20 seconds" })] },
          c: { script: [fail("RateLimited", { retryAfter: "30 seconds" })] }
        }
      )
      const first = yield* failOnClock(h.router.chat(request()), 0)
      assertTag(first, "RateLimited")
      assert.strictEqual(h.log.length, 3)
      yield* TestClock.adjust("1 second")
      const { route } = yield* succeedOnClock(h.router.chat(request()), 0)
      assert.strictEqual(route.deployment, "b")
      assert.strictEqual(route.attempts, 1)
    }).pipe(Random.withSeed(2)))

  it.effect("the group and every fallback cooling: still one call, with the fallback chain after it", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("claude", "c")], fallbacks: [{ gpt: ["claude"] }], num_retries: 0 },
        {
          a: { script: [fail("RateLimited"), fail("ServiceUnavailable")] },
          c: { script: [fail("RateLimited")] }
        }
      )
      yield* failOnClock(h.router.chat(request()), 0)
      assert.deepStrictEqual(h.order(), ["a", "c"])
      // Both cool for 5 s. The next request calls a anyway, and when a fails, walks to claude.
      const { route } = yield* succeedOnClock(h.router.chat(request()), 0)
      assert.deepStrictEqual(h.order(), ["a", "c", "a", "c"])
      assert.strictEqual(route.deployment, "c")
      assert.deepStrictEqual(route.fallbacks, ["claude"])
    }))

  it.effect("a request that reached providers and failed returns the provider's error, not 'no deployments'", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("claude", "c")], fallbacks: [{ gpt: ["claude"] }], num_retries: 0 },
        { a: { script: [fail("RateLimited")] }, c: { script: [fail("RateLimited"), fail("AuthenticationFailed")] } }
      )
      yield* failOnClock(h.router.chat(request("claude")), 0)
      // claude is cooling; gpt's a fails (429), then claude is skipped as cooling: the 429 is what the caller sees.
      const error = yield* failOnClock(h.router.chat(request()), 0)
      assertTag(error, "RateLimited")
      assert.strictEqual(error.deployment, "a")
    }))
})

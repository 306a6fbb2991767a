/**
 * Retries within a model group, on TestClock: the attempt budget (`num_retries`), retrying on
 * another healthy deployment at once, backoff when there is none, the provider's
 * `retryAfter` (bounded by `max_retry_after`), and errors never retried where they cannot
 * succeed.
 */
import { assert, describe, it } from "@effect/vitest"
import type { LlmError } from "@llm-router/core"
import { Effect, Random } from "effect"
import { assertTag, deployment, failOnClock, harness, request, SimulatedProvider, succeedOnClock } from "./Fixture.ts"

const { fail, succeed } = SimulatedProvider
const times = (h: { readonly log: ReadonlyArray<{ readonly at: number }> }) => h.log.map((c) => c.at)
const gaps = (ts: ReadonlyArray<number>) => ts.slice(1).map((t, i) => t - ts[i]!)

describe("attempt budget", () => {
  it.effect("num_retries (default 2) allows at most three attempts per group", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a")] }, { a: { failureRates: [{ error: { tag: "InternalServerError" }, rate: 1 }] } })
      const error = yield* failOnClock(h.router.chat(request()))
      assertTag(error, "InternalServerError")
      assert.strictEqual(error.deployment, "a")
      assert.strictEqual(h.callsTo("a"), 3)
    }).pipe(Random.withSeed(1)))

  it.effect.each([0, 1, 4])("num_retries: %s gives num_retries + 1 attempts", (numRetries) =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("gpt", "b")], num_retries: numRetries, allowed_fails: 100 },
        {
          a: { failureRates: [{ error: { tag: "ConnectionFailed" }, rate: 1 }] },
          b: { failureRates: [{ error: { tag: "ConnectionFailed" }, rate: 1 }] }
        }
      )
      yield* failOnClock(h.router.chat(request()))
      assert.strictEqual(h.log.length, numRetries + 1)
    }).pipe(Random.withSeed(2)))

  it.effect("succeeds on the last allowed attempt", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], num_retries: 2 },
        { a: { script: [fail("InternalServerError"), fail("Timeout"), succeed("third time")] } }
      )
      const { response, route } = yield* succeedOnClock(h.router.chat(request()))
      assert.strictEqual(route.attempts, 3)
      assert.strictEqual(response.choices[0]?.message.content, "third time")
    }).pipe(Random.withSeed(3)))
})

describe("where and when a retry goes", () => {
  it.effect("prefers another healthy deployment of the group, and waits 0 for it", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("gpt", "b"), deployment("gpt", "c")] },
        {
          a: { script: [fail("InternalServerError")] },
          b: { script: [fail("InternalServerError")] },
          c: { script: [fail("InternalServerError")] }
        }
      )
      // Advancing the clock by 0: anything that sleeps would still be running.
      const error = yield* failOnClock(h.router.chat(request()), 0)
      assertTag(error, "InternalServerError")
      assert.deepStrictEqual([...h.order()].sort(), ["a", "b", "c"], "three different deployments")
      assert.deepStrictEqual(times(h), [0, 0, 0])
    }).pipe(Random.withSeed(4)))

  it.effect("with no other deployment, waits an exponential backoff with jitter (~0.5 s, ~1 s)", () =>
    Effect.gen(function*() {
      for (const seed of [1, 2, 3, 4, 5]) {
        const h = yield* harness(
          { model_list: [deployment("gpt", "a")], num_retries: 3, allowed_fails: 10 },
          { a: { failureRates: [{ error: { tag: "ServiceUnavailable" }, rate: 1 }] } }
        )
        yield* failOnClock(h.router.chat(request())).pipe(Random.withSeed(seed))
        const waits = gaps(times(h))
        assert.strictEqual(waits.length, 3)
        waits.forEach((wait, i) => {
          const base = 500 * 2 ** i
          assert.isAtLeast(wait, base * 0.8, `wait ${i} (seed ${seed})`)
          assert.isAtMost(wait, base * 1.2, `wait ${i} (seed ${seed})`)
        })
      }
    }))

  it.effect("retry_after sets a floor on the wait", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], num_retries: 1, retry_after: 3 },
        { a: { script: [fail("InternalServerError")] } }
      )
      yield* succeedOnClock(h.router.chat(request()))
      assert.deepStrictEqual(times(h), [0, 3000])
    }).pipe(Random.withSeed(5)))

  it.effect("a retry spreads over the other deployments before it repeats one", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("gpt", "b")], num_retries: 3, allowed_fails: 10 },
        {
          a: { failureRates: [{ error: { tag: "ServiceUnavailable" }, rate: 1 }] },
          b: { failureRates: [{ error: { tag: "ServiceUnavailable" }, rate: 1 }] }
        }
      )
      yield* failOnClock(h.router.chat(request()))
      const order = h.order()
      assert.strictEqual(order.length, 4)
      assert.notStrictEqual(order[0], order[1], "the first retry goes to the other deployment")
      assert.deepStrictEqual(times(h).slice(0, 2), [0, 0])
    }).pipe(Random.withSeed(6)))
})

describe("retryAfter from the provider", () => {
  it.effect("is honoured when no other deployment can take the retry", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")] },
        { a: { script: [fail("ServiceUnavailable", { retryAfter: "7 seconds" })] } }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request()))
      assert.deepStrictEqual(times(h), [0, 7000])
      assert.strictEqual(route.latencyMs, 7000)
    }).pipe(Random.withSeed(7)))

  it.effect("a 429 with retryAfter on the only deployment: waits it out and retries", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")] },
        { a: { script: [fail("RateLimited", { retryAfter: "30 seconds" })] } }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request()))
      assert.deepStrictEqual(times(h), [0, 30_000])
      assert.strictEqual(route.attempts, 2)
    }).pipe(Random.withSeed(8)))

  it.effect("a retryAfter beyond max_retry_after skips to the fallbacks at once", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("backup", "z")], fallbacks: [{ gpt: ["backup"] }] },
        { a: { script: [fail("ServiceUnavailable", { retryAfter: "90 seconds" })] } }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request()), 0)
      assert.deepStrictEqual(h.order(), ["a", "z"])
      assert.deepStrictEqual(times(h), [0, 0])
      assert.deepStrictEqual(route.fallbacks, ["backup"])
    }).pipe(Random.withSeed(9)))

  it.effect("max_retry_after raises the bound", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], max_retry_after: 120 },
        { a: { script: [fail("ServiceUnavailable", { retryAfter: "90 seconds" })] } }
      )
      yield* succeedOnClock(h.router.chat(request()))
      assert.deepStrictEqual(times(h), [0, 90_000])
    }).pipe(Random.withSeed(10)))

  it.effect("without fallbacks, a retryAfter beyond the bound fails the request with the provider's error", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")] },
        { a: { script: [fail("ServiceUnavailable", { retryAfter: "2 minutes" })] } }
      )
      const error = yield* failOnClock(h.router.chat(request()), 0)
      assertTag(error, "ServiceUnavailable")
      assert.strictEqual(h.log.length, 1)
    }).pipe(Random.withSeed(11)))
})

describe("errors that cannot succeed on the same deployment", () => {
  const cases: ReadonlyArray<readonly [string, SimulatedProvider.Behavior, boolean]> = [
    // [name, behaviour, whether another deployment of the group may still succeed]
    ["AuthenticationFailed", fail("AuthenticationFailed", { status: 401 }), true],
    ["PermissionDenied", fail("PermissionDenied", { status: 403 }), true],
    ["ModelNotFound", fail("ModelNotFound", { status: 404 }), true],
    ["quota exhausted", fail("RateLimited", { quotaExhausted: true, status: 429 }), true],
    ["BadRequest", fail("BadRequest", { status: 400 }), false],
    ["ContextWindowExceeded", fail("ContextWindowExceeded", { status: 400 }), false],
    ["ContentPolicyViolation", fail("ContentPolicyViolation", { status: 400 }), false]
  ]

  it.effect.each(cases)("%s: never retried on the same deployment", ([, behaviour]) =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], num_retries: 3 },
        { a: { script: [behaviour, behaviour, behaviour, behaviour] } }
      )
      const error = yield* failOnClock(h.router.chat(request()))
      assert.strictEqual(h.callsTo("a"), 1)
      assert.strictEqual(error.deployment ?? "a", "a")
    }).pipe(Random.withSeed(12)))

  it.effect.each(cases)("%s: another deployment of the group is tried only when the deployment (not the request) is at fault", ([, behaviour, others]) =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })], num_retries: 3 },
        { a: { script: [behaviour, behaviour, behaviour, behaviour] } }
      )
      const exit = yield* Effect.exit(failOnClock(h.router.chat(request())))
      assert.strictEqual(h.callsTo("a"), 1)
      assert.strictEqual(h.callsTo("b"), others ? 1 : 0)
      // The request succeeds on b exactly when b was tried.
      assert.strictEqual(exit._tag === "Failure", others, "failOnClock dies when the request succeeds")
      if (exit._tag === "Success") {
        const expected: LlmError.Tag = behaviour._tag === "Fail" ? behaviour.error.tag : "InternalServerError"
        assertTag(exit.value, expected)
      }
    }).pipe(Random.withSeed(13)))
})

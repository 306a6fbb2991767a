/**
 * Retry policies on TestClock: LiteLLM's `retry_policy` (retries per error kind over
 * `num_retries`), `model_group_retry_policy` (per group, over `retry_policy`), and from code a
 * `Schedule` per error kind; the config decoder refuses unknown policy keys with their path.
 */
import { assert, describe, it } from "@effect/vitest"
import { RouterConfig } from "@llm-router/core"
import { Effect, Random, Schedule } from "effect"
import { assertTag, deployment, failOnClock, harness, request, SimulatedProvider, succeedOnClock } from "./Fixture.ts"

const { fail, succeed } = SimulatedProvider
const always = (tag: "InternalServerError" | "RateLimited" | "Timeout") => ({ failureRates: [{ error: { tag }, rate: 1 }] })

describe("retry_policy", () => {
  it.effect("retries per error kind, over num_retries", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "a")],
          num_retries: 0,
          allowed_fails: 100,
          retry_policy: { InternalServerErrorRetries: 3 }
        },
        { a: always("InternalServerError") }
      )
      assertTag(yield* failOnClock(h.router.chat(request())), "InternalServerError")
      assert.strictEqual(h.callsTo("a"), 4)
    }).pipe(Random.withSeed(1)))

  it.effect("a kind the policy does not name keeps num_retries", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "a"), deployment("gpt", "b")],
          num_retries: 1,
          allowed_fails: 100,
          retry_policy: { RateLimitErrorRetries: 5 }
        },
        { a: always("Timeout"), b: always("Timeout") }
      )
      assertTag(yield* failOnClock(h.router.chat(request())), "Timeout")
      assert.strictEqual(h.log.length, 2)
    }).pipe(Random.withSeed(2)))

  it.effect("zero retries for a kind: one attempt, though another deployment is healthy", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })],
          num_retries: 3,
          retry_policy: { TimeoutErrorRetries: 0 }
        },
        { a: { script: [fail("Timeout")] } }
      )
      assertTag(yield* failOnClock(h.router.chat(request())), "Timeout")
      assert.deepStrictEqual(h.order(), ["a"])
    }))

  it.effect("model_group_retry_policy overrides retry_policy for its group only", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "a"), deployment("claude", "c")],
          num_retries: 0,
          allowed_fails: 100,
          retry_policy: { InternalServerErrorRetries: 2 },
          model_group_retry_policy: { gpt: { InternalServerErrorRetries: 0 } }
        },
        { a: always("InternalServerError"), c: always("InternalServerError") }
      )
      yield* failOnClock(h.router.chat(request("gpt")))
      assert.strictEqual(h.callsTo("a"), 1)
      yield* failOnClock(h.router.chat(request("claude")))
      assert.strictEqual(h.callsTo("c"), 3)
    }).pipe(Random.withSeed(3)))

  it.effect("the decoder refuses unknown keys and groups, with their path", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RouterConfig.decode({
        model_list: [deployment("gpt", "a")],
        retry_policy: { RateLimitErrorRetrys: 1 },
        model_group_retry_policy: { nope: { TimeoutErrorRetries: 1 } }
      }))
      const paths = error.issues.map((i) => i.path)
      assert.include(paths, "retry_policy.RateLimitErrorRetrys")
      assert.include(paths, "model_group_retry_policy.nope")
    }))
})

describe("retry policies from code", () => {
  it.effect("a Schedule per error kind sets the wait before a retry on the same deployment", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], num_retries: 2 },
        { a: { script: [fail("ServiceUnavailable"), fail("InternalServerError"), succeed()] } },
        {
          retryPolicy: {
            scheduleByError: { ServiceUnavailable: Schedule.spaced("10 seconds") },
            schedule: Schedule.spaced("3 seconds")
          }
        }
      )
      yield* succeedOnClock(h.router.chat(request()))
      assert.deepStrictEqual(h.log.map((c) => c.at), [0, 10_000, 13_000])
    }))

  it.effect("a group's policy from code wins over the config's", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "a")],
          num_retries: 0,
          allowed_fails: 100,
          model_group_retry_policy: { gpt: { InternalServerErrorRetries: 0 } }
        },
        { a: always("InternalServerError") },
        { retryPolicies: { gpt: { retries: 2, schedule: Schedule.spaced("1 second") } } }
      )
      yield* failOnClock(h.router.chat(request()))
      assert.strictEqual(h.callsTo("a"), 3)
    }).pipe(Random.withSeed(4)))
})

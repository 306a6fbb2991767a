/**
 * An app's pipeline that names the router's own filters (`Strategy.members` and the built-in
 * steps) runs as written: a built-in filter it leaves out does not act, one it places after its
 * own steps acts there and answers its refusal; a pipeline from `Strategy.candidates` still
 * gets the router's filters first. The request's own exclusions hold whatever the pipeline.
 */
import { assert, describe, it } from "@effect/vitest"
import { LlmError, Strategy } from "@llm-router/core"
import { Duration, Effect, pipe } from "effect"
import { deployment, failOnClock, harness, request, SimulatedProvider, succeedOnClock } from "./Fixture.ts"

/** Primary `a` (order 1) and backup `b` (order 2), no retries unless asked. */
const pair = { model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })], num_retries: 0 }

/** Cools `a` for a minute, as a 429 would. */
const coolA = (h: { readonly state: { readonly onFailure: (id: string, failure: any) => Effect.Effect<unknown> } }) =>
  h.state.onFailure("a", { reason: "RateLimited", countsTowardCooldown: true, coolsImmediately: true, allowedFails: 0, cooldownMs: 60_000 })

describe("an app's pipeline of the router's filters", () => {
  it.effect("Strategy.failureRate sees a failing deployment with cooldowns disabled, and routes around it", () =>
    Effect.gen(function*() {
      const reliable = pipe(Strategy.candidates, Strategy.prefer((d, context) => Strategy.failureRate(d, context) < 0.5), Strategy.pick(Strategy.first))
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("gpt", "b")], disable_cooldowns: true, num_retries: 1 },
        { a: { failureRates: [{ error: { tag: "ServiceUnavailable" as const }, rate: 1 }] } },
        { strategy: reliable }
      )
      // The first request fails on a and retries on b; from then on a's rate keeps it out.
      for (let i = 0; i < 5; i++) yield* succeedOnClock(h.router.chat(request()), 0)
      assert.deepStrictEqual(h.order(), ["a", "b", "b", "b", "b", "b"])
      assert.strictEqual((yield* h.state.snapshot(["a"])).stats.get("a")?.recentFailureRate, 1)
    }))

  it.effect("an orElse strategy that takes over after the router's filters refused still picks at random", () =>
    Effect.gen(function*() {
      // Every deployment cooling: the first strategy (after the router's filters) has nothing;
      // the second, over all members, shuffles among the four.
      const anyMember = pipe(Strategy.members, Strategy.pick(Strategy.simpleShuffle))
      const strategy = pipe(Strategy.candidates, Strategy.pick(Strategy.simpleShuffle), Strategy.orElse(anyMember))
      const ids = ["a", "b", "c", "d"]
      const h = yield* harness({ num_retries: 0, model_list: ids.map((id) => deployment("gpt", id)) }, {}, { strategy })
      for (const id of ids) {
        yield* h.state.onFailure(id, { reason: "RateLimited", countsTowardCooldown: true, coolsImmediately: true, allowedFails: 0, cooldownMs: 3_600_000 })
      }
      for (let i = 0; i < 40; i++) yield* succeedOnClock(h.router.chat(request()), 0)
      const served = new Set(h.order())
      assert.isAtLeast(served.size, 3, `served by ${[...served].join(", ")}`)
    }))

  it.effect("leaving out healthy, a cooling deployment is still called (the default passes it over)", () =>
    Effect.gen(function*() {
      const throughCooldowns = pipe(Strategy.members, Strategy.lowestOrder, Strategy.pick(Strategy.first))
      const custom = yield* harness(pair, {}, { strategy: throughCooldowns })
      yield* coolA(custom)
      yield* succeedOnClock(custom.router.chat(request()), "1 second")
      assert.deepStrictEqual(custom.order(), ["a"])

      const usual = yield* harness(pair)
      yield* coolA(usual)
      yield* succeedOnClock(usual.router.chat(request()), "1 second")
      assert.deepStrictEqual(usual.order(), ["b"])
    }))

  it.effect("a built-in filter after the app's filter answers its own refusal: the budget 429 with the wait", () =>
    Effect.gen(function*() {
      const priced = { input_cost_per_token: 0.001, output_cost_per_token: 0.001 }
      const config = {
        model_list: [
          deployment("gpt", "a", { order: 1, max_budget: 0.000001, budget_duration: "1h" }, priced),
          deployment("gpt", "b", { order: 2 }, priced)
        ],
        num_retries: 0
      }
      const onlyA = Strategy.filter((d) => d.id === "a")
      const reordered = yield* harness(config, {}, { strategy: pipe(Strategy.members, onlyA, Strategy.withinBudget, Strategy.pick(Strategy.first)) })
      yield* succeedOnClock(reordered.router.chat(request()), "1 second")
      const over = (yield* failOnClock(reordered.router.chat(request()), "1 second")) as LlmError.NoDeploymentAvailable
      assert.strictEqual(over._tag, "NoDeploymentAvailable")
      assert.include(over.message, "over its budget (deployment a: $0.000001 per 1h)")
      assert.strictEqual(Duration.toMillis(over.retryAfter!), 3_600_000 - 1_000)
      assert.deepStrictEqual(reordered.order(), ["a"])

      // From `candidates`, the router's filters come first: `a` is gone before the app's filter, which leaves nothing.
      const after = yield* harness(config, {}, { strategy: pipe(Strategy.candidates, onlyA, Strategy.pick(Strategy.first)) })
      yield* succeedOnClock(after.router.chat(request()), "1 second")
      const none = (yield* failOnClock(after.router.chat(request()), "1 second")) as LlmError.NoDeploymentAvailable
      assert.include(none.message, "chose none of its 1 available deployments")
      assert.isUndefined(none.retryAfter)
    }))

  it.effect("healthy after the app's filter: when all it kept are cooling, the last pass still calls the one that recovers first", () =>
    Effect.gen(function*() {
      const onlyA = Strategy.filter((d) => d.id === "a")
      const h = yield* harness(pair, {}, { strategy: pipe(Strategy.members, onlyA, Strategy.healthy, Strategy.pick(Strategy.first)) })
      yield* coolA(h)
      yield* succeedOnClock(h.router.chat(request()), "1 second")
      assert.deepStrictEqual(h.order(), ["a"])
    }))

  it.effect("a pipeline from candidates keeps the router's budget check and its 429", () =>
    Effect.gen(function*() {
      const priced = { input_cost_per_token: 0.001, output_cost_per_token: 0.001 }
      const h = yield* harness(
        { model_list: [deployment("gpt", "capped", { max_budget: 0.000001, budget_duration: "1h" }, priced)], num_retries: 0 },
        {},
        { strategy: pipe(Strategy.candidates, Strategy.filter(() => true), Strategy.pick(Strategy.first)) }
      )
      yield* succeedOnClock(h.router.chat(request()), "1 second")
      const over = (yield* failOnClock(h.router.chat(request()), "1 second")) as LlmError.NoDeploymentAvailable
      assert.strictEqual(over._tag, "NoDeploymentAvailable")
      assert.include(over.message, "over its budget")
      assert.isAbove(Duration.toMillis(over.retryAfter!), 0)
      assert.deepStrictEqual(h.order(), ["capped"])
    }))

  it.effect("without healthy, a deployment this request must not call again is still passed over", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { ...pair, num_retries: 2 },
        {
          a: { script: [SimulatedProvider.fail("AuthenticationFailed", { status: 401 })] },
          b: { script: [SimulatedProvider.fail("InternalServerError", { status: 500 })] }
        },
        { strategy: pipe(Strategy.members, Strategy.pick(Strategy.first)) }
      )
      yield* succeedOnClock(h.router.chat(request()), "1 minute")
      // Both have failed once, so neither is preferred; `a`'s broken key cannot succeed on a retry, `b`'s 500 can.
      assert.deepStrictEqual(h.order(), ["a", "b", "b"])
    }))

  it.effect("an app's filter with a refusal answers it when it leaves nothing", () =>
    Effect.gen(function*() {
      const euOnly = Strategy.refusing(
        (candidates) => candidates.filter((d) => d.tags.includes("eu")),
        (_, context) => new LlmError.BadRequest({ provider: "app", status: 400, message: `no EU deployment in ${context.group}` })
      )
      const h = yield* harness(pair, {}, { strategy: pipe(Strategy.candidates, euOnly, Strategy.pick(Strategy.first)) })
      const refused = yield* failOnClock(h.router.chat(request()), "1 second")
      assert.strictEqual(refused._tag, "BadRequest")
      assert.strictEqual(refused.message, "no EU deployment in gpt")
      assert.deepStrictEqual(h.order(), [])
    }))
})

/**
 * LiteLLM's usage-based routing (`usage-based-routing`, `usage-based-routing-v2`) on
 * TestClock: the fewest tokens this minute wins, and `rpm` / `tpm` are limits: a deployment
 * that has had its requests or tokens for the minute is passed over until the next one, and
 * a group with none left fails with the wait until then (or falls back).
 */
import { assert, describe, it } from "@effect/vitest"
import { LlmError } from "@llm-router/core"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as Fixture from "./Fixture.ts"

const served = (h: Fixture.Harness) =>
  Effect.map(Fixture.succeedOnClock(h.router.chat(Fixture.request()), "1 second"), (c) => c.route.deployment)

describe("usage-based routing", () => {
  it.effect("a deployment at its rpm is passed over until the next minute", () =>
    Effect.gen(function*() {
      const h = yield* Fixture.harness({
        routing_strategy: "usage-based-routing-v2",
        model_list: [Fixture.deployment("gpt", "small", { order: 1, rpm: 2 }), Fixture.deployment("gpt", "big", { order: 2 })]
      })
      assert.deepStrictEqual([yield* served(h), yield* served(h), yield* served(h)], ["small", "small", "big"])
      yield* TestClock.setTime(60_000)
      assert.strictEqual(yield* served(h), "small")
    }))

  it.effect("a deployment whose tokens this minute would pass its tpm is passed over", () =>
    Effect.gen(function*() {
      const h = yield* Fixture.harness({
        routing_strategy: "usage-based-routing",
        model_list: [Fixture.deployment("gpt", "tight", { order: 1, tpm: 30 }), Fixture.deployment("gpt", "loose", { order: 2 })]
      })
      const order: Array<string> = []
      for (let i = 0; i < 6; i++) order.push(yield* served(h))
      assert.strictEqual(order[0], "tight")
      assert.include(order, "loose", `tight stops once its 30 tokens are used: ${order.join(" ")}`)
      assert.isAbove(order.lastIndexOf("loose"), order.lastIndexOf("tight"))
    }))

  it.effect("the fewest tokens this minute wins", () =>
    Effect.gen(function*() {
      const h = yield* Fixture.harness({
        routing_strategy: "usage-based-routing-v2",
        model_list: [Fixture.deployment("gpt", "a"), Fixture.deployment("gpt", "b"), Fixture.deployment("gpt", "c")]
      })
      const order: Array<string> = []
      for (let i = 0; i < 6; i++) order.push(yield* served(h))
      // Equal answers: each deployment serves once before any serves twice.
      assert.deepStrictEqual(new Set(order.slice(0, 3)).size, 3)
      assert.deepStrictEqual(new Set(order.slice(3)).size, 3)
    }))

  it.effect("a group with every deployment at its limit fails with the wait until the next minute, or falls back", () =>
    Effect.gen(function*() {
      const h = yield* Fixture.harness({
        routing_strategy: "usage-based-routing-v2",
        model_list: [Fixture.deployment("gpt", "only", { rpm: 1 })]
      })
      yield* served(h)
      yield* TestClock.setTime(45_000)
      const error = yield* Fixture.failOnClock(h.router.chat(Fixture.request()), "1 second")
      assert.strictEqual(error._tag, "NoDeploymentAvailable")
      assert.match(error.message, /rpm\/tpm limit for this minute \(only: rpm 1\)/)
      assert.strictEqual(LlmError.retryAfterMillis(error), 15_000)
      assert.strictEqual(h.callsTo("only"), 1)

      const withFallback = yield* Fixture.harness({
        routing_strategy: "usage-based-routing-v2",
        model_list: [Fixture.deployment("gpt", "only", { rpm: 1 }), Fixture.deployment("other", "spare")],
        fallbacks: [{ gpt: ["other"] }]
      })
      assert.deepStrictEqual([yield* served(withFallback), yield* served(withFallback)], ["only", "spare"])
    }))

  it.effect("under the other strategies rpm stays a weight, as in LiteLLM", () =>
    Effect.gen(function*() {
      const h = yield* Fixture.harness({ model_list: [Fixture.deployment("gpt", "only", { rpm: 1 })] })
      assert.deepStrictEqual([yield* served(h), yield* served(h), yield* served(h)], ["only", "only", "only"])
    }))
})

/**
 * Spend limits on TestClock: LiteLLM's deployment `max_budget` / `budget_duration` and
 * `provider_budget_config`. A deployment that has spent its budget in the current window is
 * passed over until the window ends; when a whole group has, the request fails with a 429-class
 * `NoDeploymentAvailable` carrying the wait, or goes to the group's fallbacks.
 */
import { assert, describe, it } from "@effect/vitest"
import { Budget, LlmError, RouterConfig } from "@llm-router/core"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as Fixture from "./Fixture.ts"

/** A dollar per thousand tokens each way, so every call costs something. */
const priced = { input_cost_per_token: 0.001, output_cost_per_token: 0.001 }
/** One request, on a clock that moves a second (the simulated providers answer at once). */
const served = (h: Fixture.Harness, model = "gpt") =>
  Effect.map(Fixture.succeedOnClock(h.router.chat(Fixture.request(model)), "1 second"), (c) => c.route)

describe("budgets", () => {
  it.effect("a deployment over its max_budget is passed over until its budget_duration window ends", () =>
    Effect.gen(function*() {
      const h = yield* Fixture.harness({
        model_list: [
          Fixture.deployment("gpt", "capped", { order: 1, max_budget: 0.000001, budget_duration: "1h" }, priced),
          Fixture.deployment("gpt", "spare", { order: 2 }, priced)
        ]
      })
      const first = yield* served(h)
      assert.strictEqual(first.deployment, "capped")
      assert.isAbove(first.costUsd!, 0.000001)
      assert.strictEqual((yield* served(h)).deployment, "spare", "capped has spent its budget for this hour")
      assert.strictEqual(h.callsTo("capped"), 1)
      // The next window: 1 hour after the epoch, on the clock the windows are counted on.
      yield* TestClock.setTime(3_600_000)
      assert.strictEqual((yield* served(h)).deployment, "capped")
    }))

  it.effect("spend below the budget leaves the deployment in rotation", () =>
    Effect.gen(function*() {
      const h = yield* Fixture.harness({
        model_list: [Fixture.deployment("gpt", "roomy", { order: 1, max_budget: 100, budget_duration: "1d" }, priced)]
      })
      for (let i = 0; i < 5; i++) assert.strictEqual((yield* served(h)).deployment, "roomy")
    }))

  it.effect("a provider over its provider_budget_config limit takes all its deployments out", () =>
    Effect.gen(function*() {
      const h = yield* Fixture.harness({
        model_list: [
          Fixture.deployment("gpt", "openai-1", { order: 1 }, priced),
          Fixture.deployment("gpt", "openai-2", { order: 1 }, priced),
          Fixture.deployment("gpt", "claude", { order: 2, model: "anthropic/claude" }, priced)
        ],
        provider_budget_config: { openai: { budget_limit: 0.000001, time_period: "1d" } }
      })
      assert.include(["openai-1", "openai-2"], (yield* served(h)).deployment)
      for (let i = 0; i < 3; i++) assert.strictEqual((yield* served(h)).deployment, "claude")
    }))

  it.effect("a group entirely over budget fails with the wait until a window ends, or falls back", () =>
    Effect.gen(function*() {
      const h = yield* Fixture.harness({
        model_list: [
          Fixture.deployment("gpt", "capped", { max_budget: 0.000001, budget_duration: "1h" }, priced),
          Fixture.deployment("other", "other", {}, priced)
        ],
        fallbacks: [{ gpt: ["other"] }]
      })
      yield* served(h)
      yield* TestClock.adjust("20 minutes")
      const fellBack = yield* served(h)
      assert.deepStrictEqual([fellBack.deployment, fellBack.fallbacks], ["other", ["other"]])

      const alone = yield* Fixture.harness({
        model_list: [Fixture.deployment("gpt", "capped", { max_budget: 0.000001, budget_duration: "1h" }, priced)]
      })
      yield* served(alone)
      yield* TestClock.setTime(20 * 60_000)
      const error = yield* Fixture.failOnClock(alone.router.chat(Fixture.request()), "1 second")
      assert.strictEqual(error._tag, "NoDeploymentAvailable")
      assert.match(error.message, /over its budget \(deployment capped: \$0\.000001 per 1h\)/)
      // Asked at 20 minutes past: the window reopens at the hour.
      assert.strictEqual(LlmError.retryAfterMillis(error), 40 * 60_000)
      assert.strictEqual(alone.callsTo("capped"), 1)
    }))

  it.effect("a streamed answer counts against the budget when it ends", () =>
    Effect.gen(function*() {
      const h = yield* Fixture.harness({
        model_list: [
          Fixture.deployment("gpt", "capped", { order: 1, max_budget: 0.000001, budget_duration: "1d" }, priced),
          Fixture.deployment("gpt", "spare", { order: 2 }, priced)
        ]
      })
      const { parts } = yield* Fixture.collectStream(h.router.stream(Fixture.request("gpt", "hi", { stream: true })), "1 second")
      const done = parts.find((p) => p._tag === "Done")
      assert.strictEqual(done?._tag === "Done" ? done.route.deployment : undefined, "capped")
      assert.strictEqual((yield* served(h)).deployment, "spare")
    }))

  it.effect("config: durations as LiteLLM writes them, and every bad value named by its path", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        ["30s", "10m", "1h", "1d", "2w", "1mo", " 7d "].map(Budget.parseDuration),
        [30_000, 600_000, 3_600_000, 86_400_000, 1_209_600_000, 2_592_000_000, 604_800_000]
      )
      assert.deepStrictEqual(["", "1", "1y", "0d", "-1d", "1.5h"].map(Budget.parseDuration), Array(6).fill(undefined))
      const error = yield* Effect.flip(RouterConfig.decode({
        model_list: [
          Fixture.deployment("gpt", "a", { max_budget: 10 }),
          Fixture.deployment("gpt", "b", { budget_duration: "1d" }),
          Fixture.deployment("gpt", "c", { max_budget: 10, budget_duration: "daily" })
        ],
        provider_budget_config: { openai: { budget_limit: 5, time_period: "1 day" } }
      }))
      assert.deepStrictEqual(error.issues.map((i) => i.path), [
        "model_list[0].litellm_params.budget_duration",
        "model_list[1].litellm_params.max_budget",
        "model_list[2].litellm_params.budget_duration",
        "provider_budget_config.openai.time_period"
      ])
    }))

  it.effect("budgets stay out of the provider's request parameters", () =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({
        model_list: [Fixture.deployment("gpt", "a", { max_budget: 10, budget_duration: "1d" })]
      })
      const [d] = config.deployments
      assert.deepStrictEqual(d!.budget, { limitUsd: 10, periodMs: 86_400_000, period: "1d" })
      assert.notProperty(d!.params, "max_budget")
      assert.notProperty(d!.params, "budget_duration")
    }))
})


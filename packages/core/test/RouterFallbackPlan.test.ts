/**
 * Fallback plans as values: a chain that names a deployment id (`model_info.id`), a plan built
 * in code replacing the config's chains, and a plan naming nothing known refused when the
 * router is made.
 */
import { assert, describe, it } from "@effect/vitest"
import type { LlmClient } from "@llm-router/core"
import { FallbackPlan, Router, RouterConfig, RouterState } from "@llm-router/core"
import { Effect, pipe, Random, Stream } from "effect"
import { assertTag, deployment, failOnClock, harness, request, succeedOnClock } from "./Fixture.ts"

const unusedClient: LlmClient.Service = { chat: () => Effect.die("unused"), stream: () => Stream.die("unused") }
const failing = { failureRates: [{ error: { tag: "InternalServerError" as const }, rate: 1 }] }
const models = [deployment("gpt", "a"), deployment("claude", "c1"), deployment("claude", "c2"), deployment("gemini", "g")]

describe("fallback plans", () => {
  it.effect("a fallback may name one deployment by its id: only that one is tried", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: models, fallbacks: [{ gpt: ["c2"] }], num_retries: 1, allowed_fails: 100 },
        { a: failing, c2: { script: [{ _tag: "Fail", error: { tag: "InternalServerError" } }] } }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request("gpt")))
      assert.strictEqual(route.deployment, "c2")
      assert.deepStrictEqual(route.fallbacks, ["c2"])
      assert.strictEqual(h.callsTo("c1"), 0)
      assert.strictEqual(h.callsTo("c2"), 2, "the deployment keeps the retries of a group")
    }).pipe(Random.withSeed(1)))

  it.effect("the config decoder accepts deployment ids and refuses names that are neither", () =>
    Effect.gen(function*() {
      yield* RouterConfig.decode({ model_list: models, fallbacks: [{ gpt: ["c2"] }], default_fallbacks: ["g"] })
      const error = yield* Effect.flip(RouterConfig.decode({ model_list: models, fallbacks: [{ gpt: ["c3"] }] }))
      assert.deepStrictEqual(error.issues.map((i) => i.path), ["fallbacks[0].gpt[0]"])
    }))

  it.effect("a plan built in code replaces the config's chains", () =>
    Effect.gen(function*() {
      const plan = pipe(
        FallbackPlan.empty,
        FallbackPlan.generic("gpt", ["claude", "gemini"]),
        FallbackPlan.contextWindow("gpt", ["g"]),
        FallbackPlan.withMaxFallbacks(1)
      )
      const h = yield* harness(
        { model_list: models, fallbacks: [{ gpt: ["gemini"] }], num_retries: 0 },
        { a: failing, c1: failing, c2: failing },
        { fallbacks: plan }
      )
      assertTag(yield* failOnClock(h.router.chat(request("gpt"))), "InternalServerError")
      assert.deepStrictEqual(h.log.map((c) => c.group), ["gpt", "claude"], "max_fallbacks 1: gemini is never entered")
    }).pipe(Random.withSeed(2)))

  it.effect("a context-window failure takes its own chain of the plan", () =>
    Effect.gen(function*() {
      const plan = pipe(FallbackPlan.empty, FallbackPlan.generic("gpt", ["claude"]), FallbackPlan.contextWindow("gpt", ["g"]))
      const h = yield* harness(
        { model_list: models, num_retries: 0 },
        { a: { script: [{ _tag: "Fail", error: { tag: "ContextWindowExceeded" } }] } },
        { fallbacks: plan }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request("gpt")))
      assert.strictEqual(route.deployment, "g")
    }))

  it.effect("a plan from code naming neither a group nor a deployment fails the router's making", () =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({ model_list: models })
      const error = yield* Effect.flip(
        Router.make(config, () => Effect.succeed(unusedClient), { fallbacks: pipe(FallbackPlan.empty, FallbackPlan.generic("gpt", ["nowhere"])) }).pipe(
          Effect.provide(RouterState.layerMemory)
        )
      )
      assert.strictEqual(error._tag, "RouterConfigError")
      assert.include(error.message, "nowhere")
    }))
})

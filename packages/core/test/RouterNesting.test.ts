/**
 * Routers nest: a router is an `LlmClient`, so it can be a deployment of another router. An
 * inner router with nothing available (`NoDeploymentAvailable`) lets the outer group try its
 * other deployments, as any failed deployment would.
 */
import { assert, describe, it } from "@effect/vitest"
import type { LlmClient } from "@llm-router/core"
import { Router, RouterConfig, RouterState, Strategy } from "@llm-router/core"
import { Effect, pipe, Random } from "effect"
import { deployment, request, SimulatedProvider, succeedOnClock } from "./Fixture.ts"

describe("nested routers", () => {
  it.effect("an inner router's NoDeploymentAvailable moves the outer group to its other deployments", () =>
    Effect.gen(function*() {
      const inner = yield* Effect.gen(function*() {
        const config = yield* RouterConfig.decode({ model_list: [deployment("gpt", "inner-a")] })
        const sim = yield* SimulatedProvider.make({ deployment: "inner-a" })
        // A strategy that chooses none: the inner router has nothing available.
        const none = pipe(Strategy.candidates, Strategy.filter(() => false), Strategy.pick(Strategy.simpleShuffle))
        return yield* Router.make(config, () => Effect.succeed<LlmClient.Service>(sim), { strategy: none })
      }).pipe(Effect.provide(RouterState.layerMemory))
      const outerConfig = yield* RouterConfig.decode({
        model_list: [deployment("gpt", "nested", { order: 1 }), deployment("gpt", "plain", { order: 2 })],
        num_retries: 1
      })
      const plain = yield* SimulatedProvider.make({ deployment: "plain" })
      const outer = yield* Router.make(outerConfig, (d) => Effect.succeed<LlmClient.Service>(d.id === "nested" ? inner : plain)).pipe(
        Effect.provide(RouterState.layerMemory)
      )
      const { route } = yield* succeedOnClock(outer.chat(request("gpt")))
      assert.strictEqual(route.deployment, "plain")
      assert.strictEqual(route.attempts, 2)
    }).pipe(Random.withSeed(1)))
})

import { assert, describe, it } from "@effect/vitest"
import { Chat, LlmClient, Router, RouterConfig, RouterState } from "@llm-router/core"
import { SimulatedProvider } from "@llm-router/testing"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"

const request = { model: "gpt", messages: [{ role: "user" as const, content: "hi" }] }

describe("router smoke", () => {
  it.effect("fails over to the second deployment", () =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({
        model_list: [
          { model_name: "gpt", litellm_params: { model: "openai/a", order: 1 } },
          { model_name: "gpt", litellm_params: { model: "openai/b", order: 2 } }
        ]
      })
      const a = yield* SimulatedProvider.make({ deployment: "gpt/openai/a", script: [SimulatedProvider.fail("ServiceUnavailable")] })
      const b = yield* SimulatedProvider.make({ deployment: "gpt/openai/b" })
      const sims = new Map([[a.deployment, a], [b.deployment, b]])
      const router = yield* Router.make(config, (d) => Effect.succeed(sims.get(d.id)!))
      const result = yield* router.chat(request)
      assert.strictEqual(result.route.deployment, "gpt/openai/b")
      assert.strictEqual(result.route.attempts, 2)
      const parts = yield* Stream.runCollect(router.stream(request))
      assert.strictEqual(parts[0]?._tag, "Start")
      assert.strictEqual(parts.at(-1)?._tag, "Done")
      assert.isTrue(parts.slice(1, -1).every((p) => p._tag === "Chunk"))
      const chunks = yield* Stream.runCollect(LlmClient.chunks(Stream.fromIterable(parts)))
      assert.strictEqual(Chat.collectChunks(chunks).choices[0]?.message.content, "Hello from a simulated provider.")
    }).pipe(Effect.provide(RouterState.layerMemory)))

  it.effect("backs off when the only deployment fails, on TestClock", () =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({ model_list: [{ model_name: "gpt", litellm_params: { model: "openai/a" } }] })
      const a = yield* SimulatedProvider.make({
        deployment: "gpt/openai/a",
        script: [SimulatedProvider.fail("InternalServerError"), SimulatedProvider.fail("InternalServerError")]
      })
      const router = yield* Router.make(config, () => Effect.succeed(a))
      const fiber = yield* Effect.forkChild(router.chat(request))
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.route.attempts, 3)
    }).pipe(Effect.provide(RouterState.layerMemory)))
})

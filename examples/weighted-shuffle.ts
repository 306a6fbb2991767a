/**
 * Weighted shuffle (LiteLLM's simple-shuffle): three deployments of one group with weights
 * 1, 2 and 7 share 10,000 requests roughly 10% / 20% / 70%. The draw uses Effect's `Random`,
 * seeded here, so the run is reproducible.
 *
 * Run: pnpm example:weighted   (or: node examples/weighted-shuffle.ts)
 */
import { NodeRuntime } from "@effect/platform-node"
import { Router, RouterConfig, RouterState } from "@llm-router/core"
import { SimulatedProvider } from "@llm-router/testing"
import { Console, Effect, Random } from "effect"

const weights = { small: 1, medium: 2, large: 7 }

const program = Effect.gen(function*() {
  const config = yield* RouterConfig.decode({
    model_list: Object.entries(weights).map(([id, weight]) => ({
      model_name: "chat",
      litellm_params: { model: `openai/${id}`, weight },
      model_info: { id }
    }))
  })
  const providers = new Map<string, SimulatedProvider.SimulatedProvider>()
  for (const id of Object.keys(weights)) providers.set(id, yield* SimulatedProvider.make({ deployment: id }))
  const router = yield* Router.make(config, (d) => Effect.succeed(providers.get(d.id)!))

  const served = new Map<string, number>()
  const total = 10_000
  for (let i = 0; i < total; i++) {
    const { route } = yield* router.chat({ model: "chat", messages: [{ role: "user", content: "hi" }] })
    served.set(route.deployment, (served.get(route.deployment) ?? 0) + 1)
  }
  for (const [id, weight] of Object.entries(weights)) {
    const share = ((served.get(id) ?? 0) / total) * 100
    yield* Console.log(`${id.padEnd(7)} weight ${weight}  served ${share.toFixed(1)}%  (expected ${(weight * 10).toFixed(0)}%)`)
  }
}).pipe(Random.withSeed(42), Effect.provide(RouterState.layerMemory))

NodeRuntime.runMain(program)

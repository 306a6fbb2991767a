/**
 * Fallback between model groups: the "gpt-4o" group's only deployment is down, so every
 * request falls back to the "claude" group, and the route says so.
 *
 * Run: pnpm example:fallback   (or: node examples/fallback.ts)
 */
import { NodeRuntime } from "@effect/platform-node"
import { Router, RouterConfig, RouterState } from "@llm-router/core"
import { SimulatedProvider } from "@llm-router/testing"
import { Console, Effect } from "effect"

const program = Effect.gen(function*() {
  const config = yield* RouterConfig.decode({
    model_list: [
      { model_name: "gpt-4o", litellm_params: { model: "openai/gpt-4o" }, model_info: { id: "openai-primary" } },
      { model_name: "claude", litellm_params: { model: "anthropic/claude-sonnet-4-5" }, model_info: { id: "anthropic-backup" } }
    ],
    fallbacks: [{ "gpt-4o": ["claude"] }],
    num_retries: 1
  })
  const providers = new Map([
    ["openai-primary", yield* SimulatedProvider.make({
      deployment: "openai-primary",
      provider: "openai",
      // Down for the whole run: every call answers 503.
      outages: [{ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }]
    })],
    ["anthropic-backup", yield* SimulatedProvider.make({ deployment: "anthropic-backup", provider: "anthropic", text: "Answered by the backup." })]
  ])
  const router = yield* Router.make(config, (d) => Effect.succeed(providers.get(d.id)!))

  for (let i = 1; i <= 3; i++) {
    const { response, route } = yield* router.chat({ model: "gpt-4o", messages: [{ role: "user", content: `question ${i}` }] })
    yield* Console.log(
      `#${i} "${response.choices[0]?.message.content}" served by ${route.deployment} (group ${route.servedBy}),` +
        ` attempts ${route.attempts}, fallbacks [${route.fallbacks.join(", ")}]`
    )
  }
  // After the first failures the primary is cooling down: later requests go straight to the backup.
  const cooling = yield* Effect.flatMap(RouterState.RouterState, (state) => state.cooldowns)
  yield* Console.log(`cooling down: ${cooling.map((c) => `${c.deployment} (${c.reason})`).join(", ") || "none"}`)
}).pipe(Effect.provide(RouterState.layerMemory))

NodeRuntime.runMain(program)

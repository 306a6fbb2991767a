import { assert, describe, it } from "@effect/vitest"
import { RouterConfig } from "@llm-router/core"
import { Providers } from "@llm-router/server"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect } from "effect"

describe("Providers", () => {
  it("serves every LiteLLM prefix of the three adapters", () => {
    for (const prefix of ["openai", "azure", "groq", "ollama", "hosted_vllm", "anthropic", "gemini"]) {
      assert.include(Providers.builtin.known, prefix)
    }
  })

  it.effect("refuses an unknown provider with a config error that lists the known ones", () =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({ model_list: [{ model_name: "x", litellm_params: { model: "nosuchcloud/model-1" } }] })
      const error = yield* Effect.flip(Providers.builtin.clientFor(config.deployments[0]!))
      assert.strictEqual(error._tag, "RouterConfigError")
      assert.include(error.message, `unknown provider "nosuchcloud"`)
      assert.include(error.message, "anthropic")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

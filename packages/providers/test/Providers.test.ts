import { assert, describe, it } from "@effect/vitest"
import { LlmClient, RouterConfig, RouterState } from "@llm-router/core"
import { Providers } from "@llm-router/providers"
import { AnthropicUpstream, OpenAiUpstream } from "@llm-router/testing"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer } from "effect"

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

describe("Providers.layerRouter", () => {
  it.effect("routes a config's groups over the built-in adapters, falling back across providers", () =>
    Effect.gen(function*() {
      const openai = yield* OpenAiUpstream.make({ text: "from openai", echo: false })
      const anthropic = yield* AnthropicUpstream.make({ text: "from anthropic" })
      const config = {
        model_list: [
          { model_name: "gpt", litellm_params: { model: "openai/gpt-4o", api_base: openai.faultUrl("overloaded"), api_key: "sk-x" } },
          { model_name: "claude", litellm_params: { model: "anthropic/claude-sonnet-4-5", api_base: anthropic.baseUrl, api_key: "sk-y" } }
        ],
        fallbacks: [{ gpt: ["claude"] }],
        num_retries: 0
      }
      const { response, route } = yield* Effect.flatMap(LlmClient.LlmClient, (llm) =>
        llm.chat({ model: "gpt", messages: [{ role: "user", content: "hi" }] })).pipe(
          Effect.provide(Providers.layerRouter(config).pipe(Layer.provide(RouterState.layerMemory)))
        )
      assert.match(response.choices[0]?.message.content ?? "", /^from anthropic/)
      assert.strictEqual(route.provider, "anthropic")
      assert.deepStrictEqual(route.fallbacks, ["claude"])
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))

  it.effect("fails the layer with the config's problems", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(Providers.layerRouter({ model_list: [{ model_name: "x" }] }).pipe(Layer.provide(RouterState.layerMemory))))
      assert.strictEqual(error._tag, "RouterConfigError")
      assert.include(error.message, "litellm_params")
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))
})

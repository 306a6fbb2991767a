/**
 * `effect/ai` over the router: `LanguageModel.generateText` on a model group whose provider is
 * down, answered through the router's fallback to another provider. The app asks for an
 * `effect/ai` `LanguageModel`; `RouterLanguageModel.model("gpt-4o")` provides one over the
 * router, and the route (deployment, attempts, fallbacks, cost) comes back in the response's
 * metadata. The providers are the HTTP mock upstreams (OpenAI's and Anthropic's wire formats),
 * started in-process: no keys, no network.
 *
 * Run: pnpm example:ai-text   (or: node examples/ai-generate-text.ts)
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { RouterLanguageModel } from "@llm-router/ai"
import { RouterState } from "@llm-router/core"
import { Providers } from "@llm-router/providers"
import { AnthropicUpstream, OpenAiUpstream } from "@llm-router/testing"
import { Console, Effect, Layer } from "effect"
import { LanguageModel } from "effect/ai"

/** The app: plain `effect/ai`; it knows nothing of providers, retries or fallbacks. */
const app = Effect.gen(function*() {
  const response = yield* LanguageModel.generateText({ prompt: "Say hello." })
  yield* Console.log(response.text)
  const route = RouterLanguageModel.routeOf(response)
  yield* Console.log(
    `finish: ${response.finishReason}, tokens in/out: ${response.usage.inputTokens.total}/${response.usage.outputTokens.total}`
  )
  yield* Console.log(`served by ${route?.deployment} after ${route?.attempts} attempts, fallbacks: ${route?.fallbacks.join(", ")}`)
})

const program = Effect.gen(function*() {
  const openai = yield* OpenAiUpstream.make()
  const anthropic = yield* AnthropicUpstream.make({ text: "Hello from Claude, via the fallback." })
  openai.setFault("overloaded")
  const router = Providers.layerRouter({
    model_list: [
      { model_name: "gpt-4o", litellm_params: { model: "openai/gpt-4o", api_base: openai.baseUrl, api_key: "sk-example" } },
      { model_name: "claude", litellm_params: { model: "anthropic/claude-sonnet-4-5", api_base: anthropic.baseUrl, api_key: "sk-ant-example" } }
    ],
    fallbacks: [{ "gpt-4o": ["claude"] }],
    num_retries: 0
  }).pipe(Layer.provide([RouterState.layerMemory, NodeHttpClient.layerUndici]))
  yield* app.pipe(Effect.provide(RouterLanguageModel.model("gpt-4o").pipe(Layer.provide(router))))
})

NodeRuntime.runMain(Effect.scoped(program))

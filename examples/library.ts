/**
 * llm-router as a library: an Effect app codes against the `LlmClient` tag and gets a router
 * over real provider adapters from one Layer. Here the providers are the HTTP mock upstreams
 * (OpenAI and Anthropic wire formats) started in-process, and the OpenAI one is down, so the
 * answer comes from Anthropic through the configured fallback. Point `api_base`/`api_key` at
 * the real APIs and nothing else changes.
 *
 * It depends on core, `@llm-router/providers` (the adapters) and an `HttpClient` layer, never on
 * the gateway.
 *
 * Run: pnpm example:library   (or: node examples/library.ts)
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { LlmClient, RouterState } from "@llm-router/core"
import { Providers } from "@llm-router/providers"
import { AnthropicUpstream, OpenAiUpstream } from "@llm-router/testing"
import { Console, Effect, Layer } from "effect"

/** The router as the app's `LlmClient`, over every built-in provider adapter. */
const routerLayer = (config: unknown) =>
  Providers.layerRouter(config).pipe(Layer.provide([RouterState.layerMemory, NodeHttpClient.layerUndici]))

/** The app: it knows nothing of providers, retries or fallbacks. */
const app = Effect.gen(function*() {
  const llm = yield* LlmClient.LlmClient
  const { response, route } = yield* llm.chat({ model: "gpt-4o", messages: [{ role: "user", content: "Hello!" }] })
  yield* Console.log(`${response.choices[0]?.message.content}`)
  yield* Console.log(`served by ${route.deployment} (${route.provider}/${route.model}) after ${route.attempts} attempts, fallbacks: ${route.fallbacks.join(", ")}`)
})

const program = Effect.gen(function*() {
  const openai = yield* OpenAiUpstream.make()
  const anthropic = yield* AnthropicUpstream.make({ text: "Hello from Anthropic's wire format." })
  openai.setFault("overloaded")
  const config = {
    model_list: [
      { model_name: "gpt-4o", litellm_params: { model: "openai/gpt-4o", api_base: openai.baseUrl, api_key: "sk-example" } },
      { model_name: "claude", litellm_params: { model: "anthropic/claude-sonnet-4-5", api_base: anthropic.baseUrl, api_key: "sk-ant-example" } }
    ],
    fallbacks: [{ "gpt-4o": ["claude"] }],
    num_retries: 1,
    retry_after: 0
  }
  yield* app.pipe(Effect.provide(routerLayer(config)))
})

NodeRuntime.runMain(Effect.scoped(program))

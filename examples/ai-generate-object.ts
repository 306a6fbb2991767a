/**
 * `LanguageModel.generateObject` with a `Schema` over a routed model group: the router sends
 * the Schema as a JSON Schema `response_format`, the model answers JSON, and `effect/ai`
 * decodes it with the Schema into a typed value. Here a Gemini deployment is down and the
 * group's other deployment (the OpenAI wire-format mock, which answers a response format with a
 * value made from its schema, every string its configured text) serves. No keys, no network.
 *
 * Run: pnpm example:ai-object   (or: node examples/ai-generate-object.ts)
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { RouterLanguageModel } from "@llm-router/ai"
import { RouterState } from "@llm-router/core"
import { Providers } from "@llm-router/providers"
import { GeminiUpstream, OpenAiUpstream } from "@llm-router/testing"
import { Console, Effect, Layer, Schema } from "effect"
import { LanguageModel } from "effect/ai"

const Capital = Schema.Struct({
  country: Schema.String,
  capital: Schema.String,
  population: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
})

const app = Effect.gen(function*() {
  const response = yield* LanguageModel.generateObject({ prompt: "The capital of France, as JSON.", schema: Capital, objectName: "capital" })
  const capital: typeof Capital.Type = response.value
  yield* Console.log(`decoded: ${JSON.stringify(capital)}`)
  const route = RouterLanguageModel.routeOf(response)
  yield* Console.log(`served by ${route?.deployment} after ${route?.attempts} attempts`)
})

const program = Effect.gen(function*() {
  const gemini = yield* GeminiUpstream.make()
  const openai = yield* OpenAiUpstream.make({ text: "France" })
  const router = Providers.layerRouter({
    model_list: [
      { model_name: "capitals", litellm_params: { model: "gemini/gemini-2.5-flash", api_base: gemini.faultUrl("server-error"), api_key: "example", order: 1 } },
      { model_name: "capitals", litellm_params: { model: "openai/gpt-4o-mini", api_base: openai.baseUrl, api_key: "sk-example", order: 2 } }
    ],
    num_retries: 1
  }).pipe(Layer.provide([RouterState.layerMemory, NodeHttpClient.layerUndici]))
  yield* app.pipe(Effect.provide(RouterLanguageModel.model("capitals").pipe(Layer.provide(router))))
})

NodeRuntime.runMain(Effect.scoped(program))

/**
 * An `effect/ai` toolkit with a handler over a routed model group: the model (here the OpenAI
 * wire-format mock, which calls the tool it is offered with the user's words as its string
 * arguments) asks for `getWeather`, `effect/ai` runs
 * the handler, and the result goes back to the model on the next turn, all through the router.
 * No keys, no network.
 *
 * Run: pnpm example:ai-toolkit   (or: node examples/ai-toolkit.ts)
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { RouterLanguageModel } from "@llm-router/ai"
import { RouterState } from "@llm-router/core"
import { Providers } from "@llm-router/providers"
import { OpenAiUpstream } from "@llm-router/testing"
import { Console, Effect, Layer, Schema } from "effect"
import { LanguageModel, Prompt, Tool, Toolkit } from "effect/ai"

const GetWeather = Tool.make("getWeather", {
  description: "The current weather in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number, sky: Schema.String })
})
const WeatherTools = Toolkit.make(GetWeather)
const WeatherHandlers = WeatherTools.toLayer({
  getWeather: ({ city }) => Effect.succeed({ city, celsius: 21, sky: "sunny" })
})

const app = Effect.gen(function*() {
  const prompt = Prompt.make([
    { role: "system", content: "Answer weather questions with the getWeather tool. The user names a city." },
    { role: "user", content: "Paris" }
  ])
  const first = yield* LanguageModel.generateText({ prompt, toolkit: WeatherTools })
  for (const call of first.toolCalls) yield* Console.log(`the model called ${call.name}(${JSON.stringify(call.params)})`)
  for (const result of first.toolResults) yield* Console.log(`the handler answered ${JSON.stringify(result.result)}`)
  // The next turn carries the call and its result back to the model.
  const second = yield* LanguageModel.generateText({
    prompt: Prompt.concat(prompt, Prompt.fromResponseParts(first.content)),
    toolkit: WeatherTools,
    toolChoice: "none"
  })
  yield* Console.log(`the model: ${second.text}`)
  yield* Console.log(`served by ${RouterLanguageModel.routeOf(second)?.deployment}`)
})

const program = Effect.gen(function*() {
  const openai = yield* OpenAiUpstream.make({ text: "It is 21 °C and sunny in Paris.", echo: false })
  const router = Providers.layerRouter({
    model_list: [{ model_name: "gpt-4o", litellm_params: { model: "openai/gpt-4o", api_base: openai.baseUrl, api_key: "sk-example" } }]
  }).pipe(Layer.provide([RouterState.layerMemory, NodeHttpClient.layerUndici]))
  yield* app.pipe(Effect.provide([RouterLanguageModel.model("gpt-4o").pipe(Layer.provide(router)), WeatherHandlers]))
})

NodeRuntime.runMain(Effect.scoped(program))

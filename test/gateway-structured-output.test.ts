/**
 * Structured output through the gateway on every provider: the official `openai` client's
 * `chat.completions.parse()` and the AI SDK's `generateObject` (chat completions with
 * `json_schema`) get JSON of their schema back from Claude (native output and the forced
 * JSON tool) and Gemini (`responseJsonSchema` and the older `responseSchema`), plain and
 * streamed, and a failover from a broken OpenAI deployment to Claude keeps the JSON.
 */
import { assert, layer } from "@effect/vitest"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { generateObject, jsonSchema } from "ai"
import { Context, Effect, Layer } from "effect"
import type OpenAI from "openai"
import { AnthropicUpstream, GeminiUpstream, OpenAiUpstream } from "@llm-router/testing"
import * as InProcessGateway from "./InProcessGateway.ts"

const MASTER_KEY = "sk-gateway-structured"
/** The mocks' text, which is prose: only a structured answer parses. */
const TEXT = "Sure, here is what you asked for."

interface Env {
  readonly baseURL: string
  readonly client: OpenAI
}
class TestEnv extends Context.Service<TestEnv, Env>()("test/gateway-structured-output/TestEnv") {}

const env = Layer.effect(TestEnv, Effect.gen(function*() {
  const openai = yield* OpenAiUpstream.make()
  const anthropic = yield* AnthropicUpstream.make({ text: TEXT })
  const gemini = yield* GeminiUpstream.make({ text: TEXT })
  return yield* InProcessGateway.start(`
model_list:
  - model_name: claude-native
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.baseUrl}", api_key: sk-ant-mock }
    model_info: { id: claude-native }
  - model_name: claude-tool
    litellm_params: { model: anthropic/claude-sonnet-4-20250514, api_base: "${anthropic.baseUrl}", api_key: sk-ant-mock }
    model_info: { id: claude-tool }
  - model_name: gemini-25
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: "${gemini.baseUrl}", api_key: gemini-mock-key }
    model_info: { id: gemini-25 }
  - model_name: gemini-20
    litellm_params: { model: gemini/gemini-2.0-flash, api_base: "${gemini.baseUrl}", api_key: gemini-mock-key }
    model_info: { id: gemini-20 }
  - model_name: structured
    litellm_params: { model: openai/gpt-4o, api_base: "${openai.faultUrl("server-error")}", api_key: sk-mock-openai, order: 1 }
    model_info: { id: structured-openai-broken }
  - model_name: structured
    litellm_params: { model: anthropic/claude-sonnet-4-20250514, api_base: "${anthropic.baseUrl}", api_key: sk-ant-mock, order: 2 }
    model_info: { id: structured-claude }
router_settings:
  num_retries: 1
  allowed_fails: 0
general_settings:
  master_key: ${MASTER_KEY}
`, MASTER_KEY)
}).pipe(Effect.orDie))

/** What OpenAI's strict mode takes (closed objects, every property required). */
const citySchema = {
  type: "object",
  properties: {
    city: { type: "string" },
    population: { type: "integer" },
    districts: { type: "array", items: { type: "string" } }
  },
  required: ["city", "population", "districts"],
  additionalProperties: false
} as const
/** The mocks' structured answers (see `Synthesize`): strings are the mock's text, or `<name>-value` in a tool's input. */
const expectedFor = (model: string) =>
  model.includes("tool") || model === "structured"
    ? { city: "city-value", population: 1, districts: ["districts-value"] }
    : { city: TEXT, population: 1, districts: [TEXT] }
const responseFormat = { type: "json_schema" as const, json_schema: { name: "city", schema: citySchema, strict: true } }
const messages = [{ role: "user" as const, content: "Describe Oslo." }]

layer(env, { excludeTestServices: true })("structured output through the gateway", (it) => {
  it.effect("openai .parse() gets the parsed object from every provider path", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      for (const model of ["claude-native", "claude-tool", "gemini-25", "gemini-20"]) {
        const { data, response } = yield* Effect.promise(() =>
          client.chat.completions.parse({ model, messages, response_format: responseFormat }).withResponse()
        )
        const choice = data.choices[0]!
        assert.deepStrictEqual(choice.message.parsed, expectedFor(model), model)
        assert.strictEqual(choice.finish_reason, "stop", model)
        assert.deepStrictEqual(choice.message.tool_calls ?? [], [], model)
        assert.strictEqual(response.headers.get("x-llm-router-deployment"), model)
      }
    }))

  it.effect("the streamed answer is the same JSON, as content deltas", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      for (const model of ["claude-native", "claude-tool", "gemini-25", "gemini-20"]) {
        const final = yield* Effect.promise(async () => {
          const stream = client.chat.completions.stream({ model, messages, response_format: responseFormat })
          return stream.finalChatCompletion()
        })
        assert.deepStrictEqual(final.choices[0]?.message.parsed, expectedFor(model), model)
        assert.strictEqual(final.choices[0]?.finish_reason, "stop", model)
      }
    }))

  it.effect("a failover from a broken OpenAI deployment to Claude still answers JSON, and says so in the headers", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const { data, response } = yield* Effect.promise(() =>
        client.chat.completions.parse({ model: "structured", messages, response_format: responseFormat }).withResponse()
      )
      assert.deepStrictEqual(data.choices[0]?.message.parsed, expectedFor("structured"))
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "structured-claude")
      assert.strictEqual(response.headers.get("x-llm-router-provider"), "anthropic")
      assert.strictEqual(response.headers.get("x-llm-router-attempts"), "2")
    }))

  it.effect("the AI SDK's generateObject (chat completions, json_schema) gets the object from Claude and Gemini", () =>
    Effect.gen(function*() {
      const { baseURL } = yield* TestEnv
      const provider = createOpenAICompatible({ name: "llm-router", baseURL, apiKey: MASTER_KEY, supportsStructuredOutputs: true })
      for (const model of ["claude-tool", "gemini-20"]) {
        const { object } = yield* Effect.promise(() =>
          generateObject({ model: provider(model), schema: jsonSchema<Record<string, unknown>>(citySchema), prompt: "Describe Oslo.", maxRetries: 0 })
        )
        assert.deepStrictEqual(object, expectedFor(model), model)
      }
    }))
})

/**
 * What `pnpm start` lets a newcomer see: structured output, tools and `n` working through the
 * gateway with the official `openai` client, against the same mock upstreams the demo runs
 * (here on free ports, never the demo's). The answers must keep the request's promises:
 * `.parse()` with a zod schema succeeds, tool arguments match the tool's parameters, `n`
 * gives that many choices. `Synthesize` itself is checked against a JSON Schema validator.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Validator } from "@cfworker/json-schema"
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import OpenAI from "openai"
import { zodFunction, zodResponseFormat } from "openai/helpers/zod"
import { z } from "zod"
import { Gateway, GatewayConfig, Providers } from "@llm-router/server"
import { AnthropicUpstream, GeminiUpstream, OpenAiUpstream, Synthesize } from "@llm-router/testing"

class Client extends Context.Service<Client, OpenAI>()("test/demo-mocks/Client") {}

const client = Layer.effect(Client, Effect.gen(function*() {
  const openai = yield* OpenAiUpstream.make({ text: "Hello from the steady OpenAI mock." })
  const anthropic = yield* AnthropicUpstream.make({ text: "Hello from the Anthropic mock." })
  const gemini = yield* GeminiUpstream.make({ text: "Hello from the Gemini mock." })
  const config = yield* GatewayConfig.parse(`
model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${openai.baseUrl}", api_key: sk-demo }
  - model_name: claude-sonnet
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.baseUrl}", api_key: sk-ant-demo }
  - model_name: gemini-flash
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: "${gemini.baseUrl}", api_key: demo }
`, { knownProviders: Providers.builtin.known })
  const context = yield* Layer.build(
    Gateway.layer({ config, clientFor: Providers.builtin.clientFor, port: 0 }).pipe(Layer.provide(Providers.layerHttpClient))
  )
  const address = Context.get(context, HttpServer.HttpServer).address
  const port = address._tag === "UnixPathAddress" ? 0 : address.port
  return new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "any", maxRetries: 0 })
}).pipe(Effect.orDie))

const Weather = z.object({
  city: z.string(),
  unit: z.enum(["celsius", "fahrenheit"]),
  days: z.number().int().min(1).max(7),
  alerts: z.array(z.object({ kind: z.string(), severity: z.number() })),
  note: z.string().nullable()
})

const weatherTool = zodFunction({ name: "get_weather", parameters: Weather, description: "Weather forecast for a city" })
const user = [{ role: "user" as const, content: "What's the weather in Oslo?" }]

layer(client, { excludeTestServices: true })("the demo's mock upstreams through the gateway", (it) => {
  it.effect("structured output: .parse() with a zod schema gets a value matching it (OpenAI, Gemini)", () =>
    Effect.gen(function*() {
      const openai = yield* Client
      for (const model of ["gpt-4o", "gemini-flash"]) {
        const completion = yield* Effect.promise(() =>
          openai.chat.completions.parse({ model, messages: user, response_format: zodResponseFormat(Weather, "weather") })
        )
        const parsed = completion.choices[0]?.message.parsed
        assert.isDefined(parsed, model)
        // `.parse()` already ran zod over the content; check it once more, plainly.
        assert.isTrue(Weather.safeParse(parsed).success, `${model}: ${JSON.stringify(parsed)}`)
      }
    }))

  it.effect("tools: every provider's call has arguments that match the tool's parameters", () =>
    Effect.gen(function*() {
      const openai = yield* Client
      for (const model of ["gpt-4o", "claude-sonnet", "gemini-flash"]) {
        const completion = yield* Effect.promise(() =>
          openai.chat.completions.parse({ model, messages: user, tools: [weatherTool], tool_choice: "required" })
        )
        const choice = completion.choices[0]!
        assert.strictEqual(choice.finish_reason, "tool_calls", model)
        const call = choice.message.tool_calls?.[0]
        assert.strictEqual(call?.type, "function")
        if (call?.type !== "function") return
        assert.strictEqual(call.function.name, "get_weather")
        assert.isTrue(Weather.safeParse(call.function.parsed_arguments).success, `${model}: ${call.function.arguments}`)
      }
    }))

  it.effect("n: that many choices, plain and streamed", () =>
    Effect.gen(function*() {
      const openai = yield* Client
      const plain = yield* Effect.promise(() => openai.chat.completions.create({ model: "gpt-4o", messages: user, n: 3 }))
      assert.deepStrictEqual(plain.choices.map((c) => c.index), [0, 1, 2])
      for (const choice of plain.choices) assert.include(choice.message.content, "Hello from the steady OpenAI mock.")
      const stream = yield* Effect.promise(() => openai.chat.completions.create({ model: "gpt-4o", messages: user, n: 2, stream: true }))
      const texts = new Map<number, string>()
      yield* Effect.promise(async () => {
        for await (const chunk of stream) {
          for (const choice of chunk.choices) texts.set(choice.index, (texts.get(choice.index) ?? "") + (choice.delta.content ?? ""))
        }
      })
      assert.deepStrictEqual([...texts.keys()].sort(), [0, 1])
      for (const text of texts.values()) assert.include(text, "Hello from the steady OpenAI mock.")
    }))
})

describe("Synthesize", () => {
  const schemas: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["nested objects and arrays", {
      type: "object",
      properties: {
        name: { type: "string", minLength: 12 },
        tags: { type: "array", items: { type: "string", maxLength: 3 }, minItems: 2 },
        address: { type: "object", properties: { zip: { type: "string", pattern: "^.*$" }, n: { type: "integer", minimum: 10, maximum: 20 } }, required: ["zip", "n"] }
      },
      required: ["name", "tags", "address"],
      additionalProperties: false
    }],
    ["$defs, $ref and a nullable union", {
      type: "object",
      $defs: { Step: { type: "object", properties: { explanation: { type: "string" }, output: { type: "string" } }, required: ["explanation", "output"] } },
      properties: {
        steps: { type: "array", items: { $ref: "#/$defs/Step" } },
        final: { anyOf: [{ type: "null" }, { type: "number", exclusiveMinimum: 0 }] }
      },
      required: ["steps", "final"]
    }],
    ["a recursive $ref ends", {
      $defs: { Node: { type: "object", properties: { value: { type: "integer" }, children: { type: "array", items: { $ref: "#/$defs/Node" } } }, required: ["value", "children"] } },
      $ref: "#/$defs/Node"
    }],
    ["enum, const, formats, type lists", {
      type: "object",
      properties: {
        unit: { enum: ["c", "f"] },
        kind: { const: "forecast" },
        at: { type: "string", format: "date-time" },
        email: { type: "string", format: "email" },
        id: { type: "string", format: "uuid" },
        maybe: { type: ["string", "null"] },
        ok: { type: "boolean" },
        score: { type: "number", maximum: -5 }
      },
      required: ["unit", "kind", "at", "email", "id", "maybe", "ok", "score"]
    }],
    ["allOf merges", { allOf: [{ type: "object", properties: { a: { type: "string" } }, required: ["a"] }, { properties: { b: { type: "integer" } }, required: ["b"] }] }],
    ["tuples", { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], minItems: 2, maxItems: 2 }]
  ]
  for (const [name, schema] of schemas) {
    it(`makes a value the schema accepts: ${name}`, () => {
      const value = Synthesize.valueOf(schema)
      const result = new Validator(schema as never, "2020-12").validate(value)
      assert.isTrue(result.valid, `${JSON.stringify(value)}: ${JSON.stringify(result.errors.slice(0, 3))}`)
    })
  }

  it("fills only the required properties when a schema lists them, and every one when it does not", () => {
    assert.deepStrictEqual(
      Synthesize.argumentsOf({ type: "object", properties: { city: { type: "string" }, unit: { type: "string" } }, required: ["city"] }, { string: () => "x" }),
      { city: "x" }
    )
    assert.deepStrictEqual(Synthesize.argumentsOf({ properties: { a: { type: "STRING" }, b: { type: "INTEGER" } } }, { string: () => "x" }), { a: "x", b: 1 })
  })
})

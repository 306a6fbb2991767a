/**
 * `response_format: json_schema` to Claude: native structured output (`output_config.format`)
 * where the model and the schema allow it, else the forced JSON tool; either way the answer
 * comes back as JSON in `message.content`, plain and streamed, through the mock upstream.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chat } from "@llm-router/core"
import { Effect, Redacted, Result } from "effect"
import * as AnthropicUpstream from "../../testing/src/upstream/AnthropicUpstream.ts"
import * as AnthropicRequest from "../src/AnthropicRequest.ts"
import * as StructuredOutput from "../src/StructuredOutput.ts"
import { chat, chunksOf, deployment, request, streamParts } from "./support.ts"

/** A schema as OpenAI's strict mode (and the `openai` SDK's `zodResponseFormat`) writes it. */
const strictSchema = {
  type: "object",
  properties: {
    city: { type: "string" },
    days: { type: "array", items: { type: "object", properties: { high: { type: "number" } }, required: ["high"], additionalProperties: false } },
    unit: { type: "string", enum: ["C", "F"] }
  },
  required: ["city", "days", "unit"],
  additionalProperties: false
}
const forecast: Chat.ResponseFormat = { type: "json_schema", json_schema: { name: "forecast", schema: strictSchema, strict: true } }
/** What the mock answers (see `Synthesize`): its strings are the mock's text, or `<name>-value` in a tool's input. */
const expected = { city: "city-value", days: [{ high: 1 }], unit: "C" }
const MOCK_TEXT = "city-value"

const NATIVE_MODEL = "claude-sonnet-4-5-20250929"
const OLDER_MODEL = "claude-sonnet-4-20250514"

const translate = (model: string, req: Partial<Chat.ChatRequest>) => {
  const d = deployment("http://127.0.0.1:1", { model, apiKey: Redacted.make("k") })
  const result = AnthropicRequest.fromChat(request(req), d, false)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  // Whatever is sent must be something Anthropic accepts.
  assert.isUndefined(AnthropicUpstream.validate(JSON.parse(JSON.stringify(result.success))))
  return result.success
}

const lookup: Chat.FunctionTool = {
  type: "function",
  function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] } }
}

describe("StructuredOutput.modelHasNativeOutput", () => {
  it("is Claude 4.5 and later, whatever the date suffix or prefix", () => {
    for (const model of ["claude-sonnet-4-5", NATIVE_MODEL, "claude-haiku-4-5-20251001", "claude-opus-4-5", "claude-opus-4-6", "claude-sonnet-4-6", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-5"]) {
      assert.isTrue(StructuredOutput.modelHasNativeOutput(model), model)
    }
    for (const model of [OLDER_MODEL, "claude-opus-4-1-20250805", "claude-3-5-haiku-20241022", "claude-3-7-sonnet-latest", "claude-opus-4-20250514", "gpt-4o"]) {
      assert.isFalse(StructuredOutput.modelHasNativeOutput(model), model)
    }
  })
})

describe("StructuredOutput.fitsNativeGrammar", () => {
  it("takes closed objects, enums, local refs and anyOf", () => {
    assert.isTrue(StructuredOutput.fitsNativeGrammar(strictSchema))
    assert.isTrue(StructuredOutput.fitsNativeGrammar({
      type: "object",
      properties: { a: { $ref: "#/$defs/A" }, b: { anyOf: [{ type: "string" }, { type: "null" }] } },
      required: ["a", "b"],
      additionalProperties: false,
      $defs: { A: { type: "object", properties: { x: { type: "integer" } }, required: ["x"], additionalProperties: false } }
    }))
  })

  it("refuses open objects, numeric and length bounds, and recursion", () => {
    const closed = (properties: Record<string, unknown>) => ({ type: "object", properties, required: Object.keys(properties), additionalProperties: false })
    assert.isFalse(StructuredOutput.fitsNativeGrammar({ type: "object", properties: { a: { type: "string" } } }))
    assert.isFalse(StructuredOutput.fitsNativeGrammar(closed({ a: { type: "object", properties: {} } })))
    assert.isFalse(StructuredOutput.fitsNativeGrammar(closed({ a: { type: "integer", minimum: 0 } })))
    assert.isFalse(StructuredOutput.fitsNativeGrammar(closed({ a: { type: "string", maxLength: 3 } })))
    assert.isFalse(StructuredOutput.fitsNativeGrammar(closed({ a: { type: "array", items: { type: "string" }, minItems: 2 } })))
    assert.isTrue(StructuredOutput.fitsNativeGrammar(closed({ a: { type: "array", items: { type: "string" }, minItems: 1 } })))
    assert.isFalse(StructuredOutput.fitsNativeGrammar({ ...closed({ next: { $ref: "#" } }) }))
    assert.isFalse(StructuredOutput.fitsNativeGrammar({
      ...closed({ node: { $ref: "#/$defs/Node" } }),
      $defs: { Node: closed({ child: { $ref: "#/$defs/Node" } }) }
    }))
  })
})

describe("the request for a JSON schema", () => {
  it("is native output_config on a model that has it, with nothing added to the prompt or tools", () => {
    const body = translate(NATIVE_MODEL, { response_format: forecast })
    assert.deepStrictEqual(body.output_config, { format: { type: "json_schema", schema: strictSchema } })
    assert.isUndefined(body.tools)
    assert.isUndefined(body.tool_choice)
    assert.isUndefined(body.system)
  })

  it("keeps thinking with native output (a forced tool would have to drop it)", () => {
    const body = translate(NATIVE_MODEL, { response_format: forecast, reasoning_effort: "low" } as Partial<Chat.ChatRequest>)
    assert.isDefined(body.output_config)
    assert.deepStrictEqual(body.thinking, { type: "enabled", budget_tokens: 1024 })
  })

  it("is the forced JSON tool on an older model, or for a schema the grammar cannot take", () => {
    for (const [model, schema] of [[OLDER_MODEL, strictSchema], [NATIVE_MODEL, { type: "object", properties: { n: { type: "integer", minimum: 1 } } }]] as const) {
      const body = translate(model, { response_format: { type: "json_schema", json_schema: { name: "forecast", schema } } })
      assert.isUndefined(body.output_config)
      assert.deepStrictEqual(body.tools?.map((t) => [t.name, t.input_schema]), [[StructuredOutput.JSON_TOOL_NAME, schema]])
      assert.deepStrictEqual(body.tool_choice, { type: "tool", name: StructuredOutput.JSON_TOOL_NAME })
    }
  })

  it("with the caller's tools, the model must call one of them or answer through the JSON tool", () => {
    const body = translate(OLDER_MODEL, { response_format: forecast, tools: [lookup], parallel_tool_calls: false })
    assert.deepStrictEqual(body.tools?.map((t) => t.name), ["lookup", StructuredOutput.JSON_TOOL_NAME])
    assert.deepStrictEqual(body.tool_choice, { type: "any", disable_parallel_tool_use: true })
    const named = translate(OLDER_MODEL, { response_format: forecast, tools: [lookup], tool_choice: { type: "function", function: { name: "lookup" } } })
    assert.deepStrictEqual(named.tool_choice, { type: "tool", name: "lookup" })
    const none = translate(OLDER_MODEL, { response_format: forecast, tools: [lookup], tool_choice: "none" })
    assert.deepStrictEqual(none.tools?.map((t) => t.name), [StructuredOutput.JSON_TOOL_NAME])
    assert.deepStrictEqual(none.tool_choice, { type: "tool", name: StructuredOutput.JSON_TOOL_NAME })
  })

  it("json_object stays a system instruction", () => {
    const body = translate(NATIVE_MODEL, { response_format: { type: "json_object" } })
    assert.match(String(body.system), /valid JSON object/)
    assert.isUndefined(body.output_config)
    assert.isUndefined(body.tools)
  })
})

describe("the answer to a JSON schema, through the mock", () => {
  const cases = [["native output", NATIVE_MODEL], ["the JSON tool", OLDER_MODEL]] as const

  for (const [how, model] of cases) {
    it.live(`by ${how}: JSON in content, finish_reason stop, no tool calls (plain)`, () =>
      Effect.gen(function*() {
        const mock = yield* AnthropicUpstream.make({ text: MOCK_TEXT })
        const { response } = yield* chat(deployment(mock.baseUrl, { model }), request({ response_format: forecast }))
        const choice = response.choices[0]!
        assert.deepStrictEqual(JSON.parse(choice.message.content ?? ""), expected)
        assert.strictEqual(choice.finish_reason, "stop")
        assert.isUndefined(choice.message.tool_calls)
      }))

    it.live(`by ${how}: the same JSON streamed as content deltas`, () =>
      Effect.gen(function*() {
        const mock = yield* AnthropicUpstream.make({ text: MOCK_TEXT })
        const parts = yield* streamParts(deployment(mock.baseUrl, { model }), request({ response_format: forecast }))
        const collected = Chat.collectChunks(chunksOf(parts))
        const choice = collected.choices[0]!
        assert.deepStrictEqual(JSON.parse(choice.message.content ?? ""), expected)
        assert.strictEqual(choice.finish_reason, "stop")
        assert.isUndefined(choice.message.tool_calls)
      }))
  }

  it.live("a call to one of the caller's own tools stays a tool call", () =>
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ toolInput: { q: "Oslo" } })
      const d = deployment(mock.baseUrl, { model: OLDER_MODEL })
      const req = request({ response_format: forecast, tools: [lookup] })
      const { response } = yield* chat(d, req)
      assert.strictEqual(response.choices[0]?.finish_reason, "tool_calls")
      assert.deepStrictEqual(response.choices[0]?.message.tool_calls?.map((c) => [c.function.name, c.function.arguments]), [["lookup", "{\"q\":\"Oslo\"}"]])
      const streamed = Chat.collectChunks(chunksOf(yield* streamParts(d, req)))
      assert.strictEqual(streamed.choices[0]?.finish_reason, "tool_calls")
      assert.deepStrictEqual(streamed.choices[0]?.message.tool_calls?.map((c) => c.function.name), ["lookup"])
    }))
})

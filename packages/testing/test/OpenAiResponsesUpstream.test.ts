/**
 * The OpenAI mock's `POST /v1/responses`, read by the official `openai` client: a plain answer,
 * the typed event stream (text and function-call arguments) ending in the same `Response`, a
 * json_schema answer that parses, a missing field answered as OpenAI does, and the mock's fault
 * controls (an HTTP error, an error mid-stream) on this route too.
 */
import { assert, describe, it } from "@effect/vitest"
import { OpenAiUpstream } from "@llm-router/testing"
import { Effect } from "effect"
import OpenAI, { BadRequestError, RateLimitError } from "openai"
import type { ResponseStreamEvent } from "openai/resources/responses/responses"

const clientOf = (baseURL: string) => new OpenAI({ apiKey: "sk-mock", baseURL, maxRetries: 0 })

const collect = (stream: AsyncIterable<ResponseStreamEvent>) =>
  Effect.promise(async () => {
    const events: Array<ResponseStreamEvent> = []
    for await (const event of stream) events.push(event)
    return events
  })

describe("OpenAiUpstream: the Responses API", () => {
  it.effect("answers a plain call on /v1/responses with a Response the SDK reads", () =>
    Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const response = yield* Effect.promise(() => clientOf(mock.baseUrl).responses.create({ model: "gpt-4o", instructions: "Be brief.", input: "Say hi" }))
      assert.strictEqual(response.object, "response")
      assert.strictEqual(response.status, "completed")
      assert.strictEqual(response.model, "gpt-4o")
      assert.strictEqual(response.output_text, "Hello from the mock. You said: Say hi")
      assert.strictEqual(response.output[0]?.type, "message")
      assert.strictEqual(response.usage?.output_tokens, 8)
      assert.strictEqual(response.usage?.input_tokens, Math.ceil("Be brief.Say hi".length / 4))
      assert.deepStrictEqual(mock.requests.map((r) => r.path), ["/v1/responses"])
    }).pipe(Effect.scoped))

  it.effect("streams typed events whose deltas add up to the completed response", () =>
    Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const events = yield* collect(
        yield* Effect.promise(() => clientOf(mock.baseUrl).responses.create({ model: "gpt-4o", input: [{ role: "user", content: "Stream it" }], stream: true }))
      )
      const types = events.map((e) => e.type)
      assert.deepStrictEqual(types.slice(0, 4), ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"])
      assert.deepStrictEqual(types.slice(-5), [
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed"
      ])
      assert.deepStrictEqual(events.map((e) => e.sequence_number), events.map((_, i) => i))
      const text = events.flatMap((e) => e.type === "response.output_text.delta" ? [e.delta] : []).join("")
      const completed = events.at(-1)
      assert(completed?.type === "response.completed")
      assert.strictEqual(text, "Hello from the mock. You said: Stream it")
      assert.strictEqual(completed.response.output_text, text)
    }).pipe(Effect.scoped))

  it.effect("calls a function tool, streamed as argument deltas, with arguments matching its parameters", () =>
    Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const tools = [{
        type: "function" as const,
        name: "get_weather",
        strict: true,
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false }
      }]
      const client = clientOf(mock.baseUrl)
      const plain = yield* Effect.promise(() => client.responses.create({ model: "gpt-4o", input: "Paris", tools }))
      const call = plain.output[0]
      assert(call?.type === "function_call")
      assert.strictEqual(call.name, "get_weather")
      assert.deepStrictEqual(JSON.parse(call.arguments), { city: "Paris" })
      const events = yield* collect(yield* Effect.promise(() => client.responses.create({ model: "gpt-4o", input: "Paris", tools, stream: true })))
      const deltas = events.flatMap((e) => e.type === "response.function_call_arguments.delta" ? [e.delta] : [])
      assert.isAbove(deltas.length, 1)
      const done = events.find((e) => e.type === "response.function_call_arguments.done")
      assert(done?.type === "response.function_call_arguments.done")
      assert.strictEqual(deltas.join(""), done.arguments)
      assert.deepStrictEqual(JSON.parse(done.arguments), { city: "Paris" })
    }).pipe(Effect.scoped))

  it.effect("answers text.format json_schema with a value matching the schema", () =>
    Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const response = yield* Effect.promise(() =>
        clientOf(mock.baseUrl).responses.create({
          model: "gpt-4o",
          input: "Weather?",
          text: {
            format: {
              type: "json_schema",
              name: "weather",
              schema: { type: "object", properties: { celsius: { type: "number" } }, required: ["celsius"], additionalProperties: false }
            }
          }
        })
      )
      assert.strictEqual(typeof JSON.parse(response.output_text).celsius, "number")
    }).pipe(Effect.scoped))

  it.effect("answers a missing input, a fault and an error mid-stream as OpenAI does", () =>
    Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const missing = yield* Effect.promise(() => clientOf(mock.baseUrl).responses.create({ model: "gpt-4o" }).then(() => undefined, (e: unknown) => e))
      assert.instanceOf(missing, BadRequestError)
      assert.strictEqual(missing.param, "input")
      const limited = yield* Effect.promise(() =>
        clientOf(mock.faultUrl("rate-limit")).responses.create({ model: "gpt-4o", input: "hi" }).then(() => undefined, (e: unknown) => e)
      )
      assert.instanceOf(limited, RateLimitError)
      assert.strictEqual(limited.headers.get("retry-after"), "1")
      const broken = yield* Effect.promise(async () => {
        const seen: Array<string> = []
        try {
          const stream = await clientOf(mock.faultUrl("error-after-200")).responses.create({ model: "gpt-4o", input: "hi", stream: true })
          for await (const event of stream) seen.push(event.type)
          return { seen, error: undefined }
        } catch (error) {
          return { seen, error }
        }
      })
      assert.deepStrictEqual(broken.seen, [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta"
      ])
      assert.isDefined(broken.error)
      assert.include(String(broken.error), "The server had an error")
    }).pipe(Effect.scoped))
})

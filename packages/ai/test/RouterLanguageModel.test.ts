/**
 * `effect/ai` end to end over the router: `LanguageModel.generateText`, `streamText`,
 * `generateObject` and a toolkit with a handler, each through `RouterLanguageModel` over a
 * router whose deployments are the real adapters talking to the HTTP mock upstreams (OpenAI's
 * and Anthropic's wire formats), with failover between them.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { RouterLanguageModel } from "@llm-router/ai"
import { RouterState } from "@llm-router/core"
import { Providers } from "@llm-router/providers"
import { AnthropicUpstream, OpenAiUpstream } from "@llm-router/testing"
import { Effect, Layer, Ref, Schema, Stream } from "effect"
import { Chat, LanguageModel, Prompt, type Response, Tool, Toolkit } from "effect/ai"

/** The router over `config`, as the `LanguageModel` of group `model`. */
const modelLayer = (config: unknown, model: string) =>
  RouterLanguageModel.model(model).pipe(
    Layer.provide(Providers.layerRouter(config)),
    Layer.provide([RouterState.layerMemory, NodeHttpClient.layerUndici])
  )

const deployment = (group: string, model: string, apiBase: string, order?: number) => ({
  model_name: group,
  litellm_params: { model, api_base: apiBase, api_key: "sk-test", ...(order === undefined ? {} : { order }) }
})

/**
 * Group "gpt": a deployment that drops its streams after a few chunks, then a healthy one, both
 * answering `text`, with streams restarted on another deployment after content.
 */
const restartingGroup = (text: string) =>
  Effect.gen(function*() {
    const dropping = yield* OpenAiUpstream.make({ text, echo: false })
    const good = yield* OpenAiUpstream.make({ text, echo: false })
    return {
      model_list: [deployment("gpt", "openai/gpt-4o", dropping.faultUrl("error-after-200"), 1), deployment("gpt", "openai/gpt-4o", good.baseUrl, 2)],
      stream_failure_policy: "restart",
      num_retries: 1
    }
  })

/** An assistant message's parts: the text of text parts, the type of the others. */
const assistantParts = (message: Prompt.Message | undefined) =>
  message?.role === "assistant" ? message.content.map((p) => (p.type === "text" ? p.text : p.type)) : [message?.role]

const textOf = (parts: ReadonlyArray<Response.AnyPart>) => parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")

describe("LanguageModel.generateText over a routed group", () => {
  it.effect("answers from the fallback group when the group's provider is down, with the route in the metadata", () =>
    Effect.gen(function*() {
      const openai = yield* OpenAiUpstream.make()
      const anthropic = yield* AnthropicUpstream.make({ text: "Hello from Claude." })
      const config = {
        model_list: [
          deployment("gpt", "openai/gpt-4o", openai.faultUrl("overloaded")),
          deployment("claude", "anthropic/claude-sonnet-4-5", anthropic.baseUrl)
        ],
        fallbacks: [{ gpt: ["claude"] }],
        num_retries: 0
      }
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(modelLayer(config, "gpt")))
      assert.strictEqual(response.text, "Hello from Claude.")
      assert.strictEqual(response.finishReason, "stop")
      assert.isAbove(response.usage.inputTokens.total ?? 0, 0)
      assert.isAbove(response.usage.outputTokens.total ?? 0, 0)
      const route = RouterLanguageModel.routeOf(response)
      assert.strictEqual(route?.group, "gpt")
      assert.strictEqual(route?.servedBy, "claude")
      assert.strictEqual(route?.provider, "anthropic")
      assert.deepStrictEqual(route?.fallbacks, ["claude"])
      assert.strictEqual(route?.attempts, 2)
      assert.deepStrictEqual(route?.usage?.prompt_tokens, response.usage.inputTokens.total)
    }).pipe(Effect.scoped))
})

describe("LanguageModel.streamText over a routed group", () => {
  it.effect("a deployment that fails before its first content is replaced invisibly", () =>
    Effect.gen(function*() {
      const bad = yield* OpenAiUpstream.make()
      const good = yield* OpenAiUpstream.make({ text: "The capital of France is Paris.", echo: false })
      const config = {
        model_list: [deployment("gpt", "openai/gpt-4o", bad.faultUrl("server-error"), 1), deployment("gpt", "openai/gpt-4o", good.baseUrl, 2)],
        num_retries: 1
      }
      const parts = yield* LanguageModel.streamText({ prompt: "Capital of France?" }).pipe(
        Stream.runCollect,
        Effect.provide(modelLayer(config, "gpt"))
      )
      assert.strictEqual(textOf(parts), "The capital of France is Paris.")
      const starts = parts.filter((p) => p.type === "response-metadata")
      assert.strictEqual(starts.length, 1, "one deployment announced")
      assert.strictEqual(parts.filter((p) => p.type === "text-start").length, 1)
      const route = RouterLanguageModel.routeOf(parts)
      assert.strictEqual(route?.attempts, 2)
      assert.strictEqual(bad.requests.length, 1)
      const finish = parts.at(-1)
      assert.strictEqual(finish?.type === "finish" ? finish.reason : undefined, "stop")
    }).pipe(Effect.scoped))

  it.effect("a stream restarted on another deployment leaves only the finished answer in what is joined by block", () =>
    Effect.gen(function*() {
      const config = yield* restartingGroup("The capital of France is Paris.")
      const parts = yield* LanguageModel.streamText({ prompt: "Capital of France?" }).pipe(
        Stream.runCollect,
        Effect.provide(modelLayer(config, "gpt"))
      )
      // The abandoned answer's deltas did go out, then the block started again.
      const starts = parts.filter((p) => p.type === "text-start")
      assert.strictEqual(starts.length, 2)
      assert.strictEqual(starts[0]?.id, starts[1]?.id)
      const restarted = starts[1]?.metadata["llm-router"] as { restarted?: { error?: string; route?: { deployment?: string } } }
      assert.strictEqual(restarted.restarted?.error, "InternalServerError")
      assert.notStrictEqual(textOf(parts), "The capital of France is Paris.")
      // Joined by block, as `Chat` keeps its history: only the finished answer.
      assert.deepStrictEqual(assistantParts(Prompt.fromResponseParts(parts).content[0]), ["The capital of France is Paris."])
      const route = RouterLanguageModel.routeOf(parts)
      assert.strictEqual(route?.restarts, 1)
      assert.strictEqual(restarted.restarted?.route?.deployment === route?.deployment, false)
    }).pipe(Effect.scoped))

  it.effect("Chat.streamText keeps the finished answer of a restarted stream in its history", () =>
    Effect.gen(function*() {
      const config = yield* restartingGroup("Paris is the capital.")
      const history = yield* Effect.gen(function*() {
        const chat = yield* Chat.empty
        yield* chat.streamText({ prompt: "Capital of France?" }).pipe(Stream.runDrain)
        return yield* Ref.get(chat.history)
      }).pipe(Effect.provide(modelLayer(config, "gpt")))
      assert.deepStrictEqual(assistantParts(history.content.at(-1)), ["Paris is the capital."])
    }).pipe(Effect.scoped))
})

describe("LanguageModel.generateObject over a routed group", () => {
  it.effect("sends the Schema as a JSON Schema response format and decodes the answer with it", () =>
    Effect.gen(function*() {
      // The mock answers a JSON Schema response format with a value made from the schema.
      const openai = yield* OpenAiUpstream.make({ text: "Paris", echo: false })
      const config = { model_list: [deployment("gpt", "openai/gpt-4o", openai.baseUrl)] }
      const City = Schema.Struct({ city: Schema.String, population: Schema.Int })
      const response = yield* LanguageModel.generateObject({ prompt: "The capital of France, as JSON", schema: City, objectName: "city" }).pipe(
        Effect.provide(modelLayer(config, "gpt"))
      )
      assert.strictEqual(response.value.city, "Paris")
      assert.isTrue(Number.isInteger(response.value.population))
      assert.deepStrictEqual(JSON.parse(response.text), response.value)
      const body = openai.requests[0]?.body as { response_format?: { type: string; json_schema: { name: string; schema: { properties: Record<string, unknown> } } } }
      assert.strictEqual(body.response_format?.type, "json_schema")
      assert.strictEqual(body.response_format?.json_schema.name, "city")
      assert.sameMembers(Object.keys(body.response_format?.json_schema.schema.properties ?? {}), ["city", "population"])
    }).pipe(Effect.scoped))
})

describe("a toolkit with a handler over a routed group", () => {
  const Lookup = Tool.make("lookup", {
    description: "Looks a city's weather up",
    parameters: Schema.Struct({ query: Schema.String }),
    success: Schema.String
  })
  const Tools = Toolkit.make(Lookup)
  const handlers = Tools.toLayer({ lookup: ({ query }) => Effect.succeed(`sunny in ${query}`) })

  it.effect("the model's call runs the handler, and the result goes back on the next turn", () =>
    Effect.gen(function*() {
      const anthropic = yield* AnthropicUpstream.make({ text: "It is sunny." })
      const config = { model_list: [deployment("claude", "anthropic/claude-sonnet-4-5", anthropic.baseUrl)] }
      const layer = Layer.merge(modelLayer(config, "claude"), handlers)
      const first = yield* LanguageModel.generateText({ prompt: "Paris", toolkit: Tools }).pipe(Effect.provide(layer))
      assert.strictEqual(first.finishReason, "tool-calls")
      assert.strictEqual(first.toolCalls[0]?.name, "lookup")
      // Anthropic's mock fills the tool's input from its JSON Schema.
      const query = (first.toolCalls[0]?.params as { readonly query?: unknown } | undefined)?.query
      assert.isString(query)
      assert.strictEqual(first.toolResults[0]?.result, `sunny in ${query}`)
      // The tool offered to Anthropic carries the toolkit's JSON Schema.
      const offered = anthropic.requests[0]?.body as { tools: Array<{ name: string; description: string; input_schema: { properties: Record<string, unknown> } }> }
      assert.strictEqual(offered.tools[0]?.name, "lookup")
      assert.strictEqual(offered.tools[0]?.description, "Looks a city's weather up")
      assert.deepStrictEqual(Object.keys(offered.tools[0]?.input_schema.properties ?? {}), ["query"])

      const history = Prompt.concat(Prompt.make("Paris"), Prompt.fromResponseParts(first.content))
      const second = yield* LanguageModel.generateText({ prompt: history, toolkit: Tools, toolChoice: "none" }).pipe(Effect.provide(layer))
      assert.match(second.text, /^It is sunny\./)
      const sent = anthropic.requests[1]?.body as { messages: Array<{ role: string; content: ReadonlyArray<Record<string, unknown>> | string }> }
      const call = first.toolCalls[0]!
      const blocks = sent.messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content))
      assert.deepInclude(blocks, { type: "tool_use", id: call.id, name: "lookup", input: { query } })
      const result = blocks.find((b) => b["type"] === "tool_result")
      assert.strictEqual(result?.["tool_use_id"], call.id)
      assert.include(JSON.stringify(result?.["content"]), `sunny in ${query}`)
    }).pipe(Effect.scoped))

  it.effect("a failed tool result goes back as a failure (Anthropic's is_error)", () =>
    Effect.gen(function*() {
      const anthropic = yield* AnthropicUpstream.make({ text: "Sorry, the lookup failed." })
      const config = { model_list: [deployment("claude", "anthropic/claude-sonnet-4-5", anthropic.baseUrl)] }
      const history = Prompt.fromMessages([
        Prompt.userMessage({ content: [Prompt.textPart({ text: "Paris" })] }),
        Prompt.assistantMessage({
          content: [Prompt.toolCallPart({ id: "toolu_1", name: "lookup", params: { query: "Paris" }, providerExecuted: false })]
        }),
        Prompt.toolMessage({
          content: [Prompt.toolResultPart({ id: "toolu_1", name: "lookup", isFailure: true, result: "upstream timed out", providerExecuted: false })]
        })
      ])
      yield* LanguageModel.generateText({ prompt: history, toolkit: Tools, toolChoice: "none" }).pipe(
        Effect.provide(Layer.merge(modelLayer(config, "claude"), handlers))
      )
      const sent = anthropic.requests[0]?.body as { messages: Array<{ content: ReadonlyArray<Record<string, unknown>> | string }> }
      const result = sent.messages.flatMap((m) => (typeof m.content === "string" ? [] : m.content)).find((b) => b["type"] === "tool_result")
      assert.strictEqual(result?.["is_error"], true)
    }).pipe(Effect.scoped))

  it.effect("streamText assembles a streamed tool call and runs the handler", () =>
    Effect.gen(function*() {
      const openai = yield* OpenAiUpstream.make()
      const config = { model_list: [deployment("gpt", "openai/gpt-4o", openai.baseUrl)] }
      const parts = yield* LanguageModel.streamText({ prompt: "Lyon", toolkit: Tools }).pipe(
        Stream.runCollect,
        Effect.provide(Layer.merge(modelLayer(config, "gpt"), handlers))
      )
      const call = parts.find((p) => p.type === "tool-call")
      assert.deepStrictEqual(call?.type === "tool-call" ? call.params : undefined, { query: "Lyon" })
      const result = parts.find((p) => p.type === "tool-result")
      assert.strictEqual(result?.type === "tool-result" ? result.result : undefined, "sunny in Lyon")
      assert.strictEqual(parts.filter((p) => p.type === "tool-params-delta").map((p) => (p.type === "tool-params-delta" ? p.delta : "")).join(""), `{"query":"Lyon"}`)
    }).pipe(Effect.scoped))
})

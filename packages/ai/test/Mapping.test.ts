/**
 * What `RouterLanguageModel` maps, piece by piece, over a scripted `LlmClient` (so each wire
 * detail is set exactly): every `LlmError` kind to its `AiError` reason, reasoning with the
 * provider's thinking blocks there and back, usage and finish reasons, a restarted stream whose
 * new answer has no text, the router's retry waiting on `TestClock`, and routed groups as the
 * steps of an `ExecutionPlan`.
 */
import { assert, describe, it } from "@effect/vitest"
import { RouterLanguageModel } from "@llm-router/ai"
import { type Chat, LlmClient, LlmError, RouteInfo, Router, RouterConfig, RouterState } from "@llm-router/core"
import { RecordingTracer, SimulatedProvider } from "@llm-router/testing"
import { Duration, Effect, ExecutionPlan, Fiber, Layer, Schema, Stream } from "effect"
import { LanguageModel, Prompt, Tool, Toolkit } from "effect/ai"
import { TestClock } from "effect/testing"

/** A tool the scripted answers call, never run. */
const XTools = Toolkit.make(Tool.make("x", { parameters: Schema.Struct({ q: Schema.optional(Schema.Number) }) }))

const route: RouteInfo.RouteInfo = {
  group: "g",
  servedBy: "g",
  deployment: "g/openai/m",
  provider: "openai",
  model: "m",
  attempts: 1,
  fallbacks: [],
  latencyMs: 5
}

const answer = (message: Partial<Chat.ResponseMessage>, finish: Chat.FinishReason | null, usage?: Chat.Usage): Chat.ChatResponse => ({
  id: "r1",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: null, ...message }, finish_reason: finish }],
  ...(usage === undefined ? {} : { usage })
})

const chunk = (delta: Chat.Delta, finish?: Chat.FinishReason): Chat.ChatChunk => ({
  id: "c1",
  object: "chat.completion.chunk",
  created: 1_700_000_000,
  model: "m",
  choices: [{ index: 0, delta, ...(finish === undefined ? {} : { finish_reason: finish }) }]
})

/** A `LanguageModel` over a client that answers `chat` with `response` and streams `parts`; requests are kept. */
const scripted = (options: {
  readonly chat?: (request: Chat.ChatRequest) => Effect.Effect<LlmClient.Completion, LlmError.LlmError>
  readonly stream?: ReadonlyArray<LlmClient.StreamPart>
  readonly failStream?: LlmError.LlmError
}) => {
  const requests: Array<Chat.ChatRequest> = []
  const client = LlmClient.layer({
    chat: (request) => (requests.push(request), options.chat?.(request) ?? Effect.die("no chat scripted")),
    stream: (request) => {
      requests.push(request)
      const parts = Stream.fromIterable(options.stream ?? [])
      return options.failStream === undefined ? parts : Stream.concat(parts, Stream.fail(options.failStream))
    }
  })
  return { requests, layer: RouterLanguageModel.layer({ model: "g" }).pipe(Layer.provide(client)) }
}

describe("LlmError to AiError, per kind", () => {
  const origin = { provider: "openai", deployment: "g/openai/m", message: "upstream said no (key sk-abcdef123456)" }
  const cases: ReadonlyArray<readonly [LlmError.LlmError, string, boolean]> = [
    [new LlmError.RateLimited({ ...origin, status: 429, retryAfter: Duration.seconds(3) }), "RateLimitError", true],
    [new LlmError.RateLimited({ ...origin, status: 429, quotaExhausted: true }), "QuotaExhaustedError", false],
    [new LlmError.AuthenticationFailed({ ...origin, status: 401 }), "AuthenticationError", false],
    [new LlmError.PermissionDenied({ ...origin, status: 403 }), "AuthenticationError", false],
    [new LlmError.ModelNotFound({ ...origin, status: 404 }), "InvalidRequestError", false],
    [new LlmError.BadRequest({ ...origin, status: 400, param: "temperature" }), "InvalidRequestError", false],
    [new LlmError.ContextWindowExceeded({ ...origin, status: 400 }), "InvalidRequestError", false],
    [new LlmError.ContentPolicyViolation({ ...origin, status: 400 }), "ContentPolicyError", false],
    [new LlmError.Timeout({ ...origin, phase: "request" }), "NetworkError", true],
    [new LlmError.ConnectionFailed(origin), "NetworkError", true],
    [new LlmError.ServiceUnavailable({ ...origin, status: 503 }), "InternalProviderError", true],
    [new LlmError.InternalServerError({ ...origin, status: 500 }), "InternalProviderError", true],
    [new LlmError.NoDeploymentAvailable({ provider: "llm-router", group: "g", message: "all cooling down", retryAfter: Duration.seconds(2) }), "RateLimitError", true]
  ]
  it.effect.each(cases)("%s", ([error, reason, retryable]) =>
    Effect.gen(function*() {
      const { layer } = scripted({ chat: () => Effect.fail(error) })
      const failure = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(Effect.provide(layer), Effect.flip)
      assert.strictEqual(failure.reason._tag, reason)
      assert.strictEqual(failure.isRetryable, retryable)
      const where = RouterLanguageModel.failureOf(failure)
      assert.strictEqual(where?.error, error._tag)
      assert.strictEqual(where?.deployment, error.deployment)
      assert.strictEqual(where?.provider, error.provider)
      assert.notInclude(JSON.stringify(where), "sk-abcdef123456", "the message is scrubbed")
      if ("retryAfter" in error && error.retryAfter !== undefined && reason === "RateLimitError") {
        assert.deepStrictEqual(failure.retryAfter, error.retryAfter)
      }
      if (error._tag === "BadRequest") assert.strictEqual((failure.reason as { parameter?: string }).parameter, "temperature")
      if (error._tag === "NoDeploymentAvailable") assert.strictEqual(where?.group, "g")
      if (error._tag === "Timeout") assert.strictEqual(where?.phase, "request")
      if (error._tag === "BadRequest") assert.strictEqual(where?.param, "temperature")
    }))

  it.effect("a stream's failure is mapped the same way", () =>
    Effect.gen(function*() {
      const { layer } = scripted({ stream: [{ _tag: "Start", route }], failStream: new LlmError.RateLimited({ ...origin, status: 429 }) })
      const failure = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(Stream.runDrain, Effect.provide(layer), Effect.flip)
      assert.strictEqual(failure.reason._tag, "RateLimitError")
      assert.strictEqual(failure.method, "streamText")
    }))
})

describe("reasoning, usage and finish reasons", () => {
  const blocks = [{ type: "thinking", thinking: "Paris, surely.", signature: "sig-1" }]
  const usage: Chat.Usage = {
    prompt_tokens: 100,
    completion_tokens: 30,
    total_tokens: 130,
    prompt_tokens_details: { cached_tokens: 60 },
    completion_tokens_details: { reasoning_tokens: 10 }
  }

  it.effect("a whole answer: reasoning with its thinking blocks, usage split, and the blocks sent back next turn", () =>
    Effect.gen(function*() {
      const { requests, layer } = scripted({
        chat: () => Effect.succeed({ response: answer({ content: "Paris.", reasoning_content: "Paris, surely.", thinking_blocks: blocks }, "stop", usage), route })
      })
      const response = yield* LanguageModel.generateText({ prompt: "Capital of France?" }).pipe(Effect.provide(layer))
      assert.strictEqual(response.reasoningText, "Paris, surely.")
      assert.strictEqual(response.text, "Paris.")
      assert.deepStrictEqual(response.usage.inputTokens, { total: 100, uncached: 40, cacheRead: 60 })
      assert.deepStrictEqual(response.usage.outputTokens, { total: 30, text: 20, reasoning: 10 })
      assert.deepStrictEqual(RouterLanguageModel.routeOf(response), route)
      const next = Prompt.concat(Prompt.concat(Prompt.make("Capital of France?"), Prompt.fromResponseParts(response.content)), Prompt.make("And Spain?"))
      yield* LanguageModel.generateText({ prompt: next }).pipe(Effect.provide(layer))
      const assistant = requests[1]?.messages[1]
      assert.deepStrictEqual(assistant, { role: "assistant", content: "Paris.", reasoning_content: "Paris, surely.", thinking_blocks: blocks })
    }))

  it.effect("a streamed answer: reasoning and text blocks, the thinking blocks on reasoning-end, usage from the route", () =>
    Effect.gen(function*() {
      const { layer } = scripted({
        stream: [
          { _tag: "Start", route },
          { _tag: "Chunk", chunk: chunk({ role: "assistant", reasoning_content: "Paris, " }) },
          { _tag: "Chunk", chunk: chunk({ reasoning_content: "surely.", thinking_blocks: blocks }) },
          { _tag: "Chunk", chunk: chunk({ content: "Par" }) },
          { _tag: "Chunk", chunk: chunk({ content: "is." }, "length") },
          { _tag: "Done", route: { ...route, usage } }
        ]
      })
      const parts = yield* LanguageModel.streamText({ prompt: "x" }).pipe(Stream.runCollect, Effect.provide(layer))
      assert.deepStrictEqual(parts.map((p) => p.type), [
        "response-metadata",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-delta",
        "text-start",
        "text-delta",
        "text-delta",
        "reasoning-end",
        "text-end",
        "finish"
      ])
      const joined = Prompt.fromResponseParts(parts).content[0]
      const reasoning = joined?.role === "assistant" ? joined.content.find((p) => p.type === "reasoning") : undefined
      assert.strictEqual(reasoning?.type === "reasoning" ? reasoning.text : undefined, "Paris, surely.")
      assert.deepStrictEqual(reasoning?.options["llm-router"], { thinkingBlocks: blocks })
      const finish = parts.at(-1)
      assert.strictEqual(finish?.type === "finish" ? finish.reason : undefined, "length")
      assert.strictEqual(finish?.type === "finish" ? finish.usage.outputTokens.reasoning : undefined, 10)
      assert.strictEqual(RouterLanguageModel.routeOf(parts)?.usage?.total_tokens, 130)
    }))

  const finishes: ReadonlyArray<readonly [Chat.FinishReason | null, boolean, string]> = [
    ["stop", false, "stop"],
    ["length", false, "length"],
    ["content_filter", false, "content-filter"],
    ["tool_calls", true, "tool-calls"],
    ["stop", true, "tool-calls"],
    [null, false, "unknown"]
  ]
  it.effect.each(finishes)("finish_reason %s (tool calls: %s) is %s", ([reason, withCall, expected]) =>
    Effect.gen(function*() {
      const calls: Array<Chat.ToolCall> = withCall ? [{ id: "call_1", type: "function", function: { name: "x", arguments: "{}" } }] : []
      const { layer } = scripted({
        chat: () => Effect.succeed({ response: answer({ content: "ok", ...(withCall ? { tool_calls: calls } : {}) }, reason), route })
      })
      const response = yield* LanguageModel.generateText({ prompt: "x", toolkit: XTools, disableToolCallResolution: true }).pipe(Effect.provide(layer))
      assert.strictEqual(response.finishReason, expected)
    }))
})

describe("structured output", () => {
  it.effect("an answer that does not fit the Schema fails as invalid output", () =>
    Effect.gen(function*() {
      const { requests, layer } = scripted({ chat: () => Effect.succeed({ response: answer({ content: `{"city":42}` }, "stop"), route }) })
      const error = yield* LanguageModel.generateObject({ prompt: "x", schema: Schema.Struct({ city: Schema.String }) }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.oneOf(error.reason._tag, ["InvalidOutputError", "StructuredOutputError"])
      assert.strictEqual(requests[0]?.response_format?.type, "json_schema")
    }))
})

describe("restarts and the request", () => {
  it.effect("a restart whose new answer is only a tool call leaves no text of the abandoned one", () =>
    Effect.gen(function*() {
      const reason = new LlmError.ConnectionFailed({ provider: "openai", deployment: "g/openai/a", message: "reset" })
      const { layer } = scripted({
        stream: [
          { _tag: "Start", route },
          { _tag: "Chunk", chunk: chunk({ content: "I will look" }) },
          { _tag: "Restarted", route, reason },
          { _tag: "Start", route: { ...route, deployment: "g/openai/b" } },
          { _tag: "Chunk", chunk: chunk({ tool_calls: [{ index: 0, id: "call_9", type: "function", function: { name: "x", arguments: "{\"q\":" } }] }) },
          { _tag: "Chunk", chunk: chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }, "tool_calls") },
          { _tag: "Done", route: { ...route, deployment: "g/openai/b", restarts: 1 } }
        ]
      })
      const parts = yield* LanguageModel.streamText({ prompt: "x", toolkit: XTools, disableToolCallResolution: true }).pipe(Stream.runCollect, Effect.provide(layer))
      const joined = Prompt.fromResponseParts(parts).content[0]
      assert.deepStrictEqual(joined?.role === "assistant" ? joined.content.map((p) => p.type) : [], ["tool-call"])
      const call = parts.find((p) => p.type === "tool-call")
      assert.deepStrictEqual(call?.type === "tool-call" ? [call.id, call.params] : [], ["call_9", { q: 1 }])
      assert.strictEqual(RouterLanguageModel.routeOf(parts)?.deployment, "g/openai/b")
    }))

  it.effect("system, user text and images, and the config's fields make the request", () =>
    Effect.gen(function*() {
      const { requests, layer } = scripted({ chat: () => Effect.succeed({ response: answer({ content: "ok" }, "stop"), route }) })
      const prompt = Prompt.make([
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "file", mediaType: "image/png", data: new Uint8Array([1, 2, 3]) }
          ]
        }
      ])
      yield* LanguageModel.generateText({ prompt }).pipe(
        RouterLanguageModel.withConfigOverride({ temperature: 0.2, metadata: { tags: ["fast"] } }),
        Effect.provide(layer)
      )
      assert.deepStrictEqual(requests[0], {
        temperature: 0.2,
        metadata: { tags: ["fast"] },
        model: "g",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AQID" } }] }
        ]
      })
    }))
})

describe("over the router, on TestClock", () => {
  it.effect("generateText waits out the router's backoff before the retry that answers", () =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({ model_list: [{ model_name: "g", litellm_params: { model: "openai/m" } }], num_retries: 1 })
      const sim = yield* SimulatedProvider.make({ deployment: "g/openai/m", script: [SimulatedProvider.fail("ServiceUnavailable"), SimulatedProvider.succeed("second try")] })
      const router = Layer.effect(LlmClient.LlmClient, Router.make(config, () => Effect.succeed(sim))).pipe(Layer.provide(RouterState.layerMemory))
      const fiber = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provide(RouterLanguageModel.layer({ model: "g" }).pipe(Layer.provide(router))),
        Effect.forkChild
      )
      yield* TestClock.adjust("100 millis")
      assert.isUndefined(fiber.pollUnsafe(), "still waiting for the retry")
      yield* TestClock.adjust("10 seconds")
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.text, "second try")
      const calls = yield* sim.calls
      assert.strictEqual(calls.length, 2)
      assert.isAbove(calls[1]!.at - calls[0]!.at, 100)
      assert.strictEqual(RouterLanguageModel.routeOf(response)?.attempts, 2)
    }))
})

describe("a routed group as a step of an ExecutionPlan", () => {
  it.effect("a step whose group fails hands the call to the next step's group", () =>
    Effect.gen(function*() {
      const groups: Array<string> = []
      const client = LlmClient.layer({
        chat: (request) => {
          groups.push(request.model)
          return request.model === "primary"
            ? Effect.fail(new LlmError.AuthenticationFailed({ provider: "openai", deployment: "primary/openai/m", message: "bad key" }))
            : Effect.succeed({ response: answer({ content: `from ${request.model}` }, "stop"), route: { ...route, group: request.model } })
        },
        stream: () => Stream.die("not streamed")
      })
      const plan = ExecutionPlan.make(
        { provide: RouterLanguageModel.model("primary"), attempts: 1 },
        { provide: RouterLanguageModel.model("backup"), attempts: 1 }
      )
      const response = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.withExecutionPlan(plan),
        Effect.provide(client)
      )
      assert.strictEqual(response.text, "from backup")
      assert.deepStrictEqual(groups, ["primary", "backup"])
      assert.strictEqual(RouterLanguageModel.routeOf(response)?.group, "backup")
    }))
})

describe("GenAI attributes on effect/ai's span", () => {
  const usage: Chat.Usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 }
  const served: RouteInfo.RouteInfo = { ...route, provider: "anthropic", model: "claude-sonnet-4-5", usage }

  it.effect("generateText: the group asked for, the provider and model that served, the usage", () =>
    Effect.gen(function*() {
      const recording = RecordingTracer.make()
      const { layer } = scripted({ chat: () => Effect.succeed({ response: answer({ content: "ok" }, "stop", usage), route: served }) })
      yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
        RouterLanguageModel.withConfigOverride({ temperature: 0.5 }),
        Effect.provide(layer),
        Effect.withTracer(recording.tracer)
      )
      const attributes = recording.named("LanguageModel.generateText")[0]?.attributes
      assert.strictEqual(attributes?.get("gen_ai.request.model"), "g")
      assert.strictEqual(attributes?.get("gen_ai.request.temperature"), 0.5)
      assert.strictEqual(attributes?.get("gen_ai.provider.name"), "anthropic")
      assert.strictEqual(attributes?.get("gen_ai.response.model"), "claude-sonnet-4-5")
      assert.deepStrictEqual(attributes?.get("gen_ai.response.finish_reasons"), ["stop"])
      assert.strictEqual(attributes?.get("gen_ai.usage.input_tokens"), 12)
      assert.strictEqual(attributes?.get("gen_ai.usage.output_tokens"), 3)
    }))

  it.effect("streamText: the same, from the stream's Done and finish", () =>
    Effect.gen(function*() {
      const recording = RecordingTracer.make()
      const { layer } = scripted({
        stream: [
          { _tag: "Start", route: served },
          { _tag: "Chunk", chunk: chunk({ content: "ok" }, "stop") },
          { _tag: "Done", route: served }
        ]
      })
      yield* LanguageModel.streamText({ prompt: "hi" }).pipe(Stream.runDrain, Effect.provide(layer), Effect.withTracer(recording.tracer))
      const attributes = recording.named("LanguageModel.streamText")[0]?.attributes
      assert.strictEqual(attributes?.get("gen_ai.request.model"), "g")
      assert.strictEqual(attributes?.get("gen_ai.provider.name"), "anthropic")
      assert.deepStrictEqual(attributes?.get("gen_ai.response.finish_reasons"), ["stop"])
      assert.strictEqual(attributes?.get("gen_ai.usage.output_tokens"), 3)
    }))
})

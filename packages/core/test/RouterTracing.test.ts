/**
 * Spans of routed requests (GenAI semantic conventions): one span per request, one per
 * attempt under it, the served route and the response on the request span, failures by
 * tag with their messages scrubbed of the deployments' keys.
 */
import { assert, describe, it } from "@effect/vitest"
import { RouterTracing } from "@llm-router/core"
import { Effect, Exit, Random, Stream, Tracer } from "effect"
import { RecordingTracer } from "@llm-router/testing"
import type { Chat } from "@llm-router/core"
import { collectStream, deployment, failOnClock, harness, request, SimulatedProvider, succeedOnClock } from "./Fixture.ts"

const { fail } = SimulatedProvider

const recording = RecordingTracer.make

const exitOf = (span: Tracer.NativeSpan): Exit.Exit<unknown, unknown> => {
  assert.strictEqual(span.status._tag, "Ended", `${span.name} still open`)
  return (span.status as Extract<Tracer.SpanStatus, { _tag: "Ended" }>).exit
}

const failureMessage = (span: Tracer.NativeSpan): string => {
  const exit = exitOf(span)
  assert.isTrue(Exit.isFailure(exit), `${span.name} did not fail`)
  return String((exit as Exit.Failure<unknown, unknown>).cause.reasons.map((r) => (r._tag === "Fail" ? (r.error as Error).message : "")))
}

const KEY = "sk-test-0123456789abcdef"

describe("RouterTracing", () => {
  it.effect("a failed-over chat: a request span with the route, an attempt span per deployment, the key scrubbed", () =>
    Effect.gen(function*() {
      const { tracer, named } = recording()
      const h = yield* harness(
        { model_list: [deployment("gpt", "a", { order: 1, api_key: KEY }), deployment("gpt", "b", { order: 2 })] },
        { a: { script: [fail("ServiceUnavailable", { status: 503, message: `upstream rejected key ${KEY}` })] } }
      )
      const completion = yield* succeedOnClock(
        h.router.chat(request("gpt", "hi", { max_tokens: 64, temperature: 0.2 })).pipe(Effect.provideService(Tracer.Tracer, tracer))
      )
      assert.strictEqual(completion.route.deployment, "b")

      const [root, ...others] = named("chat gpt")
      assert.strictEqual(others.length, 0)
      assert.strictEqual(root!.kind, "internal")
      assert.isTrue(Exit.isSuccess(exitOf(root!)))
      const attributes = Object.fromEntries(root!.attributes)
      assert.deepInclude(attributes, {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt",
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.provider.name": "openai",
        "gen_ai.response.id": completion.response.id,
        "gen_ai.response.model": completion.response.model,
        "gen_ai.usage.input_tokens": completion.response.usage!.prompt_tokens,
        "gen_ai.usage.output_tokens": completion.response.usage!.completion_tokens,
        "llm_router.deployment": "b",
        "llm_router.attempts": 2,
        "llm_router.stream": false
      })
      assert.deepStrictEqual(attributes["gen_ai.response.finish_reasons"], ["stop"])

      const [a, b] = [named("chat a")[0]!, named("chat b")[0]!]
      for (const attempt of [a, b]) {
        assert.strictEqual(attempt.kind, "client")
        assert.strictEqual(attempt.parent._tag === "Some" ? attempt.parent.value.spanId : undefined, root!.spanId)
        assert.strictEqual(attempt.attributes.get("gen_ai.request.model"), attempt === a ? "a" : "b")
      }
      assert.strictEqual(a.attributes.get("llm_router.attempt"), 1)
      assert.strictEqual(a.attributes.get("error.type"), "ServiceUnavailable")
      const message = failureMessage(a)
      assert.include(message, "upstream rejected key")
      assert.notInclude(message, KEY)
      assert.isTrue(Exit.isSuccess(exitOf(b)))
      assert.strictEqual(b.attributes.get("llm_router.attempt"), 2)
    }).pipe(Random.withSeed(1)))

  it.effect("another operation (operate) is traced as a chat: a request span with the route and what its answer said of itself (upstream id, model, usage, finish), an attempt span per deployment", () =>
    Effect.gen(function*() {
      const { tracer, named } = recording()
      const h = yield* harness(
        { model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })] },
        { a: { script: [fail("ServiceUnavailable", { status: 503 })] } }
      )
      // The value is opaque to the router: the answer says what it was (the upstream's id and model).
      const operated = yield* succeedOnClock(
        h.router.operate!(request("gpt", "hi"), (d, client, asked) =>
          Effect.map(client.chat(asked), ({ response }) => ({
            value: { ours: "resp_gateway" },
            usage: response.usage,
            responseId: response.id,
            responseModel: `${response.model}@${d.id}`,
            finishReasons: ["completed"]
          }))).pipe(Effect.provideService(Tracer.Tracer, tracer))
      )
      assert.strictEqual(operated.route.deployment, "b")
      // What the answer said of itself is for the span, not the caller.
      assert.deepStrictEqual(Object.keys(operated).sort(), ["route", "value"])
      const [root, ...others] = named("chat gpt")
      assert.strictEqual(others.length, 0)
      assert.isTrue(Exit.isSuccess(exitOf(root!)))
      const usage = operated.route.usage!
      assert.isAbove(usage.prompt_tokens, 0)
      const attributes = Object.fromEntries(root!.attributes)
      assert.deepInclude(attributes, {
        "llm_router.deployment": "b",
        "llm_router.attempts": 2,
        "gen_ai.response.model": "sim-model@b",
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens
      })
      assert.match(String(attributes["gen_ai.response.id"]), /\S/)
      assert.notStrictEqual(attributes["gen_ai.response.id"], "resp_gateway")
      assert.deepStrictEqual(attributes["gen_ai.response.finish_reasons"], ["completed"])
      const attempts = named("chat a").concat(named("chat b"))
      assert.strictEqual(attempts.length, 2)
      for (const span of attempts) assert.strictEqual(span.parent._tag === "Some" ? span.parent.value.spanId : undefined, root!.spanId)
    }))

  it.effect("a streamed operation (operateStream) is traced as a stream: a request span with the route and what its items said of the answer, an attempt span per deployment", () =>
    Effect.gen(function*() {
      const { tracer, named } = recording()
      const h = yield* harness(
        { model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })] },
        { a: { script: [fail("ServiceUnavailable", { status: 503 })] } }
      )
      // Each attempt streams the chat's chunks as opaque items, which say what answered and how it ended.
      type Item = { readonly text: string; readonly chunk: Chat.ChatChunk; readonly deployment: string }
      const parts = yield* succeedOnClock(Stream.runCollect(
        h.router.operateStream!(request("gpt", "hi"), {
          open: (d, client, asked) =>
            Stream.map(client.stream(asked), (part) =>
              part._tag === "Chunk"
                ? { _tag: "Chunk" as const, chunk: { text: part.chunk.choices[0]?.delta.content ?? "", chunk: part.chunk, deployment: d.id } }
                : part),
          isContent: (item: Item) => item.text.length > 0,
          usageOf: (item) => item.chunk.usage,
          describe: ({ chunk, deployment }) => ({
            responseId: chunk.id,
            responseModel: `${chunk.model}@${deployment}`,
            finishReasons: chunk.choices.flatMap((c) => (c.finish_reason ? [`ended:${c.finish_reason}`] : []))
          })
        }).pipe(Stream.provideService(Tracer.Tracer, tracer))
      ))
      const done = parts.at(-1)
      assert.strictEqual(done?._tag === "Done" ? done.route.deployment : undefined, "b")
      const first = parts.find((p) => p._tag === "Chunk")
      const upstreamId = first?._tag === "Chunk" ? first.chunk.chunk.id : undefined
      assert.isString(upstreamId)
      const [root, ...others] = named("chat gpt")
      assert.strictEqual(others.length, 0)
      assert.isTrue(Exit.isSuccess(exitOf(root!)))
      const usage = done?._tag === "Done" ? done.route.usage : undefined
      assert.isDefined(usage)
      const attributes = Object.fromEntries(root!.attributes)
      assert.deepInclude(attributes, {
        "llm_router.deployment": "b",
        "llm_router.attempts": 2,
        "gen_ai.response.id": upstreamId,
        "gen_ai.response.model": "sim-model@b",
        "gen_ai.usage.input_tokens": usage!.prompt_tokens,
        "gen_ai.usage.output_tokens": usage!.completion_tokens
      })
      assert.deepStrictEqual(attributes["gen_ai.response.finish_reasons"], ["ended:stop"])
      const attempts = named("chat a").concat(named("chat b"))
      assert.strictEqual(attempts.length, 2)
      for (const span of attempts) assert.strictEqual(span.parent._tag === "Some" ? span.parent.value.spanId : undefined, root!.spanId)
    }))

  it.effect("a request that fails everywhere ends its span with the error's tag", () =>
    Effect.gen(function*() {
      const { tracer, named } = recording()
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], num_retries: 0 },
        { a: { script: [fail("AuthenticationFailed", { status: 401 })] } }
      )
      const error = yield* failOnClock(h.router.chat(request()).pipe(Effect.provideService(Tracer.Tracer, tracer)))
      assert.strictEqual(error._tag, "AuthenticationFailed")
      const root = named("chat gpt")[0]!
      assert.isTrue(Exit.isFailure(exitOf(root)))
      assert.strictEqual(root.attributes.get("error.type"), "AuthenticationFailed")
    }))

  it.effect("a stream's request span lasts until its last chunk and records the served route", () =>
    Effect.gen(function*() {
      const { tracer, named } = recording()
      const h = yield* harness({ model_list: [deployment("gpt", "a")] })
      const { parts, error } = yield* collectStream(
        h.router.stream(request("gpt", "hi", { stream: true })).pipe(Stream.provideService(Tracer.Tracer, tracer))
      )
      assert.isUndefined(error)
      const done = parts.find((p) => p._tag === "Done")!
      const root = named("chat gpt")[0]!
      assert.isTrue(Exit.isSuccess(exitOf(root)))
      assert.strictEqual(root.attributes.get("llm_router.stream"), true)
      assert.strictEqual(root.attributes.get("llm_router.deployment"), "a")
      assert.strictEqual(root.attributes.get("llm_router.time_to_first_chunk_ms"), done._tag === "Done" ? done.route.timeToFirstChunkMs : -1)
      assert.deepStrictEqual(root.attributes.get("gen_ai.response.finish_reasons"), ["stop"])
      const attempt = named("chat a")[0]!
      assert.strictEqual(attempt.parent._tag === "Some" ? attempt.parent.value : undefined, root)
    }))

  it.effect("a stream cut after content ends its span failed, with the cut's tag", () =>
    Effect.gen(function*() {
      const { tracer, named } = recording()
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")] },
        { a: { script: [SimulatedProvider.dropMidStream(2, "ConnectionFailed")] } }
      )
      const { error } = yield* collectStream(h.router.stream(request("gpt", "hi", { stream: true })).pipe(Stream.provideService(Tracer.Tracer, tracer)))
      assert.strictEqual(error?._tag, "ConnectionFailed")
      const root = named("chat gpt")[0]!
      assert.isTrue(Exit.isFailure(exitOf(root)))
      assert.strictEqual(root.attributes.get("error.type"), "ConnectionFailed")
    }))

  it.effect("makes no spans inside a trace its sampler dropped", () =>
    Effect.gen(function*() {
      const { spans, tracer, named } = recording()
      const h = yield* harness({ model_list: [deployment("gpt", "a")] })
      yield* succeedOnClock(
        h.router.chat(request()).pipe(Effect.withSpan("caller", { sampled: false }), Effect.provideService(Tracer.Tracer, tracer))
      )
      yield* succeedOnClock(h.router.chat(request()).pipe(Effect.withSpan("caller"), Effect.provideService(Tracer.Tracer, tracer)))
      assert.deepStrictEqual(spans.map((s) => s.name), ["caller", "caller", "chat gpt", "chat a"])
      const root = named("chat gpt")[0]!
      assert.strictEqual(root.parent._tag === "Some" ? root.parent.value : undefined, spans[1])
    }))

  it("names providers as the conventions do", () => {
    assert.strictEqual(RouterTracing.providerName("gemini"), "gcp.gemini")
    assert.strictEqual(RouterTracing.providerName("azure"), "azure.ai.openai")
    assert.strictEqual(RouterTracing.providerName("anthropic"), "anthropic")
    assert.strictEqual(RouterTracing.providerName("constructor"), "constructor")
  })
})

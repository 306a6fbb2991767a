/**
 * Streaming through the router: a failure before the first content chunk fails over
 * invisibly (the held-back preamble is never shown; `Start` names the deployment that
 * served); after content, `stream_failure_policy` decides between failing and restarting.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Chat, type LlmClient, LlmError, Router, RouterConfig, RouterState } from "@llm-router/core"
import { Cause, Effect, Exit, Random, Stream } from "effect"
import { assertTag, collectStream, DEFAULT_TEXT, deployment, harness, onClock, request, SimulatedProvider, streamedText } from "./Fixture.ts"

const { dropMidStream, fail, hang, stallMidStream } = SimulatedProvider

/** `a` (order 1) with a scripted first call, `b` (order 2) healthy. */
const pair = (first: SimulatedProvider.Behavior, settings: Record<string, unknown> = {}) =>
  harness(
    { model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })], ...settings },
    { a: { script: [first], chunks: 4, chunkIntervalMs: 10 }, b: { chunks: 4, chunkIntervalMs: 10 } }
  )

const tags = (parts: ReadonlyArray<LlmClient.StreamPart>) => parts.map((p) => p._tag)
const startOf = (parts: ReadonlyArray<LlmClient.StreamPart>) => {
  const start = parts.find((p) => p._tag === "Start")
  return start?._tag === "Start" ? start.route : undefined
}
const doneOf = (parts: ReadonlyArray<LlmClient.StreamPart>) => {
  const done = parts.at(-1)
  return done?._tag === "Done" ? done.route : undefined
}

describe("failure before the first content chunk", () => {
  const before: ReadonlyArray<readonly [string, SimulatedProvider.Behavior, Record<string, unknown>]> = [
    ["an error when opening", fail("ServiceUnavailable"), {}],
    ["a drop after the role-only preamble", dropMidStream(0), {}],
    ["a hang until stream_timeout", hang, { stream_timeout: 2 }],
    ["a stall after the preamble until stream_timeout", stallMidStream(0), { stream_timeout: 2 }]
  ]
  it.effect.each(before)("%s fails over transparently", ([, behaviour, settings]) =>
    Effect.gen(function*() {
      const h = yield* pair(behaviour, settings)
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.isUndefined(error)
      assert.deepStrictEqual(h.order(), ["a", "b"])
      // Exactly one Start, first, naming b; no Restarted; the text is b's full answer, once.
      assert.strictEqual(parts[0]?._tag, "Start")
      assert.strictEqual(tags(parts).filter((t) => t === "Start").length, 1)
      assert.notInclude(tags(parts), "Restarted")
      assert.strictEqual(startOf(parts)?.deployment, "b")
      assert.strictEqual(startOf(parts)?.attempts, 2)
      assert.strictEqual(streamedText(parts), DEFAULT_TEXT)
      // Only one role-only preamble reaches the caller (a's was held back).
      const preambles = parts.filter((p) => p._tag === "Chunk" && p.chunk.choices[0]?.delta.role === "assistant")
      assert.strictEqual(preambles.length, 1)
      assert.strictEqual(doneOf(parts)?.deployment, "b")
      assert.strictEqual(doneOf(parts)?.attempts, 2)
    }))

  it.effect("fails over across groups too (fallbacks), with Start naming the fallback's deployment", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("claude", "c")], fallbacks: [{ gpt: ["claude"] }], num_retries: 0 },
        { a: { script: [dropMidStream(0)] } }
      )
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.isUndefined(error)
      assert.strictEqual(startOf(parts)?.deployment, "c")
      assert.deepStrictEqual(startOf(parts)?.fallbacks, ["claude"])
      assert.strictEqual(doneOf(parts)?.servedBy, "claude")
      assert.strictEqual(streamedText(parts), DEFAULT_TEXT)
    }))

  it.effect("every deployment failing before content: the stream fails with the last error and emitted nothing", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("gpt", "b")], num_retries: 1 },
        { a: { script: [dropMidStream(0, "InternalServerError")] }, b: { script: [dropMidStream(0, "InternalServerError")] } }
      )
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assertTag(error, "InternalServerError")
      assert.strictEqual(parts.length, 0)
      assert.strictEqual(h.log.length, 2)
    }).pipe(Random.withSeed(1)))
})

describe("failure after content, stream_failure_policy: fail (default)", () => {
  it.effect("the stream fails with the error after the content already emitted", () =>
    Effect.gen(function*() {
      const h = yield* pair(dropMidStream(2, "ConnectionFailed"))
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assertTag(error, "ConnectionFailed")
      assert.strictEqual(error?.deployment, "a")
      assert.strictEqual(startOf(parts)?.deployment, "a")
      const text = streamedText(parts)
      assert.isAbove(text.length, 0)
      assert.isTrue(DEFAULT_TEXT.startsWith(text))
      assert.isBelow(text.length, DEFAULT_TEXT.length)
      assert.notInclude(tags(parts), "Done")
      assert.deepStrictEqual(h.order(), ["a"], "no other deployment was called")
    }))

  it.effect("the failure counts against the deployment", () =>
    Effect.gen(function*() {
      const h = yield* pair(dropMidStream(1, "RateLimited"))
      const { error } = yield* collectStream(h.router.stream(request()), "1 second")
      assertTag(error, "RateLimited")
      // A 429 cools at once (for the default 5 s; the clock has moved 1 s).
      assert.strictEqual((yield* h.state.snapshot(["a"])).stats.get("a")!.cooldownUntil, 5010)
    }))
})

describe("failure after content, stream_failure_policy: restart", () => {
  it.effect("emits Restarted, then Start and the full answer from another deployment", () =>
    Effect.gen(function*() {
      const h = yield* pair(dropMidStream(2, "ConnectionFailed"), { stream_failure_policy: "restart" })
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.isUndefined(error)
      const t = tags(parts)
      const restarted = t.indexOf("Restarted")
      assert.isAbove(restarted, 1, "content came before the restart")
      assert.strictEqual(t[restarted + 1], "Start")
      assert.strictEqual(t.filter((x) => x === "Start").length, 2)
      const marker = parts[restarted]
      assert.strictEqual(marker?._tag === "Restarted" ? marker.reason._tag : undefined, "ConnectionFailed")
      assert.strictEqual(marker?._tag === "Restarted" ? marker.route.deployment : undefined, "a")
      const second = parts[restarted + 1]
      assert.strictEqual(second?._tag === "Start" ? second.route.deployment : undefined, "b")
      // The text after the marker is b's whole answer.
      assert.strictEqual(streamedText(parts), DEFAULT_TEXT)
      const done = doneOf(parts)
      assert.strictEqual(done?.deployment, "b")
      assert.strictEqual(done?.restarts, 1)
      assert.deepStrictEqual(h.order(), ["a", "b"])
    }))

  it.effect("an idle stall after content restarts too", () =>
    Effect.gen(function*() {
      const h = yield* pair(stallMidStream(1), { stream_failure_policy: "restart", stream_idle_timeout: 1 })
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.isUndefined(error)
      const marker = parts.find((p) => p._tag === "Restarted")
      assert.strictEqual(marker?._tag === "Restarted" && marker.reason._tag === "Timeout" ? marker.reason.phase : undefined, "idle")
      assert.strictEqual(streamedText(parts), DEFAULT_TEXT)
    }))

  it.effect("restarts are bounded by num_retries, and never return to a deployment that dropped", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 }), deployment("gpt", "c", { order: 3 })],
          stream_failure_policy: "restart",
          num_retries: 1
        },
        { a: { script: [dropMidStream(1)] }, b: { script: [dropMidStream(1)] } }
      )
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assertTag(error, "ConnectionFailed")
      assert.strictEqual(error?.deployment, "b")
      assert.deepStrictEqual(h.order(), ["a", "b"])
      assert.strictEqual(tags(parts).filter((t) => t === "Restarted").length, 1)
    }))

  it.effect("a stream served by a fallback group restarts on another deployment of that group", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [
            deployment("gpt", "a"),
            deployment("claude", "c1", { order: 1 }),
            deployment("claude", "c2", { order: 2 })
          ],
          fallbacks: [{ gpt: ["claude"] }],
          stream_failure_policy: "restart"
        },
        // a's key is broken (never retried there); c1 drops after some content.
        { a: { script: [fail("AuthenticationFailed")] }, c1: { script: [dropMidStream(2)] } }
      )
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.isUndefined(error)
      assert.deepStrictEqual(h.order(), ["a", "c1", "c2"])
      assert.strictEqual(streamedText(parts), DEFAULT_TEXT)
      const done = doneOf(parts)
      assert.strictEqual(done?.deployment, "c2")
      assert.strictEqual(done?.servedBy, "claude")
      assert.deepStrictEqual(done?.fallbacks, ["claude"])
      assert.strictEqual(done?.restarts, 1)
    }))

  it.effect("a group whose deployments all fail mid-stream moves on to its fallbacks, as a plain request does", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 }), deployment("claude", "c")],
          fallbacks: [{ gpt: ["claude"] }],
          stream_failure_policy: "restart",
          num_retries: 1
        },
        { a: { script: [dropMidStream(1)] }, b: { script: [dropMidStream(1)] } }
      )
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.isUndefined(error)
      assert.deepStrictEqual(h.order(), ["a", "b", "c"])
      assert.strictEqual(tags(parts).filter((t) => t === "Restarted").length, 2)
      assert.strictEqual(streamedText(parts), DEFAULT_TEXT)
      const done = doneOf(parts)
      assert.strictEqual(done?.deployment, "c")
      assert.strictEqual(done?.servedBy, "claude")
      assert.deepStrictEqual(done?.fallbacks, ["claude"])
      assert.strictEqual(done?.restarts, 2)
    }))

  it.effect("with no other deployment left, the stream fails", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], stream_failure_policy: "restart" },
        { a: { script: [dropMidStream(2)] } }
      )
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      // The error that broke the stream, not the router's "no deployments".
      assertTag(error, "ConnectionFailed")
      assert.notInclude(tags(parts), "Done")
      assert.deepStrictEqual(h.order(), ["a"])
    }))
})

describe("reasoning counts as content", () => {
  const route = (deployment: string) => ({
    group: "gpt",
    servedBy: "gpt",
    deployment,
    provider: "openai",
    model: deployment,
    attempts: 1,
    fallbacks: [],
    latencyMs: 0
  })
  const chunk = (delta: Record<string, unknown>): LlmClient.StreamPart => ({
    _tag: "Chunk",
    chunk: { id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta, finish_reason: null }] }
  })
  /** `a` streams its preamble and `first`, then breaks; `b` is healthy. */
  const routerWith = (first: Record<string, unknown>) =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({ model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })] })
      const calls: Array<string> = []
      const router = yield* Router.make(config, (d) =>
        Effect.succeed<LlmClient.Service>({
          chat: () => Effect.die("not used"),
          stream: () => {
            calls.push(d.id)
            return d.id === "a"
              ? Stream.concat(
                Stream.make({ _tag: "Start", route: route("a") } as const, chunk({ role: "assistant", content: "" }), chunk(first)),
                Stream.fail(new LlmError.ServiceUnavailable({ provider: "openai", deployment: "a", message: "gone" }))
              )
              : Stream.make({ _tag: "Start", route: route("b") } as const, chunk({ content: "from b" }), { _tag: "Done", route: route("b") } as const)
          }
        }))
      return { router, calls }
    }).pipe(Effect.provide(RouterState.layerMemory))

  it.effect("a failure after reasoning deltas is a mid-stream failure: the caller saw the thinking, no failover", () =>
    Effect.gen(function*() {
      const { router, calls } = yield* routerWith({ reasoning_content: "Let me think." })
      const { parts, error } = yield* collectStream(router.stream(request()))
      assertTag(error, "ServiceUnavailable")
      assert.deepStrictEqual(calls, ["a"])
      assert.deepStrictEqual(tags(parts), ["Start", "Chunk", "Chunk"])
      assert.strictEqual(parts[2]?._tag === "Chunk" ? parts[2].chunk.choices[0]?.delta.reasoning_content : undefined, "Let me think.")
    }))

  it.effect("the same failure after an empty reasoning delta fails over, as after a role-only preamble", () =>
    Effect.gen(function*() {
      const { router, calls } = yield* routerWith({ reasoning_content: "" })
      const { parts, error } = yield* collectStream(router.stream(request()))
      assert.isUndefined(error)
      assert.deepStrictEqual(calls, ["a", "b"])
      assert.strictEqual(streamedText(parts), "from b")
    }))
})

describe("a streamed operation of another kind (operateStream)", () => {
  /** An item of the operation: a preamble (not content), a piece of text, or the end with usage. */
  type Item = { readonly kind: "preamble" } | { readonly kind: "text"; readonly text: string } | { readonly kind: "end"; readonly usage: Chat.Usage }
  const usage: Chat.Usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
  const priced = { input_cost_per_token: 0.001, output_cost_per_token: 0.002 }
  const items = (...list: ReadonlyArray<Item>) => Stream.fromIterable(list.map((chunk): LlmClient.Part<Item> => ({ _tag: "Chunk", chunk })))
  const collect = (stream: Stream.Stream<LlmClient.Part<Item>, LlmError.LlmError>) =>
    Effect.gen(function*() {
      const parts: Array<LlmClient.Part<Item>> = []
      const exit = yield* onClock(Stream.runForEach(stream, (part) => Effect.sync(() => parts.push(part))))
      return { parts, error: Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined }
    })
  const operation = (byDeployment: Record<string, Stream.Stream<LlmClient.Part<Item>, LlmError.LlmError>>, opened: Array<string>): LlmClient.StreamOperation<Item> => ({
    open: (d) => {
      opened.push(d.id)
      return byDeployment[d.id]!
    },
    isContent: (item) => item.kind !== "preamble",
    usageOf: (item) => (item.kind === "end" ? item.usage : undefined)
  })
  const broken = Stream.fail(new LlmError.ServiceUnavailable({ provider: "openai", deployment: "a", message: "down" }))

  it.effect("fails over until its first content item, its preamble held back; usage and cost from its items", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a", { order: 1, ...priced }), deployment("gpt", "b", { order: 2, ...priced })] })
      const opened: Array<string> = []
      const { parts, error } = yield* collect(h.router.operateStream!(request(), operation({
        a: Stream.concat(items({ kind: "preamble" }), broken),
        b: items({ kind: "preamble" }, { kind: "text", text: "he" }, { kind: "text", text: "llo" }, { kind: "end", usage })
      }, opened)))
      assert.isUndefined(error)
      assert.deepStrictEqual(opened, ["a", "b"])
      assert.deepStrictEqual(parts.map((p) => p._tag), ["Start", "Chunk", "Chunk", "Chunk", "Chunk", "Done"])
      // One preamble: a's was held back and dropped with its attempt.
      assert.strictEqual(parts.filter((p) => p._tag === "Chunk" && p.chunk.kind === "preamble").length, 1)
      const start = parts[0]
      assert.strictEqual(start?._tag === "Start" ? start.route.deployment : undefined, "b")
      const done = parts.at(-1)
      assert.isTrue(done?._tag === "Done")
      if (done?._tag === "Done") {
        assert.strictEqual(done.route.deployment, "b")
        assert.strictEqual(done.route.attempts, 2)
        assert.deepStrictEqual(done.route.usage, usage)
        assert.closeTo(done.route.costUsd ?? 0, 10 * 0.001 + 5 * 0.002, 1e-9)
      }
    }))

  it.effect("after content, a failure ends the stream, even under stream_failure_policy: restart", () =>
    Effect.gen(function*() {
      const h = yield* harness({
        model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })],
        stream_failure_policy: "restart"
      })
      const opened: Array<string> = []
      const { parts, error } = yield* collect(h.router.operateStream!(request(), operation({
        a: Stream.concat(items({ kind: "preamble" }, { kind: "text", text: "he" }), broken),
        b: items({ kind: "text", text: "hello" }, { kind: "end", usage })
      }, opened)))
      assert.deepStrictEqual(opened, ["a"])
      assert.strictEqual(error?._tag === "Some" ? error.value._tag : undefined, "ServiceUnavailable")
      assert.deepStrictEqual(parts.map((p) => p._tag), ["Start", "Chunk", "Chunk"])
    }))
})

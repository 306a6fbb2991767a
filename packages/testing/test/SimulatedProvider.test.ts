/**
 * SimulatedProvider: scripts, outage windows on TestClock, failure rates and latencies drawn
 * from a seeded `Random` (same seed, same run), mid-stream drops and stalls, and hangs.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chat, LlmClient, type LlmError } from "@llm-router/core"
import { SimulatedProvider } from "@llm-router/testing"
import { Cause, Duration, Effect, Exit, Fiber, Random, Stream } from "effect"
import { TestClock } from "effect/testing"

const { dropMidStream, fail, hang, stallMidStream, succeed } = SimulatedProvider
const request: Chat.ChatRequest = { model: "sim", messages: [{ role: "user", content: "Say hello" }] }

const errorOf = <A>(exit: Exit.Exit<A, LlmError.LlmError>) => {
  if (Exit.isSuccess(exit)) return undefined
  const e = Cause.findErrorOption(exit.cause)
  return e._tag === "Some" ? e.value : undefined
}

/** Runs `effect` in a fiber while TestClock moves `advance` ms; `undefined` when it is still running. */
const within = <A, E>(effect: Effect.Effect<A, E>, advance: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    yield* TestClock.adjust(advance)
    const exit = fiber.pollUnsafe()
    if (exit === undefined) yield* Fiber.interrupt(fiber)
    return exit
  })

/** Collects a stream's parts on TestClock, keeping those emitted before a failure or a stall. */
const parts = (stream: Stream.Stream<LlmClient.StreamPart, LlmError.LlmError>, advance = 60_000) =>
  Effect.gen(function*() {
    const out: Array<LlmClient.StreamPart> = []
    const exit = yield* within(Stream.runForEach(stream, (p) => Effect.sync(() => out.push(p))), advance)
    return { parts: out, exit }
  })

const text = (ps: ReadonlyArray<LlmClient.StreamPart>) =>
  ps.flatMap((p) => (p._tag === "Chunk" ? p.chunk.choices.map((c) => c.delta.content ?? "") : [])).join("")

describe("scripts", () => {
  it.effect("plays the script in order, then succeeds; the call log says what each call did", () =>
    Effect.gen(function*() {
      const sim = yield* SimulatedProvider.make({
        deployment: "d",
        script: [fail("RateLimited", { retryAfter: "30 seconds", status: 429 }), succeed("first"), fail("BadRequest", { message: "nope" })]
      })
      const e1 = errorOf(yield* Effect.exit(sim.chat(request)))
      assert.strictEqual(e1?._tag, "RateLimited")
      assert.strictEqual(e1?._tag === "RateLimited" && e1.retryAfter ? Duration.toMillis(e1.retryAfter) : undefined, 30_000)
      assert.strictEqual(e1?.status, 429)
      assert.strictEqual(e1?.deployment, "d")
      assert.strictEqual(e1?.provider, "simulated")
      const ok = yield* sim.chat(request)
      assert.strictEqual(ok.response.choices[0]?.message.content, "first")
      assert.strictEqual(ok.route.deployment, "d")
      const e3 = errorOf(yield* Effect.exit(sim.chat(request)))
      assert.strictEqual(e3?.message, "nope")
      const rest = yield* sim.chat(request)
      assert.strictEqual(rest.response.choices[0]?.message.content, "Hello from a simulated provider.")
      assert.deepStrictEqual((yield* sim.calls).map((c) => c.behavior), ["Fail", "Succeed", "Fail", "Succeed"])
    }))

  it.effect("every error tag can be produced, with its fields", () =>
    Effect.gen(function*() {
      // A record over ErrorSpec's tags, so a tag added there does not compile here until it is listed.
      const every: Record<SimulatedProvider.ErrorSpec["tag"], true> = {
        RateLimited: true,
        AuthenticationFailed: true,
        PermissionDenied: true,
        ModelNotFound: true,
        BadRequest: true,
        ContextWindowExceeded: true,
        ContentPolicyViolation: true,
        Timeout: true,
        ConnectionFailed: true,
        ServiceUnavailable: true,
        InternalServerError: true
      }
      const tags = Object.keys(every) as Array<SimulatedProvider.ErrorSpec["tag"]>
      for (const tag of tags) {
        const error = SimulatedProvider.makeError({ tag, status: 599, retryAfter: "2 seconds" }, "prov", "dep")
        assert.strictEqual(error._tag, tag)
        assert.strictEqual(error.provider, "prov")
        assert.strictEqual(error.deployment, "dep")
        assert.strictEqual(error.status, 599)
      }
      const quota = SimulatedProvider.makeError({ tag: "RateLimited", quotaExhausted: true }, "p", "d")
      assert.isTrue(quota._tag === "RateLimited" && quota.quotaExhausted === true)
    }))

  it.effect("usage is estimated from the request and the answer; finish reason is scripted", () =>
    Effect.gen(function*() {
      const sim = yield* SimulatedProvider.make({ deployment: "d", script: [succeed("x".repeat(40), "content_filter")] })
      const { response } = yield* sim.chat(request)
      assert.strictEqual(response.choices[0]?.finish_reason, "content_filter")
      assert.strictEqual(response.usage?.completion_tokens, 10)
      assert.strictEqual(response.usage?.total_tokens, response.usage!.prompt_tokens + 10)
    }))
})

describe("latency", () => {
  it.effect("a fixed latency is exactly that long on TestClock", () =>
    Effect.gen(function*() {
      const sim = yield* SimulatedProvider.make({ deployment: "d", latency: { _tag: "Fixed", ms: 750 } })
      assert.isUndefined(yield* within(sim.chat(request), 749))
      const exit = yield* within(sim.chat(request), 750)
      assert.isTrue(exit !== undefined && Exit.isSuccess(exit))
      if (exit && Exit.isSuccess(exit)) assert.strictEqual(exit.value.route.latencyMs, 750)
    }))

  it.effect("uniform and exponential latencies stay in their bounds", () =>
    Effect.gen(function*() {
      const uniform = yield* SimulatedProvider.make({ deployment: "u", latency: { _tag: "Uniform", minMs: 100, maxMs: 200 } })
      const exponential = yield* SimulatedProvider.make({ deployment: "e", latency: { _tag: "Exponential", meanMs: 50, maxMs: 300 } })
      const samples: Array<number> = []
      for (let i = 0; i < 200; i++) {
        const u = yield* within(uniform.chat(request), 1000)
        const e = yield* within(exponential.chat(request), 1000)
        if (u && Exit.isSuccess(u)) assert.isTrue(u.value.route.latencyMs >= 100 && u.value.route.latencyMs <= 200)
        else assert.fail("uniform call did not finish")
        if (e && Exit.isSuccess(e)) samples.push(e.value.route.latencyMs)
        else assert.fail("exponential call did not finish")
      }
      assert.isTrue(samples.every((ms) => ms >= 0 && ms <= 300))
      const mean = samples.reduce((a, b) => a + b, 0) / samples.length
      assert.closeTo(mean, 50, 15)
    }).pipe(Random.withSeed(11)))
})

describe("reproducibility", () => {
  const run = Effect.gen(function*() {
    const sim = yield* SimulatedProvider.make({
      deployment: "d",
      latency: { _tag: "Uniform", minMs: 10, maxMs: 500 },
      failureRates: [{ error: { tag: "ServiceUnavailable" }, rate: 0.2 }, { error: { tag: "RateLimited" }, rate: 0.1 }]
    })
    const outcomes: Array<string> = []
    for (let i = 0; i < 60; i++) {
      const exit = yield* within(sim.chat(request), 1000)
      if (exit === undefined) outcomes.push("running")
      // Rounded: TestClock time carried over from earlier runs adds float noise to now - start.
      else if (Exit.isSuccess(exit)) outcomes.push(`ok:${exit.value.route.latencyMs.toFixed(3)}`)
      else outcomes.push(errorOf(exit)?._tag ?? "defect")
    }
    return outcomes
  })

  it.effect("the same seed gives the same outcomes and latencies; another seed does not", () =>
    Effect.gen(function*() {
      const a = yield* run.pipe(Random.withSeed(123))
      const b = yield* run.pipe(Random.withSeed(123))
      const c = yield* run.pipe(Random.withSeed(456))
      assert.deepStrictEqual(a, b)
      assert.notDeepEqual(a, c)
      assert.isTrue(a.some((o) => o.startsWith("ok:")))
      assert.isTrue(a.some((o) => !o.startsWith("ok:")))
    }))
})

describe("failure rates", () => {
  it.effect("are roughly honoured over many calls", () =>
    Effect.gen(function*() {
      const sim = yield* SimulatedProvider.make({
        deployment: "d",
        failureRates: [{ error: { tag: "InternalServerError" }, rate: 0.3 }, { error: { tag: "Timeout" }, rate: 0.5 }]
      })
      const counts = { ok: 0, InternalServerError: 0, Timeout: 0 }
      const n = 3000
      for (let i = 0; i < n; i++) {
        const exit = yield* Effect.exit(sim.chat(request))
        const tag = errorOf(exit)?._tag
        if (tag === undefined) counts.ok++
        else if (tag === "InternalServerError" || tag === "Timeout") counts[tag]++
      }
      // Drawn in order: 30 % ISE; of the rest, half time out (35 %); 35 % succeed.
      assert.closeTo(counts.InternalServerError / n, 0.3, 0.03)
      assert.closeTo(counts.Timeout / n, 0.35, 0.03)
      assert.closeTo(counts.ok / n, 0.35, 0.03)
    }).pipe(Random.withSeed("rates")))

  it.effect("rate 0 never fails, rate 1 always does", () =>
    Effect.gen(function*() {
      const never = yield* SimulatedProvider.make({ deployment: "n", failureRates: [{ error: { tag: "Timeout" }, rate: 0 }] })
      const always = yield* SimulatedProvider.make({ deployment: "a", failureRates: [{ error: { tag: "Timeout" }, rate: 1 }] })
      for (let i = 0; i < 100; i++) {
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(never.chat(request))))
        assert.isTrue(Exit.isFailure(yield* Effect.exit(always.chat(request))))
      }
    }).pipe(Random.withSeed(5)))
})

describe("outages", () => {
  it.effect("every call inside a window fails (503 by default); outside it, calls succeed", () =>
    Effect.gen(function*() {
      const sim = yield* SimulatedProvider.make({
        deployment: "d",
        outages: [
          { fromMs: 10_000, toMs: 20_000 },
          { fromMs: 30_000, toMs: 31_000, error: { tag: "ConnectionFailed" } }
        ]
      })
      const at = (ms: number) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(ms)
          return errorOf(yield* Effect.exit(sim.chat(request)))
        })
      assert.isUndefined(yield* at(9_999))
      const first = yield* at(10_000)
      assert.strictEqual(first?._tag, "ServiceUnavailable")
      assert.strictEqual(first?.status, 503)
      assert.strictEqual((yield* at(19_999))?._tag, "ServiceUnavailable")
      assert.isUndefined(yield* at(20_000))
      assert.strictEqual((yield* at(30_500))?._tag, "ConnectionFailed")
      assert.isUndefined(yield* at(31_000))
      const streamed = yield* parts(sim.stream(request), 0)
      assert.isTrue(streamed.exit !== undefined && Exit.isSuccess(streamed.exit))
      yield* TestClock.setTime(15_000)
      const failed = yield* parts(sim.stream(request), 0)
      assert.strictEqual(failed.parts.length, 0)
      assert.strictEqual(failed.exit && errorOf(failed.exit)?._tag, "ServiceUnavailable")
    }))

  it.effect("a script takes precedence over an outage", () =>
    Effect.gen(function*() {
      const sim = yield* SimulatedProvider.make({ deployment: "d", script: [succeed("scripted")], outages: [{ fromMs: 0, toMs: 1000 }] })
      assert.strictEqual((yield* sim.chat(request)).response.choices[0]?.message.content, "scripted")
      assert.strictEqual(errorOf(yield* Effect.exit(sim.chat(request)))?._tag, "ServiceUnavailable")
    }))
})

describe("streams", () => {
  it.effect("a successful stream: Start, a role-only preamble, content chunks at their interval, finish, usage, Done", () =>
    Effect.gen(function*() {
      const sim = yield* SimulatedProvider.make({ deployment: "d", chunks: 4, chunkIntervalMs: 100, latency: { _tag: "Fixed", ms: 50 } })
      assert.isUndefined((yield* parts(sim.stream(request), 449)).exit, "four chunks 100 ms apart after 50 ms")
      const { parts: ps, exit } = yield* parts(sim.stream(request), 450)
      assert.isTrue(exit !== undefined && Exit.isSuccess(exit))
      assert.strictEqual(ps[0]?._tag, "Start")
      assert.strictEqual(ps.at(-1)?._tag, "Done")
      const chunks = ps.flatMap((p) => (p._tag === "Chunk" ? [p.chunk] : []))
      assert.strictEqual(chunks[0]?.choices[0]?.delta.role, "assistant")
      assert.isFalse(Chat.chunkHasContent(chunks[0]!))
      assert.strictEqual(chunks.filter((c) => c.choices[0]?.delta.content).length, 4)
      const collected = Chat.collectChunks(chunks)
      assert.strictEqual(collected.choices[0]?.message.content, "Hello from a simulated provider.")
      assert.strictEqual(collected.choices[0]?.finish_reason, "stop")
      const done = ps.at(-1)
      assert.deepStrictEqual(done?._tag === "Done" ? done.route.usage : undefined, collected.usage)
      assert.strictEqual(done?._tag === "Done" ? done.route.latencyMs : undefined, 450)
    }))

  it.effect("dropMidStream sends n content chunks, then fails; as a chat call it fails at once", () =>
    Effect.gen(function*() {
      const sim = yield* SimulatedProvider.make({ deployment: "d", chunks: 5, script: [dropMidStream(2, "ServiceUnavailable"), dropMidStream(3)] })
      const dropped = yield* parts(sim.stream(request))
      assert.strictEqual(dropped.exit && errorOf(dropped.exit)?._tag, "ServiceUnavailable")
      const content = dropped.parts.filter((p) => p._tag === "Chunk" && Chat.chunkHasContent(p.chunk))
      assert.strictEqual(content.length, 2)
      assert.notInclude(dropped.parts.map((p) => p._tag), "Done")
      assert.strictEqual(errorOf(yield* Effect.exit(sim.chat(request)))?._tag, "ConnectionFailed")
    }))

  it.effect("midStreamDropRate drops successful streams half-way", () =>
    Effect.gen(function*() {
      const always = yield* SimulatedProvider.make({ deployment: "d", chunks: 4, midStreamDropRate: 1 })
      const dropped = yield* parts(always.stream(request))
      assert.strictEqual(dropped.exit && errorOf(dropped.exit)?._tag, "ConnectionFailed")
      assert.strictEqual(text(dropped.parts).length > 0, true)
      // Chat calls are not streams: the drop rate does not apply.
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(always.chat(request))))
      const sometimes = yield* SimulatedProvider.make({ deployment: "s", chunks: 4, midStreamDropRate: 0.25 })
      let drops = 0
      for (let i = 0; i < 400; i++) {
        const r = yield* parts(sometimes.stream(request))
        if (r.exit && Exit.isFailure(r.exit)) drops++
      }
      assert.closeTo(drops / 400, 0.25, 0.06)
    }).pipe(Random.withSeed(21)))

  it.effect("stallMidStream sends n content chunks, then nothing, forever", () =>
    Effect.gen(function*() {
      const sim = yield* SimulatedProvider.make({ deployment: "d", chunks: 4, script: [stallMidStream(1)] })
      const stalled = yield* parts(sim.stream(request), 3_600_000)
      assert.isUndefined(stalled.exit, "still open after an hour")
      assert.strictEqual(stalled.parts.filter((p) => p._tag === "Chunk" && Chat.chunkHasContent(p.chunk)).length, 1)
    }))
})

describe("hang", () => {
  it.effect("a hanging call never answers, as chat or as stream; interruption ends it", () =>
    Effect.gen(function*() {
      const sim = yield* SimulatedProvider.make({ deployment: "d", script: [hang, hang] })
      assert.isUndefined(yield* within(sim.chat(request), 24 * 3_600_000))
      const streamed = yield* parts(sim.stream(request), 24 * 3_600_000)
      assert.isUndefined(streamed.exit)
      assert.strictEqual(streamed.parts.length, 0)
      assert.deepStrictEqual((yield* sim.calls).map((c) => c.behavior), ["Hang", "Hang"])
      assert.deepStrictEqual((yield* sim.calls).map((c) => c.streaming), [false, true])
    }))
})

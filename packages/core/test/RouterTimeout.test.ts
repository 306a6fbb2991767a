/**
 * Timeouts on TestClock: the request timeout (router `timeout` or per deployment), and for
 * streams the wait for the first content chunk (`stream_timeout`) and the silence between
 * chunks (`stream_idle_timeout`), each an `LlmError.Timeout` with its phase. Also: a call the
 * caller abandons does not stay "in flight" in the router's state.
 */
import { assert, describe, it } from "@effect/vitest"
import type { LlmError } from "@llm-router/core"
import { Effect, Fiber, Random, Stream } from "effect"
import { TestClock } from "effect/testing"
import {
  assertTag,
  collectStream,
  DEFAULT_TEXT,
  deployment,
  failOnClock,
  harness,
  request,
  SimulatedProvider,
  streamedText,
  succeedOnClock
} from "./Fixture.ts"

const { hang, stallMidStream, succeed } = SimulatedProvider
const timeoutPhase = (error: LlmError.LlmError | undefined) => (error?._tag === "Timeout" ? error.phase : undefined)

describe("request timeout", () => {
  it.effect("the router's timeout bounds a chat call: Timeout(request) after exactly that long", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a")], timeout: 2, num_retries: 0 }, { a: { script: [hang] } })
      const fiber = yield* Effect.forkChild(h.router.chat(request()))
      yield* TestClock.adjust("1999 millis")
      assert.isUndefined(fiber.pollUnsafe(), "still waiting 1 ms before the timeout")
      const error = yield* failOnClock(Fiber.join(fiber), "1 millis")
      assertTag(error, "Timeout")
      assert.strictEqual(timeoutPhase(error), "request")
      assert.strictEqual(error.deployment, "a")
      assert.strictEqual(error.provider, "openai")
      assert.strictEqual(h.log.length, 1)
    }))

  it.effect("a deployment's own timeout wins over the router's", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "a", { timeout: 0.5, order: 1 }), deployment("gpt", "b", { order: 2 })],
          timeout: 30
        },
        { a: { script: [hang] }, b: { latency: { _tag: "Fixed", ms: 100 } } }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request()))
      assert.strictEqual(route.deployment, "b")
      assert.strictEqual(route.latencyMs, 600, "a's 500 ms timeout, then b's 100 ms")
      assert.deepStrictEqual(h.log.map((c) => c.at), [0, 500])
    }))

  it.effect("a slow answer inside the timeout is not cut", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a", { timeout: 2 })] }, { a: { latency: { _tag: "Fixed", ms: 1999 } } })
      const { route } = yield* succeedOnClock(h.router.chat(request()))
      assert.strictEqual(route.latencyMs, 1999)
      assert.strictEqual(route.attempts, 1)
    }))

  it.effect("a timeout is retried like any transient failure, and counts toward cooldown", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], timeout: 1, allowed_fails: 1, num_retries: 1 },
        { a: { script: [hang, hang, succeed()] } }
      )
      // Two 1 s timeouts and a ~0.5 s backoff: over within 3 s, well inside the 5 s cooldown.
      const error = yield* failOnClock(h.router.chat(request()), "3 seconds")
      assertTag(error, "Timeout")
      assert.strictEqual(h.log.length, 2)
      const snap = yield* h.state.snapshot(["a"])
      assert.isAbove(snap.stats.get("a")!.cooldownUntil, 0, "two timeouts > allowed_fails 1")
    }).pipe(Random.withSeed(1)))
})

describe("stream timeouts", () => {
  it.effect("stream_timeout bounds the wait for the first content chunk: Timeout(first-chunk)", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a")], stream_timeout: 1, num_retries: 0 }, { a: { script: [hang] } })
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.strictEqual(timeoutPhase(error), "first-chunk")
      assert.strictEqual(error?.deployment, "a")
      assert.strictEqual(parts.length, 0, "nothing was promised to the caller")
    }))

  it.effect("a per-deployment stream_timeout wins, and a stream that opens but sends no content also times out", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "a", { stream_timeout: 0.25, order: 1 }), deployment("gpt", "b", { order: 2 })],
          stream_timeout: 10
        },
        // a sends Start and its role-only preamble, then stalls before any content.
        { a: { script: [stallMidStream(0)] } }
      )
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.isUndefined(error)
      const start = parts[0]
      assert.strictEqual(start?._tag === "Start" ? start.route.deployment : undefined, "b")
      assert.strictEqual(streamedText(parts), DEFAULT_TEXT)
      assert.deepStrictEqual(h.log.map((c) => c.at), [0, 250])
    }))

  it.effect("stream_idle_timeout bounds a silence after content: Timeout(idle)", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], stream_idle_timeout: 2, stream_timeout: 30 },
        { a: { script: [stallMidStream(2)], chunks: 4 } }
      )
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.strictEqual(timeoutPhase(error), "idle")
      assert.strictEqual(error?.deployment, "a")
      assert.strictEqual(parts[0]?._tag, "Start")
      assert.isTrue(DEFAULT_TEXT.startsWith(streamedText(parts)))
      assert.isAbove(streamedText(parts).length, 0)
      assert.isBelow(streamedText(parts).length, DEFAULT_TEXT.length)
    }))

  it.effect("chunks slower than nothing-at-all but inside the idle timeout pass", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], stream_idle_timeout: 1, stream_timeout: 1 },
        { a: { chunks: 5, chunkIntervalMs: 900 } }
      )
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.isUndefined(error)
      assert.strictEqual(streamedText(parts), DEFAULT_TEXT)
    }))

  it.effect("without stream settings, the request timeout bounds the first chunk", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a", { timeout: 3 })], num_retries: 0 }, { a: { script: [hang] } })
      const fiber = yield* Effect.forkChild(Stream.runDrain(h.router.stream(request())))
      yield* TestClock.adjust("2999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(exit._tag, "Failure")
    }))
})

describe("abandoned calls", () => {
  it.effect("interrupting a chat ends its deployment's in-flight count", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a")] }, { a: { script: [hang] } })
      const fiber = yield* Effect.forkChild(h.router.chat(request()))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* h.state.snapshot(["a"])).stats.get("a")?.inFlight, 1)
      yield* Fiber.interrupt(fiber)
      const stats = (yield* h.state.snapshot(["a"])).stats.get("a")!
      assert.strictEqual(stats.inFlight, 0)
      assert.strictEqual(stats.cooldownUntil, 0, "the caller leaving is not the deployment's fault")
    }))

  it.effect("a stream the consumer stops reading ends its in-flight count", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a")] }, { a: { chunks: 6, chunkIntervalMs: 100 } })
      const taken = yield* succeedOnClock(Stream.runCollect(Stream.take(h.router.stream(request()), 3)))
      assert.strictEqual(taken.length, 3)
      assert.strictEqual((yield* h.state.snapshot(["a"])).stats.get("a")?.inFlight, 0)
    }))
})

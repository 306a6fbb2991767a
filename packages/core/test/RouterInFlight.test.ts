/**
 * A call's in-flight count is given back exactly once on every exit of its attempt: success,
 * failure, interruption and a defect (an adapter that crashes), for chats and for streams, for
 * a stream interrupted while it records how it ended, and for a call interrupted at any step
 * it takes. Otherwise `least-busy` would avoid the deployment for good (or, given back twice,
 * crowd it).
 */
import { assert, describe, it } from "@effect/vitest"
import type { Chat, LlmClient } from "@llm-router/core"
import { Router, RouterConfig, RouterState } from "@llm-router/core"
import { SimulatedProvider } from "@llm-router/testing"
import { Deferred, Effect, Exit, Fiber, Scheduler, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { Deployment } from "../src/Deployment.ts"
import { InFlight } from "../src/internal/Calls.ts"
import type { Engine } from "../src/internal/Engine.ts"
import { deployment, request } from "./Fixture.ts"

const crashing: LlmClient.Service = {
  chat: () => Effect.die(new Error("the adapter crashed")),
  stream: () => Stream.die(new Error("the adapter crashed"))
}

const routerOver = (client: LlmClient.Service) =>
  Effect.gen(function*() {
    const config = yield* RouterConfig.decode({ model_list: [deployment("gpt", "a")], num_retries: 2 })
    const state = yield* RouterState.makeMemory
    const router = yield* Router.make(config, () => Effect.succeed(client)).pipe(
      Effect.provideService(RouterState.RouterState, state)
    )
    const inFlight = Effect.map(state.snapshot(["a"]), (s) => s.stats.get("a")?.inFlight ?? 0)
    return { router, inFlight }
  })

describe("in-flight calls", () => {
  it.effect("InFlight: an attempt that succeeds having reported no answer and handed nothing over gives the count back", () =>
    Effect.gen(function*() {
      const state = yield* RouterState.makeMemory
      const engine = { state } as unknown as Engine
      const d = { id: "a" } as Deployment
      const inFlight = Effect.map(state.snapshot(["a"]), (s) => s.stats.get("a")?.inFlight ?? 0)
      yield* state.onStart("a")
      yield* new InFlight(engine, d).recordSuccess()
      assert.strictEqual(yield* inFlight, 0)
      // Handed over to a stream: the stream's release gives it back, once.
      yield* state.onStart("a")
      const streamed = new InFlight(engine, d)
      const releaseWithStream = streamed.handOver()
      yield* streamed.recordSuccess()
      assert.strictEqual(yield* inFlight, 1)
      yield* releaseWithStream
      yield* releaseWithStream
      assert.strictEqual(yield* inFlight, 0)
    }))

  it.effect("a defect in a chat attempt gives its in-flight count back", () =>
    Effect.gen(function*() {
      const { router, inFlight } = yield* routerOver(crashing)
      const exit = yield* Effect.exit(router.chat(request()))
      assert.isTrue(Exit.isFailure(exit) && !Exit.hasFails(exit), "the defect reaches the caller as a defect")
      assert.strictEqual(yield* inFlight, 0)
    }))

  it.effect("an adapter that throws as it builds the call, or an operate callback that throws, gives the count back", () =>
    Effect.gen(function*() {
      const throwing: LlmClient.Service = {
        chat: () => {
          throw new Error("the adapter threw before making an effect")
        },
        stream: crashing.stream
      }
      const { router, inFlight } = yield* routerOver(throwing)
      const exit = yield* Effect.exit(router.chat(request()))
      assert.isTrue(Exit.isFailure(exit) && !Exit.hasFails(exit), "the throw reaches the caller as a defect")
      assert.strictEqual(yield* inFlight, 0)
      const operated = yield* Effect.exit(router.operate!(request(), () => {
        throw new Error("the caller's operation threw")
      }))
      assert.isTrue(Exit.isFailure(operated))
      assert.strictEqual(yield* inFlight, 0)
    }))

  it.effect("a defect while opening a stream gives its in-flight count back", () =>
    Effect.gen(function*() {
      const { router, inFlight } = yield* routerOver(crashing)
      const exit = yield* Effect.exit(Stream.runDrain(router.stream(request())))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(yield* inFlight, 0)
    }))
})

/**
 * A memory store whose record of how a call ended (its success, or a failure other than a
 * release) first says so on `entered`, then waits for `gate`: the moment a stream is ending.
 */
const gatedStore = (gated: "success" | "failure") =>
  Effect.gen(function*() {
    const inner = yield* RouterState.makeMemory
    const entered = yield* Deferred.make<void>()
    const gate = yield* Deferred.make<void>()
    const wait = Effect.andThen(Deferred.succeed(entered, undefined), Deferred.await(gate))
    const store: RouterState.Service = {
      ...inner,
      onSuccess: (id, success) => gated === "success" ? Effect.andThen(wait, inner.onSuccess(id, success)) : inner.onSuccess(id, success),
      onFailure: (id, failure) =>
        gated === "failure" && failure.reason !== "Interrupted" ? Effect.andThen(wait, inner.onFailure(id, failure)) : inner.onFailure(id, failure)
    }
    return { store, entered, gate }
  })

/**
 * Streams from `a` through a router over `store`, interrupts the consumer while the stream
 * records how it ended (on `entered`), then lets the record go on; returns `a`'s stats after.
 */
const interruptedWhileEnding = (gated: "success" | "failure", script: ReadonlyArray<SimulatedProvider.Behavior>) =>
  Effect.gen(function*() {
    const { store, entered, gate } = yield* gatedStore(gated)
    const config = yield* RouterConfig.decode({ model_list: [deployment("gpt", "a")], num_retries: 0 })
    const sim = yield* SimulatedProvider.make({ deployment: "a", script, chunks: 3 })
    const router = yield* Router.make(config, () => Effect.succeed(sim)).pipe(Effect.provideService(RouterState.RouterState, store))
    const consumer = yield* Effect.forkChild(Stream.runDrain(router.stream(request())))
    yield* TestClock.adjust("1 minute")
    yield* Deferred.await(entered)
    // Interrupted before the record may go on (started at once, not on a later tick).
    const interrupting = yield* Effect.forkChild(Fiber.interrupt(consumer), { startImmediately: true })
    yield* Deferred.succeed(gate, undefined)
    yield* Fiber.join(interrupting)
    assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(consumer)), "the consumer was interrupted")
    return (yield* store.snapshot(["a"])).stats.get("a")!
  })

describe("a stream interrupted as it ends", () => {
  it.effect("while its success is recorded: the record completes and gives the in-flight count back", () =>
    Effect.gen(function*() {
      const stats = yield* interruptedWhileEnding("success", [SimulatedProvider.succeed()])
      assert.strictEqual(stats.inFlight, 0)
      assert.isDefined(stats.latencyMs, "the success was recorded, not dropped")
    }))

  it.effect("while its failure after content is recorded: the record completes and gives the in-flight count back", () =>
    Effect.gen(function*() {
      const stats = yield* interruptedWhileEnding("failure", [SimulatedProvider.dropMidStream(2, "InternalServerError")])
      assert.strictEqual(stats.inFlight, 0)
      assert.strictEqual(stats.recentFailures, 1, "the failure was recorded, not dropped")
    }))
})

/**
 * A scheduler that makes its fibers yield after every step and runs them only when told, one
 * step at a time: a test can interrupt a fiber at each point where an interruption may land.
 */
class Stepper implements Scheduler.Scheduler {
  readonly executionMode = "async"
  private readonly tasks: Array<() => void> = []
  // A resumed fiber's first operation is the yield's own continuation: one more, then yield again.
  shouldYield(fiber: { readonly currentOpCount: number }) {
    return fiber.currentOpCount > 2
  }
  makeDispatcher(): Scheduler.SchedulerDispatcher {
    return { scheduleTask: (task) => void this.tasks.push(task), flush: () => void this.runAll() }
  }
  /** Runs up to `n` steps; false when none was left. */
  run(n: number) {
    for (let i = 0; i < n; i++) {
      const task = this.tasks.shift()
      if (task === undefined) return false
      task()
    }
    return true
  }
  runAll() {
    while (this.run(1));
  }
}

const chunk = (delta: Chat.Delta, finish: Chat.FinishReason | null = null): Chat.ChatChunk => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 0,
  model: "a",
  choices: [{ index: 0, delta, finish_reason: finish }]
})
const answer: ReadonlyArray<LlmClient.StreamPart> = [
  { _tag: "Chunk", chunk: chunk({ role: "assistant", content: "" }) },
  { _tag: "Chunk", chunk: chunk({ content: "Hello" }) },
  { _tag: "Chunk", chunk: chunk({ content: " there" }) }
]
const failure = SimulatedProvider.makeError({ tag: "InternalServerError" }, "openai", "a")
const completion: LlmClient.Completion = {
  response: {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 0,
    model: "a",
    choices: [{ index: 0, message: { role: "assistant", content: "Hello there" }, finish_reason: "stop" }]
  },
  route: { group: "gpt", servedBy: "gpt", deployment: "a", provider: "openai", model: "a", attempts: 1, fallbacks: [], latencyMs: 0 }
}

/** A deployment that answers at once (no clock), ending in success or failure; a stream after some content. */
const answering = (end: "success" | "failure"): LlmClient.Service => ({
  chat: () => (end === "success" ? Effect.succeed(completion) : Effect.fail(failure)),
  stream: () =>
    Stream.concat(
      Stream.fromIterable(answer),
      end === "success" ? Stream.make<ReadonlyArray<LlmClient.StreamPart>>({ _tag: "Chunk", chunk: chunk({}, "stop") }) : Stream.fail(failure)
    )
})

/**
 * Runs `call` on a router over `a` (answering as `end` says) on a `Stepper`, interrupted after
 * `steps` steps (never when it ends first), while another call on `a` is in flight throughout.
 * Returns `a`'s in-flight count afterwards (1 when the call gave back exactly its own), and
 * whether the call had ended before the interruption.
 */
const interruptedAfter = (steps: number, end: "success" | "failure", call: (router: LlmClient.Service) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function*() {
    const config = yield* RouterConfig.decode({ model_list: [deployment("gpt", "a")], num_retries: 0 })
    const state = yield* RouterState.makeMemory
    const router = yield* Router.make(config, () => Effect.succeed(answering(end))).pipe(Effect.provideService(RouterState.RouterState, state))
    yield* state.onStart("a")
    const stepper = new Stepper()
    // Started at once, so its first yield (and every one after) goes to the stepper.
    const caller = yield* Effect.forkChild(Effect.provideService(Effect.exit(call(router)), Scheduler.Scheduler, stepper), {
      startImmediately: true
    })
    const ran = stepper.run(steps)
    const endedFirst = caller.pollUnsafe() !== undefined
    caller.interruptUnsafe()
    stepper.runAll()
    assert.isDefined(caller.pollUnsafe(), "the call ended")
    const inFlight = (yield* state.snapshot(["a"])).stats.get("a")!.inFlight
    return { inFlight, endedFirst: endedFirst || !ran }
  })

/** Interrupts `call` at every step it takes until it ends; the counts left wherever it is not 1. */
const everyStep = (end: "success" | "failure", call: (router: LlmClient.Service) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function*() {
    const wrong: Array<string> = []
    let steps = 0
    for (;; steps++) {
      const { inFlight, endedFirst } = yield* interruptedAfter(steps, end, call)
      if (inFlight !== 1) wrong.push(`after ${steps} steps: ${inFlight}`)
      if (endedFirst) break
    }
    assert.isAbove(steps, 20, "the call took its steps on the stepper")
    return wrong
  })

describe("a call interrupted at any step", () => {
  it.effect.each(["success", "failure"] as const)("a stream ending in %s gives back exactly its own in-flight count", (end) =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* everyStep(end, (router) => Stream.runDrain(router.stream(request()))), [])
    }))

  it.effect.each(["success", "failure"] as const)("a chat ending in %s gives back exactly its own in-flight count", (end) =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* everyStep(end, (router) => router.chat(request())), [])
    }))
})

/**
 * `Deadline.timeoutOrElse`, on both of its paths: the live clock (one child fiber and a timer;
 * real time, a few tens of milliseconds) and any other clock (`TestClock`, Effect's own race).
 * Each path must return the call's outcome when it beats the deadline, run `orElse` when it does
 * not, and interrupt the call when the deadline passes or the caller goes away.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deadline } from "@llm-router/core"
import { Effect, Exit, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"

/** A call that never ends by itself, recording whether it was interrupted. */
const hanging = (interrupted: Ref.Ref<boolean>) => Effect.never.pipe(Effect.onInterrupt(() => Ref.set(interrupted, true)))

describe("Deadline.timeoutOrElse with the live clock", () => {
  it.live("returns the call's value when it finishes in time", () =>
    Effect.gen(function*() {
      const value = yield* Effect.succeed(42).pipe(Effect.delay("5 millis"), Deadline.timeoutOrElse(5_000, () => Effect.succeed(-1)))
      assert.strictEqual(value, 42)
    }))

  it.live("passes the call's failure through untouched", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.fail("boom").pipe(Deadline.timeoutOrElse(5_000, () => Effect.succeed("late"))))
      assert.deepStrictEqual(exit, Exit.fail("boom"))
    }))

  it.live("runs orElse once the deadline passes, after interrupting the call", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(false)
      const seenByOrElse = yield* Ref.make<boolean | undefined>(undefined)
      const value = yield* hanging(interrupted).pipe(
        Deadline.timeoutOrElse(20, () => Effect.flatMap(Ref.get(interrupted), (was) => Effect.as(Ref.set(seenByOrElse, was), "timed out")))
      )
      assert.strictEqual(value, "timed out")
      assert.strictEqual(yield* Ref.get(seenByOrElse), true)
    }))

  it.live("interrupts the call when the caller is interrupted", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(false)
      const started = yield* Ref.make(false)
      const fiber = yield* Effect.forkChild(
        Ref.set(started, true).pipe(Effect.andThen(hanging(interrupted)), Deadline.timeoutOrElse(60_000, () => Effect.void))
      )
      while (!(yield* Ref.get(started))) yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* Ref.get(interrupted), true)
    }))
})

describe("Deadline.timeoutOrElse under TestClock", () => {
  it.effect("runs orElse when test time passes the deadline, and interrupts the call", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(false)
      const fiber = yield* Effect.forkChild(hanging(interrupted).pipe(Deadline.timeoutOrElse(1_000, () => Effect.succeed("timed out"))))
      yield* TestClock.adjust("999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Fiber.join(fiber), "timed out")
      assert.strictEqual(yield* Ref.get(interrupted), true)
    }))

  it.effect("returns the call's value when it finishes before the deadline", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(
        Effect.succeed("answer").pipe(Effect.delay("500 millis"), Deadline.timeoutOrElse(1_000, () => Effect.succeed("timed out")))
      )
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(yield* Fiber.join(fiber), "answer")
    }))
})

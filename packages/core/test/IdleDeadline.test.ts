/**
 * `IdleDeadline`: the reader-fiber form (`withReader`) with a timer the test fires by hand, so
 * no real time passes; then `guard`, which picks that form with Node's timer under the live
 * clock (one real, short timeout) and `Deadline.timeoutOrElse` per pull under `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import { IdleDeadline } from "@llm-router/core"
import { Effect, Exit, Fiber, Ref, Scope } from "effect"
import { TestClock } from "effect/testing"

/** A timer fired by the test: counts how often it is armed, and whether it was cleared. */
const manualTimer = () => {
  const timer = { arms: 0, cleared: false, fire: () => {} }
  const make: IdleDeadline.MakeTimer = (_millis, onFire) => {
    timer.fire = onFire
    return {
      arm: () => void timer.arms++,
      clear: () => void (timer.cleared = true)
    }
  }
  return { timer, make }
}

/** A pull that never ends by itself, recording whether it was interrupted. */
const hanging = (interrupted: Ref.Ref<boolean>) => Effect.never.pipe(Effect.onInterrupt(() => Ref.set(interrupted, true)))

/** Pulls of `values` in turn, then fails with "end". */
const pullOf = (values: ReadonlyArray<number>) => {
  let i = 0
  return Effect.suspend(() => (i < values.length ? Effect.succeed(values[i++]!) : Effect.fail("end" as const)))
}

const timedOut = () => Effect.succeed("timed out" as const)

/** Waits until `fiber` has yielded control (it is waiting on its pull). */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 5; i++) yield* Effect.yieldNow
})

describe("IdleDeadline.withReader", () => {
  it.effect("hands over each pull's value and failure in order, arming the timer per pull", () =>
    Effect.gen(function*() {
      const { timer, make } = manualTimer()
      const scope = yield* Scope.make()
      const pull = yield* IdleDeadline.withReader(pullOf([1, 2]), 1_000, timedOut, scope, make)
      assert.strictEqual(yield* pull, 1)
      assert.strictEqual(yield* pull, 2)
      assert.deepStrictEqual(yield* Effect.exit(pull), Exit.fail("end" as const))
      assert.strictEqual(timer.arms, 3)
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(timer.cleared)
    }))

  it.effect("a pull still waiting when the timer fires is interrupted, then orElse runs", () =>
    Effect.gen(function*() {
      const { timer, make } = manualTimer()
      const interrupted = yield* Ref.make(false)
      const seenByOrElse = yield* Ref.make<boolean | undefined>(undefined)
      const orElse = () => Effect.flatMap(Ref.get(interrupted), (was) => Effect.as(Ref.set(seenByOrElse, was), "timed out" as const))
      const pull = yield* IdleDeadline.withReader(hanging(interrupted), 1_000, orElse, yield* Scope.make(), make)
      const fiber = yield* Effect.forkChild(pull)
      yield* settle
      assert.isUndefined(fiber.pollUnsafe())
      timer.fire()
      assert.strictEqual(yield* Fiber.join(fiber), "timed out")
      assert.strictEqual(yield* Ref.get(seenByOrElse), true)
    }))

  it.effect("the timer firing between pulls (a slow caller, not a stalled upstream) changes nothing", () =>
    Effect.gen(function*() {
      const { timer, make } = manualTimer()
      const pull = yield* IdleDeadline.withReader(pullOf([1, 2]), 1_000, timedOut, yield* Scope.make(), make)
      assert.strictEqual(yield* pull, 1)
      timer.fire()
      assert.strictEqual(yield* pull, 2)
    }))

  it.effect("a caller that goes away mid-pull interrupts the upstream pull and stops the timer", () =>
    Effect.gen(function*() {
      const { timer, make } = manualTimer()
      const interrupted = yield* Ref.make(false)
      const pull = yield* IdleDeadline.withReader(hanging(interrupted), 1_000, timedOut, yield* Scope.make(), make)
      const fiber = yield* Effect.forkChild(pull)
      yield* settle
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* Ref.get(interrupted), true)
      assert.isTrue(timer.cleared)
    }))

  it.effect("closing the scope interrupts a waiting pull and every later one", () =>
    Effect.gen(function*() {
      const { make } = manualTimer()
      const interrupted = yield* Ref.make(false)
      const scope = yield* Scope.make()
      const pull = yield* IdleDeadline.withReader(hanging(interrupted), 1_000, timedOut, scope, make)
      const fiber = yield* Effect.forkChild(pull)
      yield* settle
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* Ref.get(interrupted), true)
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
      assert.isTrue(Exit.hasInterrupts(yield* Effect.exit(pull)))
    }))
})

describe("IdleDeadline.guard", () => {
  it.live("with the live clock, fails a stalled pull once its deadline passes", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(false)
      const pull = yield* IdleDeadline.guard(hanging(interrupted), 20, timedOut, yield* Scope.make())
      assert.strictEqual(yield* pull, "timed out")
      assert.strictEqual(yield* Ref.get(interrupted), true)
    }))

  it.effect("under TestClock, each pull runs orElse when test time passes the deadline", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(false)
      const pull = yield* IdleDeadline.guard(hanging(interrupted), 1_000, timedOut, yield* Scope.make())
      const fiber = yield* Effect.forkChild(pull)
      yield* TestClock.adjust("999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Fiber.join(fiber), "timed out")
      assert.strictEqual(yield* Ref.get(interrupted), true)
    }))
})

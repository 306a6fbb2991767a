/**
 * The deadline the router puts on every provider call. `Effect.timeoutOrElse` races the call
 * against a sleep, forking both into new fibers; the router makes one such race per attempt of
 * every request, and in the gateway that cost about 15 µs of CPU per request
 * (`bench/gateway/inprocess.ts --compare`, paired). With the live clock this runs only the call
 * in a fiber of its own and arms a timer beside it. Under any other clock (`TestClock`) it is
 * `Effect.timeoutOrElse`, so tests drive time exactly as before. Either way, a call that
 * outlives its deadline is interrupted (its HTTP request aborted) before `orElse` runs.
 */
import { Clock, Context, Duration, Effect, Fiber } from "effect"
import { dual } from "effect/Function"

const liveClock = Context.get(Context.empty(), Clock.Clock)

/** `self`, or `orElse()` once `millis` have passed without it finishing (pipeable). */
export const timeoutOrElse: {
  <A2, E2, R2>(
    millis: number,
    orElse: () => Effect.Effect<A2, E2, R2>
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, E | E2, R | R2>
  <A, E, R, A2, E2, R2>(
    self: Effect.Effect<A, E, R>,
    millis: number,
    orElse: () => Effect.Effect<A2, E2, R2>
  ): Effect.Effect<A | A2, E | E2, R | R2>
} = dual(3, <A, E, R, A2, E2, R2>(
  self: Effect.Effect<A, E, R>,
  millis: number,
  orElse: () => Effect.Effect<A2, E2, R2>
): Effect.Effect<A | A2, E | E2, R | R2> =>
  Effect.withFiber((parent) => {
    if (parent.getRef(Clock.Clock) !== liveClock || !(millis > 0 && millis < 2 ** 31)) {
      return Effect.timeoutOrElse(self, { duration: Duration.millis(millis), orElse })
    }
    // The call's fiber starts (and runs up to its first wait) inside `callback`'s registration,
    // which nothing can interrupt, and it always ends before this does: it is awaited, or
    // interrupted and awaited. So it needs no parent, and skips `forkChild`'s bookkeeping
    // (an `uninterruptibleMask`, the parent's child set, the interrupt-children hook).
    return Effect.callback<A | A2, E | E2, R2>((resume) => {
      const fiber = Effect.runForkWith(parent.context as Context.Context<R>)(self)
      const timer = setTimeout(() => resume(Effect.andThen(Fiber.interrupt(fiber), orElse())), millis)
      fiber.addObserver((exit) => {
        clearTimeout(timer)
        resume(exit)
      })
      // The caller went away: stop the timer and the call (built only then: it almost never is).
      return Effect.suspend(() => {
        clearTimeout(timer)
        return Fiber.interrupt(fiber)
      })
    })
  }))

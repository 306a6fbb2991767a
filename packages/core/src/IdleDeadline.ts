/**
 * The idle deadline the router puts on every pull of a stream after its first content:
 * each pull must bring something within `millis`, or the stream fails with `orElse()`.
 *
 * `Deadline.timeoutOrElse` on every pull forks a fiber and arms a timer per chunk; with the
 * live clock, this forks one reader fiber per stream attempt instead, which pulls upstream
 * when asked and hands each result back, and re-arms one timer per pull. A stalled pull is
 * interrupted (its HTTP request aborted with the attempt's scope) before `orElse` runs; a
 * caller that goes away interrupts it too. Under any other clock (`TestClock`) each pull is
 * `Deadline.timeoutOrElse`, so tests drive time exactly as before.
 */
import { Clock, Context, Effect, Exit, Fiber, Scope } from "effect"
import * as Deadline from "./Deadline.ts"

/** The timer of one guarded pull: `arm` (re)starts the countdown, `clear` stops it for good. */
export interface Timer {
  readonly arm: () => void
  readonly clear: () => void
}

export type MakeTimer = (millis: number, onFire: () => void) => Timer

/** Node's timer, made on the first pull and re-armed (`refresh`) on every later one. */
export const nodeTimer: MakeTimer = (millis, onFire) => {
  let timer: ReturnType<typeof setTimeout> | undefined
  return {
    arm: () => {
      if (timer === undefined) timer = setTimeout(onFire, millis)
      else timer.refresh()
    },
    clear: () => {
      clearTimeout(timer)
      timer = undefined
    }
  }
}

const liveClock = Context.get(Context.empty(), Clock.Clock)

/**
 * `pull` under an idle deadline of `millis` per pull, for one fiber reading in turn. The
 * reader lives in `scope` (the stream attempt's), so closing it stops the reader.
 */
export const guard = <A, E, A2, E2>(
  pull: Effect.Effect<A, E>,
  millis: number,
  orElse: () => Effect.Effect<A2, E2>,
  scope: Scope.Scope
): Effect.Effect<Effect.Effect<A | A2, E | E2>> =>
  Clock.clockWith((clock) =>
    clock === liveClock && millis > 0 && millis < 2 ** 31
      ? withReader(pull, millis, orElse, scope, nodeTimer)
      : Effect.succeed(Deadline.timeoutOrElse(pull, millis, orElse))
  )

/** The reader-fiber form of `guard`, whatever the clock, with the timer given (tests drive it). */
export const withReader = <A, E, A2, E2>(
  pull: Effect.Effect<A, E>,
  millis: number,
  orElse: () => Effect.Effect<A2, E2>,
  scope: Scope.Scope,
  makeTimer: MakeTimer
): Effect.Effect<Effect.Effect<A | A2, E | E2>> =>
  Effect.suspend(() => {
    type Resume = (effect: Effect.Effect<A | A2, E | E2>) => void
    /** The caller waiting for a pull, if any. */
    let waiting: Resume | undefined
    /** The reader waiting to be asked, if it is. */
    let idle: ((effect: Effect.Effect<void>) => void) | undefined
    /** Asked while the reader was still busy handing over the previous result. */
    let asked = false
    /** How the reader ended (scope closed, stall, caller gone): what every later pull gets. */
    let ended: Exit.Exit<never> | undefined

    const handOver = (effect: Effect.Effect<A | A2, E | E2>) => {
      const resume = waiting
      waiting = undefined
      resume?.(effect)
    }
    const awaitAsk = Effect.callback<void>((resume) => {
      if (asked) {
        asked = false
        resume(Effect.void)
      } else idle = resume
    })
    const serve: Effect.Effect<never> = Effect.flatMap(awaitAsk, () =>
      Effect.flatMap(Effect.exit(pull), (exit) => {
        handOver(exit)
        return serve
      }))

    return Effect.map(Effect.forkIn(serve, scope, { startImmediately: true }), (reader) => {
      // A pull still waiting when the timer fires has waited `millis`: stop it, then `orElse`.
      const timer = makeTimer(millis, () => {
        if (waiting !== undefined) handOver(Effect.andThen(Fiber.interrupt(reader), orElse()))
      })
      reader.addObserver((exit) => {
        ended = exit
        timer.clear()
        handOver(exit)
      })
      // The caller went away mid-pull: stop the reader and its upstream pull.
      const cancel = Effect.suspend(() => {
        waiting = undefined
        timer.clear()
        return Fiber.interrupt(reader)
      })
      return Effect.callback<A | A2, E | E2>((resume) => {
        if (ended !== undefined) {
          resume(ended)
          return
        }
        waiting = resume
        timer.arm()
        if (idle !== undefined) {
          const ask = idle
          idle = undefined
          ask(Effect.void)
        } else asked = true
        return cancel
      })
    })
  })

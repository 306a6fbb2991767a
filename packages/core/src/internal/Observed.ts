/**
 * One attempt's call, told to the router's adaptive latency routing (`LatencyRouting.Observer`):
 * started when it begins, then answered, failed or released however it ends (success, a
 * typed failure, a defect, an interruption), in one bracket so no call stays counted as in
 * flight.
 *
 * Every router offers its adaptive latency routing to every decision (`Strategy.Context.latency`),
 * so `latency-based-routing` means one thing whether the config names it or a pipeline of one's
 * own ends with it; but its estimates are fed only once a decision has read them (or from the
 * start, when the app gave the router its own). Until then (every router that routes by
 * something else) a call is returned as it is.
 */
import { Cause, Clock, Effect, Exit } from "effect"
import type * as LatencyRouting from "../LatencyRouting.ts"
import type * as LlmError from "../LlmError.ts"
import type { Sample } from "./LatencyEstimate.ts"

/** A router's adaptive latency routing, and whether its calls feed it yet. */
export interface LatencyFeed {
  /** What decisions read; reading it turns the feed on. */
  readonly estimates: LatencyRouting.Estimates
  /** The observer to tell of a call, once a decision has read the estimates. */
  readonly observer: () => LatencyRouting.Observer | undefined
}

/** `fromStart`: fed from the first call (an app's own, which its pipeline may call directly). */
export const feed = (routing: LatencyRouting.LatencyRouting, fromStart: boolean): LatencyFeed => {
  let read = fromStart
  return {
    estimates: {
      pick: (candidates, context) => {
        read = true
        return routing.pick(candidates, context)
      },
      estimate: (deployment, streaming, now) => {
        read = true
        return routing.estimate(deployment, streaming, now)
      }
    },
    observer: () => (read ? routing.observer : undefined)
  }
}

export const observed = <A>(
  feed: LatencyFeed,
  deployment: string,
  streaming: boolean,
  began: number,
  call: Effect.Effect<A, LlmError.LlmError>,
  sampleOf: (value: A, now: number) => Sample
): Effect.Effect<A, LlmError.LlmError> => {
  const observer = feed.observer()
  if (observer === undefined) return call
  return Effect.suspend(() => {
    const pending = observer.started(deployment, streaming, began)
    return Effect.onExit(call, (exit) =>
      Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        if (Exit.isSuccess(exit)) observer.answered(pending, sampleOf(exit.value, now), now)
        else {
          const error = Cause.findErrorOption(exit.cause)
          if (error._tag === "Some") observer.failed(pending, error.value._tag, now)
          else observer.released(pending)
        }
        return Effect.void
      }))
  })
}

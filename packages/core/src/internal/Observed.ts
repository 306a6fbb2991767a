/**
 * One attempt's call, told to the strategy's latency observer (`LatencyRouting.Observer`):
 * started when it begins, then answered, failed or released however it ends (success, a
 * typed failure, a defect, an interruption), in one bracket so no call stays counted as in
 * flight. Without an observer (every strategy but `latency-based-routing`) the call is
 * returned as it is.
 */
import { Cause, Clock, Effect, Exit } from "effect"
import type * as LatencyRouting from "../LatencyRouting.ts"
import type * as LlmError from "../LlmError.ts"
import type { Sample } from "./LatencyEstimate.ts"

export const observed = <A>(
  observer: LatencyRouting.Observer | undefined,
  deployment: string,
  streaming: boolean,
  began: number,
  call: Effect.Effect<A, LlmError.LlmError>,
  sampleOf: (value: A, now: number) => Sample
): Effect.Effect<A, LlmError.LlmError> => {
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

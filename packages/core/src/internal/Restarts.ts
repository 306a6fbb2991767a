/**
 * What `LlmClient.retry` and `LlmClient.orElse` need to run a stream again: when an attempt
 * fails after it has announced a deployment (its `Start`), the parts it emitted are void, so
 * the next attempt begins with a `Restarted` part naming that route and the failure, as the
 * router's own restarts do. An attempt that failed before announcing anything starts again
 * silently. One value per consumed stream (it keeps the route of the attempt in progress).
 */
import { Effect, Stream } from "effect"
import type { LlmError } from "../LlmError.ts"
import type { RouteInfo } from "../RouteInfo.ts"
import type { StreamPart } from "../LlmClient.ts"

export interface Restarts {
  /** `parts` as one attempt: preceded by the `Restarted` part a failed earlier attempt left. */
  readonly attempt: <R>(parts: Stream.Stream<StreamPart, LlmError, R>) => Stream.Stream<StreamPart, LlmError, R>
}

export const make = (): Restarts => {
  let announced: RouteInfo | undefined
  let pending: StreamPart | undefined
  return {
    attempt: (parts) =>
      Stream.suspend(() => {
        const restarted = pending
        pending = undefined
        announced = undefined
        const tracked = parts.pipe(
          Stream.tap((part) => Effect.sync(() => {
            if (part._tag === "Start" || part._tag === "Done") announced = part.route
          })),
          Stream.tapError((reason) => Effect.sync(() => {
            if (announced !== undefined) pending = { _tag: "Restarted", route: announced, reason }
          }))
        )
        return restarted === undefined ? tracked : Stream.concat(Stream.succeed(restarted), tracked)
      })
  }
}

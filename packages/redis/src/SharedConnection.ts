/**
 * This replica's connection to the fleet's Redis, for what is read and written on a request's
 * path (the Responses API's stored answers, `SharedResponses`). `RedisRouterState.layer` provides
 * it on the connection it keeps up with its own backoff: a command while that connection is down
 * fails at once (but one sent while the replica makes its first connection waits for it, as a
 * replica just started has not had time to connect), and one that gets no answer fails after a
 * bound, so a request never waits long on a Redis that is gone. What is shared in the background (cooldowns, pins, spend) does not use it.
 */
import { Context, Duration, Effect } from "effect"
import { Redis } from "effect/persistence"
import { Deadline } from "@llm-router/core"

export class SharedConnection extends Context.Service<SharedConnection, {
  /** Sends one command; fails with a `RedisError` while not connected, or after `commandTimeout`. */
  readonly send: <A = unknown>(command: string, ...args: ReadonlyArray<string>) => Effect.Effect<A, Redis.RedisError>
}>()("@llm-router/redis/SharedConnection") {}

/** A command that has not answered in this long counts as a lost connection. */
export const commandTimeout = Duration.seconds(5)

/** `command`, failing once `commandTimeout` has passed without an answer (the router's own bound, `Deadline`). */
export const withinCommandTimeout = <A>(command: Effect.Effect<A, Redis.RedisError>) =>
  Deadline.timeoutOrElse(
    command,
    Duration.toMillis(commandTimeout),
    () => Effect.fail(new Redis.RedisError({ cause: `no answer from Redis within ${Duration.format(commandTimeout)}` }))
  )

/**
 * The connection `current` answers: the client while connected, `undefined` while not (the
 * command then fails at once, as node-redis does without its offline queue). `firstAttempt`
 * ends when the replica's first attempt to connect has (whichever way it went): until then a
 * command waits for it, at most `commandTimeout`.
 */
export const make = (
  current: () => Redis.Redis["Service"] | undefined,
  firstAttempt: Effect.Effect<void> = Effect.void
): SharedConnection["Service"] => {
  const sendOn = <A>(command: string, args: ReadonlyArray<string>) =>
    Effect.suspend(() => {
      const redis = current()
      return redis === undefined
        ? Effect.fail(new Redis.RedisError({ cause: "not connected to Redis" }))
        : withinCommandTimeout(redis.send<A>(command, ...args))
    })
  return SharedConnection.of({
    send: <A>(command: string, ...args: ReadonlyArray<string>) =>
      current() === undefined
        ? Effect.andThen(Effect.timeoutOption(firstAttempt, commandTimeout), sendOn<A>(command, args))
        : sendOn<A>(command, args)
  })
}

/** A connection that is always up on `redis` (tests, or an application with a client of its own). */
export const fromRedis = (redis: Redis.Redis["Service"]): SharedConnection["Service"] => make(() => redis)

/**
 * The replica's connection for commands on a request's path (`SharedConnection`), as
 * `RedisRouterState` provides it: commands go through while connected, fail at once with a
 * clear error while Redis is gone, and go through again once the replica has reconnected.
 */
import { assert, describe, it } from "@effect/vitest"
import { RedisRouterState, SharedConnection } from "@llm-router/redis"
import { Context, Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import * as Fixture from "./Fixture.ts"

describe("SharedConnection", () => {
  it.effect("a command sent while the replica makes its first connection waits for it", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const context = yield* Layer.build(RedisRouterState.layerNode({ url: Redacted.make(Fixture.REDIS_URL) }, { prefix }))
      // At once: the layer is ready before its connection is.
      assert.strictEqual(yield* Context.get(context, SharedConnection.SharedConnection).send<string>("PING"), "PONG")
    }))

  it.effect("a command sent while a first connection is refused fails once it is", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const proxy = yield* Fixture.outageProxy
      yield* proxy.down
      const context = yield* Fixture.quietReplica(proxy.url, { prefix })
      const refused = yield* Effect.flip(Context.get(context, SharedConnection.SharedConnection).send("PING"))
      assert.strictEqual(refused.cause, "not connected to Redis")
    }))

  it.effect("sends on the replica's connection while it is up, and fails at once while Redis is gone", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const proxy = yield* Fixture.outageProxy
      const context = yield* Fixture.quietReplica(proxy.url, { prefix, resyncMs: 1_000 })
      const status = Context.get(context, RedisRouterState.Status)
      const connection = Context.get(context, SharedConnection.SharedConnection)
      /** Moves the replica's clock on until `connected` is `want`, real time passing for the I/O. */
      const until = (want: boolean) =>
        Fixture.eventually(
          `connected: ${want}`,
          Effect.andThen(
            Effect.andThen(TestClock.adjust("100 millis"), TestClock.withLive(Effect.sleep("5 millis"))),
            Effect.map(status.connected, (connected) => connected === want)
          ),
          10_000
        )

      yield* until(true)
      assert.strictEqual(yield* connection.send<string>("PING"), "PONG")

      yield* proxy.down
      yield* until(false)
      const refused = yield* Effect.flip(connection.send("PING"))
      assert.strictEqual(refused._tag, "RedisError")
      assert.strictEqual(refused.cause, "not connected to Redis")

      yield* proxy.up
      yield* until(true)
      assert.strictEqual(yield* connection.send<string>("PING"), "PONG")
    }))
})

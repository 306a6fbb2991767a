/**
 * What the Redis tests share: the Redis every machine of this project runs (127.0.0.1:6379,
 * as CI's does), a fresh key prefix per test so runs never see each other's boards, and a
 * bounded wait for what travels over real sockets.
 */
import { NodeRedis } from "@effect/platform-node"
import * as Net from "node:net"
import { RedisRouterState } from "@llm-router/redis"
import { Context, Effect, Layer, Logger, Random, Redacted } from "effect"
import { Redis } from "effect/persistence"
import { TestClock } from "effect/testing"

export const REDIS_URL = process.env["LLM_ROUTER_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** A new client each time it is built: one per simulated replica. */
export const redis: Layer.Layer<Redis.Redis> = Layer.orDie(NodeRedis.layer({ url: REDIS_URL }))

/** A client of the test's own, for looking at what the replicas wrote. */
export const client = Effect.map(Layer.build(redis), (context) => Context.get(context, Redis.Redis))

/** A key prefix no other test (or run) uses; its board is deleted when the test's scope closes. */
export const freshPrefix = Effect.gen(function*() {
  const prefix = `llm-router-test:${Math.floor((yield* Random.next) * 2 ** 52).toString(36)}`
  const redis = yield* client
  yield* Effect.addFinalizer(() => Effect.ignore(redis.send("DEL", `${prefix}:cooldowns`)))
  return prefix
})

/**
 * Polls `check` until it holds, sleeping on the live clock between tries (messages cross real
 * sockets, whatever clock the test runs on); fails after about `limitMs`.
 */
export const eventually = <E, R>(what: string, check: Effect.Effect<boolean, E, R>, limitMs = 3_000) =>
  Effect.gen(function*() {
    for (let waited = 0; waited < limitMs; waited += 10) {
      if (yield* check) return
      yield* TestClock.withLive(Effect.sleep("10 millis"))
    }
    return yield* Effect.die(new Error(`timed out after ${limitMs} ms waiting for: ${what}`))
  })

/**
 * A TCP proxy in front of the test Redis that a test can take down and bring back, as a
 * network or a Redis restart would: `down` closes the listener and every connection through it.
 */
export const outageProxy = Effect.gen(function*() {
  const target = new URL(REDIS_URL)
  const sockets = new Set<Net.Socket>()
  const server = Net.createServer((client) => {
    const upstream = Net.connect(Number(target.port || 6379), target.hostname)
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from)
      from.on("close", () => {
        sockets.delete(from)
        to.destroy()
      })
      from.on("error", () => to.destroy())
    }
    client.pipe(upstream).pipe(client)
  })
  const listen = (port: number) =>
    Effect.callback<number>((resume) => {
      server.listen(port, "127.0.0.1", () => resume(Effect.succeed((server.address() as Net.AddressInfo).port)))
    })
  const port = yield* listen(0)
  const down = Effect.callback<void>((resume) => {
    server.close(() => resume(Effect.void))
    for (const socket of sockets) socket.destroy()
  })
  yield* Effect.addFinalizer(() => (server.listening ? down : Effect.void))
  return { url: `redis://127.0.0.1:${port}`, down, up: Effect.asVoid(listen(port)) }
})

/**
 * A replica through `layerNode` to `url`, built in the test's scope, with its log silenced (the
 * tests that cut Redis off would otherwise print every reconnection warning).
 */
export const quietReplica = (url: string, options: RedisRouterState.Options) =>
  Layer.build(RedisRouterState.layerNode({ url: Redacted.make(url) }, options)).pipe(
    Effect.provideService(Logger.CurrentLoggers, new Set())
  )

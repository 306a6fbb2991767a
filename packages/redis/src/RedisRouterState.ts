/**
 * `RouterState` shared through Redis, for a fleet of gateway replicas: a deployment that one
 * replica takes out of rotation is out for every replica, within milliseconds, so the fleet
 * does not send each replica's own `allowed_fails` worth of requests to a provider that is down.
 *
 * Routing never waits for Redis. Each replica routes on its memory store (`RouterState.makeMemory`);
 * the cooldowns it starts are posted to the `CooldownBoard` from a background fiber, and the
 * cooldowns other replicas post come in through a subscription, and through a re-read of the
 * whole board every `resyncMs` (for messages lost while a connection was down, and at start).
 * When Redis cannot be reached the replica routes on its own view, as a single gateway would,
 * logs one warning, and keeps reconnecting; nothing a client sees changes.
 *
 * What is shared is what LiteLLM shares through Redis for the same purpose (its
 * `deployment:{id}:cooldown` keys), session pins (`SharedPins`), so a conversation stays on
 * one deployment whichever replica answers, budget spend (`SharedLedger`) and requests and
 * tokens per minute (`SharedUsage`, for usage-based routing's limits), synced with the
 * board's re-read. Failure counts, latency samples and calls in
 * flight stay per replica, as in LiteLLM: they steer this replica's choices and cost nothing
 * to keep local. The connection is also lent, as `SharedConnection`, to what must be read on a
 * request's path (the gateway's stored Responses answers, `SharedResponses`).
 */
import { NodeRedis } from "@effect/platform-node"
import { Cause, Clock, Context, Deferred, Duration, Effect, Layer, Metric, Queue, Random, Redacted, References, Result, Scope } from "effect"
import { Redis } from "effect/persistence"
import { Budget, RouterState, SessionAffinity } from "@llm-router/core"
import * as CooldownBoard from "./CooldownBoard.ts"
import * as SharedConnection from "./SharedConnection.ts"
import { SharedLedger } from "./SharedLedger.ts"
import * as SharedPins from "./SharedPins.ts"
import { SharedUsage } from "./SharedUsage.ts"

export interface Options {
  /** Prefix of the board's keys (see `CooldownBoard.keys`). Default `llm-router`. */
  readonly prefix?: string | undefined
  /** How often the whole board is read again. Default 1 second. */
  readonly resyncMs?: number | undefined
}

export const defaults = { prefix: "llm-router", resyncMs: 1_000 } as const

/** Whether this replica shares its cooldowns right now, for health reports. */
export class Status extends Context.Service<Status, {
  /** True while connected to Redis; false while connecting or reconnecting. */
  readonly connected: Effect.Effect<boolean>
}>()("@llm-router/redis/RedisRouterState/Status") {}

/** 1 while this replica is connected to Redis and sharing cooldowns, else 0: the one to alert on. */
export const connectedGauge = Metric.gauge("llm_router_shared_state_connected", {
  description: "1 while this replica shares cooldowns through Redis, 0 while it routes on its own view"
})

/** What went wrong, in one line: the client's message, not the whole error. */
const reasonOf = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const inner = error instanceof Redis.RedisError ? error.cause : error
  return inner instanceof Error ? inner.message : String(inner)
}

/**
 * The wait before the next attempt to reach Redis, after `failures` failed attempts in a row:
 * half a second, doubling up to 30 seconds. A connection that was made starts the count again,
 * so a Redis that comes and goes is reached again in half a second each time.
 */
const reconnectDelay = (failures: number): Duration.Duration => Duration.millis(Math.min(500 * 2 ** Math.min(failures, 16), 30_000))

/**
 * The store: the memory store, whose new cooldowns also go to `outbox` for posting, and whose
 * per-minute counts are added up with the other replicas' (`SharedUsage`).
 * `admitCooldown` stays available to the sync fibers only.
 */
const sharing = (local: RouterState.MemoryStore, outbox: Queue.Queue<RouterState.Cooldown>, usage: SharedUsage): RouterState.Service =>
  RouterState.RouterState.of({
    snapshot: (ids) => Effect.map(local.snapshot(ids), (snapshot) => usage.withOthers(snapshot)),
    onStart: (deployment) =>
      Clock.clockWith((clock) =>
        Effect.andThen(local.onStart(deployment), Effect.sync(() => usage.started(deployment, clock.currentTimeMillisUnsafe())))
      ),
    onSuccess: (deployment, success) =>
      Clock.clockWith((clock) =>
        Effect.andThen(
          local.onSuccess(deployment, success),
          Effect.sync(() => usage.succeeded(deployment, clock.currentTimeMillisUnsafe(), success.tokens))
        )
      ),
    onFailure: (deployment, failure) =>
      Effect.tap(local.onFailure(deployment, failure), (started) =>
        started === undefined ? Effect.void : Queue.offer(outbox, started)),
    cooldowns: local.cooldowns
  })

/** What one replica keeps in step with the others. */
interface Replica {
  readonly id: string
  readonly prefix: string
  readonly keys: CooldownBoard.Keys
  readonly resyncMs: number
  readonly local: RouterState.MemoryStore
  readonly outbox: Queue.Queue<RouterState.Cooldown>
  readonly pins: SharedPins.Tables
  readonly ledger: SharedLedger
  readonly usage: SharedUsage
}

/**
 * Keeps the replica and the others in step over one connection, until that connection fails:
 * subscribes first, then reads the board (so nothing posted in between is missed), then
 * posts what this replica starts, hears what the others post, and re-reads every `resyncMs`;
 * session pins travel on their own channel, news only.
 */
const syncOver = (redis: Redis.Redis["Service"], replica: Replica): Effect.Effect<never, Redis.RedisError, Scope.Scope> =>
  Effect.gen(function*() {
    const { keys, local, outbox, resyncMs } = replica
    const admitAll = (posted: ReadonlyArray<CooldownBoard.Posted>) =>
      Effect.forEach(posted, (p) => local.admitCooldown(p), { discard: true })
    const events = yield* redis.subscribe(keys.channel)
    const pinEvents = yield* redis.subscribe(SharedPins.channel(replica.prefix))
    yield* admitAll(yield* CooldownBoard.readAll(redis, keys))

    const hear = Effect.flatMap(Queue.take(events), (message) => {
      const posted = CooldownBoard.parse(message.message)
      return posted === undefined || posted.from === replica.id ? Effect.void : local.admitCooldown(posted)
    })
    const hearPins = Effect.flatMap(Queue.take(pinEvents), (message) =>
      Clock.clockWith((clock) => {
        const pinned = SharedPins.parse(message.message)
        if (pinned !== undefined && pinned.from !== replica.id) replica.pins.admit(pinned, clock.currentTimeMillisUnsafe())
        return Effect.void
      }))
    // Best effort: a pin that cannot be sent now is news no longer when the connection is back.
    const postPins = Effect.flatMap(Queue.take(replica.pins.outbox), (pinned) =>
      SharedConnection.withinCommandTimeout(SharedPins.publish(redis, replica.prefix, { ...pinned, from: replica.id })))
    const postNext = Effect.flatMap(Queue.take(outbox), (cooldown) =>
      Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        if (cooldown.until <= now) return Effect.void
        // Not lost when the connection fails: it goes back to wait for the next one.
        return SharedConnection.withinCommandTimeout(CooldownBoard.post(redis, keys, cooldown, replica.id, now)).pipe(
          Effect.onError(() => Queue.offer(outbox, cooldown)),
          Effect.asVoid
        )
      }))
    const resync = SharedConnection.withinCommandTimeout(CooldownBoard.readAll(redis, keys)).pipe(
      Effect.flatMap(admitAll),
      Effect.andThen(Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        return SharedConnection.withinCommandTimeout(Effect.andThen(
          replica.ledger.sync(redis, replica.prefix, now),
          replica.usage.sync(redis, replica.prefix, now)
        ))
      })),
      Effect.delay(Duration.millis(resyncMs))
    )
    // Each runs until the connection fails; the first failure ends them all.
    return yield* Effect.raceAllFirst([hear, postNext, resync, hearPins, postPins].map((loop) => Effect.forever(loop)))
  })

/**
 * `RouterState` for a replica that shares cooldowns through the Redis `redis` connects to.
 * The layer is ready at once; connecting happens in the background, again and again if need be.
 */
export const layer = <E>(
  redis: Layer.Layer<Redis.Redis, E>,
  options: Options = {}
): Layer.Layer<RouterState.RouterState | Status | SharedConnection.SharedConnection> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const prefix = options.prefix ?? defaults.prefix
      const replica: Replica = {
        id: Math.floor((yield* Random.next) * 2 ** 52).toString(36),
        prefix,
        keys: CooldownBoard.keys(prefix),
        resyncMs: options.resyncMs ?? defaults.resyncMs,
        local: yield* RouterState.makeMemory,
        // Bounded, keeping the newest, for a long outage: a busy replica starts many sessions.
        outbox: yield* Queue.sliding<RouterState.Cooldown>(1_000),
        pins: new SharedPins.Tables(yield* Queue.sliding<SharedPins.News>(10_000)),
        ledger: new SharedLedger(),
        usage: new SharedUsage()
      }

      // One warning when Redis goes away, one line when it is back: not one per retry.
      let reachable: boolean | undefined
      /** The client while connected, for the commands of `SharedConnection`. */
      let current: Redis.Redis["Service"] | undefined
      /** Done once the first attempt to connect has ended, either way (see `SharedConnection.make`). */
      const firstAttempt = yield* Deferred.make<void>()
      /** Whether the current attempt got a connection (the backoff starts again after it). */
      let connected = false
      yield* Metric.update(connectedGauge, 0)
      const connection = Effect.acquireUseRelease(
        Scope.make(),
        (scope) =>
          Effect.gen(function*() {
            // The client's own warnings (node-redis logs every failed connect) are left out: the
            // replica says once that Redis is gone, and once that it is back.
            const service = Context.get(
              yield* Layer.build(redis).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
              Redis.Redis
            )
            if (reachable === false) yield* Effect.logInfo("llm-router: shared state: Redis is reachable again; sharing cooldowns")
            reachable = true
            connected = true
            current = service
            yield* Deferred.succeed(firstAttempt, undefined)
            yield* Metric.update(connectedGauge, 1)
            return yield* syncOver(service, replica)
          }).pipe(Scope.provide(scope)),
        // Closing a lost connection can wait on its client (node-redis's `close()` waits for
        // replies a dead socket may never bring): it must not hold up the next connection.
        (scope, exit) =>
          Effect.suspend(() => {
            current = undefined
            return Effect.asVoid(Effect.forkDetach(Scope.close(scope, exit)))
          })
      ).pipe(
        // Whatever ended the connection (a refused connect, a dropped subscription, a defect in
        // a client layer built with `orDie`) is retried; only the layer's own end stops it.
        Effect.catchCause((cause) => {
          if (Cause.hasInterruptsOnly(cause)) return Effect.fail(cause)
          const warn = reachable === false ? Effect.void : Effect.logWarning(
            `llm-router: shared state: Redis is unreachable (${reasonOf(cause)}); ` +
              "this replica routes on its own view until it is back"
          )
          reachable = false
          return warn.pipe(
            Effect.andThen(Deferred.succeed(firstAttempt, undefined)),
            Effect.andThen(Metric.update(connectedGauge, 0)),
            Effect.andThen(Effect.fail(cause))
          )
        })
      )
      // Whatever ended an attempt, the next one follows after `reconnectDelay`; only the layer's own end stops it.
      const keepConnected = Effect.gen(function*() {
        let failures = 0
        while (true) {
          connected = false
          const exit = yield* Effect.exit(connection)
          if (exit._tag === "Failure") {
            // The layer's own end: the attempt was interrupted (its cause is the failure's error).
            const error = Cause.findError(exit.cause)
            if (Cause.hasInterruptsOnly(exit.cause) || (Result.isSuccess(error) && Cause.hasInterruptsOnly(error.success))) {
              return yield* Effect.interrupt
            }
          }
          if (connected) failures = 0
          yield* Effect.sleep(reconnectDelay(failures))
          failures++
        }
      })
      yield* Effect.forkScoped(keepConnected)
      return Context.make(RouterState.RouterState, sharing(replica.local, replica.outbox, replica.usage)).pipe(
        Context.add(Status, Status.of({ connected: Effect.sync(() => reachable === true) })),
        Context.add(SharedConnection.SharedConnection, SharedConnection.make(() => current, Deferred.await(firstAttempt))),
        Context.add(SessionAffinity.MakePinTable, replica.pins.make),
        Context.add(Budget.MakeLedger, (limits) => replica.ledger.register(limits))
      )
    })
  )

/** Where a gateway's Redis is, as LiteLLM's `router_settings` say it (`redis_url`, or `redis_host` and the rest). */
export interface Connection {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`); wins over the fields below. */
  readonly url?: Redacted.Redacted<string> | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly password?: Redacted.Redacted<string> | undefined
}

/** The connection for messages: the address, never the credentials. */
export const describe = (connection: Connection): string => {
  if (connection.url !== undefined) {
    try {
      const url = new URL(Redacted.value(connection.url))
      return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`
    } catch {
      return "redis (url not shown)"
    }
  }
  return `redis://${connection.host ?? "127.0.0.1"}:${connection.port ?? 6379}`
}

/**
 * `layer` on a node-redis client (`@effect/platform-node`'s `NodeRedis`). The client does not
 * reconnect on its own: a lost connection fails its next command (the re-read of the board
 * comes every `resyncMs`), and `layer` connects again with its own backoff and its one
 * warning (node-redis would log each of its own attempts).
 */
export const layerNode = (
  connection: Connection,
  options: Options = {}
): Layer.Layer<RouterState.RouterState | Status | SharedConnection.SharedConnection> =>
  layer(
    NodeRedis.layer({
      ...(connection.url !== undefined ? { url: Redacted.value(connection.url) } : {}),
      ...(connection.url === undefined && connection.password !== undefined ? { password: Redacted.value(connection.password) } : {}),
      socket: {
        ...(connection.url === undefined ? { host: connection.host ?? "127.0.0.1", port: connection.port ?? 6379 } : {}),
        connectTimeout: Duration.toMillis(SharedConnection.commandTimeout),
        reconnectStrategy: false
      },
      // A command while disconnected fails at once (and the layer reconnects) instead of waiting.
      disableOfflineQueue: true
    }),
    options
  )

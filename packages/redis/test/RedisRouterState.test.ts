/**
 * Replicas sharing cooldowns through a real Redis (127.0.0.1:6379): by message, by reading the
 * board at start, across an outage of the connection, and never at the cost of routing. Each
 * replica is a `RedisRouterState.layer` with a client of its own, as in separate processes.
 * The replicas' clocks are the TestClock; only the messages travel in real time.
 */
import { NodeRedis } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Budget, RouterState, SessionAffinity } from "@llm-router/core"
import { CooldownBoard, RedisRouterState, SharedPins } from "@llm-router/redis"
import { Context, Effect, Layer, Logger, Queue, Redacted } from "effect"
import type { Redis } from "effect/persistence"
import { TestClock } from "effect/testing"
import * as Fixture from "./Fixture.ts"

const failure = (fields: Partial<RouterState.Failure> = {}): RouterState.Failure => ({
  reason: "ServiceUnavailable",
  countsTowardCooldown: true,
  coolsImmediately: true,
  allowedFails: 0,
  cooldownMs: 60_000,
  ...fields
})

/** Messages only: the periodic re-read of the board is an hour away. */
const NO_RESYNC = 3_600_000

const replica = (prefix: string, options: { redis?: Layer.Layer<Redis.Redis>; resyncMs?: number } = {}) =>
  Effect.map(
    Layer.build(RedisRouterState.layer(options.redis ?? Fixture.redis, { prefix, resyncMs: options.resyncMs ?? NO_RESYNC })),
    (context) => Context.get(context, RouterState.RouterState)
  )

/** Waits until `count` replicas listen on the board's channel, so a post reaches them all. */
const subscribed = (prefix: string, count: number) =>
  Effect.gen(function*() {
    const redis = yield* Fixture.client
    const channel = CooldownBoard.keys(prefix).channel
    yield* Fixture.eventually(
      `${count} subscribers on ${channel}`,
      Effect.map(redis.send<[string, number]>("PUBSUB", "NUMSUB", channel), ([, n]) => Number(n) >= count)
    )
  })

const cooling = (state: RouterState.Service) => Effect.map(state.cooldowns, (cs) => cs.map((c) => [c.deployment, c.until, c.reason]))

describe("RedisRouterState", () => {
  it.effect("a cooldown one replica starts takes the deployment out on the others at once", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const [a, b, c] = [yield* replica(prefix), yield* replica(prefix), yield* replica(prefix)]
      yield* subscribed(prefix, 3)
      yield* TestClock.adjust("1 second")

      yield* a.onStart("gpt-4o/openai/gpt-4o")
      const started = yield* a.onFailure("gpt-4o/openai/gpt-4o", failure({ reason: "RateLimited" }))
      assert.deepStrictEqual(started, { deployment: "gpt-4o/openai/gpt-4o", until: 61_000, reason: "RateLimited" })

      for (const other of [b, c]) {
        yield* Fixture.eventually("the other replica hears of it", Effect.map(other.cooldowns, (cs) => cs.length > 0))
        assert.deepStrictEqual(yield* cooling(other), [["gpt-4o/openai/gpt-4o", 61_000, "RateLimited"]])
        const snapshot = yield* other.snapshot(["gpt-4o/openai/gpt-4o", "claude/anthropic/claude"])
        assert.strictEqual(snapshot.stats.get("gpt-4o/openai/gpt-4o")?.cooldownUntil, 61_000)
        assert.strictEqual(snapshot.stats.get("claude/anthropic/claude")?.cooldownUntil, 0)
      }
      // The cooldown ends on every replica's own clock.
      yield* TestClock.adjust("60 seconds")
      assert.deepStrictEqual(yield* cooling(b), [])
    }))

  it.effect("only what cools a deployment travels: failures below allowed_fails stay with their replica", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const [a, b] = [yield* replica(prefix), yield* replica(prefix)]
      yield* subscribed(prefix, 2)
      const counted = failure({ coolsImmediately: false, allowedFails: 1 })
      assert.isUndefined(yield* a.onFailure("d", counted))
      assert.isDefined(yield* a.onFailure("d", counted))
      yield* Fixture.eventually("b hears of the cooldown", Effect.map(b.cooldowns, (cs) => cs.length === 1))
      assert.strictEqual((yield* b.snapshot(["d"])).stats.get("d")?.recentFailures, 0)
      const board = yield* CooldownBoard.readAll(yield* Fixture.client, CooldownBoard.keys(prefix))
      assert.deepStrictEqual(board.map((p) => [p.deployment, p.until]), [["d", 60_000]])
    }))

  it.effect("a replica that starts later reads the cooldowns already on the board", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const a = yield* replica(prefix)
      yield* subscribed(prefix, 1)
      yield* a.onFailure("d", failure())
      const redis = yield* Fixture.client
      yield* Fixture.eventually(
        "a's cooldown on the board",
        Effect.map(CooldownBoard.readAll(redis, CooldownBoard.keys(prefix)), (board) => board.length === 1)
      )
      const late = yield* replica(prefix)
      yield* Fixture.eventually("the late replica reads it", Effect.map(late.cooldowns, (cs) => cs.length === 1))
      assert.deepStrictEqual(yield* cooling(late), [["d", 60_000, "ServiceUnavailable"]])
    }))

  for (
    const [client, makeReplica] of [
      ["node-redis reconnecting by itself", (prefix: string, url: string) =>
        replica(prefix, { redis: Layer.orDie(NodeRedis.layer({ url })), resyncMs: 5_000 })],
      ["layerNode, reconnecting by the layer", (prefix: string, url: string) =>
        Effect.map(
          Layer.build(RedisRouterState.layerNode({ url: Redacted.make(url) }, { prefix, resyncMs: 5_000 })),
          (context) => ({ state: Context.get(context, RouterState.RouterState), status: Context.get(context, RedisRouterState.Status) })
        )]
    ] as const
  ) {
    it.effect(`a replica that was cut off posts what it started meanwhile and catches up on the board (${client})`, () =>
      Effect.gen(function*() {
        const prefix = yield* Fixture.freshPrefix
        const proxy = yield* Fixture.outageProxy
        const made = yield* makeReplica(prefix, proxy.url)
        const a = "state" in made ? made.state : made
        const b = yield* replica(prefix)
        yield* subscribed(prefix, 2)
        if ("status" in made) assert.isTrue(yield* made.status.connected)

        yield* proxy.down
        // While a is cut off: it cools "x" (the post waits), b cools "y" (a misses the message).
        yield* a.onFailure("x", failure())
        yield* b.onFailure("y", failure())
        if ("status" in made) {
          const status = made.status
          // At the latest when its next re-read of the board fails.
          yield* Fixture.eventually(
            "a knows it is cut off",
            Effect.andThen(TestClock.adjust("1 second"), Effect.map(status.connected, (c) => !c))
          )
        }
        yield* proxy.up

        // The layer's reconnect waits on the (test) clock; node-redis's on its own timers.
        yield* Fixture.eventually(
          "b gets a's cooldown once a is back",
          Effect.andThen(TestClock.adjust("1 second"), Effect.map(b.cooldowns, (cs) => cs.length === 2)),
          10_000
        )
        // a catches up on the board at its next re-read.
        yield* Fixture.eventually(
          "a reads b's cooldown from the board",
          Effect.andThen(TestClock.adjust("5 seconds"), Effect.map(a.cooldowns, (cs) => cs.length === 2)),
          10_000
        )
        assert.deepStrictEqual((yield* cooling(a)).map(([d]) => d).toSorted(), ["x", "y"])
        if ("status" in made) assert.isTrue(yield* made.status.connected)
      }))
  }

  it.effect("with Redis unreachable it routes on its own view, warns once, and shares once Redis is back", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const proxy = yield* Fixture.outageProxy
      yield* proxy.down
      const logs: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        logs.push(`${logLevel}: ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
      })
      const a = yield* replica(prefix, { redis: Layer.orDie(NodeRedis.layer({ url: proxy.url })) }).pipe(
        Effect.provideService(Logger.CurrentLoggers, new Set([logger]))
      )
      const ours = () => logs.filter((l) => l.includes("llm-router: shared state"))
      yield* Fixture.eventually("the warning", Effect.sync(() => ours().length > 0))

      // Routing goes on, on this replica's view.
      yield* a.onStart("d")
      assert.isDefined(yield* a.onFailure("d", failure()))
      assert.strictEqual((yield* a.snapshot(["d"])).stats.get("d")?.cooldownUntil, 60_000)
      // Three more failed attempts to connect (the retries wait on the clock): still one warning.
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust("2 seconds")
        yield* TestClock.withLive(Effect.sleep("50 millis"))
      }
      assert.strictEqual(ours().length, 1, logs.join("\n"))
      assert.deepStrictEqual(logs, ours(), "node-redis's own warning for each attempt is left out")
      assert.match(ours()[0]!, /^Warn.*Redis is unreachable \(.*ECONNREFUSED.*\); this replica routes on its own view/)

      yield* proxy.up
      const redis = yield* Fixture.client
      yield* Fixture.eventually(
        "the cooldown reaches the board once Redis is back",
        Effect.andThen(
          TestClock.adjust("2 seconds"),
          Effect.map(CooldownBoard.readAll(redis, CooldownBoard.keys(prefix)), (board) => board.length === 1)
        ),
        10_000
      )
      assert.match(ours()[1] ?? "", /^Info.*Redis is reachable again/, logs.join("\n"))
    }))

  it.effect("a flapping Redis is reached again within a second each time: the backoff starts again once connected", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const proxy = yield* Fixture.outageProxy
      const context = yield* Fixture.quietReplica(proxy.url, { prefix, resyncMs: 1_000 })
      const status = Context.get(context, RedisRouterState.Status)
      /** Moves the replica's clock on in 100 ms steps, real time passing for the I/O between them. */
      const step = Effect.andThen(TestClock.adjust("100 millis"), TestClock.withLive(Effect.sleep("5 millis")))
      /** Whether `connected` becomes `want` within `clockMs` of the replica's clock. */
      const within = (clockMs: number, want: boolean) =>
        Effect.gen(function*() {
          for (let moved = 0; moved <= clockMs; moved += 100) {
            for (let i = 0; i < 5 && (yield* status.connected) !== want; i++) yield* TestClock.withLive(Effect.sleep("5 millis"))
            if ((yield* status.connected) === want) return true
            yield* step
          }
          return false
        })
      assert.isTrue(yield* within(1_000, true), "connected at first")
      for (let outage = 0; outage < 3; outage++) {
        yield* proxy.down
        assert.isTrue(yield* within(5_000, false), `outage ${outage} noticed`)
        // Failed attempts while it is down: after half a second, one and two.
        for (let moved = 0; moved < 3_500; moved += 100) yield* step
        yield* proxy.up
        // The next attempt is at most the current backoff (4 s) away.
        assert.isTrue(yield* within(4_500, true), `reconnected after outage ${outage}`)
      }
      // After three outages, each with its failed attempts, a short outage still costs half a second, not 30.
      yield* proxy.down
      assert.isTrue(yield* within(5_000, false), "the last outage noticed")
      yield* proxy.up
      assert.isTrue(yield* within(1_000, true), "reconnected within a second of the replica's clock")
    }))

  it.effect("a session pinned on one replica is pinned the same way on the others; only news travels", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const pinTable = Effect.map(
        Layer.build(RedisRouterState.layer(Fixture.redis, { prefix, resyncMs: NO_RESYNC })),
        (context) => Context.get(context, SessionAffinity.MakePinTable)(3_600_000)
      )
      const [a, b] = [yield* pinTable, yield* pinTable]
      const redis = yield* Fixture.client
      const heard = yield* redis.subscribe(SharedPins.channel(prefix))
      yield* Fixture.eventually(
        "both replicas listen for pins",
        Effect.map(redis.send<[string, number]>("PUBSUB", "NUMSUB", SharedPins.channel(prefix)), ([, n]) => Number(n) >= 3)
      )

      a.set("chat", "conversation-1", "claude", 0)
      yield* Fixture.eventually("b pins it too", Effect.sync(() => b.get("chat", "conversation-1", 0) === "claude"))
      // Another turn on the same deployment is no news; a move is.
      a.set("chat", "conversation-1", "claude", 1_000)
      b.set("chat", "conversation-1", "gpt-4o", 2_000)
      yield* Fixture.eventually("a follows the move", Effect.sync(() => a.get("chat", "conversation-1", 2_000) === "gpt-4o"))
      const messages = [yield* Queue.take(heard), yield* Queue.take(heard)].map((m) => SharedPins.parse(m.message)?.deployment)
      assert.deepStrictEqual(messages, ["claude", "gpt-4o"])
      assert.strictEqual(yield* Queue.size(heard), 0, "the repeated turn on claude was not sent")
      assert.isUndefined(b.get("other-group", "conversation-1", 0))
    }))

  it.effect("budget spend adds up across replicas at each re-read of the board", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const limit: Budget.Limit = { key: "provider:openai", label: "provider openai", limitUsd: 10, periodMs: 86_400_000, period: "1d" }
      const ledger = Effect.map(
        Layer.build(RedisRouterState.layer(Fixture.redis, { prefix, resyncMs: 1_000 })),
        (context) => Context.get(context, Budget.MakeLedger)([limit])
      )
      const [a, b, idle] = [yield* ledger, yield* ledger, yield* ledger]
      const day = Budget.windowOf(limit, 0)
      assert.strictEqual(b.spent(limit, day), 0)
      a.add(limit, day, 4)
      b.add(limit, day, 3)
      // Each replica sees its own spend at once, the other's after a sync.
      assert.deepStrictEqual([a.spent(limit, day), b.spent(limit, day)], [4, 3])
      yield* Fixture.eventually(
        "both replicas see the fleet's 7 USD",
        Effect.andThen(TestClock.adjust("1 second"), Effect.sync(() => a.spent(limit, day) === 7 && b.spent(limit, day) === 7))
      )
      // A replica that has served nothing (and asked nothing) yet knows the fleet's spend too:
      // its first look, after one more sync, already counts it.
      yield* TestClock.adjust("1 second")
      yield* TestClock.withLive(Effect.sleep("300 millis"))
      assert.strictEqual(idle.spent(limit, day), 7)
      a.add(limit, day, 0.5)
      assert.strictEqual(a.spent(limit, day), 7.5)
      // Another window starts from nothing.
      assert.strictEqual(a.spent(limit, day + 1), 0)
      const redis = yield* Fixture.client
      const ttl = Number(yield* redis.send("PTTL", `${prefix}:spend:provider:openai:${day}`))
      assert.isTrue(ttl > 86_400_000, `kept a window past its end (pttl ${ttl})`)
      yield* redis.send("DEL", `${prefix}:spend:provider:openai:${day}`)
    }))

  it.effect("requests and tokens this minute add up across replicas, for usage-based limits", () =>
    Effect.gen(function*() {
      const prefix = yield* Fixture.freshPrefix
      const state = Effect.map(
        Layer.build(RedisRouterState.layer(Fixture.redis, { prefix, resyncMs: 1_000 })),
        (context) => Context.get(context, RouterState.RouterState)
      )
      const [a, b] = [yield* state, yield* state]
      const usage = (s: RouterState.Service) =>
        Effect.map(s.snapshot(["d"]), (snap) => [snap.stats.get("d")?.requestsThisMinute, snap.stats.get("d")?.tokensThisMinute])
      for (let i = 0; i < 3; i++) {
        yield* a.onStart("d")
        yield* a.onSuccess("d", { latencyMs: 10, tokens: 100 })
      }
      yield* b.onStart("d")
      assert.deepStrictEqual(yield* usage(b), [1, 0], "its own at once")
      yield* Fixture.eventually(
        "each replica counts the other's",
        Effect.andThen(
          TestClock.adjust("1 second"),
          Effect.map(Effect.all([usage(a), usage(b)]), ([ua, ub]) => ua[0] === 4 && ub[0] === 4)
        )
      )
      assert.deepStrictEqual(yield* usage(b), [4, 300])
      assert.deepStrictEqual(yield* usage(a), [4, 300], "a's own, counted once")
      // The next minute starts from nothing.
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* usage(b), [0, 0])
      const redis = yield* Fixture.client
      yield* redis.send("DEL", `${prefix}:usage:0`, `${prefix}:usage:1`)
    }))
})

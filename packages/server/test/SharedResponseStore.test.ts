/**
 * The Responses store of a fleet, on the machine's Redis (127.0.0.1:6379, or
 * LLM_ROUTER_TEST_REDIS_URL): what one replica stores another reads and deletes, in batches of
 * turns; entries expire and are bounded in size; and a Redis that cannot be reached fails reads
 * clearly and writes softly. Each test has a key prefix of its own, deleted when it ends.
 */
import { NodeRedis } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { SharedConnection, SharedResponses } from "@llm-router/redis"
import { Context, Effect, Layer, Logger, Random } from "effect"
import { Redis } from "effect/persistence"
import * as ResponseStore from "../src/ResponseStore.ts"
import * as SharedResponseStore from "../src/SharedResponseStore.ts"
import { entry, itemsOf, storeTurns } from "./ResponseEntries.ts"

const REDIS_URL = process.env["LLM_ROUTER_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** A client of its own (one per simulated replica), closed with the test's scope. */
const client = Effect.map(Layer.build(Layer.orDie(NodeRedis.layer({ url: REDIS_URL }))), (context) => Context.get(context, Redis.Redis))

/** A key prefix no other test uses; its keys are deleted when the test's scope closes. */
const freshPrefix = Effect.gen(function*() {
  const prefix = `llm-router-test:${Math.floor((yield* Random.next) * 2 ** 52).toString(36)}`
  const redis = yield* client
  yield* Effect.addFinalizer(() =>
    Effect.ignore(Effect.gen(function*() {
      const keys = yield* redis.send<Array<string>>("KEYS", `${prefix}:*`)
      if (keys.length > 0) yield* redis.send("DEL", ...keys)
    }))
  )
  return prefix
})

/** The UTF-8 bytes of the texts in a reply (an array's elements, one level down). */
const replyBytes = (reply: unknown): number =>
  typeof reply === "string"
    ? Buffer.byteLength(reply, "utf8")
    : Array.isArray(reply)
    ? reply.reduce((sum: number, element) => sum + (typeof element === "string" ? Buffer.byteLength(element, "utf8") : 0), 0)
    : 0

/**
 * A replica's store on a client of its own; `commands` counts what it sends, and `received`
 * the bytes of text each reply brought back.
 */
const replica = (prefix: string, options: Partial<SharedResponseStore.Options> = {}) =>
  Effect.map(client, (redis) => {
    const commands: Array<string> = []
    const received: Array<number> = []
    const connection = SharedConnection.fromRedis(redis)
    const counting = SharedConnection.SharedConnection.of({
      send: (command, ...args) => {
        commands.push(command)
        return Effect.tap(connection.send(command, ...args), (reply) => Effect.sync(() => received.push(replyBytes(reply))))
      }
    })
    return { store: SharedResponseStore.make(counting, { ...options, prefix }), commands, received }
  })

/**
 * Stores a conversation of `turns` turns (`resp_t0`, …), each with `text` as its input and
 * naming its ancestors as the route would, without reading it back.
 */
const storeLongTurns = (store: ResponseStore.Service, turns: number, text: (i: number) => string) =>
  Effect.gen(function*() {
    for (let i = 0; i < turns; i++) {
      const ancestors = Array.from({ length: Math.min(i, ResponseStore.ANCESTORS) }, (_, k) => `resp_t${i - 1 - k}`)
      yield* store.put(entry(`resp_t${i}`, i === 0 ? undefined : `resp_t${i - 1}`, text(i), ancestors))
    }
  })

const sum = (numbers: ReadonlyArray<number>) => numbers.reduce((a, b) => a + b, 0)

describe("SharedResponseStore", () => {
  it.effect("a conversation stored through one replica is read through another, many turns in one read", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      const [a, b] = [yield* replica(prefix), yield* replica(prefix)]
      const turns = ResponseStore.ANCESTORS * 2 + 5
      yield* storeTurns(a.store, turns)

      b.commands.length = 0
      const found = yield* b.store.conversation(`resp_t${turns - 1}`)
      assert.strictEqual(found?.entry.id, `resp_t${turns - 1}`)
      assert.strictEqual(found?.items.length, turns * 2)
      assert.deepStrictEqual(itemsOf(found)?.slice(0, 4), ["turn 0", "msg_t0_0", "turn 1", "msg_t1_0"])
      assert.deepStrictEqual(itemsOf(found)?.slice(-2), [`turn ${turns - 1}`, `msg_t${turns - 1}_0`])
      // The latest turn, then its ancestors a batch at a time: not one read per turn.
      assert.deepStrictEqual(b.commands, ["EVAL", "EVAL", "EVAL", "EVAL"])
      assert.deepStrictEqual(found?.ancestors.length, ResponseStore.ANCESTORS)

      const read = yield* b.store.get("resp_t1")
      assert.strictEqual(read?.previous, "resp_t0")
      assert.deepStrictEqual(read?.output, entry("resp_t1", "resp_t0").output)
      assert.strictEqual(ResponseStore.itemOf(read!, "msg_t1_0")?.type, "message")

      // Several responses (those a request's item references point into) in one read.
      b.commands.length = 0
      const many = yield* b.store.getMany(["resp_t3", "resp_missing", "resp_t0"])
      assert.deepStrictEqual(many.map((entry) => entry?.id), ["resp_t3", undefined, "resp_t0"])
      assert.deepStrictEqual(b.commands, ["EVAL"])
    }))

  it.effect("keeps each entry under the fleet's prefix, expiring after the store's time to live", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      const redis = yield* client
      const day = yield* replica(prefix)
      yield* day.store.put(entry("resp_a"))
      const ttl = yield* redis.send<number>("PTTL", SharedResponses.key(prefix, "resp_a"))
      assert.isAbove(ttl, 24 * 3_600_000 - 60_000)
      assert.isAtMost(ttl, 24 * 3_600_000)
      const short = yield* replica(prefix, { ttlMs: 5_000 })
      yield* short.store.put(entry("resp_b"))
      const shortTtl = yield* redis.send<number>("PTTL", `${prefix}:response:resp_b`)
      assert.isAbove(shortTtl, 0)
      assert.isAtMost(shortTtl, 5_000)
    }))

  it.effect("a response deleted through one replica is gone for the others", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      const [a, b] = [yield* replica(prefix), yield* replica(prefix)]
      yield* a.store.put(entry("resp_a"))
      yield* a.store.put(entry("resp_b", "resp_a", "two", ["resp_a"]))
      assert.isDefined(yield* b.store.get("resp_a"))
      assert.isTrue(yield* b.store.delete("resp_a"))
      assert.isFalse(yield* b.store.delete("resp_a"))
      assert.isUndefined(yield* a.store.get("resp_a"))
      // Its continuation has lost a turn.
      assert.isUndefined(yield* a.store.conversation("resp_b"))
    }))

  it.effect("an answer larger than the entry bound is not stored, and a conversation past its bound is refused", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      const one = JSON.stringify(entry("resp_a")).length
      const { store } = yield* replica(prefix, { maxEntryBytes: one * 2, maxConversationBytes: one * 5 })
      yield* store.put(entry("resp_big", undefined, "x".repeat(one * 2)))
      assert.isUndefined(yield* store.get("resp_big"))
      assert.isUndefined(yield* store.conversation("resp_big"))

      yield* storeTurns(store, 3)
      assert.strictEqual((yield* store.conversation("resp_t2"))?.items.length, 6)
      yield* storeLongTurns(store, 8, (i) => `turn ${i}`)
      assert.strictEqual((yield* Effect.flip(store.conversation("resp_t7")))._tag, "ResponseStoreTooLarge")
      assert.isDefined(yield* store.get("resp_t7"))
      // Read together, entries past the bound are refused too.
      const ids = ["resp_t0", "resp_t1", "resp_t2", "resp_t3", "resp_t4", "resp_t5", "resp_t6", "resp_t7"]
      assert.strictEqual((yield* Effect.flip(store.getMany(ids)))._tag, "ResponseStoreTooLarge")
      assert.strictEqual((yield* store.getMany(ids.slice(0, 3))).length, 3)
    }))

  it.effect("a walk past the byte budget stops with TooLarge, Redis sending no more than the budget", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      const budget = 1_000_000
      const b = yield* replica(prefix, { maxConversationBytes: budget })
      // 40 turns of ~100 kB each (of two-byte characters, so half as many UTF-16 units): one read
      // of the latest turn, then one of its 32 ancestors, which would bring back ~3.3 MB.
      yield* storeLongTurns(b.store, 40, () => "é".repeat(50_000))
      b.commands.length = 0
      b.received.length = 0
      const refused = yield* Effect.flip(b.store.conversation("resp_t39"))
      assert.strictEqual(refused._tag, "ResponseStoreTooLarge")
      assert.match(refused.message, /more than 1000000 bytes of stored responses/)
      assert.strictEqual(b.commands.length, 2)
      assert.isAtMost(sum(b.received), budget)
      assert.isAbove(sum(b.received), budget - 110_000)

      // The responses named together (a request's item references) likewise.
      b.received.length = 0
      const named = Array.from({ length: 40 }, (_, i) => `resp_t${i}`)
      assert.strictEqual((yield* Effect.flip(b.store.getMany(named)))._tag, "ResponseStoreTooLarge")
      assert.isAtMost(sum(b.received), budget)

      // Bytes are UTF-8, as written: 8 turns hold ~800 kB in ~400 k UTF-16 units, so past a
      // budget of 600 kB; 5 turns fit.
      const small = yield* replica(prefix, { maxConversationBytes: 600_000 })
      assert.strictEqual((yield* Effect.flip(small.store.conversation("resp_t7")))._tag, "ResponseStoreTooLarge")
      assert.isAtMost(sum(small.received), 600_000)
      assert.strictEqual((yield* small.store.conversation("resp_t4"))?.items.length, 10)
    }))

  it.effect("a conversation's reasoning refusal marks go through Redis; marks of another shape read as none", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      const redis = yield* client
      const { store } = yield* replica(prefix)
      yield* store.put({ ...entry("resp_a"), reasoningRefusedAt: { "o4-main": 1_765_000_000_000_000 } })
      assert.deepStrictEqual((yield* store.get("resp_a"))?.reasoningRefusedAt, { "o4-main": 1_765_000_000_000_000 })
      assert.deepStrictEqual((yield* store.conversation("resp_a"))?.reasoningRefusedAt, { "o4-main": 1_765_000_000_000_000 })
      const text = yield* redis.send<string>("GET", SharedResponses.key(prefix, "resp_a"))
      yield* redis.send("SET", SharedResponses.key(prefix, "resp_odd"), text.replace("\"reasoningRefusedAt\":{\"o4-main\":1765000000000000}", "\"reasoningRefusedAt\":{\"o4-main\":\"later\"}").replace(/resp_a/g, "resp_odd"))
      const odd = yield* store.get("resp_odd")
      assert.strictEqual(odd?.id, "resp_odd")
      assert.deepStrictEqual(odd?.reasoningRefusedAt, {})
    }))

  it.effect("text this version did not write is taken as not stored", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      const redis = yield* client
      const { store } = yield* replica(prefix)
      yield* redis.send("SET", SharedResponses.key(prefix, "resp_odd"), "{\"v\":2}")
      yield* redis.send("SET", SharedResponses.key(prefix, "resp_bad"), "not json")
      assert.isUndefined(yield* store.get("resp_odd"))
      assert.isUndefined(yield* store.get("resp_bad"))
    }))

  it.effect("without Redis, a write is dropped with one warning and a read fails as unavailable", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        logs.push(`${logLevel}: ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
      })
      const store = SharedResponseStore.make(SharedConnection.make(() => undefined), { prefix: "llm-router-test:down" })
      yield* Effect.provideService(
        Effect.all([store.put(entry("resp_a")), store.put(entry("resp_b"))]),
        Logger.CurrentLoggers,
        new Set([logger])
      )
      assert.strictEqual(logs.length, 1, logs.join("\n"))
      assert.match(logs[0]!, /^Warn: .*response store.*not connected to Redis.*not stored/)
      for (const read of [Effect.asVoid(store.get("resp_a")), Effect.asVoid(store.delete("resp_a")), Effect.asVoid(store.conversation("resp_a"))]) {
        const error = yield* Effect.flip(read)
        assert.strictEqual(error._tag, "ResponseStoreUnavailable")
        assert.match(error.message, /The response store \(Redis\) cannot be reached: not connected to Redis/)
      }
    }))
})

/**
 * The board's Lua script against a real Redis: it keeps the longest cooldown per deployment,
 * clears ended ones, expires with its last cooldown, and publishes what it posts.
 */
import { assert, describe, it } from "@effect/vitest"
import { CooldownBoard } from "@llm-router/redis"
import { Effect, Queue } from "effect"
import * as Fixture from "./Fixture.ts"

const cooldown = (deployment: string, until: number, reason = "ServiceUnavailable") => ({ deployment, until, reason })

describe("CooldownBoard", () => {
  it.effect("keeps the longest cooldown per deployment and publishes only what it posts", () =>
    Effect.gen(function*() {
      const keys = CooldownBoard.keys(yield* Fixture.freshPrefix)
      const redis = yield* Fixture.client
      const events = yield* redis.subscribe(keys.channel)

      assert.isTrue(yield* CooldownBoard.post(redis, keys, cooldown("a", 60_000, "RateLimited"), "replica-1", 0))
      assert.isFalse(yield* CooldownBoard.post(redis, keys, cooldown("a", 10_000), "replica-2", 0), "shorter: not posted")
      assert.isTrue(yield* CooldownBoard.post(redis, keys, cooldown("a", 90_000), "replica-2", 0))

      assert.deepStrictEqual(yield* CooldownBoard.readAll(redis, keys), [
        { deployment: "a", until: 90_000, reason: "ServiceUnavailable", from: "replica-2" }
      ])
      const heard = [yield* Queue.take(events), yield* Queue.take(events)].map((m) => CooldownBoard.parse(m.message))
      assert.deepStrictEqual(heard.map((p) => [p?.until, p?.from]), [[60_000, "replica-1"], [90_000, "replica-2"]])
    }))

  it.effect("clears ended cooldowns when it posts, and expires when its last cooldown ends", () =>
    Effect.gen(function*() {
      const keys = CooldownBoard.keys(yield* Fixture.freshPrefix)
      const redis = yield* Fixture.client
      // Times from the posting replica's clock: "a" ends at 1 s, "b" is posted at 2 s.
      yield* CooldownBoard.post(redis, keys, cooldown("a", 1_000), "r", 0)
      yield* CooldownBoard.post(redis, keys, cooldown("b", 30_000), "r", 2_000)
      assert.deepStrictEqual((yield* CooldownBoard.readAll(redis, keys)).map((p) => p.deployment), ["b"])
      const ttl = Number(yield* redis.send("PTTL", keys.board))
      assert.isTrue(ttl > 27_000 && ttl <= 28_000, `the board lives as long as its last cooldown (pttl ${ttl})`)
    }))

  it.effect("reads past what it does not recognise on the board", () =>
    Effect.gen(function*() {
      const keys = CooldownBoard.keys(yield* Fixture.freshPrefix)
      const redis = yield* Fixture.client
      const valid = CooldownBoard.encode({ deployment: "a", until: 60_000, reason: "RateLimited", from: "r" })
      yield* redis.send("HSET", keys.board, "x", "not json", "y", "{\"deployment\":\"y\"}", "a", valid)
      assert.deepStrictEqual((yield* CooldownBoard.readAll(redis, keys)).map((p) => p.deployment), ["a"])
      // Posting clears them from the board.
      yield* CooldownBoard.post(redis, keys, cooldown("b", 60_000), "r", 0)
      assert.deepStrictEqual((yield* redis.send<Array<string>>("HKEYS", keys.board)).toSorted(), ["a", "b"])
    }))
})

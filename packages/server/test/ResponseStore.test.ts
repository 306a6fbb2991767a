/**
 * The gateway's store of Responses API answers in a replica's memory: conversations read back
 * along their chain, and the bounds (count, size, age) that keep it from growing on a client's
 * say-so. (The same service on Redis: `SharedResponseStore.test.ts`.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as ResponseStore from "../src/ResponseStore.ts"
import { entry, itemsOf, storeTurns } from "./ResponseEntries.ts"

describe("ResponseStore (memory)", () => {
  it.effect("reads a conversation back along its chain, oldest turn first", () =>
    Effect.gen(function*() {
      const store = ResponseStore.memory(new ResponseStore.MemoryStore())
      yield* store.put(entry("resp_a", undefined, "one"))
      yield* store.put(entry("resp_b", "resp_a", "two", ["resp_a"]))
      yield* store.put(entry("resp_c", "resp_b", "three", ["resp_b", "resp_a"]))
      const found = yield* store.conversation("resp_c")
      assert.strictEqual(found?.entry.id, "resp_c")
      assert.deepStrictEqual(itemsOf(found), ["one", "msg_a_0", "two", "msg_b_0", "three", "msg_c_0"])
      assert.deepStrictEqual(found?.ancestors, ["resp_c", "resp_b", "resp_a"])
      const b = yield* store.get("resp_b")
      assert.strictEqual(ResponseStore.itemOf(b!, "msg_b_0")?.type, "message")
      assert.isUndefined(ResponseStore.itemOf(b!, "msg_x_0"))
    }))

  it.effect("a conversation's reasoning refusal marks are every turn's, merged: the latest per deployment, a bounded number", () =>
    Effect.gen(function*() {
      const store = ResponseStore.memory(new ResponseStore.MemoryStore())
      yield* store.put({ ...entry("resp_a", undefined, "one"), reasoningRefusedAt: { "o4-main": 1_000, "o4-azure": 5 } })
      // Written without marks (by a release before them): the earlier turn's still count.
      yield* store.put(entry("resp_b", "resp_a", "two", ["resp_a"]))
      yield* store.put({ ...entry("resp_c", "resp_b", "three", ["resp_b", "resp_a"]), reasoningRefusedAt: { "o4-main": 2_000 } })
      assert.deepStrictEqual((yield* store.conversation("resp_c"))?.reasoningRefusedAt, { "o4-main": 2_000, "o4-azure": 5 })
      assert.deepStrictEqual((yield* store.conversation("resp_b"))?.reasoningRefusedAt, { "o4-main": 1_000, "o4-azure": 5 })
      const many = Object.fromEntries(Array.from({ length: ResponseStore.MAX_REASONING_MARKS + 10 }, (_, i) => [`d${i}`, i]))
      const merged = ResponseStore.mergeMarks(many, { d0: 10_000, bad: "soon" as unknown as number })
      assert.strictEqual(Object.keys(merged).length, ResponseStore.MAX_REASONING_MARKS)
      assert.strictEqual(merged["d0"], 10_000)
      assert.notProperty(merged, "bad")
      assert.notProperty(merged, "d1")
    }))

  it.effect("walks a conversation longer than the ancestors an entry names, and names at most that many", () =>
    Effect.gen(function*() {
      const store = ResponseStore.memory(new ResponseStore.MemoryStore())
      const turns = ResponseStore.ANCESTORS * 2 + 5
      yield* storeTurns(store, turns)
      const found = yield* store.conversation(`resp_t${turns - 1}`)
      assert.strictEqual(found?.items.length, turns * 2)
      assert.deepStrictEqual(itemsOf(found)?.slice(0, 4), ["turn 0", "msg_t0_0", "turn 1", "msg_t1_0"])
      assert.strictEqual(found?.ancestors.length, ResponseStore.ANCESTORS)
      assert.strictEqual(found?.ancestors[0], `resp_t${turns - 1}`)
    }))

  it.effect("a chain missing a link, or naming ancestors that do not continue each other, is not found", () =>
    Effect.gen(function*() {
      const store = ResponseStore.memory(new ResponseStore.MemoryStore())
      yield* store.put(entry("resp_a"))
      yield* store.put(entry("resp_x"))
      yield* store.put(entry("resp_c", "resp_b", "three", ["resp_b", "resp_a"]))
      assert.isUndefined(yield* store.conversation("resp_c"))
      // `resp_d` claims `resp_x` came before `resp_a`, which has no previous.
      yield* store.put(entry("resp_b", "resp_a", "two", ["resp_a"]))
      yield* store.put(entry("resp_d", "resp_b", "four", ["resp_b", "resp_x"]))
      assert.isUndefined(yield* store.conversation("resp_d"))
      assert.isDefined(yield* store.conversation("resp_c"))
    }))

  it.effect("evicts the oldest entries past the count limit, and a chain missing a link is not found", () =>
    Effect.gen(function*() {
      const store = new ResponseStore.MemoryStore({ ...ResponseStore.defaultLimits, maxEntries: 2 })
      const service = ResponseStore.memory(store)
      yield* service.put(entry("resp_a"))
      yield* service.put(entry("resp_b", "resp_a", "two", ["resp_a"]))
      yield* service.put(entry("resp_c", "resp_b", "three", ["resp_b", "resp_a"]))
      assert.strictEqual(store.size, 2)
      assert.isUndefined(yield* service.get("resp_a"))
      assert.isDefined(yield* service.get("resp_c"))
      assert.isUndefined(yield* service.conversation("resp_c"))
    }))

  it("keeps the total size under its limit, and refuses an entry larger than all of it", () => {
    const one = JSON.stringify(entry("resp_a").input).length + JSON.stringify(entry("resp_a").response).length
    const store = new ResponseStore.MemoryStore({ ...ResponseStore.defaultLimits, maxBytes: one * 2 + 1 })
    store.put(entry("resp_a"), 0)
    store.put(entry("resp_b"), 0)
    store.put(entry("resp_c"), 0)
    assert.strictEqual(store.size, 2)
    assert.isUndefined(store.get("resp_a", 0))
    store.put(entry("resp_d", undefined, "x".repeat(one * 3)), 0)
    assert.isUndefined(store.get("resp_d", 0))
    assert.strictEqual(store.size, 2)
  })

  it.effect("forgets entries older than the age limit, on the Clock", () =>
    Effect.gen(function*() {
      const store = new ResponseStore.MemoryStore({ ...ResponseStore.defaultLimits, ttlMs: 1000 })
      const service = ResponseStore.memory(store)
      yield* service.put(entry("resp_a"))
      yield* TestClock.adjust("1 second")
      assert.isDefined(yield* service.get("resp_a"))
      yield* TestClock.adjust("1 milli")
      assert.isUndefined(yield* service.get("resp_a"))
      assert.strictEqual(store.size, 0)
      // An old entry also goes when a new one arrives after its time.
      yield* service.put(entry("resp_b"))
      yield* TestClock.adjust("5 seconds")
      yield* service.put(entry("resp_c"))
      assert.strictEqual(store.size, 1)
      assert.isTrue(yield* service.delete("resp_c"))
      assert.isFalse(yield* service.delete("resp_c"))
    }))
})

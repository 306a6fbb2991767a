/**
 * The gateway's store of Responses API answers: conversations read back along their chain, and
 * the bounds (count, size, age) that keep it from growing on a client's say-so.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ResponsesResponse } from "@llm-router/openai"
import * as ResponseStore from "../src/ResponseStore.ts"

const entry = (id: string, previous?: string, text = "hi"): ResponseStore.Entry => {
  const output: Array<ResponsesResponse.OutputItem> = [{
    type: "message",
    id: `msg_${id.slice(5)}_0`,
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: `answer ${id}`, annotations: [], logprobs: [] }]
  }]
  return {
    id,
    conversation: previous === undefined ? id : "resp_a",
    previous,
    input: [{ role: "user", content: text }],
    output,
    response: { id, output } as unknown as ResponsesResponse.ResponseObject
  }
}

describe("ResponseStore", () => {
  it("reads a conversation back along its chain, oldest turn first", () => {
    const store = new ResponseStore.MemoryStore()
    store.put(entry("resp_a", undefined, "one"), 0)
    store.put(entry("resp_b", "resp_a", "two"), 1)
    store.put(entry("resp_c", "resp_b", "three"), 2)
    const found = store.conversation("resp_c", 3)
    assert.strictEqual(found?.entry.id, "resp_c")
    assert.deepStrictEqual(
      found?.items.map((item) => ("role" in item && item.role === "user" ? item.content : item.id)),
      ["one", "msg_a_0", "two", "msg_b_0", "three", "msg_c_0"]
    )
    assert.strictEqual(store.item("resp_b", "msg_b_0", 3)?.type, "message")
    assert.isUndefined(store.item("resp_b", "msg_x_0", 3))
  })

  it("evicts the oldest entries past the count limit, and a chain missing a link is not found", () => {
    const store = new ResponseStore.MemoryStore({ ...ResponseStore.defaultLimits, maxEntries: 2 })
    store.put(entry("resp_a"), 0)
    store.put(entry("resp_b", "resp_a"), 1)
    store.put(entry("resp_c", "resp_b"), 2)
    assert.strictEqual(store.size, 2)
    assert.isUndefined(store.get("resp_a", 3))
    assert.isDefined(store.get("resp_c", 3))
    assert.isUndefined(store.conversation("resp_c", 3))
  })

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

  it("forgets entries older than the age limit", () => {
    const store = new ResponseStore.MemoryStore({ ...ResponseStore.defaultLimits, ttlMs: 1000 })
    store.put(entry("resp_a"), 0)
    assert.isDefined(store.get("resp_a", 1000))
    assert.isUndefined(store.get("resp_a", 1001))
    assert.strictEqual(store.size, 0)
    // An old entry also goes when a new one arrives after its time.
    store.put(entry("resp_b"), 0)
    store.put(entry("resp_c"), 5000)
    assert.strictEqual(store.size, 1)
    assert.isTrue(store.delete("resp_c"))
    assert.isFalse(store.delete("resp_c"))
  })
})

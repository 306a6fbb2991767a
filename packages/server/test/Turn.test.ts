import { assert, describe, it } from "@effect/vitest"
import * as Turn from "../src/Turn.ts"

/** After the work a turn left for its end: immediates run in the order they were set. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("Turn", () => {
  it("lets the first to join a turn go on, and runs the rest at its end, in order", async () => {
    const turn = Turn.make()
    const order: Array<string> = []
    assert.isTrue(turn.join())
    assert.isFalse(turn.join())
    turn.atEnd(() => order.push("a"))
    turn.atEnd(() => order.push("b"))
    queueMicrotask(() => order.push("microtask"))
    assert.deepStrictEqual(order, [])
    await nextTurn()
    assert.deepStrictEqual(order, ["microtask", "a", "b"])
    // A new turn: the first to join goes on again.
    assert.isTrue(turn.join())
  })

  it("starts a turn with work for its end, and starts the next one from inside that work", async () => {
    const turn = Turn.make()
    const order: Array<string> = []
    turn.atEnd(() => {
      order.push("end of first")
      // Work done at the end of a turn belongs to the next one.
      assert.isTrue(turn.join())
      turn.atEnd(() => order.push("end of second"))
    })
    assert.isFalse(turn.join())
    await nextTurn()
    await nextTurn()
    assert.deepStrictEqual(order, ["end of first", "end of second"])
  })
})

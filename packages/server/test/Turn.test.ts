import { assert, describe, it } from "@effect/vitest"
import * as Turn from "../src/Turn.ts"

const noDefects = (defect: unknown) => assert.fail(`unexpected defect: ${String(defect)}`)

/** After the work a turn left for its end: immediates run in the order they were set. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("Turn", () => {
  it("lets the first to join a turn go on, and runs the rest at its end, in order", async () => {
    const turn = Turn.make(noDefects)
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

  it("runs the rest of a turn's work when one piece throws", async () => {
    const defects: Array<unknown> = []
    const turn = Turn.make((defect) => defects.push(defect))
    const order: Array<string> = []
    const bug = new Error("a bug")
    turn.atEnd(() => {
      throw bug
    })
    turn.atEnd(() => order.push("after"))
    await nextTurn()
    assert.deepStrictEqual(order, ["after"])
    assert.deepStrictEqual(defects, [bug])
  })

  it("starts a turn with work for its end, and starts the next one from inside that work", async () => {
    const turn = Turn.make(noDefects)
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

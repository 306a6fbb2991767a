/**
 * The finished output items a streamed Responses answer keeps for its failure events: placed by
 * the upstream's `output_index` while that is dense, appended otherwise, so a hostile or broken
 * upstream index cannot make the array sparse and huge.
 */
import { assert, describe, it } from "@effect/vitest"
import { keepOutput } from "../src/ResponsesRoute.ts"

describe("a streamed answer's kept output items", () => {
  it("follow the upstream's index while it is dense, and are appended otherwise", () => {
    const output: Array<unknown> = []
    keepOutput(output, 0, "a")
    keepOutput(output, 1, "b")
    keepOutput(output, 1, "b again")
    assert.deepStrictEqual(output, ["a", "b again"])
    for (const index of [1e9, -1, 2.5, Number.NaN, "3", undefined]) keepOutput(output, index, "odd")
    assert.strictEqual(output.length, 8)
    assert.deepStrictEqual(output.slice(0, 2), ["a", "b again"])
  })
})

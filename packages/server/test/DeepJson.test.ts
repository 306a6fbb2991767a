/**
 * Deeply nested JSON never becomes a 500 (issue 13, item 8): a request nested past
 * `JsonDepth.MAX_DEPTH` is refused at the door with a 400; one within it is served. The depth
 * check agrees with a plain recursive measure on generated bodies, strings with brackets included.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as JsonDepth from "../src/JsonDepth.ts"
import * as Stub from "./Stub.ts"

const yaml = `
model_list:
  - model_name: main
    litellm_params: { model: openai/gpt-4o }
    model_info: { id: deep-main }
`

/** A tool whose parameters nest `levels` objects deep. */
const requestNested = (levels: number) => {
  const parameters = "{\"a\":".repeat(levels) + "1" + "}".repeat(levels)
  return `{"model":"main","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${parameters}}}]}`
}

const post = (url: string, body: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body })
    return { status: response.status, text: await response.text() }
  })

const depthOf = (value: unknown): number =>
  typeof value === "object" && value !== null
    ? 1 + Math.max(0, ...Object.values(value).map(depthOf))
    : 0

describe("deeply nested JSON", () => {
  it.live("past the bound is a 400 at the door; within it, an answer", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml)
      const deep = yield* post(url, requestNested(10_000))
      assert.strictEqual(deep.status, 400)
      assert.include(JSON.parse(deep.text).error.message, "nests deeper than")
      const fine = yield* post(url, requestNested(60))
      assert.strictEqual(fine.status, 200)
    }).pipe(Effect.scoped))

  it("the byte scan agrees with the parsed depth", () => {
    let seed = 7
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
    for (let round = 0; round < 300; round++) {
      // Random well-formed JSON: nested arrays and objects, with brackets and escapes inside strings.
      const build = (depth: number): string => {
        if (depth === 0 || next() < 0.2) return next() < 0.5 ? "\"a]}\\\"{[\"" : "1"
        const children = Array.from({ length: 1 + Math.floor(next() * 3) }, () => build(depth - 1))
        return next() < 0.5 ? `[${children.join(",")}]` : `{${children.map((c, i) => `"k${i}":${c}`).join(",")}}`
      }
      const text = build(Math.floor(next() * 12))
      const max = Math.floor(next() * 10)
      assert.strictEqual(JsonDepth.exceeds(Buffer.from(text), max), depthOf(JSON.parse(text)) > max, text)
    }
  })
})

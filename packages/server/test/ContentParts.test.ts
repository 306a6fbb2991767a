/**
 * Malformed content parts never reach a provider (issue 13, item 9): a text or image part
 * without its own shape is a 400 at the gateway; a part of another type is still forwarded.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Stub from "./Stub.ts"

const yaml = `
model_list:
  - model_name: main
    litellm_params: { model: openai/gpt-4o }
    model_info: { id: parts-main }
`

const post = (url: string, content: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "main", messages: [{ role: "user", content }] })
    })
    return { status: response.status, text: await response.text() }
  })

describe("content parts", () => {
  it.live("a malformed text or image part is a 400 and reaches no provider; another type passes", () =>
    Effect.gen(function*() {
      const { url, probe } = yield* Stub.start(yaml)
      for (const part of [{ type: "text" }, { type: "text", text: 5 }, { type: "image_url", image_url: 5 }, { type: "image_url", image_url: { detail: "low" } }]) {
        const reply = yield* post(url, [part])
        assert.strictEqual(reply.status, 400, JSON.stringify(part))
        assert.strictEqual(JSON.parse(reply.text).error.type, "invalid_request_error")
      }
      assert.strictEqual(probe.calls.length, 0)
      const other = yield* post(url, [{ type: "input_audio", input_audio: { data: "AA", format: "wav" } }])
      assert.strictEqual(other.status, 200)
      assert.strictEqual(probe.calls.length, 1)
    }).pipe(Effect.scoped))
})

/**
 * Nothing a client sends becomes a metric label (issue 13, item 1): requests for models that
 * name no configured group are counted under one label value, and the 404 echoes a long model
 * name cut short.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { RouterMetrics } from "@llm-router/core"
import * as Stub from "./Stub.ts"

const yaml = `
model_list:
  - model_name: main
    litellm_params: { model: openai/gpt-4o }
    model_info: { id: labels-main }
`

const post = (url: string, body: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    })
    return { status: response.status, text: await response.text() }
  })
const scrape = (url: string) => Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text()))

describe("metric labels", () => {
  it.live("unknown models share one label value and the 404 echoes a long name cut short", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml)
      const marker = "labels-probe-model"
      for (let i = 0; i < 50; i++) {
        const reply = yield* post(url, { model: `${marker}-${i}`, messages: [{ role: "user", content: "hi" }] })
        assert.strictEqual(reply.status, 404)
      }
      const huge = `${marker}-${"x".repeat(100_000)}`
      const reply = yield* post(url, { model: huge, messages: [{ role: "user", content: "hi" }] })
      assert.strictEqual(reply.status, 404)
      assert.isBelow(reply.text.length, 2_000)
      assert.include(JSON.parse(reply.text).error.message, `${marker}-xxx`)

      const text = yield* scrape(url)
      assert.notInclude(text, marker)
      const unknown = text.split("\n").filter((line) =>
        line.startsWith("llm_router_requests_total{") && line.includes(`group="${RouterMetrics.UNKNOWN_GROUP}"`)
      )
      assert.strictEqual(unknown.length, 1)
      assert.isAtLeast(Number(unknown[0]!.split(" ").at(-1)), 51)
    }).pipe(Effect.scoped))
})

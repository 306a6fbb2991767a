/**
 * An empty 200 is an upstream failure (issue 13, item 4): an answer with no choice, or a stream
 * that ends with no content, no tool call and no finish reason (only `[DONE]`, or a role chunk
 * and `[DONE]`), fails over to the next deployment and cools the empty one down; alone, it is
 * an upstream error, not a 200 with nothing in it. Through the gateway and the real OpenAI
 * adapter, against a raw local upstream.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { OpenAiUpstream } from "@llm-router/testing"
import * as InProcessGateway from "./InProcessGateway.ts"

/** The gateway's base URL (no master key in these configs). */
const start = (yaml: string) => Effect.map(InProcessGateway.start(yaml, "none"), ({ baseURL }) => baseURL.replace(/\/v1$/, ""))

const emptyUpstream = Effect.acquireRelease(
  Effect.callback<{ readonly baseUrl: (kind: "no-choices" | "done-only" | "role-only") => string; readonly close: () => void }>((resume) => {
    const server = createServer((request, response) => {
      let body = ""
      request.on("data", (chunk) => (body += chunk))
      request.on("end", () => {
        const streamed = (JSON.parse(body) as { stream?: boolean }).stream === true
        if (!streamed) {
          response.writeHead(200, { "content-type": "application/json" })
          return response.end(JSON.stringify({ id: "e", object: "chat.completion", created: 1, model: "gpt-4o", choices: [] }))
        }
        response.writeHead(200, { "content-type": "text/event-stream" })
        if (request.url?.startsWith("/role-only/")) {
          const chunk = { id: "e", object: "chat.completion.chunk", created: 1, model: "gpt-4o", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }
          response.write(`data: ${JSON.stringify(chunk)}\n\n`)
        }
        response.end("data: [DONE]\n\n")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port
      resume(Effect.succeed({
        baseUrl: (kind) => `http://127.0.0.1:${port}/${kind}/v1`,
        close: () => server.close()
      }))
    })
  }),
  ({ close }) => Effect.sync(close)
)

const post = (url: string, model: string, stream: boolean) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "hi" }] })
    })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

describe("empty answers", () => {
  it.live("fail over, cool the empty deployment down, and alone are an upstream error", () =>
    Effect.gen(function*() {
      const empty = yield* emptyUpstream
      const healthy = yield* OpenAiUpstream.make()
      const deployment = (group: string, id: string, base: string, order: number) => `
  - model_name: ${group}
    litellm_params: { model: openai/gpt-4o, api_base: "${base}", api_key: sk-x, order: ${order} }
    model_info: { id: ${id} }`
      const url = yield* start(`
model_list:${deployment("chat", "chat-empty", empty.baseUrl("no-choices"), 1)}${deployment("chat", "chat-healthy", healthy.baseUrl, 2)}${
        deployment("done", "done-empty", empty.baseUrl("done-only"), 1)
      }${deployment("done", "done-healthy", healthy.baseUrl, 2)}${deployment("role", "role-empty", empty.baseUrl("role-only"), 1)}${
        deployment("role", "role-healthy", healthy.baseUrl, 2)
      }${deployment("alone", "alone-empty", empty.baseUrl("no-choices"), 1)}
router_settings:
  num_retries: 1
  allowed_fails: 0
`)

      const plain = yield* post(url, "chat", false)
      assert.strictEqual(plain.status, 200)
      assert.strictEqual(plain.headers.get("x-llm-router-deployment"), "chat-healthy")
      assert.strictEqual(plain.headers.get("x-llm-router-attempts"), "2")
      assert.lengthOf(JSON.parse(plain.text).choices, 1)

      for (const group of ["done", "role"]) {
        const streamed = yield* post(url, group, true)
        assert.strictEqual(streamed.status, 200, group)
        assert.strictEqual(streamed.headers.get("x-llm-router-deployment"), `${group}-healthy`)
        assert.include(streamed.text, "Hello")
      }

      const readiness = JSON.parse(yield* Effect.promise(() => fetch(`${url}/health/readiness`).then((r) => r.text())))
      for (const [group, id] of [["chat", "chat-empty"], ["done", "done-empty"], ["role", "role-empty"]]) {
        assert.deepStrictEqual(readiness.groups[group!].cooling_down.map((c: { deployment: string }) => c.deployment), [id], group)
      }

      const alone = yield* post(url, "alone", false)
      assert.strictEqual(alone.status, 502)
      assert.include(JSON.parse(alone.text).error.message, "answered with nothing")
    }).pipe(Effect.scoped), 30_000)
})

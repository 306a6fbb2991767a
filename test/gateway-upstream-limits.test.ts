/**
 * What an upstream sends cannot exhaust the gateway's memory (issue 13, item 3): an answer
 * read whole that outgrows `general_settings.max_response_size_mb` fails its attempt as a
 * retryable upstream error (the request fails over, and the oversized answer is aborted), and
 * the deployment's timeout stays in force while a body trickles in. Through the gateway, the
 * real OpenAI adapter and the HTTP client `llm-router serve` uses, against a raw local upstream.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Gateway, GatewayConfig, Providers } from "@llm-router/server"
import { OpenAiUpstream } from "@llm-router/testing"

interface RawUpstream {
  readonly baseUrl: (behaviour: "huge" | "trickle") => string
  /** Answers whose client went away before the upstream had written them whole. */
  readonly abandoned: () => number
  /** Bytes written of each answer so far. */
  readonly written: () => ReadonlyArray<number>
}

/**
 * `huge`: a 200 `chat.completion` whose content runs to 16 MB, written in 64 KB pieces as the
 * socket takes them. `trickle`: a 200 head, then a byte every 50 ms, for ever.
 */
const rawUpstream = Effect.acquireRelease(
  Effect.callback<{ readonly upstream: RawUpstream; readonly close: () => void }>((resume) => {
    let abandoned = 0
    const written: Array<number> = []
    const open = new Set<ServerResponse>()
    const server = createServer((request, response) => {
      request.resume()
      open.add(response)
      const index = written.push(0) - 1
      response.on("close", () => {
        open.delete(response)
        if (!response.writableFinished) abandoned++
      })
      response.writeHead(200, { "content-type": "application/json" })
      if (request.url?.startsWith("/trickle/")) {
        const timer = setInterval(() => response.write(" "), 50)
        response.on("close", () => clearInterval(timer))
        response.write("{")
        return
      }
      const piece = "a".repeat(64 * 1024)
      const total = 16 * 1024 * 1024
      const head = `{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"`
      response.write(head)
      const pump = () => {
        while (written[index]! < total && !response.destroyed) {
          written[index]! += piece.length
          if (!response.write(piece)) return void response.once("drain", pump)
        }
        if (!response.destroyed) response.end(`"}}]}`)
      }
      pump()
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port
      resume(Effect.succeed({
        upstream: {
          baseUrl: (behaviour) => `http://127.0.0.1:${port}/${behaviour}/v1`,
          abandoned: () => abandoned,
          written: () => written
        },
        close: () => {
          for (const response of open) response.destroy()
          server.close()
        }
      }))
    })
  }),
  ({ close }) => Effect.sync(close)
).pipe(Effect.map(({ upstream }) => upstream))

const start = (yaml: string) =>
  Effect.gen(function*() {
    const config = yield* GatewayConfig.parse(yaml, { knownProviders: Providers.builtin.known })
    const context = yield* Layer.build(
      Gateway.layer({ config, clientFor: Providers.builtin.clientFor, port: 0 }).pipe(Layer.provide(Providers.layerHttpClient))
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    return `http://127.0.0.1:${address._tag === "UnixPathAddress" ? 0 : address.port}`
  })

const chat = (url: string, model: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] })
    })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

describe("upstream answers are bounded", () => {
  it.live("an answer over max_response_size_mb fails over; alone, it is a 502, and it is aborted", () =>
    Effect.gen(function*() {
      const raw = yield* rawUpstream
      const healthy = yield* OpenAiUpstream.make()
      const url = yield* start(`
model_list:
  - model_name: big
    litellm_params: { model: openai/gpt-4o, api_base: "${raw.baseUrl("huge")}", api_key: sk-x, order: 1 }
    model_info: { id: big-huge }
  - model_name: big
    litellm_params: { model: openai/gpt-4o, api_base: "${healthy.baseUrl}", api_key: sk-x, order: 2 }
    model_info: { id: big-healthy }
  - model_name: only-huge
    litellm_params: { model: openai/gpt-4o, api_base: "${raw.baseUrl("huge")}", api_key: sk-x }
    model_info: { id: only-huge }
router_settings:
  num_retries: 1
  allowed_fails: 0
general_settings:
  max_response_size_mb: 1
`)
      const failedOver = yield* chat(url, "big")
      assert.strictEqual(failedOver.status, 200)
      assert.strictEqual(failedOver.headers.get("x-llm-router-deployment"), "big-healthy")
      assert.strictEqual(failedOver.headers.get("x-llm-router-attempts"), "2")
      assert.include(JSON.parse(failedOver.text).choices[0].message.content, "Hello from the mock.")

      const alone = yield* chat(url, "only-huge")
      assert.strictEqual(alone.status, 502)
      assert.include(JSON.parse(alone.text).error.message, "exceeds the limit of 1048576 bytes")

      // Both oversized answers were abandoned by the gateway, far short of their 16 MB.
      yield* Effect.promise(async () => {
        for (let i = 0; i < 200 && raw.abandoned() < 2; i++) await new Promise((r) => setTimeout(r, 10))
      })
      assert.strictEqual(raw.abandoned(), 2)
      for (const bytes of raw.written()) assert.isBelow(bytes, 16 * 1024 * 1024)
    }).pipe(Effect.scoped), 30_000)

  it.live("the deployment's timeout holds while a body trickles in", () =>
    Effect.gen(function*() {
      const raw = yield* rawUpstream
      const url = yield* start(`
model_list:
  - model_name: trickle
    litellm_params: { model: openai/gpt-4o, api_base: "${raw.baseUrl("trickle")}", api_key: sk-x, timeout: 1 }
    model_info: { id: trickle-1 }
router_settings:
  num_retries: 0
`)
      const reply = yield* chat(url, "trickle")
      assert.strictEqual(reply.status, 504)
      yield* Effect.promise(async () => {
        for (let i = 0; i < 200 && raw.abandoned() < 1; i++) await new Promise((r) => setTimeout(r, 10))
      })
      assert.strictEqual(raw.abandoned(), 1)
    }).pipe(Effect.scoped), 30_000)
})

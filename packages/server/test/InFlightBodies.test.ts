/**
 * What the bodies of the requests in flight may hold together is bounded (issue 13, item 3):
 * past `general_settings.max_in_flight_request_size_mb` a request gets a 503 with
 * `Retry-After` rather than the process growing, and a finished request gives its share back.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as net from "node:net"
import * as Stub from "./Stub.ts"

const yaml = `
model_list:
  - model_name: main
    litellm_params: { model: openai/gpt-4o }
    model_info: { id: bodies-main }
general_settings:
  max_request_size_mb: 0.1
  max_in_flight_request_size_mb: 0.1
`

/** A chat body of exactly `bytes` bytes. */
const bodyOf = (bytes: number) => {
  const empty = JSON.stringify({ model: "main", messages: [{ role: "user", content: "" }] })
  return JSON.stringify({ model: "main", messages: [{ role: "user", content: "x".repeat(bytes - empty.length) }] })
}
const head = (length: number) =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`

/** Sends `first` at once and `rest` when asked; resolves each reply's status line and `retry-after`. */
const open = (url: string, first: string) => {
  const socket = net.connect(Number(new URL(url).port), "127.0.0.1")
  socket.on("error", () => {})
  let received = ""
  socket.setEncoding("utf8")
  socket.on("data", (data: string) => (received += data))
  socket.write(first)
  const reply = new Promise<{ status: number; retryAfter: string | undefined }>((resolve) => {
    const check = () => {
      const end = received.indexOf("\r\n\r\n")
      if (end < 0) return
      socket.off("data", check)
      const headers = received.slice(0, end)
      resolve({ status: Number(headers.split(" ")[1]), retryAfter: /^retry-after: (.*)$/im.exec(headers)?.[1] })
    }
    socket.on("data", check)
  })
  return { reply, send: (rest: string) => socket.write(rest), close: () => socket.destroy() }
}

describe("request bodies in flight", () => {
  it.live("beyond the bound a request gets a 503 with Retry-After; a finished request gives its share back", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml)
      const big = bodyOf(90_000)
      const small = bodyOf(30_000)
      // A slow sender holds 90 kB of the 100 kB while its body arrives.
      const slow = open(url, head(big.length) + big.slice(0, 1000))
      yield* Effect.addFinalizer(() => Effect.sync(slow.close))
      const refused = yield* Effect.promise(async () => {
        // The slow request's handler runs when its head is parsed: until then another may pass.
        for (let attempt = 0; attempt < 100; attempt++) {
          const other = open(url, head(small.length) + small)
          const reply = await other.reply
          other.close()
          if (reply.status !== 200) return reply
          await new Promise((r) => setTimeout(r, 20))
        }
        return undefined
      })
      assert.deepStrictEqual(refused, { status: 503, retryAfter: "1" })

      slow.send(big.slice(1000))
      assert.strictEqual((yield* Effect.promise(() => slow.reply)).status, 200)
      const after = open(url, head(small.length) + small)
      assert.strictEqual((yield* Effect.promise(() => after.reply)).status, 200)
      after.close()
    }).pipe(Effect.scoped), 30_000)
})

/**
 * An HTTP/1.0 request with `Transfer-Encoding` is refused (issue 13, item 13): HTTP/1.0 has no
 * chunked encoding, and RFC 9112 (6.1) says to treat such framing as faulty and close the
 * connection. The same body in HTTP/1.1 is served.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as net from "node:net"
import * as Stub from "./Stub.ts"

const yaml = `
model_list:
  - model_name: main
    litellm_params: { model: openai/gpt-4o }
    model_info: { id: framing-main }
`

const body = JSON.stringify({ model: "main", messages: [{ role: "user", content: "hi" }] })
const chunked = (version: string) =>
  `POST /v1/chat/completions HTTP/${version}\r\nHost: gateway\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
  `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`

/** Sends `raw` and returns everything received until the server closes the connection. */
const exchange = (url: string, raw: string) =>
  Effect.promise(() =>
    new Promise<string>((resolve) => {
      const socket = net.connect(Number(new URL(url).port), "127.0.0.1")
      let received = ""
      socket.setEncoding("utf8")
      socket.on("data", (data: string) => {
        received += data
        // HTTP/1.1 keeps the connection: stop once a whole response has come.
        if (raw.includes("HTTP/1.1") && /\r\n0\r\n\r\n$|"object":"chat.completion"[\s\S]*\}$/.test(received)) socket.end()
      })
      socket.on("close", () => resolve(received))
      socket.on("error", () => resolve(received))
      socket.write(raw)
    })
  )

describe("request framing", () => {
  it.live("HTTP/1.0 with Transfer-Encoding: chunked is a 400 and the connection closes; HTTP/1.1 is served", () =>
    Effect.gen(function*() {
      const { url, probe } = yield* Stub.start(yaml)
      const old = yield* exchange(url, chunked("1.0"))
      assert.match(old, /^HTTP\/1\.1 400 /)
      assert.include(old, "bad_framing")
      assert.strictEqual(probe.calls.length, 0)
      const current = yield* exchange(url, chunked("1.1"))
      assert.match(current, /^HTTP\/1\.1 200 /)
      assert.strictEqual(probe.calls.length, 1)
    }).pipe(Effect.scoped), 20_000)
})

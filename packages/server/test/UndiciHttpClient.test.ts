/**
 * `UndiciHttpClient`, the lean `HttpClient` on undici's dispatch handler API that
 * `Providers.layerHttpClient` calls providers through. Against throwaway `node:http` servers on
 * 127.0.0.1 it checks what the server receives (method, target, headers, body) and what a
 * response gives back (status, headers, url, text/json/arrayBuffer, stream), that a small
 * `highWaterMark` loses or reorders nothing, that interrupting, timing out or closing a body
 * stream early aborts the request (the server sees its connection close), the error reasons,
 * which requests go to the fallback client, that the OpenAI adapter sees the same outcome for
 * every fault of the mock upstream as through the stock undici client, and that with a tracer
 * installed `layerHttpClient` serves through the stock (span-making) client instead.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Anthropic } from "@llm-router/anthropic"
import { type LlmClient, type LlmError, StreamingHttp } from "@llm-router/core"
import { OpenAi } from "@llm-router/openai"
import { RecordingTracer } from "@llm-router/testing"
import { Providers } from "@llm-router/server"
import { Effect, Exit, Fiber, type Layer, Option, type Scope, Stream } from "effect"
import { HttpBody, HttpClient, type HttpClientError, HttpClientRequest } from "effect/http"
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Readable } from "node:stream"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { deployment as anthropicDeployment, request as anthropicRequest } from "../../anthropic/test/support.ts"
import { chunksOf, collect, deployment, request } from "../../openai/test/fixtures.ts"
import { faults } from "../../testing/src/upstream/MockUpstream.ts"
import * as OpenAiUpstream from "../../testing/src/upstream/OpenAiUpstream.ts"
import * as UndiciHttpClient from "../src/UndiciHttpClient.ts"

// ---------------------------------------------------------------------------------------
// A throwaway server that records what it receives and notices clients that walk away
// ---------------------------------------------------------------------------------------

interface Seen {
  readonly method: string
  /** Path and query, as the request line had them. */
  readonly target: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly body: string
  /** Runs `f` after `ms` unless the response was closed first; cleared when the server closes. */
  readonly later: (ms: number, f: () => void) => void
  /** Destroys the socket from the server side (not counted as a client abort). */
  readonly cut: () => void
}

interface TestServer {
  readonly origin: string
  readonly seen: ReadonlyArray<Seen>
  /** Answers the client walked away from before they were complete. */
  readonly aborted: () => number
  readonly awaitRequests: (count: number) => Effect.Effect<void>
  readonly awaitAborted: (count: number) => Effect.Effect<void>
}

const serve = (handler: (exchange: Exchange) => void): Effect.Effect<TestServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: TestServer; readonly close: (done: () => void) => void }>((resume) => {
      const seen: Array<Seen> = []
      const timers = new Set<ReturnType<typeof setTimeout>>()
      const checks = new Set<() => void>()
      const changed = () => {
        for (const check of [...checks]) check()
      }
      let aborted = 0
      const until = (what: string, ok: () => boolean) =>
        Effect.callback<void>((wake) => {
          const check = () => {
            if (!ok()) return
            checks.delete(check)
            wake(Effect.void)
          }
          checks.add(check)
          check()
          return Effect.sync(() => checks.delete(check))
        }).pipe(Effect.timeoutOrElse({
          duration: "3 seconds",
          orElse: () => Effect.die(new Error(`the test server never saw ${what} (seen ${seen.length}, aborted ${aborted})`))
        }))

      const server = createServer((req, res) => {
        let cutByServer = false
        res.on("close", () => {
          if (res.writableFinished || cutByServer) return
          aborted++
          changed()
        })
        const parts: Array<Buffer> = []
        req.on("data", (part: Buffer) => parts.push(part))
        req.on("end", () => {
          const body = Buffer.concat(parts).toString("utf8")
          seen.push({ method: req.method ?? "", target: req.url ?? "", headers: req.headers, body })
          handler({
            req,
            res,
            body,
            later: (ms, f) => {
              const timer = setTimeout(() => {
                timers.delete(timer)
                if (!res.destroyed) f()
              }, ms)
              timers.add(timer)
            },
            cut: () => {
              cutByServer = true
              res.socket?.destroy()
            }
          })
          changed()
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        resume(Effect.succeed({
          server: {
            origin,
            seen,
            aborted: () => aborted,
            awaitRequests: (count) => until(`${count} request(s)`, () => seen.length >= count),
            awaitAborted: (count) => until(`${count} aborted answer(s)`, () => aborted >= count)
          },
          close: (done) => {
            for (const timer of timers) clearTimeout(timer)
            server.closeAllConnections()
            server.close(() => done())
          }
        }))
      })
    }),
    ({ close }) => Effect.callback<void>((resume) => close(() => resume(Effect.void)))
  ).pipe(Effect.map(({ server }) => server))

/** A port nothing listens on (a server that was there and is gone). */
const deadPort = Effect.scoped(Effect.map(serve(() => {}), (server) => new URL(server.origin).port))

/** Writes `data` in 64 KiB pieces, honouring back-pressure; `written` counts what Node accepted. */
const writeAll = (res: ServerResponse, data: Buffer, progress: { written: number }) => {
  let offset = 0
  const next = (): void => {
    while (offset < data.length) {
      const piece = data.subarray(offset, offset + 64 * 1024)
      offset += piece.length
      progress.written += piece.length
      if (!res.write(piece)) {
        res.once("drain", next)
        return
      }
    }
    res.end()
  }
  next()
}

/** `size` bytes of numbered lines ("0000000\n", "0000001\n", …): any lost or swapped piece shows. */
const numberedLines = (size: number): Buffer => {
  const hex = Buffer.from("0123456789abcdef", "latin1")
  const out = Buffer.alloc(size)
  for (let line = 0; line * 8 < size; line++) {
    for (let digit = 0; digit < 7; digit++) {
      const at = line * 8 + digit
      if (at < size) out[at] = hex[(line >>> ((6 - digit) * 4)) & 15]!
    }
    if (line * 8 + 7 < size) out[line * 8 + 7] = 10
  }
  return out
}

/** 16 MiB of numbered lines, built once: more than loopback socket buffers hold (about 4 MiB here). */
let sixteenMiB: Buffer | undefined
const bigBody = () => (sixteenMiB ??= numberedLines(16 * 1024 * 1024))

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

/** The client under test on the `Dispatcher` in context; the fallback defaults to the stock client. */
const lean = (options: { readonly fallback?: HttpClient.HttpClient; readonly highWaterMark?: number } = {}) =>
  Effect.gen(function*() {
    const dispatcher = yield* NodeHttpClient.Dispatcher
    const fallback = options.fallback ?? (yield* NodeHttpClient.makeUndici)
    return UndiciHttpClient.make(dispatcher, fallback, { highWaterMark: options.highWaterMark })
  })

/** A fallback that records the requests handed to it and sends them with the stock client. */
const spy = Effect.gen(function*() {
  const stock = yield* NodeHttpClient.makeUndici
  const handed: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.makeWith(
    (effect: Effect.Effect<HttpClientRequest.HttpClientRequest, HttpClientError.HttpClientError>) =>
      Effect.flatMap(effect, (request) => {
        handed.push(request)
        return stock.execute(request)
      }),
    Effect.succeed
  )
  return { client, handed }
})

const withDispatcher = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(NodeHttpClient.layerDispatcher))

const bytesText = (chunks: ReadonlyArray<Uint8Array>) => Buffer.concat(chunks).toString("latin1")

const reasonOf = <A>(effect: Effect.Effect<A, HttpClientError.HttpClientError>) =>
  Effect.map(Effect.flip(effect), (error) => error.reason._tag)

// ---------------------------------------------------------------------------------------
// Requests and responses
// ---------------------------------------------------------------------------------------

describe("UndiciHttpClient: requests and responses", () => {
  it.live("a POST with a text body: method, target with query, headers and body arrive; the response reads back", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res, body }) => {
        res.setHeader("content-type", "application/json")
        res.setHeader("x-multi", ["one", "two"])
        res.setHeader("X-Mixed-Case", "yes")
        res.end(JSON.stringify({ echo: body }))
      })
      const client = yield* lean()
      const body = "{\"messages\":[\"héllo ✓\"]}"
      const response = yield* client.execute(
        HttpClientRequest.post(`${server.origin}/openai/deployments/dep/chat/completions`, {
          urlParams: { "api-version": "2024-10-21" },
          headers: { authorization: "Bearer sk-test", "x-custom": "42" },
          body: HttpBody.text(body, "application/json")
        }).pipe(HttpClientRequest.setHash("fragment"))
      )
      const seen = server.seen[0]!
      assert.strictEqual(seen.method, "POST")
      assert.strictEqual(seen.target, "/openai/deployments/dep/chat/completions?api-version=2024-10-21")
      assert.strictEqual(seen.headers["content-type"], "application/json")
      assert.strictEqual(seen.headers["authorization"], "Bearer sk-test")
      assert.strictEqual(seen.headers["x-custom"], "42")
      assert.strictEqual(seen.headers["content-length"], String(Buffer.byteLength(body)))
      assert.strictEqual(seen.body, body)

      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.url, `${server.origin}/openai/deployments/dep/chat/completions?api-version=2024-10-21`)
      assert.strictEqual(response.headers["content-type"], "application/json")
      assert.strictEqual(response.headers["x-mixed-case"], "yes")
      assert.strictEqual(response.headers["x-multi"], "one, two")
      assert.deepStrictEqual(yield* response.json, { echo: body })
    })))

  it.live("the response's headers, text, json and arrayBuffer are the stock client's", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res }) => {
        res.setHeader("content-type", "application/json; charset=utf-8")
        res.setHeader("x-multi", ["one", "two"])
        res.setHeader("set-cookie", ["a=1; Path=/", "b=2; HttpOnly"])
        res.end(JSON.stringify({ text: "naïve ✓ 漢字" }))
      })
      const leanClient = yield* lean()
      const stock = yield* NodeHttpClient.makeUndici
      const read = (client: HttpClient.HttpClient) =>
        Effect.gen(function*() {
          const response = yield* client.get(`${server.origin}/same`)
          const { date: _, ...headers } = response.headers
          return {
            status: response.status,
            url: response.url,
            headers,
            cookies: Object.keys(response.cookies.cookies),
            text: yield* response.text,
            json: yield* (yield* client.get(`${server.origin}/same`)).json,
            bytes: [...new Uint8Array(yield* (yield* client.get(`${server.origin}/same`)).arrayBuffer)]
          }
        })
      const mine = yield* read(leanClient)
      assert.deepStrictEqual(mine, yield* read(stock))
      assert.deepStrictEqual(mine.json, { text: "naïve ✓ 漢字" })
      assert.deepStrictEqual(mine.cookies, ["a", "b"])
    })))

  it.live("requests to one URL with different urlParams each reach the server with their own query", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res }) => res.end("ok"))
      const client = yield* lean()
      const url = `${server.origin}/openai/deployments/dep/chat/completions`
      const send = (options: HttpClientRequest.Options.NoUrl) => Effect.flatMap(client.post(url, options), (r) => r.text)
      yield* send({ urlParams: { "api-version": "2024-10-21" } })
      yield* send({ urlParams: { "api-version": "2025-01-01" } })
      yield* send({})
      yield* send({ urlParams: { "api-version": "2024-10-21", extra: "a b&c" } })
      yield* send({ urlParams: { "api-version": "2024-10-21" } })
      // The same query from the URL itself and from urlParams.
      yield* Effect.flatMap(client.post(`${url}?api-version=2026-02-02`), (r) => r.text)
      assert.deepStrictEqual(server.seen.map((s) => s.target), [
        "/openai/deployments/dep/chat/completions?api-version=2024-10-21",
        "/openai/deployments/dep/chat/completions?api-version=2025-01-01",
        "/openai/deployments/dep/chat/completions",
        "/openai/deployments/dep/chat/completions?api-version=2024-10-21&extra=a+b%26c",
        "/openai/deployments/dep/chat/completions?api-version=2024-10-21",
        "/openai/deployments/dep/chat/completions?api-version=2026-02-02"
      ])
    })))

  it.live("combinators compose: mapRequest(prependUrl) and a Uint8Array body", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res, body }) => res.end(`got ${body}`))
      const client = (yield* lean()).pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(`${server.origin}/v1`)))
      const response = yield* client.execute(
        HttpClientRequest.put("/items/7").pipe(HttpClientRequest.bodyUint8Array(new Uint8Array([104, 105]), "application/octet-stream"))
      )
      assert.strictEqual(yield* response.text, "got hi")
      assert.strictEqual(server.seen[0]?.method, "PUT")
      assert.strictEqual(server.seen[0]?.target, "/v1/items/7")
      assert.strictEqual(server.seen[0]?.headers["content-type"], "application/octet-stream")
    })))

  it.live("a GET sends no body; a 429 with retry-after is a response, not an error; an empty body reads as \"\" and null", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ req, res }) => {
        if (req.url === "/limited") {
          res.writeHead(429, { "retry-after": "7", "content-type": "application/json" })
          return res.end("{\"error\":{\"message\":\"slow down\"}}")
        }
        if (req.url === "/hinted") {
          res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" })
          return res.end("after hints")
        }
        res.writeHead(204)
        res.end()
      })
      const client = yield* lean()
      const limited = yield* client.get(`${server.origin}/limited`)
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers["retry-after"], "7")
      assert.deepStrictEqual(yield* limited.json, { error: { message: "slow down" } })
      const seen = server.seen[0]!
      assert.strictEqual(seen.method, "GET")
      assert.strictEqual(seen.body, "")
      assert.isUndefined(seen.headers["content-length"])
      assert.isUndefined(seen.headers["transfer-encoding"])

      const hinted = yield* client.get(`${server.origin}/hinted`)
      assert.strictEqual(hinted.status, 200, "a 103 Early Hints is skipped for the real head")
      assert.strictEqual(yield* hinted.text, "after hints")

      const empty = yield* client.get(`${server.origin}/empty`)
      assert.strictEqual(empty.status, 204)
      assert.strictEqual(yield* empty.text, "")
      assert.isNull(yield* empty.json)
      assert.strictEqual((yield* empty.arrayBuffer).byteLength, 0)
    })))

  it.live("reading a body twice (text, then json, then arrayBuffer) gives the same content", () =>
    withDispatcher(Effect.gen(function*() {
      const payload = JSON.stringify({ a: [1, 2, 3], b: "x".repeat(100_000) })
      const server = yield* serve(({ res, later }) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write(payload.slice(0, 50_000))
        later(10, () => res.end(payload.slice(50_000)))
      })
      const response = yield* (yield* lean()).get(server.origin)
      const text = yield* response.text
      assert.strictEqual(text, payload)
      assert.deepStrictEqual(yield* response.json, JSON.parse(payload))
      assert.strictEqual(Buffer.from(yield* response.arrayBuffer).toString("utf8"), payload)
      assert.strictEqual(yield* response.text, payload)
    })))

  it.live("two reads of one body at the same time both get it (as with the stock client)", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res, later }) => {
        res.writeHead(200, { "content-type": "text/plain" })
        res.write("first half, ")
        later(30, () => res.end("second half"))
      })
      const readTwice = (client: HttpClient.HttpClient) =>
        Effect.gen(function*() {
          const response = yield* client.get(server.origin)
          const read = response.text.pipe(
            Effect.timeoutOption("1 second"),
            Effect.map(Option.getOrElse(() => "(never finished)"))
          )
          return yield* Effect.all([read, read], { concurrency: "unbounded" })
        })
      const expected = ["first half, second half", "first half, second half"]
      assert.deepStrictEqual(yield* readTwice(yield* NodeHttpClient.makeUndici), expected, "the stock client")
      assert.deepStrictEqual(yield* readTwice(yield* lean()), expected, "the lean client")
    })))
})

// ---------------------------------------------------------------------------------------
// Streaming and back-pressure
// ---------------------------------------------------------------------------------------

describe("UndiciHttpClient: streaming and back-pressure", () => {
  it.live("stream yields each chunk as it arrives, in order, before the body ends", () =>
    withDispatcher(Effect.gen(function*() {
      let proceed: (() => void) | undefined
      const server = yield* serve(({ res, later }) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write("data: one\n\n")
        // The rest only once the client has seen the first chunk: a client that waited for
        // the whole body would never get it.
        proceed = () => {
          res.write("data: two\n\n")
          later(15, () => {
            res.write("data: three\n\n")
            later(15, () => res.end("data: [DONE]\n\n"))
          })
        }
      })
      const response = yield* (yield* lean()).get(server.origin)
      const chunks: Array<Uint8Array> = []
      yield* Stream.runForEach(response.stream, (chunk) =>
        Effect.sync(() => {
          chunks.push(chunk)
          if (proceed !== undefined) {
            const go = proceed
            proceed = undefined
            go()
          }
        })).pipe(Effect.timeout("3 seconds"))
      assert.strictEqual(bytesText(chunks), "data: one\n\ndata: two\n\ndata: three\n\ndata: [DONE]\n\n")
      assert.isAtLeast(chunks.length, 2)
    })))

  it.live("a body of several MiB, with a 16 KiB highWaterMark, arrives whole and in order through stream and through text", () =>
    withDispatcher(Effect.gen(function*() {
      const data = numberedLines(6 * 1024 * 1024 + 123)
      const server = yield* serve(({ res }) => {
        res.writeHead(200, { "content-type": "application/octet-stream" })
        writeAll(res, data, { written: 0 })
      })
      const client = yield* lean({ highWaterMark: 16 * 1024 })
      // A slow consumer: the client buffers, pauses and resumes the connection many times.
      const streamed: Array<Uint8Array> = []
      yield* Stream.runForEach((yield* client.get(server.origin)).stream, (chunk) =>
        Effect.andThen(Effect.yieldNow, Effect.sync(() => streamed.push(chunk))))
      const fromStream = Buffer.concat(streamed)
      assert.strictEqual(fromStream.length, data.length)
      assert.isTrue(fromStream.equals(data), "stream: the bytes are the server's, in order")

      const text = yield* (yield* client.get(server.origin)).text
      assert.strictEqual(text.length, data.length)
      assert.isTrue(text === data.toString("latin1"), "text: the bytes are the server's, in order")
    })))

  it.live("an unread body is held back at highWaterMark (the server cannot write it all), then reads whole", () =>
    withDispatcher(Effect.gen(function*() {
      const data = bigBody()
      const progress = { written: 0 }
      const server = yield* serve(({ res }) => {
        res.writeHead(200, { "content-type": "application/octet-stream" })
        writeAll(res, data, progress)
      })
      const client = yield* lean({ highWaterMark: 16 * 1024 })
      for (const read of ["text", "stream"] as const) {
        progress.written = 0
        const response = yield* client.get(server.origin)
        yield* Effect.sleep("150 millis") // nobody reads: the connection should stay paused
        assert.isBelow(progress.written, data.length, `${read}: the client paused an unread body`)
        const body = read === "text"
          ? Buffer.from(yield* response.text, "latin1")
          : Buffer.concat(yield* Stream.runCollect(response.stream))
        assert.strictEqual(body.length, data.length, read)
        assert.isTrue(body.equals(data), `${read}: the bytes are the server's, in order`)
      }
    })))
})

// ---------------------------------------------------------------------------------------
// A response nobody reads
// ---------------------------------------------------------------------------------------

/** V8's `gc()`, exposed at run time (vitest does not start workers with `--expose-gc`). */
const collectGarbage = (() => {
  setFlagsFromString("--expose-gc")
  return runInNewContext("gc") as () => void
})()

describe("UndiciHttpClient: a dropped response", () => {
  it.live("a response dropped unread (its connection paused at highWaterMark) is aborted once garbage collected", () =>
    withDispatcher(Effect.gen(function*() {
      const data = bigBody()
      const server = yield* serve(({ res }) => {
        res.writeHead(200, { "content-type": "application/octet-stream" })
        writeAll(res, data, { written: 0 })
      })
      const collectedAndAborted = (expected: number) =>
        Effect.gen(function*() {
          // The stock client's is aborted after the first round.
          for (let i = 0; i < 20 && server.aborted() < expected; i++) {
            collectGarbage()
            yield* Effect.sleep("25 millis")
          }
          return server.aborted()
        })
      // The stock client, as the reference: its dropped response is aborted when collected.
      const stock = yield* NodeHttpClient.makeUndici
      yield* Effect.asVoid(stock.get(server.origin))
      assert.strictEqual(yield* collectedAndAborted(1), 1, "the stock client aborts a dropped response")

      const client = yield* lean({ highWaterMark: 16 * 1024 })
      yield* Effect.asVoid(client.get(server.origin))
      assert.strictEqual(yield* collectedAndAborted(2), 2, "the lean client aborts a dropped response")
    })))
})

// ---------------------------------------------------------------------------------------
// Interruption
// ---------------------------------------------------------------------------------------

describe("UndiciHttpClient: interruption aborts the request", () => {
  it.live("interrupting the call before the response head closes the connection", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(() => {}) // never answers
      const client = yield* lean()
      const fiber = yield* Effect.forkChild(client.get(server.origin))
      yield* server.awaitRequests(1)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.hasInterrupts(yield* Effect.exit(Fiber.join(fiber))))
      yield* server.awaitAborted(1)
    })))

  it.live("interrupting a text read mid-body closes the connection", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res }) => {
        res.writeHead(200, { "content-type": "text/plain" })
        res.write("the first part, and then nothing more")
      })
      const client = yield* lean()
      const response = yield* client.get(server.origin)
      const fiber = yield* Effect.forkChild(response.text)
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.hasInterrupts(yield* Effect.exit(Fiber.join(fiber))))
      yield* server.awaitAborted(1)
      // The client goes on working on the same origin.
      const next = yield* client.get(server.origin)
      assert.strictEqual(next.status, 200)
    })))

  it.live("reading a body again after an interrupted read fails with an error (as the stock client), it does not interrupt the reader", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res }) => {
        res.writeHead(200, { "content-type": "text/plain" })
        res.write("the first part, and then nothing more")
      })
      const readAgain = (client: HttpClient.HttpClient) =>
        Effect.gen(function*() {
          const response = yield* client.get(server.origin)
          const fiber = yield* Effect.forkChild(response.text)
          yield* Effect.sleep("20 millis")
          yield* Fiber.interrupt(fiber)
          // A fiber nobody interrupts reads the body again.
          const again = yield* Effect.exit(response.text).pipe(Effect.timeout("2 seconds"))
          return Exit.isFailure(again) && !Exit.hasInterrupts(again) ? "failed" : Exit.hasInterrupts(again) ? "interrupted" : "succeeded"
        })
      assert.strictEqual(yield* readAgain(yield* NodeHttpClient.makeUndici), "failed", "the stock client")
      assert.strictEqual(yield* readAgain(yield* lean()), "failed", "the lean client")
    })))

  it.live("taking the first chunk of an endless stream closes the connection, and the effect completes", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res, later }) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        let n = 0
        const tick = () => {
          res.write(`data: ${n++}\n\n`)
          later(10, tick)
        }
        tick()
      })
      const response = yield* (yield* lean()).get(server.origin)
      const first = yield* Stream.runCollect(response.stream.pipe(Stream.take(1))).pipe(Effect.timeout("3 seconds"))
      assert.strictEqual(first.length, 1)
      assert.match(bytesText(first), /^data: 0\n\n/)
      yield* server.awaitAborted(1)
    })))

  it.live("a stream whose consumer fails closes the connection", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res, later }) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        const tick = () => {
          res.write("data: x\n\n")
          later(10, tick)
        }
        tick()
      })
      const response = yield* (yield* lean()).get(server.origin)
      const error = yield* Effect.flip(Stream.runForEach(response.stream, () => Effect.fail("consumer gave up" as const)))
      assert.strictEqual(error, "consumer gave up")
      yield* server.awaitAborted(1)
    })))

  it.live("Effect.timeout around a call to a server that never answers fails with a timeout and closes the connection", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(() => {})
      const client = yield* lean()
      const error = yield* Effect.flip(client.get(server.origin).pipe(Effect.timeout("100 millis")))
      assert.strictEqual(error._tag, "TimeoutError")
      yield* server.awaitAborted(1)
      assert.strictEqual(server.seen.length, 1)
    })))

  it.live("a body read to its end does not count as an abort (the connection is kept)", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res }) => res.end("whole"))
      const client = yield* lean()
      assert.strictEqual(yield* (yield* client.get(server.origin)).text, "whole")
      const chunks = yield* Stream.runCollect((yield* client.get(server.origin)).stream)
      assert.strictEqual(bytesText(chunks), "whole")
      yield* Effect.sleep("30 millis")
      assert.strictEqual(server.aborted(), 0)
    })))
})

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

describe("UndiciHttpClient: errors", () => {
  it.live("a refused connection is a TransportError", () =>
    withDispatcher(Effect.gen(function*() {
      const port = yield* deadPort
      const error = yield* Effect.flip((yield* lean()).get(`http://127.0.0.1:${port}/v1`))
      assert.strictEqual(error._tag, "HttpClientError")
      assert.strictEqual(error.reason._tag, "TransportError")
      assert.match(String((error.reason.cause as { code?: string } | undefined)?.code), /ECONNREFUSED/)
    })))

  it.live("a socket destroyed mid-body: text fails with DecodeError; stream fails likewise after the bytes before it", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res, later, cut }) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": "1000" })
        res.write("{\"partial\": tru")
        later(20, cut)
      })
      const client = yield* lean()
      assert.strictEqual(yield* reasonOf(Effect.flatMap(client.get(server.origin), (r) => r.text)), "DecodeError")

      const response = yield* client.get(server.origin)
      const chunks: Array<Uint8Array> = []
      const error = yield* Effect.flip(Stream.runForEach(response.stream, (chunk) => Effect.sync(() => chunks.push(chunk))))
      assert.strictEqual(error.reason._tag, "DecodeError")
      assert.strictEqual(bytesText(chunks), "{\"partial\": tru")
      // The same, read by the stock client.
      const stock = yield* NodeHttpClient.makeUndici
      assert.strictEqual(yield* reasonOf(Effect.flatMap(stock.get(server.origin), (r) => r.text)), "DecodeError")
    })))

  it.live("an invalid URL is an InvalidUrlError, and nothing is sent", () =>
    withDispatcher(Effect.gen(function*() {
      const { client, handed } = yield* spy
      const mine = yield* lean({ fallback: client })
      for (const url of ["http://", "not a url", "/relative/only"]) {
        const error = yield* Effect.flip(mine.post(url, { body: HttpBody.text("{}") }))
        assert.strictEqual(error.reason._tag, "InvalidUrlError", url)
      }
      assert.strictEqual(handed.length, 0)
    })))
})

// ---------------------------------------------------------------------------------------
// Fallback
// ---------------------------------------------------------------------------------------

describe("UndiciHttpClient: what goes to the fallback client", () => {
  it.live("streamed, multipart and other raw bodies (and upgrades) go to the fallback; text, bytes, raw strings and empty bodies do not", () =>
    withDispatcher(Effect.gen(function*() {
      const server = yield* serve(({ res, body }) => res.end(`${body.length}`))
      const { client: fallback, handed } = yield* spy
      const client = yield* lean({ fallback })
      const send = (request: HttpClientRequest.HttpClientRequest) => Effect.flatMap(client.execute(request), (r) => r.text)
      const post = HttpClientRequest.post(`${server.origin}/upload`)

      yield* send(post.pipe(HttpClientRequest.bodyText("plain")))
      yield* send(post.pipe(HttpClientRequest.bodyUint8Array(new Uint8Array([1, 2, 3]))))
      yield* send(HttpClientRequest.get(`${server.origin}/empty`))
      assert.strictEqual(yield* send(post.pipe(HttpClientRequest.setBody(HttpBody.raw("raw string")))), "10")
      assert.strictEqual(handed.length, 0, "the client sends these itself")
      assert.deepStrictEqual(server.seen.map((s) => s.body), ["plain", "\u0001\u0002\u0003", "", "raw string"])

      assert.strictEqual(yield* send(post.pipe(HttpClientRequest.setBody(HttpBody.raw(Readable.from([Buffer.from("node stream")]))))), "11")
      assert.deepStrictEqual(handed.map((r) => r.body._tag), ["Raw"], "a raw body other than a string or bytes")
      handed.length = 0

      const streamed = yield* send(post.pipe(
        HttpClientRequest.setBody(HttpBody.stream(Stream.make(new TextEncoder().encode("ab"), new TextEncoder().encode("cd"))))
      ))
      assert.strictEqual(streamed, "4", "the fallback sent the streamed body")
      const form = new FormData()
      form.append("field", "value")
      yield* send(post.pipe(HttpClientRequest.bodyFormData(form)))
      assert.deepStrictEqual(handed.map((r) => r.body._tag), ["Stream", "FormData"])
      assert.include(server.seen.at(-1)?.headers["content-type"] ?? "", "multipart/form-data")
      assert.include(server.seen.at(-1)?.body ?? "", "value")

      yield* Effect.exit(client.execute(HttpClientRequest.get(`${server.origin}/ws`, { headers: { upgrade: "websocket", connection: "upgrade" } })))
      assert.strictEqual(handed.length, 3)
      assert.strictEqual(handed[2]?.headers["upgrade"], "websocket")
    })))
})

// ---------------------------------------------------------------------------------------
// The OpenAI adapter through this client
// ---------------------------------------------------------------------------------------

const streamedText = (parts: ReadonlyArray<LlmClient.StreamPart>) =>
  chunksOf(parts).map((chunk) => chunk.choices.map((c) => c.delta.content ?? "").join("")).join("")

const describeError = (error: LlmError.LlmError | { readonly _tag: "TimeoutError" }) =>
  error._tag === "TimeoutError" ? "TimeoutError" : `${error._tag} ${error.status ?? "-"}`

/** What chat and stream do for each fault of the mock, through the client `layer` provides. */
const faultOutcomes = (mock: OpenAiUpstream.OpenAiUpstream, layer: Layer.Layer<HttpClient.HttpClient>) =>
  Effect.gen(function*() {
    const outcomes: Record<string, { readonly chat: string; readonly stream: string }> = {}
    for (const fault of faults) {
      const client = yield* OpenAi.make(deployment({ apiBase: mock.faultUrl(fault) }))
      // `slow-headers` would answer after `slowMs`: cut it short, as a router's timeout would.
      const bounded = <A, E>(effect: Effect.Effect<A, E>) =>
        fault === "slow-headers" ? Effect.timeout(effect, "100 millis") : effect
      const chat = yield* bounded(client.chat(request())).pipe(
        Effect.match({ onSuccess: () => "ok", onFailure: describeError })
      )
      const streamed = yield* bounded(collect(client.stream(request())))
        .pipe(Effect.match({
          onSuccess: ({ parts, error }) =>
            `${error === undefined ? "ok" : describeError(error)} after ${
              // A reset mid-stream may cut at any point: only the head is deterministic.
              fault === "reset-mid-body" ? parts[0]?._tag : parts.map((p) => p._tag).join(",") || "nothing"}`,
          onFailure: describeError
        }))
      outcomes[fault] = { chat, stream: streamed }
    }
    return outcomes
  }).pipe(Effect.provide(layer))

describe("UndiciHttpClient: the OpenAI adapter through Providers.layerHttpClient", () => {
  it.live("every fault of the mock upstream ends the same as through the stock undici client", () =>
    Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make({ slowMs: 10_000 })
      const mine = yield* faultOutcomes(mock, Providers.layerHttpClient)
      const stock = yield* faultOutcomes(mock, NodeHttpClient.layerUndici)
      assert.deepStrictEqual(mine, stock)
      // And the outcomes are the faults', not a blanket failure.
      assert.deepStrictEqual(Object.keys(mine), [...faults])
      assert.strictEqual(mine["rate-limit"]?.chat, "RateLimited 429")
      assert.strictEqual(mine["reset-mid-body"]?.chat, "ConnectionFailed 200")
      assert.strictEqual(mine["reset-mid-body"]?.stream, "ConnectionFailed 200 after Start")
      assert.strictEqual(mine["connection-refused"]?.chat, "ConnectionFailed -")
      assert.strictEqual(mine["slow-headers"]?.chat, "TimeoutError")
      assert.match(mine["error-after-200"]?.stream ?? "", /^InternalServerError 500 after Start,Chunk/)
    }))

  it.live("a plain chat, a stream and an Azure call (api-version query) succeed with the mock's answer", () =>
    Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl }))
      const expected = "Hello from the mock. You said: What is the capital of France?"

      const { response } = yield* client.chat(request())
      assert.strictEqual(response.choices[0]?.message.content, expected)
      assert.strictEqual(mock.requests.at(-1)?.path, "/v1/chat/completions")
      assert.strictEqual(mock.requests.at(-1)?.headers["authorization"], `Bearer ${"sk-test-SECRET-0123456789abcdef"}`)

      const { parts, error } = yield* collect(client.stream(request()))
      assert.isUndefined(error)
      assert.strictEqual(parts[0]?._tag, "Start")
      assert.strictEqual(parts.at(-1)?._tag, "Done")
      assert.strictEqual(streamedText(parts), expected)

      const azure = yield* OpenAi.make(deployment({ provider: "azure", model: "dep", apiBase: mock.origin, apiVersion: "2024-10-21" }))
      const answer = yield* azure.chat(request())
      assert.include(answer.response.choices[0]?.message.content ?? "", "Hello from the mock.")
      assert.strictEqual(mock.requests.at(-1)?.path, "/openai/deployments/dep/chat/completions?api-version=2024-10-21")
    }).pipe(Effect.provide(Providers.layerHttpClient)))

  it.live("a consumer that stops mid-stream, or right after Start, closes the upstream socket", () =>
    Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make({ chunkDelayMs: 20, streamChunks: 200 })
      const client = yield* OpenAi.make(deployment({ apiBase: mock.baseUrl }))
      const parts = yield* Stream.runCollect(client.stream(request()).pipe(Stream.take(4)))
      assert.strictEqual(parts.length, 4)
      yield* mock.awaitAborted(1).pipe(Effect.timeout("3 seconds"))
      const start = yield* Stream.runCollect(client.stream(request()).pipe(Stream.take(1)))
      assert.strictEqual(start[0]?._tag, "Start")
      yield* mock.awaitAborted(2).pipe(Effect.timeout("3 seconds"))
    }).pipe(Effect.provide(Providers.layerHttpClient)))
})

describe("UndiciHttpClient: streams abort without withScope", () => {
  it.live("the lean client says its body streams abort when closed, traced or not; the stock client does not", () =>
    Effect.gen(function*() {
      const lean = yield* HttpClient.HttpClient.pipe(Effect.provide(Providers.layerHttpClient))
      assert.isTrue(StreamingHttp.abortsWhenBodyStreamCloses(lean))
      // The adapters get the client as it is, not wrapped in `withScope`.
      assert.strictEqual<unknown>(StreamingHttp.forStreams(lean), lean)
      const { tracer } = RecordingTracer.make()
      const traced = yield* HttpClient.HttpClient.pipe(Effect.provide(Providers.layerHttpClient), Effect.withTracer(tracer))
      assert.isTrue(StreamingHttp.abortsWhenBodyStreamCloses(traced))
      const stock = yield* HttpClient.HttpClient.pipe(Effect.provide(NodeHttpClient.layerUndici))
      assert.isFalse(StreamingHttp.abortsWhenBodyStreamCloses(stock))
    }))

  it.live("an Anthropic stream whose consumer stops mid-stream, or right after Start, closes the upstream socket", () =>
    Effect.gen(function*() {
      const event = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
      // An endless answer: a text delta every 20 ms until the client goes away.
      const server = yield* serve(({ res, later }) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write(event("message_start", {
          message: {
            id: "msg_1",
            type: "message",
            role: "assistant",
            model: "claude-haiku-4-5",
            content: [],
            stop_reason: null,
            usage: { input_tokens: 5, output_tokens: 0 }
          }
        }))
        res.write(event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }))
        const tick = () => {
          res.write(event("content_block_delta", { index: 0, delta: { type: "text_delta", text: "la " } }))
          later(20, tick)
        }
        tick()
      })
      const client = yield* Anthropic.make(anthropicDeployment(server.origin))
      const parts = yield* Stream.runCollect(client.stream(anthropicRequest()).pipe(Stream.take(4)))
      assert.deepStrictEqual(parts.map((p) => p._tag), ["Start", "Chunk", "Chunk", "Chunk"])
      yield* server.awaitAborted(1)
      const start = yield* Stream.runCollect(client.stream(anthropicRequest()).pipe(Stream.take(1)))
      assert.strictEqual(start[0]?._tag, "Start")
      yield* server.awaitAborted(2)
    }).pipe(Effect.provide(Providers.layerHttpClient)))
})

// ---------------------------------------------------------------------------------------
// Tracing
// ---------------------------------------------------------------------------------------

describe("Providers.layerHttpClient and tracing", () => {

  it.live("with a tracer installed, the lean client makes the stock client's span per call and sends traceparent", () =>
    Effect.gen(function*() {
      const server = yield* serve(({ req, res }) => {
        res.statusCode = req.url === "/fails" ? 503 : 200
        res.end("ok")
      })
      const { spans, tracer } = RecordingTracer.make()
      const lean = yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        assert.isTrue(StreamingHttp.abortsWhenBodyStreamCloses(client), "not the lean client")
        assert.strictEqual(yield* Effect.flatMap(client.get(`${server.origin}/traced?q=1`), (r) => r.text), "ok")
        yield* client.get(`${server.origin}/fails`)
      }).pipe(Effect.provide(Providers.layerHttpClient), Effect.withTracer(tracer), Effect.exit)
      assert.isTrue(Exit.isSuccess(lean), String(lean))
      const [ok, failed] = spans
      assert.strictEqual(spans.length, 2)
      assert.strictEqual(ok!.name, "GET")
      assert.strictEqual(ok!.kind, "client")
      assert.deepInclude(Object.fromEntries(ok!.attributes), {
        "http.request.method": "GET",
        "url.full": `${server.origin}/traced?q=1`,
        "url.path": "/traced",
        "url.query": "q=1",
        "url.scheme": "http",
        "server.address": "127.0.0.1",
        "http.response.status_code": 200
      })
      assert.isTrue(ok!.status._tag === "Ended" && Exit.isSuccess(ok!.status.exit))
      // The traceparent sent names the call's own span.
      assert.include(String(server.seen[0]?.headers["traceparent"]), `-${ok!.spanId}-`)
      assert.strictEqual(failed!.attributes.get("error.type"), "503")
      assert.isTrue(failed!.status._tag === "Ended" && Exit.isFailure(failed!.status.exit))
    }))

  it.live("without one (the native tracer), the lean client serves: no span and no traceparent even under a tracer later", () =>
    Effect.gen(function*() {
      const server = yield* serve(({ res }) => res.end("ok"))
      const { spans, tracer } = RecordingTracer.make()
      const client = yield* HttpClient.HttpClient
      const answer = yield* Effect.flatMap(client.get(`${server.origin}/lean`), (r) => r.text).pipe(Effect.withTracer(tracer))
      assert.strictEqual(answer, "ok")
      assert.deepStrictEqual(spans.map((s) => s.name), [])
      assert.isUndefined(server.seen[0]?.headers["traceparent"])
    }).pipe(Effect.provide(Providers.layerHttpClient)))
})

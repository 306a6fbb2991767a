/**
 * What the Gemini adapter costs on top of the HTTP call it makes: request translation,
 * response decoding and OpenAI-shape translation. Against a local server that answers at
 * once with fixed bytes (a ~2 KB `generateContent` answer, a 200-chunk SSE stream), each
 * sample runs the adapter and a raw `HttpClient` request reading the same bytes back to
 * back (order alternating), after a warm-up; `overhead` is the per-pair difference. A
 * socket-free row times translate + decode alone.
 *
 * Run alone: `node bench/adapters/google.ts`.
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { Chat, Deployment } from "@llm-router/core"
import { GeminiRequest, GeminiResponse, GeminiWire, Google } from "@llm-router/google"
import { Effect, Redacted, Stream } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { performance } from "node:perf_hooks"

export interface Row {
  readonly name: string
  readonly medianUs: number
  readonly p99Us: number
  readonly n: number
}

const WARMUP = 200
const CHAT_SAMPLES = 2000
const STREAM_SAMPLES = 400
const PURE_SAMPLES = 20000

const words = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `word${(i + from) % 97}`).join(" ")

/** A ~2 KB answer in Gemini's real shape. */
const chatBody = JSON.stringify({
  candidates: [{
    content: { parts: [{ text: words(220) }], role: "model" },
    finishReason: "STOP",
    index: 0
  }],
  usageMetadata: {
    promptTokenCount: 42,
    candidatesTokenCount: 220,
    totalTokenCount: 262,
    promptTokensDetails: [{ modality: "TEXT", tokenCount: 42 }]
  },
  modelVersion: "gemini-2.5-flash",
  responseId: "bench000001"
})

/** 200 SSE events of a few words each, the last with finishReason and full usage. */
const streamBody = Array.from({ length: 200 }, (_, i) => {
  const last = i === 199
  return `data: ${
    JSON.stringify({
      candidates: [{ content: { parts: [{ text: words(3, i * 3) + " " }], role: "model" }, ...(last ? { finishReason: "STOP" } : {}), index: 0 }],
      usageMetadata: { promptTokenCount: 42, ...(last ? { candidatesTokenCount: 600 } : {}), totalTokenCount: last ? 642 : 42 },
      modelVersion: "gemini-2.5-flash",
      responseId: "bench000002"
    })
  }\r\n\r\n`
}).join("")

const request: Chat.ChatRequest = {
  model: "flash",
  messages: [
    { role: "system", content: "You are a benchmark." },
    { role: "user", content: "Write about two thousand bytes of words." }
  ],
  temperature: 0.2,
  max_tokens: 512
}

const startServer = () =>
  new Promise<{ server: Http.Server; baseUrl: string }>((resolve) => {
    const server = Http.createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        if (req.url?.includes("streamGenerateContent")) {
          res.writeHead(200, { "content-type": "text/event-stream", "content-length": Buffer.byteLength(streamBody) })
          res.end(streamBody)
        } else {
          res.writeHead(200, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(chatBody) })
          res.end(chatBody)
        }
      })
    })
    server.listen(0, "127.0.0.1", () => resolve({ server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))
  })

const stats = (name: string, samples: ReadonlyArray<number>): Row => {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { name, medianUs: Math.round(at(0.5) * 10) / 10, p99Us: Math.round(at(0.99) * 10) / 10, n: sorted.length }
}

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* effect
    return (performance.now() - start) * 1000
  })

/** Runs `a` and `b` alternately (who goes first flips each sample), after a warm-up of both. */
const paired = <E1, E2, R>(label: string, samples: number, a: Effect.Effect<unknown, E1, R>, b: Effect.Effect<unknown, E2, R>) =>
  Effect.gen(function*() {
    for (let i = 0; i < WARMUP; i++) {
      yield* a
      yield* b
    }
    const as: Array<number> = []
    const bs: Array<number> = []
    for (let i = 0; i < samples; i++) {
      if (i % 2 === 0) {
        as.push(yield* timed(a))
        bs.push(yield* timed(b))
      } else {
        bs.push(yield* timed(b))
        as.push(yield* timed(a))
      }
    }
    return [
      stats(`google ${label}: adapter`, as),
      stats(`google ${label}: raw HttpClient`, bs),
      stats(`google ${label}: adapter overhead (paired)`, as.map((x, i) => x - bs[i]!))
    ]
  })

/** Translate + decode + translate back, with no socket: the adapter's own work on a 2 KB answer. */
const pure = (): Row => {
  const origin = { provider: "gemini", deployment: "bench" }
  const once = () => {
    const body = GeminiRequest.fromChat(request, origin)
    if (body._tag === "Failure") throw new Error(body.failure.message)
    JSON.stringify(body.success)
    const decoded = GeminiWire.decodeResponseJson(chatBody)
    if (decoded._tag === "Failure") throw new Error(decoded.failure.message)
    GeminiResponse.toChatResponse(decoded.success, origin, { created: 0, model: "gemini-2.5-flash" })
  }
  for (let i = 0; i < WARMUP * 10; i++) once()
  const samples: Array<number> = []
  for (let i = 0; i < PURE_SAMPLES; i++) {
    const start = performance.now()
    once()
    samples.push((performance.now() - start) * 1000)
  }
  return stats("google translate+decode 2KB, no I/O", samples)
}

export const run = async (): Promise<ReadonlyArray<Row>> => {
  const { server, baseUrl } = await startServer()
  try {
    const deployment: Deployment.Deployment = {
      id: "bench/gemini",
      group: "flash",
      provider: "gemini",
      model: "gemini-2.5-flash",
      apiKey: Redacted.make("bench-key"),
      apiBase: baseUrl,
      tags: [],
      params: {}
    }
    const rawBody = (() => {
      const body = GeminiRequest.fromChat(request, { provider: "gemini", deployment: "bench" })
      if (body._tag === "Failure") throw new Error(body.failure.message)
      return JSON.stringify(body.success)
    })()
    const program = Effect.gen(function*() {
      const adapter = yield* Google.make(deployment)
      const http = yield* HttpClient.HttpClient
      // Built per call, as any client must: the raw row pays for an HttpClientRequest too.
      const raw = (stream: boolean) =>
        HttpClientRequest.post(Google.endpoint(deployment, stream), {
          headers: { "x-goog-api-key": "bench-key" },
          ...(stream ? { urlParams: { alt: "sse" } } : {})
        }).pipe(HttpClientRequest.bodyText(rawBody, "application/json"))
      const chat = yield* paired(
        "chat 2KB",
        CHAT_SAMPLES,
        adapter.chat(request),
        Effect.suspend(() => http.execute(raw(false))).pipe(Effect.flatMap((r) => r.text))
      )
      const stream = yield* paired(
        "stream 200 chunks",
        STREAM_SAMPLES,
        Stream.runDrain(adapter.stream(request)),
        Effect.suspend(() => http.execute(raw(true))).pipe(Effect.flatMap((r) => Stream.runDrain(r.stream)))
      )
      return [...chat, ...stream]
    })
    const rows = await Effect.runPromise(program.pipe(Effect.provide(NodeHttpClient.layerUndici)))
    return [pure(), ...rows]
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

if (import.meta.main) {
  const rows = await run()
  console.table(rows)
}

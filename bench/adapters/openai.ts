/**
 * The OpenAI adapter's own overhead per call (request translation, response decoding, SSE
 * parsing into chunks): a chat with a ~2 KB answer and a 200-chunk stream against the OpenAI
 * mock answering at once. Each adapter call is paired with a raw `HttpClient` POST that sends
 * the same body to the same mock and reads the same bytes; the two alternate (order swapped
 * every pair) after a warm-up, and the overhead rows are the per-pair differences. Two more
 * rows time translate + decode alone, without I/O.
 *
 * Run: node bench/adapters/openai.ts   (part of `pnpm bench`)
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { Chat, Deployment } from "@llm-router/core"
import { OpenAi } from "@llm-router/openai"
import { Effect, Redacted, Stream } from "effect"
import { HttpBody, HttpClient, HttpClientRequest } from "effect/http"
import * as ChunkStream from "../../packages/openai/src/ChunkStream.ts"
import * as ResponseBody from "../../packages/openai/src/ResponseBody.ts"
import * as OpenAiUpstream from "../../packages/testing/src/upstream/OpenAiUpstream.ts"
import { interleavedPairs, PROSE_2KB, type Result as Row, summarize, table, time } from "../Stats.ts"

const ROUNDS = 10
const CHAT_PER_ROUND = 200
const STREAM_PER_ROUND = 40
const WARMUP_CHAT = 300
const WARMUP_STREAM = 60
const DECODE_RUNS = 2000

const ANSWER = PROSE_2KB
const KEY = "sk-bench-0123456789"

const request: Chat.ChatRequest = {
  model: "gpt",
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Tell me something long." }],
  max_tokens: 4096
}

export const run = (): Promise<ReadonlyArray<Row>> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make({ text: ANSWER, echo: false, streamChunks: 200 })
      const deployment: Deployment.Deployment = {
        id: "bench-openai",
        group: "gpt",
        provider: "openai",
        model: "gpt-4o",
        apiKey: Redacted.make(KEY),
        apiBase: mock.baseUrl,
        tags: [],
        params: {}
      }
      const client = yield* OpenAi.make(deployment)
      const http = yield* HttpClient.HttpClient
      // The raw side sends exactly the bytes the adapter sends and reads the whole body.
      const rawRequest = (stream: boolean) =>
        HttpClientRequest.post(`${mock.baseUrl}/chat/completions`, {
          headers: { authorization: `Bearer ${KEY}`, accept: stream ? "text/event-stream" : "application/json" },
          body: HttpBody.text(
            JSON.stringify(OpenAi.requestBody(deployment, request, { stream, streamOptions: true })),
            "application/json"
          )
        })
      const rawChat = http.execute(rawRequest(false)).pipe(Effect.flatMap((response) => response.text))
      const rawStream = http.execute(rawRequest(true)).pipe(Effect.flatMap((response) => Stream.runDrain(response.stream)))
      const adapterChat = client.chat(request)
      const adapterStream = Stream.runDrain(client.stream(request))

      // Sanity: the calls do what is measured.
      const sample = yield* adapterChat
      if (sample.response.choices[0]?.message.content !== ANSWER) throw new Error("unexpected chat answer")
      const parts = yield* Stream.runCount(client.stream(request))
      if (parts < 200) throw new Error(`expected 200+ stream parts, got ${parts}`)

      const c = yield* interleavedPairs(adapterChat, rawChat, { warmup: WARMUP_CHAT, rounds: ROUNDS, perRound: CHAT_PER_ROUND })
      const s = yield* interleavedPairs(adapterStream, rawStream, { warmup: WARMUP_STREAM, rounds: ROUNDS, perRound: STREAM_PER_ROUND })

      // Translate + decode alone: the same bytes, no socket.
      const completionBytes = yield* rawChat
      const streamBytes = new TextEncoder().encode(
        yield* http.execute(rawRequest(true)).pipe(Effect.flatMap((response) => response.text))
      )
      const translate: Array<number> = []
      const sse: Array<number> = []
      for (let i = 0; i < DECODE_RUNS; i++) {
        const start = process.hrtime.bigint()
        JSON.stringify(OpenAi.requestBody(deployment, request, { stream: false, streamOptions: true }))
        if (ResponseBody.response(completionBytes, deployment.model)._tag !== "Ok") throw new Error("decode failed")
        translate.push(Number(process.hrtime.bigint() - start) / 1000)
      }
      for (let i = 0; i < DECODE_RUNS / 4; i++) {
        yield* time(
          Stream.runDrain(ChunkStream.chunks(
            Stream.fromIterable([streamBytes.subarray(0, 8192), streamBytes.subarray(8192)]),
            { provider: "openai", deployment: "bench", status: 200, model: "gpt-4o" },
            { usage: undefined, firstChunkAt: undefined }
          )),
          sse
        )
      }
      return [
        summarize(`chat, ${(ANSWER.length / 1024).toFixed(1)} KB answer: adapter`, c.a),
        summarize("chat: raw HttpClient, same bytes", c.r),
        summarize("chat: adapter overhead (paired difference)", c.diff),
        summarize("stream, 200 chunks: adapter", s.a),
        summarize("stream: raw HttpClient, same bytes", s.r),
        summarize("stream: adapter overhead (paired difference)", s.diff),
        summarize("no I/O: translate request + decode 2 KB answer", translate),
        summarize("no I/O: SSE → 200 decoded chunks", sse)
      ]
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
  )

if (import.meta.main) {
  console.log(table(await run()))
}

/**
 * The Anthropic adapter's own overhead per call (request translation, response decoding and
 * translation, SSE parsing into OpenAI chunks): a chat with a ~2 KB answer and a 200-chunk
 * stream against the Anthropic mock answering at once, each call paired with a raw
 * `HttpClient` request that sends the same body and reads the same bytes from the same mock.
 * Adapter and raw calls alternate, after a warm-up; the overhead rows are the per-pair
 * differences.
 *
 * Run: node bench/adapters/anthropic.ts   (part of `pnpm bench`)
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Anthropic, AnthropicRequest } from "@llm-router/anthropic"
import type { Chat, Deployment } from "@llm-router/core"
import { Effect, Redacted, Result, Stream } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import * as AnthropicUpstream from "../../packages/testing/src/upstream/AnthropicUpstream.ts"
import { interleavedPairs, PROSE_2KB, type Result as Row, summarize, table } from "../Stats.ts"

const ROUNDS = 10
const CHAT_PER_ROUND = 200
const STREAM_PER_ROUND = 40
const WARMUP_CHAT = 300
const WARMUP_STREAM = 60

const ANSWER = PROSE_2KB

const request: Chat.ChatRequest = {
  model: "claude",
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Tell me something long." }],
  max_tokens: 4096
}

export const run = (): Promise<ReadonlyArray<Row>> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const mock = yield* AnthropicUpstream.make({ text: ANSWER, streamChunks: 200 })
      const deployment: Deployment.Deployment = {
        id: "bench-anthropic",
        group: "claude",
        provider: "anthropic",
        model: "claude-haiku-4-5",
        apiKey: Redacted.make("sk-ant-bench"),
        apiBase: mock.baseUrl,
        tags: [],
        params: {}
      }
      const client = yield* Anthropic.make(deployment)
      const http = yield* HttpClient.HttpClient
      // The raw side sends exactly the bytes the adapter sends.
      const rawRequest = (stream: boolean) => {
        const body = AnthropicRequest.fromChat(request, deployment, stream)
        if (Result.isFailure(body)) throw new Error(body.failure.message)
        return HttpClientRequest.post(Anthropic.messagesUrl(mock.baseUrl)).pipe(
          HttpClientRequest.setHeaders({ "x-api-key": "sk-ant-bench", "anthropic-version": Anthropic.API_VERSION }),
          HttpClientRequest.bodyText(JSON.stringify(body.success), "application/json")
        )
      }
      const rawChat = http.execute(rawRequest(false)).pipe(Effect.flatMap((response) => response.text))
      const rawStream = http.execute(rawRequest(true)).pipe(Effect.flatMap((response) => Stream.runDrain(response.stream)))
      const adapterChat = client.chat(request)
      const adapterStream = Stream.runDrain(client.stream({ ...request, stream: true }))

      // Sanity: the calls do what is measured.
      const sample = yield* adapterChat
      if (sample.response.choices[0]?.message.content !== ANSWER) throw new Error("unexpected chat answer")
      const chunks = yield* Stream.runCount(client.stream(request))
      if (chunks < 200) throw new Error(`expected 200+ stream parts, got ${chunks}`)

      const c = yield* interleavedPairs(adapterChat, rawChat, { warmup: WARMUP_CHAT, rounds: ROUNDS, perRound: CHAT_PER_ROUND })
      const s = yield* interleavedPairs(adapterStream, rawStream, { warmup: WARMUP_STREAM, rounds: ROUNDS, perRound: STREAM_PER_ROUND })
      return [
        summarize(`chat, ${(ANSWER.length / 1024).toFixed(1)} KB answer: adapter`, c.a),
        summarize("chat: raw HttpClient, same bytes", c.r),
        summarize("chat: adapter overhead (paired difference)", c.diff),
        summarize("stream, 200 chunks: adapter", s.a),
        summarize("stream: raw HttpClient, same bytes", s.r),
        summarize("stream: adapter overhead (paired difference)", s.diff)
      ]
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
  )

if (import.meta.main) {
  console.log(table(await run()))
}

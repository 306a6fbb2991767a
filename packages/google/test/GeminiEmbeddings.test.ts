/**
 * The Gemini embeddings adapter against the mock: an OpenAI embeddings request becomes one
 * `batchEmbedContents` request per input, vectors come back in OpenAI's list (floats or
 * base64), token-id inputs are refused before any call, and Gemini's errors are `LlmError`s.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { Deployment } from "@llm-router/core"
import { Embeddings } from "@llm-router/core"
import { GeminiEmbeddings } from "@llm-router/google"
import { Effect, Redacted } from "effect"
import * as EmbeddingAnswers from "../../testing/src/upstream/EmbeddingAnswers.ts"
import * as GeminiUpstream from "../../testing/src/upstream/GeminiUpstream.ts"

const KEY = "AIzaSy-embeddings-test-key-0123456789"
const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(NodeHttpClient.layerUndici))
const deployment = (apiBase: string): Deployment.Deployment => ({
  id: "embed/gemini",
  group: "embed",
  provider: "gemini",
  model: "gemini-embedding-001",
  apiKey: Redacted.make(KEY),
  apiBase,
  tags: [],
  params: {},
  mode: "embedding"
})

describe("GeminiEmbeddings", () => {
  it.live("a batch becomes batchEmbedContents, dimensions outputDimensionality, and the vectors come back in order", () =>
    live(Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make()
      const client = yield* GeminiEmbeddings.make(deployment(mock.baseUrl))
      const { response, route } = yield* client.embed({ model: "embed", input: ["alpha", "beta gamma"], dimensions: 16 })
      const sent = mock.requests.at(-1)!
      assert.strictEqual(sent.path, "/v1beta/models/gemini-embedding-001:batchEmbedContents")
      assert.strictEqual(sent.headers["x-goog-api-key"], KEY)
      assert.deepStrictEqual(sent.body, {
        requests: ["alpha", "beta gamma"].map((text) => ({
          model: "models/gemini-embedding-001",
          content: { parts: [{ text }] },
          outputDimensionality: 16
        }))
      })
      assert.deepStrictEqual(response.data, [
        { object: "embedding", index: 0, embedding: EmbeddingAnswers.vectorOf("alpha", 16) },
        { object: "embedding", index: 1, embedding: EmbeddingAnswers.vectorOf("beta gamma", 16) }
      ])
      // Gemini reports no usage for embeddings: estimated from the input.
      assert.deepStrictEqual(response.usage, { prompt_tokens: 4, total_tokens: 4 })
      assert.strictEqual(route.usage?.prompt_tokens, 4)
      const base64 = yield* client.embed({ model: "embed", input: "alpha", dimensions: 16, encoding_format: "base64" })
      assert.deepStrictEqual(Embeddings.fromBase64(base64.response.data[0]!.embedding as string), EmbeddingAnswers.vectorOf("alpha", 16))
    })))

  it.live("token-id inputs are refused before any call; Gemini's errors map as for chat", () =>
    live(Effect.gen(function*() {
      const mock = yield* GeminiUpstream.make()
      const tokens = yield* Effect.flip((yield* GeminiEmbeddings.make(deployment(mock.baseUrl))).embed({ model: "embed", input: [1, 2, 3] }))
      assert.strictEqual(tokens._tag, "BadRequest")
      assert.strictEqual(mock.requests.length, 0)
      for (const [fault, tag] of [["rate-limit", "RateLimited"], ["server-error", "InternalServerError"], ["auth", "AuthenticationFailed"]] as const) {
        const error = yield* Effect.flip((yield* GeminiEmbeddings.make(deployment(mock.faultUrl(fault)))).embed({ model: "embed", input: "x" }))
        assert.strictEqual(error._tag, tag, fault)
        assert.notInclude(JSON.stringify(error), KEY)
      }
    })))
})

/**
 * The OpenAI embeddings adapter against the mock: the request OpenAI documents reaches it
 * (OpenAI and Azure paths), vectors come back as floats or base64 as asked, batches keep
 * their order, usage and cost are reported, and failures are the usual `LlmError`s.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Embeddings, WireJson } from "@llm-router/core"
import { OpenAiEmbeddings } from "@llm-router/openai"
import { Effect, Redacted } from "effect"
import * as EmbeddingAnswers from "../../testing/src/upstream/EmbeddingAnswers.ts"
import * as OpenAiUpstream from "../../testing/src/upstream/OpenAiUpstream.ts"
import { deployment, KEY, lastBody } from "./fixtures.ts"

const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(NodeHttpClient.layerUndici))
const small = (overrides = {}) => deployment({ id: "embed/openai", group: "embed", model: "text-embedding-3-small", mode: "embedding", ...overrides })
const ask = (overrides: Partial<Embeddings.EmbeddingRequest> = {}): Embeddings.EmbeddingRequest => ({ model: "embed", input: "hello world", ...overrides })

describe("OpenAiEmbeddings", () => {
  it.live("sends OpenAI's body to /v1/embeddings and answers floats with usage, route and cost", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAiEmbeddings.make(small({ apiBase: mock.baseUrl }))
      const { response, route } = yield* client.embed(ask({ dimensions: 8, user: "u-1", metadata: { tags: ["x"] } }))
      const sent = mock.requests.at(-1)!
      assert.strictEqual(sent.path, "/v1/embeddings")
      assert.strictEqual(sent.headers["authorization"], `Bearer ${KEY}`)
      assert.deepStrictEqual(lastBody(mock.requests), { model: "text-embedding-3-small", input: "hello world", dimensions: 8, user: "u-1" })
      assert.deepStrictEqual(response.data, [{ object: "embedding", index: 0, embedding: EmbeddingAnswers.vectorOf("hello world", 8) }])
      assert.deepStrictEqual(response.usage, { prompt_tokens: 3, total_tokens: 3 })
      assert.strictEqual(route.deployment, "embed/openai")
      assert.deepStrictEqual(route.usage, { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 })
      // text-embedding-3-small: $0.02 per million tokens.
      assert.closeTo(route.costUsd ?? -1, 3 * 0.02 / 1e6, 1e-15)
    })))

  it.live("an answer in the shape and encoding asked for keeps the upstream's text; a converted one does not", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAiEmbeddings.make(small({ apiBase: mock.baseUrl }))
      const { response } = yield* client.embed(ask({ dimensions: 4 }))
      // Exactly the mock's bytes (its answer as `EmbeddingAnswers` makes it), and the same meaning as the decoded answer.
      const text = WireJson.stringify(response)
      const answer = EmbeddingAnswers.openAiAnswer(lastBody(mock.requests), "text-embedding-3-small")
      assert.strictEqual(text, answer._tag === "Ok" ? JSON.stringify(answer.body) : "")
      assert.deepStrictEqual(JSON.parse(text), JSON.parse(JSON.stringify(response)))
      // Kept, not serialised again: the text comes from the map, not from the object (changed
      // here only to tell the two apart; answers are otherwise never changed).
      ;(response as { model: string }).model = "changed after the read"
      assert.strictEqual(WireJson.stringify(response), text)
      assert.notStrictEqual(JSON.stringify(response), text)
      // Floats asked for as base64 by a server that ignored it are converted, so not kept.
      const converted = Embeddings.encoded(response, "base64")!
      assert.notStrictEqual(converted, response)
      assert.strictEqual(WireJson.stringify(converted), JSON.stringify(converted))
    })))

  it.live("base64 stays base64 and decodes to the same floats; a batch keeps its order", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAiEmbeddings.make(small({ apiBase: mock.baseUrl }))
      const inputs = ["one", "two", "three"]
      const { response } = yield* client.embed(ask({ input: inputs, encoding_format: "base64" }))
      assert.strictEqual(lastBody(mock.requests)["encoding_format"], "base64")
      assert.deepStrictEqual(response.data.map((d) => d.index), [0, 1, 2])
      response.data.forEach((d, i) => {
        assert.isString(d.embedding)
        assert.deepStrictEqual(Embeddings.fromBase64(d.embedding as string), EmbeddingAnswers.vectorOf(inputs[i]!, 1536))
      })
    })))

  it.live("Azure deployments get the deployments path, api-version and api-key", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const client = yield* OpenAiEmbeddings.make(small({ provider: "azure", model: "my-embedder", apiBase: mock.origin, apiKey: Redacted.make("azure-key") }))
      const { response } = yield* client.embed(ask())
      const sent = mock.requests.at(-1)!
      assert.strictEqual(sent.path, "/openai/deployments/my-embedder/embeddings?api-version=2024-10-21")
      assert.strictEqual(sent.headers["api-key"], "azure-key")
      assert.lengthOf(response.data, 1)
    })))

  it.live("the upstream's refusals and faults are LlmErrors, without the key", () =>
    live(Effect.gen(function*() {
      const mock = yield* OpenAiUpstream.make()
      const refused = yield* Effect.flip((yield* OpenAiEmbeddings.make(small({ model: "text-embedding-ada-002", apiBase: mock.baseUrl }))).embed(ask({ dimensions: 8 })))
      assert.strictEqual(refused._tag, "BadRequest")
      assert.match(refused.message, /does not support specifying dimensions/)
      for (const [fault, tag] of [["rate-limit", "RateLimited"], ["auth", "AuthenticationFailed"], ["server-error", "InternalServerError"], ["malformed-json", "InternalServerError"], ["connection-refused", "ConnectionFailed"]] as const) {
        const error = yield* Effect.flip((yield* OpenAiEmbeddings.make(small({ apiBase: mock.faultUrl(fault) }))).embed(ask()))
        assert.strictEqual(error._tag, tag, fault)
        assert.notInclude(JSON.stringify(error), KEY)
      }
    })))
})

describe("Embeddings.encoded", () => {
  const floats = [0.5, -0.25, 1]
  const response = (embedding: ReadonlyArray<number> | string): Embeddings.EmbeddingResponse => ({
    object: "list",
    data: [{ object: "embedding", index: 0, embedding }],
    model: "m",
    usage: { prompt_tokens: 1, total_tokens: 1 }
  })
  it("turns floats a server sent despite base64 being asked for into base64, and back", () => {
    const asBase64 = Embeddings.encoded(response(floats), "base64")!
    assert.strictEqual(asBase64.data[0]!.embedding, Embeddings.toBase64(floats))
    assert.deepStrictEqual(Embeddings.encoded(asBase64, "float")!.data[0]!.embedding, floats)
    assert.deepStrictEqual(Embeddings.encoded(asBase64, undefined)!.data[0]!.embedding, floats)
    assert.isUndefined(Embeddings.encoded(response("not base64 of float32s!"), "float"))
  })
})

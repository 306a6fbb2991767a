/**
 * `POST /v1/embeddings` end to end: the official `openai` client (`embeddings.create`, float
 * and base64, `dimensions`, batches) and the AI SDK's `embed` / `embedMany` (`@ai-sdk/openai`)
 * against the gateway, in-process, routing embedding groups (`model_info.mode: embedding`) to
 * the OpenAI, Azure and Gemini mock upstreams; a failover from OpenAI to Gemini shows in the
 * route headers; bad input, and chat and embedding groups asked for each other's work, are
 * 400s in OpenAI's error shape. Also `GET /v1/models/{id}` and LiteLLM's health routes.
 */
import { assert, layer } from "@effect/vitest"
import { createOpenAI } from "@ai-sdk/openai"
import { embed, embedMany } from "ai"
import { Context, Effect, Layer } from "effect"
import type OpenAI from "openai"
import { BadRequestError, NotFoundError } from "openai"
import { GeminiUpstream, OpenAiUpstream } from "@llm-router/testing"
import * as InProcessGateway from "./InProcessGateway.ts"
import * as EmbeddingAnswers from "../packages/testing/src/upstream/EmbeddingAnswers.ts"

const MASTER_KEY = "sk-gateway-embeddings"

interface Env {
  readonly baseURL: string
  readonly client: OpenAI
  readonly openai: OpenAiUpstream.OpenAiUpstream
  readonly gemini: GeminiUpstream.GeminiUpstream
}
class TestEnv extends Context.Service<TestEnv, Env>()("test/gateway-embeddings/TestEnv") {}

const env = Layer.effect(TestEnv, Effect.gen(function*() {
  const openai = yield* OpenAiUpstream.make()
  const gemini = yield* GeminiUpstream.make()
  const started = yield* InProcessGateway.start(`
model_list:
  - model_name: embed
    litellm_params: { model: openai/text-embedding-3-small, api_base: "${openai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: embed-openai, mode: embedding }
  - model_name: embed-azure
    litellm_params: { model: azure/text-embedding-3-small, api_base: "${openai.origin}", api_key: azure-mock-key }
    model_info: { id: embed-azure, mode: embedding }
  - model_name: embed-gemini
    litellm_params: { model: gemini/gemini-embedding-001, api_base: "${gemini.baseUrl}", api_key: gemini-mock-key }
    model_info: { id: embed-gemini, mode: embedding }
  # OpenAI first (order 1) and down; Gemini (order 2) takes over.
  - model_name: embed-failover
    litellm_params: { model: openai/text-embedding-3-small, api_base: "${openai.faultUrl("server-error")}", api_key: sk-mock-openai, order: 1 }
    model_info: { id: failover-openai, mode: embedding }
  - model_name: embed-failover
    litellm_params: { model: gemini/gemini-embedding-001, api_base: "${gemini.baseUrl}", api_key: gemini-mock-key, order: 2 }
    model_info: { id: failover-gemini, mode: embedding }
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${openai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: chat-openai }
  - model_name: images
    litellm_params: { model: openai/dall-e-3, api_base: "${openai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: images-openai, mode: image_generation }
router_settings:
  num_retries: 1
  allowed_fails: 0
general_settings:
  master_key: ${MASTER_KEY}
`, MASTER_KEY)
  return { ...started, openai, gemini }
}).pipe(Effect.orDie))

/** The error a call fails with (the client's own class), or a test failure if it succeeds. */
const failure = <A>(promise: () => Promise<A>) =>
  Effect.promise(() => promise().then(() => assert.fail("expected the call to fail"), (error: unknown) => error))

const post = (baseURL: string, path: string, body: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(`${baseURL}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
    return { status: response.status, body: await response.json() as { error?: { message: string; type: string; param: string | null } } }
  })

layer(env, { excludeTestServices: true })("embeddings through the gateway", (it) => {
  it.effect("openai embeddings.create: floats, with usage and the route in the headers", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const { data, response } = yield* Effect.promise(() =>
        client.embeddings.create({ model: "embed", input: "hello world", encoding_format: "float" }).withResponse()
      )
      assert.strictEqual(data.object, "list")
      assert.deepStrictEqual(data.data[0]?.embedding, EmbeddingAnswers.vectorOf("hello world", 1536))
      assert.deepStrictEqual(data.usage, { prompt_tokens: 3, total_tokens: 3 })
      assert.strictEqual(response.headers.get("x-llm-router-model-group"), "embed")
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "embed-openai")
      assert.strictEqual(response.headers.get("x-llm-router-provider"), "openai")
      assert.strictEqual(response.headers.get("x-llm-router-attempts"), "1")
    }))

  it.effect("the SDK's default base64, dimensions and a batch, on OpenAI, Azure and Gemini", () =>
    Effect.gen(function*() {
      const { client, openai } = yield* TestEnv
      const inputs = ["first", "second", "third"]
      for (const model of ["embed", "embed-azure", "embed-gemini"]) {
        // No encoding_format: the SDK asks for base64 and decodes it.
        const { data, response } = yield* Effect.promise(() => client.embeddings.create({ model, input: inputs, dimensions: 64 }).withResponse())
        assert.deepStrictEqual(data.data.map((d) => d.index), [0, 1, 2], model)
        data.data.forEach((d, i) => assert.deepStrictEqual(d.embedding, EmbeddingAnswers.vectorOf(inputs[i]!, 64), model))
        assert.strictEqual(response.headers.get("x-llm-router-model-group"), model)
      }
      const azure = openai.requests.findLast((r) => r.path.includes("/openai/deployments/"))
      assert.strictEqual(azure?.path, "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21")
      assert.strictEqual((azure?.body as Record<string, unknown>)["encoding_format"], "base64")
    }))

  it.effect("an OpenAI outage fails over to Gemini, and the route headers say so", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const { data, response } = yield* Effect.promise(() =>
        client.embeddings.create({ model: "embed-failover", input: "failover", dimensions: 32, encoding_format: "float" }).withResponse()
      )
      assert.deepStrictEqual(data.data[0]?.embedding, EmbeddingAnswers.vectorOf("failover", 32))
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "failover-gemini")
      assert.strictEqual(response.headers.get("x-llm-router-provider"), "gemini")
      assert.strictEqual(response.headers.get("x-llm-router-attempts"), "2")
    }))

  it.effect("the AI SDK's embed and embedMany (@ai-sdk/openai)", () =>
    Effect.gen(function*() {
      const { baseURL } = yield* TestEnv
      const provider = createOpenAI({ baseURL, apiKey: MASTER_KEY })
      const one = yield* Effect.promise(() => embed({ model: provider.embedding("embed"), value: "sunny day", maxRetries: 0 }))
      assert.deepStrictEqual(one.embedding, EmbeddingAnswers.vectorOf("sunny day", 1536))
      assert.strictEqual(one.usage.tokens, 3)
      const many = yield* Effect.promise(() => embedMany({ model: provider.embedding("embed-gemini"), values: ["a", "b"], maxRetries: 0 }))
      assert.deepStrictEqual(many.embeddings, [EmbeddingAnswers.vectorOf("a", 3072), EmbeddingAnswers.vectorOf("b", 3072)])
    }))

  it.effect("bad input is a 400 in OpenAI's error shape, naming the field", () =>
    Effect.gen(function*() {
      const { baseURL, client, openai } = yield* TestEnv
      const before = openai.requests.length
      for (const [body, param] of [
        [{ model: "embed" }, "input"],
        [{ model: "embed", input: "" }, "input"],
        [{ model: "embed", input: [] }, "input"],
        [{ model: "embed", input: "x", dimensions: 0 }, "dimensions"],
        [{ model: "embed", input: "x", encoding_format: "hex" }, "encoding_format"],
        [{ input: "x" }, "model"]
      ] as const) {
        const { status, body: answer } = yield* post(baseURL, "/embeddings", body)
        assert.strictEqual(status, 400, JSON.stringify(body))
        assert.strictEqual(answer.error?.type, "invalid_request_error")
        assert.strictEqual(answer.error?.param, param, JSON.stringify(body))
      }
      const notJson = yield* post(baseURL, "/embeddings", "{not json")
      assert.strictEqual(notJson.status, 400)
      assert.strictEqual(openai.requests.length, before, "nothing reached a provider")
      // The official client raises its own class for them.
      const error = yield* failure(() => client.embeddings.create({ model: "embed", input: "" }))
      assert.instanceOf(error, BadRequestError)
      const unknown = yield* failure(() => client.embeddings.create({ model: "no-such-group", input: "x" }))
      assert.instanceOf(unknown, NotFoundError)
    }))

  it.effect("a chat group asked for embeddings, and an embedding group asked to chat, are clear 400s", () =>
    Effect.gen(function*() {
      const { client, openai } = yield* TestEnv
      const before = openai.requests.length
      const chatGroup = yield* failure(() => client.embeddings.create({ model: "gpt-4o", input: "x" }))
      assert.instanceOf(chatGroup, BadRequestError)
      assert.match((chatGroup as BadRequestError).message, /"gpt-4o" is a chat model group/)
      assert.strictEqual((chatGroup as BadRequestError).param, "model")
      const embeddingGroup = yield* failure(() => client.chat.completions.create({ model: "embed", messages: [{ role: "user", content: "hi" }] }))
      assert.instanceOf(embeddingGroup, BadRequestError)
      assert.match((embeddingGroup as BadRequestError).message, /"embed" is an embedding model group/)
      const streamed = yield* failure(() => client.chat.completions.create({ model: "embed", messages: [{ role: "user", content: "hi" }], stream: true }))
      assert.instanceOf(streamed, BadRequestError)
      const images = yield* failure(() => client.chat.completions.create({ model: "images", messages: [{ role: "user", content: "hi" }] }))
      assert.match((images as BadRequestError).message, /"images" is an image_generation model group/)
      assert.strictEqual(openai.requests.length, before, "nothing reached a provider")
    }))

  it.effect("GET /v1/models/{id}, and LiteLLM's /health/liveliness and /health", () =>
    Effect.gen(function*() {
      const { baseURL, client } = yield* TestEnv
      const model = yield* Effect.promise(() => client.models.retrieve("embed"))
      assert.strictEqual(model.id, "embed")
      assert.strictEqual(model.object, "model")
      const missing = yield* failure(() => client.models.retrieve("nope"))
      assert.instanceOf(missing, NotFoundError)
      const root = baseURL.replace(/\/v1$/, "")
      const liveliness = yield* Effect.promise(() => fetch(`${root}/health/liveliness`))
      assert.strictEqual(liveliness.status, 200)
      const health = yield* Effect.promise(async () => {
        const response = await fetch(`${root}/health`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })
        return { status: response.status, body: await response.json() as { healthy_count: number; unhealthy_count: number; healthy_endpoints: Array<{ model_id: string }> } }
      })
      assert.strictEqual(health.status, 200)
      assert.strictEqual(health.body.healthy_count + health.body.unhealthy_count, 7)
      assert.isTrue(health.body.healthy_endpoints.some((e) => e.model_id === "embed-openai"))
      const unauthenticated = yield* Effect.promise(() => fetch(`${root}/health`))
      assert.strictEqual(unauthenticated.status, 401)
    }))
})

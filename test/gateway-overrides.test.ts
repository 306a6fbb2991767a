/**
 * LiteLLM's per-request routing overrides through the gateway with the official `openai`
 * client (body fields beside the standard ones, as `extra_body` sends them): `num_retries`,
 * `fallbacks`, `disable_fallbacks`, `mock_response`, `timeout`. None reaches the provider.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import OpenAI, { BadRequestError, InternalServerError } from "openai"
import { Gateway, GatewayConfig, Providers } from "@llm-router/server"
import { OpenAiUpstream } from "@llm-router/testing"

interface Env {
  readonly client: OpenAI
  readonly healthy: OpenAiUpstream.OpenAiUpstream
  readonly broken: OpenAiUpstream.OpenAiUpstream
}
class TestEnv extends Context.Service<TestEnv, Env>()("test/gateway-overrides/TestEnv") {}

const env = Layer.effect(TestEnv, Effect.gen(function*() {
  const healthy = yield* OpenAiUpstream.make()
  const broken = yield* OpenAiUpstream.make()
  const config = yield* GatewayConfig.parse(`
model_list:
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o, api_base: "${broken.faultUrl("server-error")}", api_key: sk-mock }
    model_info: { id: gpt-broken }
  - model_name: backup
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${healthy.baseUrl}", api_key: sk-mock }
    model_info: { id: backup-1 }
  - model_name: other
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${healthy.baseUrl}", api_key: sk-mock }
    model_info: { id: other-1 }
router_settings:
  num_retries: 2
  allowed_fails: 100
  retry_after: 0
  fallbacks: [{ gpt: [backup] }]
`, { knownProviders: Providers.builtin.known })
  const context = yield* Layer.build(
    Gateway.layer({ config, clientFor: Providers.builtin.clientFor, port: 0, maxRequestBytes: 1024 * 1024 }).pipe(
      Layer.provide(Providers.layerHttpClient)
    )
  )
  const address = Context.get(context, HttpServer.HttpServer).address
  const baseURL = `http://127.0.0.1:${address._tag === "UnixPathAddress" ? 0 : address.port}/v1`
  return { client: new OpenAI({ baseURL, apiKey: "none", maxRetries: 0 }), healthy, broken }
}).pipe(Effect.orDie))

const messages = [{ role: "user" as const, content: "Say hello" }]
/** LiteLLM's fields beside the standard ones, typed loosely as `extra_body` would be. */
const create = (client: OpenAI, fields: Record<string, unknown>) =>
  client.chat.completions.create({ model: "gpt", messages, ...fields } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse()
const overrideKeys = ["num_retries", "timeout", "fallbacks", "disable_fallbacks", "mock_response"]

layer(env, { excludeTestServices: true })("routing overrides in the request body", (it) => {
  it.effect("num_retries: 0 makes one attempt; fallbacks pick the chain; neither reaches a provider", () =>
    Effect.gen(function*() {
      const { client, healthy, broken } = yield* TestEnv
      healthy.clear()
      broken.clear()
      const { data, response } = yield* Effect.promise(() => create(client, { num_retries: 0, fallbacks: ["other"] }))
      assert.include(data.choices[0]?.message.content ?? "", "Hello from the mock.")
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "other-1")
      assert.strictEqual(broken.requests.length, 1)
      for (const recorded of [...broken.requests, ...healthy.requests]) {
        for (const key of overrideKeys) assert.notProperty(recorded.body as object, key)
      }
    }))

  it.effect("disable_fallbacks: the group's own error, after its retries", () =>
    Effect.gen(function*() {
      const { client, healthy, broken } = yield* TestEnv
      healthy.clear()
      broken.clear()
      const error = yield* Effect.promise(() => create(client, { disable_fallbacks: true }).then(() => undefined, (e: unknown) => e))
      assert.instanceOf(error, InternalServerError)
      assert.strictEqual(broken.requests.length, 3)
      assert.strictEqual(healthy.requests.length, 0)
    }))

  it.effect("mock_response answers without calling any provider", () =>
    Effect.gen(function*() {
      const { client, healthy, broken } = yield* TestEnv
      healthy.clear()
      broken.clear()
      const { data } = yield* Effect.promise(() => create(client, { mock_response: "Mocked, no call." }))
      assert.strictEqual(data.choices[0]?.message.content, "Mocked, no call.")
      const stream = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "gpt", messages, stream: true, mock_response: "Streamed mock." } as OpenAI.ChatCompletionCreateParamsStreaming)
      )
      let text = ""
      yield* Effect.promise(async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
      })
      assert.strictEqual(text, "Streamed mock.")
      assert.strictEqual(broken.requests.length + healthy.requests.length, 0)
    }))

  it.effect("a malformed override is a 400 naming the field", () =>
    Effect.gen(function*() {
      const { client } = yield* TestEnv
      const error = yield* Effect.promise(() => create(client, { num_retries: "many" }).then(() => undefined, (e: unknown) => e))
      assert.instanceOf(error, BadRequestError)
      assert.strictEqual((error as BadRequestError).param, "num_retries")
    }))
})

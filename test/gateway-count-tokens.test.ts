/**
 * `POST /v1/messages/count_tokens` is a side call, not a completion: counted by a Claude
 * deployment (exactly) or by the gateway's estimate, it spends no deployment's rpm, and a group
 * whose deployments are all cooling still answers it (the estimate), never a 429. Claude Code
 * counts before many of its messages: these must not steer routing.
 */
import Anthropic from "@anthropic-ai/sdk"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as GatewayUnderTest from "./GatewayUnderTest.ts"

const MASTER_KEY = "sk-gateway-count-tokens-master"

interface Env extends GatewayUnderTest.Upstreams {
  readonly client: Anthropic
}
class TestEnv extends Context.Service<TestEnv, Env>()("test/gateway-count-tokens/TestEnv") {}

const env = Layer.effect(TestEnv, Effect.gen(function*() {
  const mocks = yield* GatewayUnderTest.upstreams
  const { openai, anthropic } = mocks
  const yaml = `
model_list:
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o, api_base: "${openai.baseUrl}", api_key: sk-mock-openai, rpm: 2 }
    model_info: { id: gpt-limited }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.baseUrl}", api_key: sk-ant-mock, rpm: 2 }
    model_info: { id: claude-limited }
  # Claude answers every call with a 429: the first message cools the deployment.
  - model_name: cooling
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.faultUrl("rate-limit")}", api_key: sk-ant-mock }
    model_info: { id: cooling-claude }
router_settings:
  routing_strategy: usage-based-routing-v2
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`
  const origin = yield* GatewayUnderTest.start(yaml)
  return { client: new Anthropic({ baseURL: origin, apiKey: MASTER_KEY, maxRetries: 0 }), ...mocks }
}).pipe(Effect.orDie))

const ask = { messages: [{ role: "user" as const, content: "How many tokens is this?" }] }

layer(env, { excludeTestServices: true })("count_tokens through the gateway", (it) => {
  it.effect("spends no rpm: a deployment at rpm 2 serves two messages after three counts, estimated or exact", () =>
    Effect.gen(function*() {
      const { client, anthropic } = yield* TestEnv
      for (const model of ["gpt", "claude"]) {
        for (let i = 0; i < 3; i++) {
          const counted = yield* Effect.promise(() => client.messages.countTokens({ model, ...ask }).withResponse())
          assert.isAbove(counted.data.input_tokens, 0)
          // Claude counted exactly and says so; GPT's is the gateway's estimate, counted by no deployment.
          assert.strictEqual(counted.response.headers.get("x-llm-router-deployment"), model === "claude" ? "claude-limited" : null)
        }
        for (let i = 0; i < 2; i++) {
          const { response } = yield* Effect.promise(() => client.messages.create({ model, max_tokens: 16, ...ask }).withResponse())
          assert.strictEqual(response.status, 200, `message ${i + 1} to ${model}`)
        }
      }
      assert.strictEqual(anthropic.requests.filter((r) => r.path === "/v1/messages/count_tokens").length, 3)
    }))

  it.effect("answers the estimate for a group whose every deployment is cooling, without calling it", () =>
    Effect.gen(function*() {
      const { client, anthropic } = yield* TestEnv
      const refused = yield* GatewayUnderTest.failure(() => client.messages.create({ model: "cooling", max_tokens: 16, ...ask }))
      assert.instanceOf(refused, Anthropic.RateLimitError)
      const calls = anthropic.requests.length
      const counted = yield* Effect.promise(() => client.messages.countTokens({ model: "cooling", ...ask }).withResponse())
      assert.strictEqual(counted.response.status, 200)
      assert.isAbove(counted.data.input_tokens, 0)
      assert.isNull(counted.response.headers.get("x-llm-router-deployment"))
      assert.strictEqual(anthropic.requests.length, calls, "the cooling deployment was not asked")
    }))
})

/**
 * The router with the real provider adapters over the HTTP mock upstreams: an OpenAI outage
 * fails over to Anthropic (chat and stream), and a Gemini 429 cools its deployment down for
 * exactly the `RetryInfo.retryDelay` it carried (longer than `cooldown_time`), then heals.
 * Runs on TestClock (the router never sleeps here: `num_retries` 0, or a healthy sibling
 * takes the retry), so cooldown instants are exact; the sockets are real.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Anthropic } from "@llm-router/anthropic"
import type { Deployment, LlmClient } from "@llm-router/core"
import { Chat, Router, RouterConfig, RouterState } from "@llm-router/core"
import { Google } from "@llm-router/google"
import { OpenAi } from "@llm-router/openai"
import { Clock, Effect, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import { AnthropicUpstream, GeminiUpstream, OpenAiUpstream } from "@llm-router/testing"

/** Each deployment gets the adapter of its provider. */
const clientFor = (deployment: Deployment.Deployment) => {
  if (OpenAi.providers.includes(deployment.provider)) return OpenAi.make(deployment)
  if (Anthropic.providers.includes(deployment.provider)) return Anthropic.make(deployment)
  if (Google.providers.includes(deployment.provider)) return Google.make(deployment)
  return Effect.die(`no adapter for provider ${deployment.provider}`)
}

const Env = Layer.mergeAll(NodeHttpClient.layerUndici, RouterState.layerMemory)

const ask = (model: string): Chat.ChatRequest => ({ model, messages: [{ role: "user", content: "Hello?" }] })

describe("provider failover through the router", () => {
  it.effect("an OpenAI outage fails over to Anthropic, for chat and for streams", () =>
    Effect.gen(function*() {
      const openai = yield* OpenAiUpstream.make()
      const anthropic = yield* AnthropicUpstream.make({ text: "Claude answers." })
      openai.setFault("overloaded")
      const config = yield* RouterConfig.decode({
        model_list: [
          { model_name: "gpt", litellm_params: { model: "openai/gpt-4o", api_base: openai.baseUrl, api_key: "sk-openai" }, model_info: { id: "openai-main" } },
          {
            model_name: "claude",
            litellm_params: { model: "anthropic/claude-sonnet-4-5", api_base: anthropic.baseUrl, api_key: "sk-ant" },
            model_info: { id: "anthropic-main" }
          }
        ],
        fallbacks: [{ gpt: ["claude"] }],
        num_retries: 0
      })
      const router = yield* Router.make(config, clientFor)

      const { response, route } = yield* router.chat(ask("gpt"))
      assert.strictEqual(response.choices[0]!.message.content, "Claude answers.")
      assert.strictEqual(route.group, "gpt")
      assert.strictEqual(route.servedBy, "claude")
      assert.strictEqual(route.deployment, "anthropic-main")
      assert.strictEqual(route.provider, "anthropic")
      assert.deepStrictEqual(route.fallbacks, ["claude"])
      assert.strictEqual(route.attempts, 2)
      assert.strictEqual(openai.requests.length, 1)
      assert.strictEqual(anthropic.requests.length, 1)

      const parts: ReadonlyArray<LlmClient.StreamPart> = yield* Stream.runCollect(router.stream({ ...ask("gpt"), stream: true }))
      const chunks = parts.flatMap((p) => (p._tag === "Chunk" ? [p.chunk] : []))
      assert.strictEqual(Chat.collectChunks(chunks).choices[0]!.message.content, "Claude answers.")
      const done = parts[parts.length - 1]!
      assert.isTrue(done._tag === "Done" && done.route.servedBy === "claude" && done.route.provider === "anthropic")
      assert.strictEqual(openai.requests.length, 2)
      assert.strictEqual(anthropic.requests.length, 2)

      // Healed, the primary serves again.
      openai.setFault(undefined)
      const healed = yield* router.chat(ask("gpt"))
      assert.strictEqual(healed.route.deployment, "openai-main")
      assert.deepStrictEqual(healed.route.fallbacks, [])
    }).pipe(Effect.provide(Env)))

  it.effect("a Gemini 429 cools its deployment for RetryInfo.retryDelay, not cooldown_time", () =>
    Effect.gen(function*() {
      const gemini = yield* GeminiUpstream.make({ retryDelay: "42s" })
      const config = yield* RouterConfig.decode({
        model_list: [
          {
            model_name: "flash",
            litellm_params: { model: "gemini/gemini-2.5-flash", api_base: gemini.faultUrl("rate-limit"), api_key: "gemini-key", order: 1 },
            model_info: { id: "gemini-limited" }
          },
          {
            model_name: "flash",
            litellm_params: { model: "gemini/gemini-2.5-flash", api_base: gemini.baseUrl, api_key: "gemini-key", order: 2 },
            model_info: { id: "gemini-healthy" }
          }
        ],
        num_retries: 1,
        cooldown_time: 1
      })
      const router = yield* Router.make(config, clientFor)
      const state = yield* RouterState.RouterState
      const limitedCalls = () => gemini.requests.filter((r) => r.path.startsWith("/fault/rate-limit/")).length

      const start = yield* Clock.currentTimeMillis
      const first = yield* router.chat(ask("flash"))
      // The preferred deployment answered 429; its sibling took the retry at once.
      assert.strictEqual(first.route.deployment, "gemini-healthy")
      assert.strictEqual(first.route.attempts, 2)
      assert.strictEqual(limitedCalls(), 1)
      assert.deepStrictEqual(yield* state.cooldowns, [{ deployment: "gemini-limited", until: start + 42_000, reason: "RateLimited" }])

      // Still cooling 1 ms before the delay ends: the preferred deployment is skipped.
      yield* TestClock.adjust("41999 millis")
      const during = yield* router.chat(ask("flash"))
      assert.strictEqual(during.route.deployment, "gemini-healthy")
      assert.strictEqual(during.route.attempts, 1)
      assert.strictEqual(limitedCalls(), 1)

      // At the delay's end it is back in rotation (and, still limited, cools again for 42 s).
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* state.cooldowns, [])
      const after = yield* router.chat(ask("flash"))
      assert.strictEqual(limitedCalls(), 2)
      assert.strictEqual(after.route.deployment, "gemini-healthy")
      assert.deepStrictEqual(yield* state.cooldowns, [{ deployment: "gemini-limited", until: start + 84_000, reason: "RateLimited" }])
    }).pipe(Effect.provide(Env)))
})

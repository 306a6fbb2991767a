/**
 * Config decoding: LiteLLM's names accepted as written and resolved into milliseconds and
 * maps; every bad input refused with a `RouterConfigError` that names the field path.
 */
import { assert, describe, it } from "@effect/vitest"
import { RouterConfig } from "@llm-router/core"
import { Effect, Redacted } from "effect"

const gpt = { model_name: "gpt", litellm_params: { model: "openai/gpt-4o" } }
const claude = { model_name: "claude", litellm_params: { model: "anthropic/claude-sonnet-4-5" } }

/** The issues of a config that must be refused. */
const refused = (input: unknown) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(RouterConfig.decode(input))
    assert.strictEqual(error._tag, "RouterConfigError")
    for (const issue of error.issues) assert.include(error.message, issue.path || "(root)")
    return error.issues
  })

const hasIssue = (issues: ReadonlyArray<RouterConfig.ConfigIssue>, path: string, fragment?: string) =>
  assert.isTrue(
    issues.some((i) => i.path === path && (fragment === undefined || i.message.includes(fragment))),
    `no issue at ${path}${fragment ? ` mentioning "${fragment}"` : ""}: ${JSON.stringify(issues)}`
  )

describe("RouterConfig.decode", () => {
  it.effect("refuses unknown keys with their path; litellm_params and model_info take any", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RouterConfig.decode({
        model_list: [
          { model_name: "gpt", litellm_params: { model: "openai/gpt-4o", extra_headers: { a: "b" } }, model_info: { mode: "chat" }, modle_info: {} }
        ],
        num_retry: 3,
        redis_host: "localhost"
      }))
      assert.deepStrictEqual(
        error.issues.map((i) => [i.path, i.message]),
        [["num_retry", "unknown key"], ["redis_host", "unknown key"], ["model_list[0].modle_info", "unknown key"]]
      )
    }))

  it.effect("accepts a LiteLLM config as written", () =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({
        model_list: [
          {
            model_name: "gpt",
            litellm_params: {
              model: "azure/gpt-4o-eu",
              api_key: "sk-secret",
              api_base: "https://eu.example",
              api_version: "2024-10-21",
              weight: 2,
              order: 1,
              timeout: 30,
              stream_timeout: 5,
              cooldown_time: 12,
              tags: ["eu"],
              max_input_tokens: 1000,
              extra_headers: { "x-team": "a" }
            },
            model_info: { id: "eu-1", input_cost_per_token: 1e-6, output_cost_per_token: 2e-6, base_model: "gpt-4o", supports_reasoning: false }
          },
          { model_name: "gpt", litellm_params: { model: "gpt-4o" }, rpm: 600, tpm: 100_000 },
          claude
        ],
        routing_strategy: "least-busy",
        num_retries: 4,
        allowed_fails: 1,
        allowed_fails_policy: { RateLimitErrorAllowedFails: 7, TimeoutErrorAllowedFails: 0 },
        cooldown_time: 2.5,
        disable_cooldowns: false,
        retry_after: 1,
        fallbacks: [{ gpt: ["claude"] }],
        context_window_fallbacks: [{ gpt: ["claude"] }],
        content_policy_fallbacks: [{ claude: ["gpt"] }],
        default_fallbacks: ["claude"],
        max_fallbacks: 3,
        timeout: 20,
        stream_timeout: 4,
        stream_idle_timeout: 9,
        enable_pre_call_checks: false,
        model_group_alias: { fast: "gpt", secret: { model: "claude", hidden: true } },
        stream_failure_policy: "restart",
        max_retry_after: 10
      })
      const [eu, plain, anthropic] = config.deployments
      assert.strictEqual(eu?.id, "eu-1")
      assert.strictEqual(eu?.group, "gpt")
      assert.strictEqual(eu?.provider, "azure")
      assert.strictEqual(eu?.model, "gpt-4o-eu")
      assert.strictEqual(Redacted.value(eu!.apiKey!), "sk-secret")
      assert.notInclude(String(eu?.apiKey), "sk-secret")
      assert.strictEqual(eu?.apiBase, "https://eu.example")
      assert.strictEqual(eu?.apiVersion, "2024-10-21")
      assert.strictEqual(eu?.baseModel, "gpt-4o")
      assert.strictEqual(eu?.supportsReasoning, false)
      assert.notProperty(plain, "baseModel")
      assert.strictEqual(eu?.weight, 2)
      assert.strictEqual(eu?.order, 1)
      assert.strictEqual(eu?.timeoutMs, 30_000)
      assert.strictEqual(eu?.streamTimeoutMs, 5000)
      assert.strictEqual(eu?.cooldownMs, 12_000)
      assert.deepStrictEqual(eu?.tags, ["eu"])
      assert.strictEqual(eu?.maxInputTokens, 1000)
      assert.strictEqual(eu?.inputCostPerToken, 1e-6)
      assert.deepStrictEqual(eu?.params, { extra_headers: { "x-team": "a" } })
      // No id: derived from the entry; a bare model name is OpenAI's; top-level rpm/tpm are copied.
      assert.strictEqual(plain?.id, "gpt/gpt-4o")
      assert.strictEqual(plain?.provider, "openai")
      assert.strictEqual(plain?.rpm, 600)
      assert.strictEqual(plain?.tpm, 100_000)
      assert.strictEqual(plain?.maxInputTokens, 128_000, "context window from the model catalog")
      assert.strictEqual(anthropic?.provider, "anthropic")

      const s = config.settings
      assert.strictEqual(s.routingStrategy, "least-busy")
      assert.strictEqual(s.numRetries, 4)
      assert.strictEqual(s.allowedFails, 1)
      assert.strictEqual(s.allowedFailsByTag.RateLimited, 7)
      assert.strictEqual(s.allowedFailsByTag.Timeout, 0)
      assert.isUndefined(s.allowedFailsByTag.InternalServerError)
      assert.strictEqual(s.cooldownMs, 2500)
      assert.strictEqual(s.minRetryDelayMs, 1000)
      assert.strictEqual(s.maxRetryAfterMs, 10_000)
      assert.deepStrictEqual(s.fallbacks.get("gpt"), ["claude"])
      assert.deepStrictEqual(s.contextWindowFallbacks.get("gpt"), ["claude"])
      assert.deepStrictEqual(s.contentPolicyFallbacks.get("claude"), ["gpt"])
      assert.deepStrictEqual(s.defaultFallbacks, ["claude"])
      assert.strictEqual(s.maxFallbacks, 3)
      assert.strictEqual(s.timeoutMs, 20_000)
      assert.strictEqual(s.streamTimeoutMs, 4000)
      assert.strictEqual(s.streamIdleTimeoutMs, 9000)
      assert.isFalse(s.enablePreCallChecks)
      assert.deepStrictEqual(s.aliases.get("fast"), { group: "gpt", hidden: false })
      assert.deepStrictEqual(s.aliases.get("secret"), { group: "claude", hidden: true })
      assert.strictEqual(s.streamFailurePolicy, "restart")
    }))

  it.effect("fills LiteLLM's defaults", () =>
    Effect.gen(function*() {
      const { settings } = yield* RouterConfig.decode({ model_list: [gpt] })
      assert.strictEqual(settings.routingStrategy, "simple-shuffle")
      assert.strictEqual(settings.numRetries, 2)
      assert.strictEqual(settings.allowedFails, 3)
      assert.strictEqual(settings.cooldownMs, 5000)
      assert.strictEqual(settings.maxFallbacks, 5)
      assert.strictEqual(settings.timeoutMs, 600_000)
      assert.strictEqual(settings.maxRetryAfterMs, 60_000)
      assert.strictEqual(settings.streamFailurePolicy, "fail")
      assert.isTrue(settings.enablePreCallChecks)
      assert.isFalse(settings.disableCooldowns)
    }))

  it.effect("numbers duplicate derived ids, and takes '*' in fallbacks as the default chain", () =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({ model_list: [gpt, gpt, gpt, claude], fallbacks: [{ "*": ["claude"] }] })
      assert.deepStrictEqual(config.deployments.map((d) => d.id), [
        "gpt/openai/gpt-4o",
        "gpt/openai/gpt-4o#2",
        "gpt/openai/gpt-4o#3",
        "claude/anthropic/claude-sonnet-4-5"
      ])
      assert.deepStrictEqual(config.settings.defaultFallbacks, ["claude"])
    }))

  it.effect("refuses absurd numbers, naming the field", () =>
    Effect.gen(function*() {
      hasIssue(yield* refused({ model_list: [gpt], num_retries: -1 }), "num_retries")
      hasIssue(yield* refused({ model_list: [gpt], num_retries: 1e9 }), "num_retries")
      hasIssue(yield* refused({ model_list: [gpt], num_retries: 1.5 }), "num_retries")
      hasIssue(yield* refused({ model_list: [gpt], timeout: 0 }), "timeout")
      hasIssue(yield* refused({ model_list: [gpt], timeout: -5 }), "timeout")
      hasIssue(yield* refused({ model_list: [gpt], stream_timeout: 1e9 }), "stream_timeout")
      hasIssue(yield* refused({ model_list: [gpt], cooldown_time: -1 }), "cooldown_time")
      hasIssue(yield* refused({ model_list: [gpt], allowed_fails: -2 }), "allowed_fails")
      hasIssue(yield* refused({ model_list: [gpt], max_fallbacks: 1000 }), "max_fallbacks")
      hasIssue(yield* refused({ model_list: [gpt], timeout: Number.NaN }), "timeout")
      hasIssue(
        yield* refused({ model_list: [gpt, { model_name: "gpt", litellm_params: { model: "openai/b", weight: -1 } }] }),
        "model_list[1].litellm_params.weight"
      )
      hasIssue(
        yield* refused({ model_list: [{ model_name: "gpt", litellm_params: { model: "openai/b", timeout: 0 } }] }),
        "model_list[0].litellm_params.timeout"
      )
    }))

  it.effect("refuses wrong types and missing fields", () =>
    Effect.gen(function*() {
      hasIssue(yield* refused({ model_list: [gpt], num_retries: "3" }), "num_retries", "number")
      hasIssue(yield* refused({ model_list: [gpt], disable_cooldowns: "yes" }), "disable_cooldowns")
      hasIssue(yield* refused({ model_list: [gpt], routing_strategy: "round-robin" }), "routing_strategy", "simple-shuffle")
      hasIssue(yield* refused({ model_list: [gpt], fallbacks: { gpt: ["claude"] } }), "fallbacks")
      hasIssue(yield* refused({ model_list: [gpt], stream_failure_policy: "retry" }), "stream_failure_policy")
      hasIssue(yield* refused({ model_list: [{ model_name: "gpt", litellm_params: {} }] }), "model_list[0].litellm_params.model")
      hasIssue(yield* refused({ model_list: [{ model_name: "", litellm_params: { model: "x" } }] }), "model_list[0].model_name")
      hasIssue(yield* refused({ model_list: [gpt], allowed_fails_policy: { RateLimitErrorAllowedFails: "1" } }), "allowed_fails_policy.RateLimitErrorAllowedFails")
      hasIssue(yield* refused({ model_list: [gpt], allowed_fails_policy: { RateLimitAllowedFails: 1 } }), "allowed_fails_policy.RateLimitAllowedFails", "unknown")
      // Names on Object.prototype are unknown keys too, not a crash.
      hasIssue(yield* refused({ model_list: [gpt], allowed_fails_policy: { constructor: 1 } }), "allowed_fails_policy.constructor", "unknown")
      hasIssue(yield* refused({}), "model_list")
      hasIssue(yield* refused("model_list: []"), "")
    }))

  it.effect("refuses an empty model_list", () =>
    Effect.gen(function*() {
      hasIssue(yield* refused({ model_list: [] }), "model_list")
    }))

  it.effect("refuses references to groups that do not exist", () =>
    Effect.gen(function*() {
      const issues = yield* refused({
        model_list: [gpt, claude],
        fallbacks: [{ gpt: ["claude", "gemini"] }, { nope: ["gpt"] }],
        context_window_fallbacks: [{ gpt: ["big"] }],
        content_policy_fallbacks: [{ gpt: ["gpt"] }],
        default_fallbacks: ["missing"],
        model_group_alias: { fast: "turbo" }
      })
      hasIssue(issues, "fallbacks[0].gpt[1]", "gemini")
      hasIssue(issues, "fallbacks[1].nope", "nope")
      hasIssue(issues, "context_window_fallbacks[0].gpt[0]", "big")
      hasIssue(issues, "content_policy_fallbacks[0].gpt[0]", "itself")
      hasIssue(issues, "default_fallbacks[0]", "missing")
      hasIssue(issues, "model_group_alias.fast", "turbo")
      assert.strictEqual(issues.length, 6, "every problem reported at once")
    }))

  it.effect("refuses duplicate explicit ids", () =>
    Effect.gen(function*() {
      const entry = (model: string) => ({ model_name: "gpt", litellm_params: { model }, model_info: { id: "same" } })
      hasIssue(yield* refused({ model_list: [entry("a"), entry("b")] }), "model_list[1].model_info.id", "duplicate")
    }))

  it.effect("a chain may name aliases on either side; the resolved chains name groups", () =>
    Effect.gen(function*() {
      const llama = { model_name: "llama", litellm_params: { model: "groq/llama-3.3-70b-versatile" } }
      const config = yield* RouterConfig.decode({
        model_list: [gpt, claude, llama],
        model_group_alias: { c: "claude", g: "gpt" },
        fallbacks: [{ g: ["c", "llama"] }],
        context_window_fallbacks: [{ llama: ["c"] }],
        default_fallbacks: ["c"]
      })
      assert.deepStrictEqual(config.settings.fallbacks.get("gpt"), ["claude", "llama"])
      assert.deepStrictEqual(config.settings.contextWindowFallbacks.get("llama"), ["claude"])
      assert.deepStrictEqual(config.settings.defaultFallbacks, ["claude"])
    }))
})

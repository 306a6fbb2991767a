import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as GatewayConfig from "../src/GatewayConfig.ts"
import * as RoutingTable from "../src/RoutingTable.ts"

const knownProviders = ["openai", "anthropic", "gemini"]
const env = (vars: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromEnv({ env: vars }))
const parse = (yaml: string, vars: Record<string, string> = {}) =>
  GatewayConfig.parse(yaml, { knownProviders }).pipe(Effect.provide(env(vars)))
const problems = (yaml: string, vars: Record<string, string> = {}) =>
  Effect.map(Effect.flip(parse(yaml, vars)), (error) => error.issues)

const litellm = `
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      api_base: os.environ/OPENAI_BASE
    model_info:
      id: primary
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-literal-0123456789
      rpm: 60
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_key: os.environ/ANTHROPIC_API_KEY
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: os.environ/GEMINI_API_KEY

router_settings:
  routing_strategy: latency-based-routing
  num_retries: 4
  cooldown_time: 30
  model_group_alias:
    smart: gpt-4o
  cache_responses: true

litellm_settings:
  num_retries: 1
  request_timeout: 45
  fallbacks: [{ "gpt-4o": ["claude", "flash"] }]
  context_window_fallbacks: [{ "gpt-4o": ["flash"] }]
  drop_params: true
  require_auth_for_metrics_endpoint: true

general_settings:
  master_key: os.environ/LLM_ROUTER_KEY
  max_request_size_mb: 2
  database_url: postgres://nope
`
const vars = {
  OPENAI_API_KEY: "sk-openai-from-env",
  OPENAI_BASE: "http://127.0.0.1:9999/v1",
  ANTHROPIC_API_KEY: "sk-ant-from-env",
  GEMINI_API_KEY: "gemini-from-env",
  LLM_ROUTER_KEY: "sk-master-from-env"
}

describe("GatewayConfig", () => {
  it.effect("merges a LiteLLM proxy config into the router's", () =>
    Effect.gen(function*() {
      const config = yield* parse(litellm, vars)
      const { deployments, settings } = config.router
      assert.deepStrictEqual(deployments.map((d) => d.group), ["gpt-4o", "gpt-4o", "claude", "flash"])
      assert.deepStrictEqual(deployments.map((d) => d.provider), ["openai", "openai", "anthropic", "gemini"])
      assert.strictEqual(deployments[0]!.id, "primary")
      assert.strictEqual(deployments[0]!.apiBase, "http://127.0.0.1:9999/v1")
      assert.strictEqual(Redacted.value(deployments[0]!.apiKey!), "sk-openai-from-env")
      assert.strictEqual(Redacted.value(deployments[1]!.apiKey!), "sk-literal-0123456789")
      assert.strictEqual(deployments[1]!.rpm, 60)
      assert.strictEqual(Redacted.value(deployments[2]!.apiKey!), "sk-ant-from-env")
      // router_settings wins over litellm_settings; request_timeout is the router's timeout.
      assert.strictEqual(settings.numRetries, 4)
      assert.strictEqual(settings.timeoutMs, 45_000)
      assert.strictEqual(settings.routingStrategy, "latency-based-routing")
      assert.strictEqual(settings.cooldownMs, 30_000)
      assert.deepStrictEqual(settings.fallbacks.get("gpt-4o"), ["claude", "flash"])
      assert.deepStrictEqual(settings.contextWindowFallbacks.get("gpt-4o"), ["flash"])
      assert.strictEqual(settings.aliases.get("smart")?.group, "gpt-4o")
      assert.strictEqual(Redacted.value(config.masterKey!), "sk-master-from-env")
      assert.strictEqual(config.maxRequestBytes, 2 * 1024 * 1024)
      assert.isTrue(config.requireAuthForMetrics)
    }))

  it.effect("lists every key it does not act on, for one warning", () =>
    Effect.gen(function*() {
      const config = yield* parse(litellm, vars)
      assert.deepStrictEqual(
        [...config.unsupportedKeys].sort(),
        ["general_settings.database_url", "litellm_settings.drop_params", "router_settings.cache_responses"]
      )
      const warning = GatewayConfig.unsupportedWarning(config)!
      for (const key of config.unsupportedKeys) assert.include(warning, key)
    }))

  it.effect("names a litellm_params key nothing acts on (a typo such as api_kye), and an unknown entry key, without refusing the file", () =>
    Effect.gen(function*() {
      const config = yield* parse(`
model_list:
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o, api_kye: sk-typo, temperature: 0.2, extra_headers: { x-team: a } }
    model_info: { id: gpt-1 }
    modle_info: { id: typo }
`)
      assert.deepStrictEqual([...config.unsupportedKeys].sort(), ["model_list[0].litellm_params.api_kye", "model_list[0].modle_info"])
      assert.strictEqual(config.router.deployments[0]?.id, "gpt-1")
    }))

  it.effect("has no warning when every key is supported, and defaults when sections are absent", () =>
    Effect.gen(function*() {
      const config = yield* parse("model_list:\n  - model_name: a\n    litellm_params: { model: gpt-4o-mini }\n")
      assert.isUndefined(GatewayConfig.unsupportedWarning(config))
      assert.isUndefined(config.masterKey)
      assert.strictEqual(config.maxRequestBytes, 10 * 1024 * 1024)
      assert.isFalse(config.requireAuthForMetrics)
      assert.strictEqual(config.router.deployments[0]!.provider, "openai")
    }))

  it.effect("acts on LiteLLM's otel and prometheus callbacks and names any other", () =>
    Effect.gen(function*() {
      const base = "model_list:\n  - model_name: a\n    litellm_params: { model: gpt-4o-mini }\nlitellm_settings:\n"
      const config = yield* parse(base + "  callbacks: [\"otel\", \"prometheus\", \"langfuse\"]\n")
      assert.isTrue(config.otelCallback)
      assert.deepStrictEqual(config.unsupportedKeys, ["litellm_settings.callbacks: langfuse"])
      const single = yield* parse(base + "  callbacks: prometheus\n")
      assert.isFalse(single.otelCallback)
      assert.deepStrictEqual(single.unsupportedKeys, [])
      assert.deepStrictEqual(yield* problems(base + "  callbacks: { otel: true }\n"), [
        { path: "litellm_settings.callbacks", message: "expected a list of callback names" }
      ])
    }))

  it.effect("reports every problem at once, each with the path in the file", () =>
    Effect.gen(function*() {
      const issues = yield* problems(`
model_list:
  - model_name: a
    litellm_params:
      model: openai/gpt-4o
  - model_name: b
    litellm_params:
      model: mystery/model-x
  - model_name: c
    litellm_params: {}
router_settings:
  num_retries: -1
  routing_strategy: fastest
litellm_settings:
  request_timeout: "soon"
  fallbacks: [{ "a": ["nope"] }]
general_settings:
  max_request_size_mb: 0
`)
      const paths = issues.map((i) => i.path)
      for (const expected of [
        "model_list[1].litellm_params.model",
        "model_list[2].litellm_params.model",
        "router_settings.num_retries",
        "router_settings.routing_strategy",
        "litellm_settings.request_timeout",
        "general_settings.max_request_size_mb"
      ]) assert.include(paths, expected)
      const unknownProvider = issues.find((i) => i.path === "model_list[1].litellm_params.model")!
      assert.include(unknownProvider.message, "mystery")
      assert.include(unknownProvider.message, "openai, anthropic, gemini")
    }))

  it.effect("checks cross-references once the shape is right", () =>
    Effect.gen(function*() {
      const issues = yield* problems(`
model_list:
  - model_name: a
    litellm_params: { model: openai/gpt-4o }
litellm_settings:
  fallbacks: [{ "a": ["missing-group"] }]
`)
      assert.strictEqual(issues.length, 1)
      assert.strictEqual(issues[0]!.path, "litellm_settings.fallbacks[0].a[0]")
      assert.include(issues[0]!.message, "missing-group")
    }))

  it.effect("names the path and the variable when os.environ/ is unset, and never the value of others", () =>
    Effect.gen(function*() {
      const { ANTHROPIC_API_KEY: _a, LLM_ROUTER_KEY: _m, ...rest } = vars
      const issues = yield* problems(litellm, rest)
      const missing = Object.fromEntries(issues.map((i) => [i.path, i.message]))
      assert.include(missing["model_list[2].litellm_params.api_key"], "ANTHROPIC_API_KEY")
      assert.include(missing["general_settings.master_key"], "LLM_ROUTER_KEY")
      for (const issue of issues) assert.notInclude(issue.message, "sk-openai-from-env")
    }))

  it.effect("rejects text that is not YAML, and YAML that is not a mapping", () =>
    Effect.gen(function*() {
      const bad = yield* problems("model_list: [1,\n  b: :")
      assert.include(bad[0]!.message, "not valid YAML")
      const list = yield* problems("- a\n- b\n")
      assert.strictEqual(list.length, 1)
      const empty = yield* problems("")
      assert.include(empty.map((i) => i.path), "model_list")
    }))

  it.effect("the error message lists every problem", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        GatewayConfig.parse("model_list: []\nrouter_settings: { num_retries: x }\n", { knownProviders, source: "bad.yaml" })
      )
      assert.include(error.message, "bad.yaml")
      for (const issue of error.issues) assert.include(error.message, issue.path)
      assert.isAtLeast(error.issues.length, 2)
    }))

  it.effect("the routing table shows groups, fallbacks and strategy, and no secret", () =>
    Effect.gen(function*() {
      const config = yield* parse(litellm, vars)
      const table = RoutingTable.format(config, "litellm.yaml")
      for (const text of ["gpt-4o", "claude", "flash", "latency-based-routing", "gpt-4o -> claude -> flash", "smart -> gpt-4o", "master key set"]) {
        assert.include(table, text)
      }
      assert.include(table, "Session affinity: a session keeps its deployment until 3600s unused")
      const off = yield* parse(litellm.replace("router_settings:\n", "router_settings:\n  session_affinity_ttl_seconds: 0\n"), vars)
      assert.include(RoutingTable.format(off, "x.yaml"), "Session affinity: off")
      for (const secret of Object.values(vars).filter((v) => !v.startsWith("http"))) assert.notInclude(table, secret)
      assert.notInclude(table, "sk-literal-0123456789")
    }))

  it.effect("the shipped configs are valid (the real-provider one once its keys are set)", () =>
    Effect.gen(function*() {
      const root = path.resolve(import.meta.dirname, "../../..")
      const example = fs.readFileSync(path.join(root, "router.example.yaml"), "utf8")
      const missing = yield* problems(example)
      assert.isTrue(missing.every((i) => /OPENAI_API_KEY|ANTHROPIC_API_KEY|GEMINI_API_KEY/.test(i.message)))
      const withKeys = yield* parse(example, { OPENAI_API_KEY: "sk-1", ANTHROPIC_API_KEY: "sk-2", GEMINI_API_KEY: "g-3" })
      assert.deepStrictEqual([...new Set(withKeys.router.deployments.map((d) => d.provider))].sort(), ["anthropic", "gemini", "openai"])
      assert.deepStrictEqual(withKeys.unsupportedKeys, [])
      const demo = yield* parse(fs.readFileSync(path.join(root, "examples/demo.yaml"), "utf8"))
      assert.isAbove(demo.router.settings.fallbacks.size, 0)
      assert.deepStrictEqual(demo.unsupportedKeys, [])
    }))

  describe("router_settings.redis_*", () => {
    const withRouterSettings = (lines: string) => `
model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o }
router_settings:
${lines}
`
    it.effect("LiteLLM's redis_host, redis_port and redis_password, from the environment, share cooldowns", () =>
      Effect.gen(function*() {
        const config = yield* parse(
          withRouterSettings("  redis_host: os.environ/REDIS_HOST\n  redis_port: os.environ/REDIS_PORT\n  redis_password: os.environ/REDIS_PASSWORD"),
          { REDIS_HOST: "redis.internal", REDIS_PORT: "6380", REDIS_PASSWORD: "s3cret-redis" }
        )
        const shared = config.sharedState!
        assert.strictEqual(shared.host, "redis.internal")
        assert.strictEqual(shared.port, 6380)
        assert.strictEqual(Redacted.value(shared.password!), "s3cret-redis")
        assert.strictEqual(shared.keyPrefix, "llm-router")
        assert.deepStrictEqual(config.unsupportedKeys, [])
        const table = RoutingTable.format(config)
        assert.include(table, "Shared state: cooldowns shared through redis://redis.internal:6380 (key prefix llm-router)")
        assert.notInclude(table, "s3cret-redis")
      }))

    it.effect("redis_url wins, is kept redacted, and is printed without its credentials", () =>
      Effect.gen(function*() {
        const config = yield* parse(withRouterSettings(
          "  redis_url: rediss://default:url-secret@cache.example:6390/2\n  redis_host: ignored\n  redis_key_prefix: \"{team-a}\""
        ))
        const shared = config.sharedState!
        assert.isTrue(Redacted.isRedacted(shared.url))
        assert.isUndefined(shared.host)
        assert.strictEqual(shared.keyPrefix, "{team-a}")
        assert.notInclude(String(shared.url), "url-secret")
        const line = RoutingTable.sharedState(config)
        assert.strictEqual(line, "cooldowns shared through rediss://cache.example:6390/2 (key prefix {team-a})")
      }))

    it.effect("without them, each replica keeps its own", () =>
      Effect.gen(function*() {
        const config = yield* parse(withRouterSettings("  routing_strategy: simple-shuffle"))
        assert.isUndefined(config.sharedState)
        assert.include(RoutingTable.format(config), "Shared state: none")
      }))

    it.effect("names each bad value by its path", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(
          (yield* problems(withRouterSettings("  redis_url: http://not-redis\n  redis_port: seventy\n  redis_key_prefix: two words"))).map((i) => i.path),
          ["router_settings.redis_url", "router_settings.redis_port", "router_settings.redis_key_prefix"]
        )
        const alone = yield* problems(withRouterSettings("  redis_password: os.environ/REDIS_PASSWORD"), { REDIS_PASSWORD: "pw" })
        assert.deepStrictEqual(alone.map((i) => i.path), ["router_settings"])
        assert.match(alone[0]!.message, /need redis_host/)
        const unset = yield* problems(withRouterSettings("  redis_host: os.environ/NOPE_HOST"))
        assert.deepStrictEqual(unset.map((i) => i.path), ["router_settings.redis_host"])
      }))
  })

  it.effect("LiteLLM's budgets are taken as written and shown by check", () =>
    Effect.gen(function*() {
      const config = yield* parse(`
model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, max_budget: 25, budget_duration: 1d }
router_settings:
  provider_budget_config:
    openai: { budget_limit: 100, time_period: 30d }
`)
      assert.deepStrictEqual(config.unsupportedKeys, [])
      const table = RoutingTable.format(config)
      assert.include(table, "budget=$25/1d")
      assert.include(table, "Provider budgets: openai $100/30d")
    }))
})

describe("GatewayConfig: what is kept per deployment", () => {
  it.effect("a complexity router's entry (no deployment) does not shift key sources or unsupported providers onto the next deployment", () =>
    Effect.gen(function*() {
      const registry: GatewayConfig.ProviderRegistry = {
        known: ["openai", "anthropic"],
        unsupported: ["bedrock"],
        environment: () => undefined
      }
      const config = yield* GatewayConfig.parse(
        `
model_list:
  - model_name: auto
    litellm_params:
      model: auto_router/complexity_router
      complexity_router_config:
        tiers: { SIMPLE: cheap, MEDIUM: cheap, COMPLEX: cheap, REASONING: cheap }
      complexity_router_default_model: cheap
  - model_name: aws
    litellm_params: { model: bedrock/anthropic.claude-x }
    model_info: { id: aws-1 }
  - model_name: cheap
    litellm_params: { model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY }
    model_info: { id: cheap-1 }
  - model_name: strong
    litellm_params: { model: anthropic/claude-x, api_key: sk-in-file }
    model_info: { id: strong-1 }
`,
        { registry }
      ).pipe(Effect.provide(env({ OPENAI_API_KEY: "sk-env" })))
      assert.deepStrictEqual(config.unsupportedDeployments, [{ id: "aws-1", group: "aws", provider: "bedrock" }])
      assert.deepStrictEqual([...config.keySources], [["cheap-1", "os.environ/OPENAI_API_KEY"], ["strong-1", "the file"]])
    }))
})

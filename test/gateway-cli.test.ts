/**
 * The `llm-router` command as a user runs it: a child process serving a LiteLLM-style config
 * file (several groups, an alias, fallbacks, a master key from the environment) in front
 * of the HTTP mock upstreams, answering the official client, and stopping cleanly on
 * SIGTERM with in-flight streams finished; `check` validating good and bad files.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import OpenAI, { AuthenticationError } from "openai"
import { AnthropicUpstream, GeminiUpstream, OpenAiUpstream } from "@llm-router/testing"
import { listeningUrl, run, tempDir, waitFor } from "./CliProcess.ts"

const MASTER_KEY = "sk-cli-test-master-key"


describe("llm-router command", () => {
  it.live("serves a LiteLLM config as written, then drains and exits 0 on SIGTERM", () =>
    Effect.gen(function*() {
      const openai = yield* OpenAiUpstream.make()
      const slow = yield* OpenAiUpstream.make({ chunkDelayMs: 60, text: "a b c d e f g h" })
      const anthropic = yield* AnthropicUpstream.make()
      const gemini = yield* GeminiUpstream.make()
      const dir = yield* tempDir("llm-router-cli-")
      fs.writeFileSync(path.join(dir, "config.yaml"), `
# A LiteLLM proxy config, as LiteLLM users write them.
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: ${openai.baseUrl}
      api_key: os.environ/MOCK_OPENAI_KEY
  - model_name: claude-sonnet
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_base: ${anthropic.baseUrl}
      api_key: os.environ/MOCK_ANTHROPIC_KEY
  - model_name: gemini-flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_base: ${gemini.baseUrl}
      api_key: os.environ/MOCK_GEMINI_KEY
  - model_name: broken
    litellm_params:
      model: openai/gpt-4o
      api_base: ${openai.faultUrl("auth")}
      api_key: sk-whatever
  - model_name: slow
    litellm_params:
      model: openai/gpt-4o
      api_base: ${slow.baseUrl}
      api_key: sk-whatever

router_settings:
  routing_strategy: simple-shuffle
  model_group_alias:
    smart: claude-sonnet
  cache_responses: true

litellm_settings:
  num_retries: 1
  request_timeout: 30
  fallbacks:
    - broken: ["gemini-flash"]
  set_verbose: false

general_settings:
  master_key: os.environ/LLM_ROUTER_MASTER_KEY
  graceful_shutdown_timeout: 5
`)
      const server = run(["serve", "--config", "config.yaml", "--port", "0", "--access-log"], {
        cwd: dir,
        env: {
          MOCK_OPENAI_KEY: "sk-mock-openai",
          MOCK_ANTHROPIC_KEY: "sk-ant-mock",
          MOCK_GEMINI_KEY: "gemini-mock",
          LLM_ROUTER_MASTER_KEY: MASTER_KEY
        }
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => server.child.kill("SIGKILL")))
      const url = yield* listeningUrl(server)
      assert.include(server.stderr(), "router_settings.cache_responses")
      assert.include(server.stderr(), "litellm_settings.set_verbose")
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 })

      // The alias routes to its group; the broken group falls back as configured.
      const viaAlias = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "smart", messages: [{ role: "user", content: "hi" }] }).withResponse()
      )
      assert.strictEqual(viaAlias.response.headers.get("x-llm-router-model-group"), "claude-sonnet")
      assert.strictEqual(viaAlias.response.headers.get("x-llm-router-provider"), "anthropic")
      const fellBack = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "broken", messages: [{ role: "user", content: "hi" }] }).withResponse()
      )
      assert.strictEqual(fellBack.response.headers.get("x-llm-router-fallbacks"), "gemini-flash")
      assert.include(fellBack.data.choices[0]?.message.content ?? "", "Hello from the mock.")
      const noKey = new OpenAI({ baseURL: `${url}/v1`, apiKey: "wrong", maxRetries: 0 })
      const denied = yield* Effect.promise(() => noKey.models.list().then(() => undefined, (e: unknown) => e))
      assert.instanceOf(denied, AuthenticationError)
      const health = yield* Effect.promise(() => fetch(`${url}/health/liveness`).then((r) => r.status))
      assert.strictEqual(health, 200)

      // --access-log: a JSON line per answered request, with the route and never a key.
      const logLines = () => server.stdout().split("\n").filter((l) => l.startsWith("{"))
      yield* waitFor(() => (logLines().length >= 4 ? "logged" : undefined), "four access log lines")
      const logged = logLines().map((l) => JSON.parse(l) as Record<string, unknown>)
      const alias = logged.find((l) => l["model_group"] === "claude-sonnet")!
      assert.include(alias, { method: "POST", path: "/v1/chat/completions", status: 200, provider: "anthropic", attempts: 1 })
      assert.isString(alias["request_id"])
      assert.isNumber(alias["latency_ms"])
      assert.deepStrictEqual(logged.find((l) => l["model_group"] === "gemini-flash")?.["fallbacks"], ["gemini-flash"])
      assert.include(logged.find((l) => l["status"] === 401)!, { method: "GET", path: "/v1/models" })
      assert.notInclude(server.stdout(), MASTER_KEY)
      assert.notInclude(server.stdout(), "sk-mock-openai")

      // A stream in flight when SIGTERM arrives still finishes; then the process exits 0.
      const { text, exitCode } = yield* Effect.promise(async () => {
        const stream = await client.chat.completions.create({
          model: "slow",
          messages: [{ role: "user", content: "count" }],
          stream: true
        })
        let text = ""
        let signalled = false
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta.content ?? ""
          if (!signalled && text.length > 0) {
            signalled = true
            server.child.kill("SIGTERM")
          }
        }
        return { text, exitCode: await server.exit }
      })
      assert.include(text, "a b c d e f g h")
      assert.strictEqual(exitCode, 0)
      assert.include(server.stdout(), "shutting down")
      assert.notInclude(server.stdout() + server.stderr(), "sk-mock-openai")
    }).pipe(Effect.scoped))

  it.live("check prints the routing table for a valid file, without secrets", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("llm-router-cli-")
      fs.writeFileSync(path.join(dir, "ok.yaml"), `
model_list:
  - model_name: fast
    litellm_params: { model: openai/gpt-4o-mini, api_key: sk-literal-secret-value }
  - model_name: smart
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_key: os.environ/SOME_KEY }
router_settings: { routing_strategy: least-busy }
litellm_settings:
  fallbacks: [{ fast: [smart] }]
`)
      const check = run(["check", "--config", "ok.yaml"], {
        cwd: dir,
        env: { SOME_KEY: "sk-from-env-secret", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector.internal:4318" }
      })
      const code = yield* Effect.promise(() => check.exit)
      assert.strictEqual(code, 0, check.stderr())
      const out = check.stdout()
      for (const text of ["fast", "smart", "least-busy", "fast -> smart", "provider=anthropic"]) assert.include(out, text)
      assert.include(out, "Tracing: OTLP http/protobuf to http://collector.internal:4318/v1/traces")
      assert.notInclude(out, "sk-literal-secret-value")
      assert.notInclude(out, "sk-from-env-secret")
    }))

  it.live("check on an invalid file lists every problem and exits 2", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("llm-router-cli-")
      fs.writeFileSync(path.join(dir, "bad.yaml"), `
model_list:
  - model_name: a
    litellm_params: { model: not-a-provider/x }
  - model_name: b
    litellm_params: { model: openai/gpt-4o, api_key: os.environ/DEFINITELY_UNSET_VAR_42 }
router_settings:
  num_retries: lots
litellm_settings:
  request_timeout: -3
`)
      // Both commands refuse the file; started together to keep the test short.
      const check = run(["check", "--config", "bad.yaml"], { cwd: dir })
      const serve = run(["serve", "--config", "bad.yaml", "--port", "0"], { cwd: dir })
      const [code, serveCode] = yield* Effect.promise(() => Promise.all([check.exit, serve.exit]))
      assert.strictEqual(code, 2)
      assert.strictEqual(serveCode, 2)
      const err = check.stderr()
      for (const text of [
        "model_list[0].litellm_params.model",
        "not-a-provider",
        "model_list[1].litellm_params.api_key",
        "DEFINITELY_UNSET_VAR_42",
        "router_settings.num_retries",
        "litellm_settings.request_timeout"
      ]) assert.include(err, text)
      assert.include(serve.stderr(), "DEFINITELY_UNSET_VAR_42")
    }))
})

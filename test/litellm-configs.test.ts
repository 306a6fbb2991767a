/**
 * LiteLLM proxy configs as LiteLLM users write them (`test/litellm-configs/*.yaml`, modelled
 * on the shapes in LiteLLM's repository and docs), run through `llm-router check` and
 * `llm-router serve` as child processes, each outcome asserted: keys from the providers'
 * standard variables, empty values as unset, router settings under `litellm_settings`,
 * providers this gateway does not speak, LiteLLM's response headers, the role error.
 * The configs' `api_base`s are `os.environ/MOCK_*`, pointed here at local mock upstreams.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import OpenAI, { BadRequestError, InternalServerError } from "openai"
import { AnthropicUpstream, GeminiUpstream, OpenAiUpstream } from "@llm-router/testing"
import { listeningUrl, run } from "./CliProcess.ts"

const configs = path.resolve(import.meta.dirname, "litellm-configs")

/** The provider keys the mocks demand; none may ever be printed. */
const KEYS = {
  OPENAI_API_KEY: "sk-env-openai-key",
  ANTHROPIC_API_KEY: "sk-ant-env-key",
  GEMINI_API_KEY: "gemini-env-key",
  AZURE_API_KEY: "azure-env-key",
  LITERAL_OPENAI_KEY: "sk-literal-env-key"
}

/** The environment a user's shell would have: the provider keys, and where the mocks listen. */
const environment = Effect.gen(function*() {
  const openai = yield* OpenAiUpstream.make({ apiKey: KEYS.OPENAI_API_KEY })
  const azure = yield* OpenAiUpstream.make({ apiKey: KEYS.AZURE_API_KEY })
  const anthropic = yield* AnthropicUpstream.make({ apiKey: KEYS.ANTHROPIC_API_KEY })
  const gemini = yield* GeminiUpstream.make({ apiKey: KEYS.GEMINI_API_KEY })
  const env: Record<string, string> = {
    ...KEYS,
    MOCK_OPENAI_BASE: openai.baseUrl,
    MOCK_ANTHROPIC_BASE: anthropic.baseUrl,
    MOCK_GEMINI_BASE: gemini.baseUrl,
    AZURE_API_BASE: azure.origin,
    AZURE_API_VERSION: "2024-10-21",
    SET_BUT_EMPTY: ""
  }
  return { env, openai, azure }
})

const check = (file: string, env: Record<string, string>) =>
  Effect.gen(function*() {
    const process = run(["check", "--config", file], { cwd: configs, env })
    const code = yield* Effect.promise(() => process.exit)
    return { code, out: process.stdout(), err: process.stderr() }
  })

const serve = (file: string, env: Record<string, string>) =>
  Effect.gen(function*() {
    const server = run(["serve", "--config", file, "--port", "0"], { cwd: configs, env })
    yield* Effect.addFinalizer(() => Effect.sync(() => server.child.kill("SIGKILL")))
    const url = yield* listeningUrl(server, 60_000)
    return { server, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: "any", maxRetries: 0 }) }
  })

const hi = [{ role: "user" as const, content: "hi" }]

const assertNoKey = (text: string) => {
  for (const key of Object.values(KEYS)) assert.notInclude(text, key)
}

/** The error a call fails with, or a test failure if it succeeds. */
const failure = (promise: () => Promise<unknown>) =>
  Effect.promise(() => promise().then(() => assert.fail("expected the call to fail"), (error: unknown) => error))

describe("LiteLLM configs as written", () => {
  it.live("env-keys.yaml: no api_key reads the provider's variable; check says where each key comes from", () =>
    Effect.gen(function*() {
      const { env } = yield* environment
      const { code, out } = yield* check("env-keys.yaml", env)
      assert.strictEqual(code, 0, out)
      for (const line of [
        "openai-from-env  provider=openai  model=gpt-4o",
        "api_key=(set, from OPENAI_API_KEY)",
        "api_key=(set, from ANTHROPIC_API_KEY)",
        "api_key=(set, from GEMINI_API_KEY)",
        "api_key=(set, from AZURE_API_KEY)",
        "api_key=(set, from os.environ/LITERAL_OPENAI_KEY)"
      ]) assert.include(out, line)
      assert.match(out, /azure-from-env .* api_base=http:\/\/127\.0\.0\.1:\d+\//)
      assertNoKey(out)

      // Served: each mock demands its key, so a 200 proves the variable reached the provider.
      const { client, server } = yield* serve("env-keys.yaml", env)
      for (const model of ["gpt-4o", "claude-sonnet", "gemini-flash", "azure-gpt-4o"]) {
        const { data } = yield* Effect.promise(() => client.chat.completions.create({ model, messages: hi }).withResponse())
        assert.isString(data.choices[0]?.message.content, model)
      }
      assertNoKey(server.stdout() + server.stderr())
    }).pipe(Effect.scoped))

  it.live("env-keys.yaml: LiteLLM's response headers beside ours; the role error names every role", () =>
    Effect.gen(function*() {
      const { env, openai } = yield* environment
      const { client } = yield* serve("env-keys.yaml", env)
      const { response } = yield* Effect.promise(() => client.chat.completions.create({ model: "gpt-4o", messages: hi }).withResponse())
      const header = (name: string) => response.headers.get(name)
      assert.strictEqual(header("x-litellm-model-id"), "openai-from-env")
      assert.strictEqual(header("x-litellm-model-group"), "gpt-4o")
      assert.strictEqual(header("x-litellm-model-api-base"), openai.baseUrl)
      assert.strictEqual(header("x-litellm-attempted-retries"), "0")
      assert.strictEqual(header("x-litellm-attempted-fallbacks"), "0")
      assert.isAbove(Number(header("x-litellm-response-cost")), 0)
      assert.strictEqual(header("x-litellm-response-cost"), header("x-llm-router-cost-usd"))
      // A streamed answer carries the same deployment's base.
      const streamed = yield* Effect.promise(() => client.chat.completions.create({ model: "gpt-4o", messages: hi, stream: true }).withResponse())
      assert.strictEqual(streamed.response.headers.get("x-litellm-model-api-base"), openai.baseUrl)
      yield* Effect.promise(async () => {
        for await (const _ of streamed.data) { /* drain */ }
      })
      // So do the Responses and Messages routes.
      const responses = yield* Effect.promise(() => client.responses.create({ model: "gpt-4o", input: "hi" }).withResponse())
      assert.strictEqual(responses.response.headers.get("x-litellm-model-api-base"), openai.baseUrl)
      const messages = yield* Effect.promise(() =>
        fetch(new URL("messages", client.baseURL.endsWith("/") ? client.baseURL : `${client.baseURL}/`), {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": "any" },
          body: JSON.stringify({ model: "gpt-4o", max_tokens: 16, messages: hi })
        })
      )
      assert.strictEqual(messages.status, 200)
      assert.strictEqual(messages.headers.get("x-litellm-model-api-base"), openai.baseUrl)
      yield* Effect.promise(() => messages.text())

      const error = yield* failure(() =>
        client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "robot" as "user", content: "beep" }] })
      )
      assert.instanceOf(error, BadRequestError)
      for (const role of ["system", "developer", "user", "assistant", "tool"]) assert.include((error as BadRequestError).message, `"${role}"`)
      assert.include((error as BadRequestError).message, `got "robot"`)
    }).pipe(Effect.scoped))

  it.live("empty-values.yaml: `api_key:`, \"\" and an os.environ/ variable set to \"\" are unset, not errors", () =>
    Effect.gen(function*() {
      const { env } = yield* environment
      const { code, out, err } = yield* check("empty-values.yaml", env)
      assert.strictEqual(code, 0, err)
      assert.include(out, "blank-key  provider=openai")
      assert.include(out, "empty-env-key  provider=openai")
      assert.strictEqual(out.split("api_key=(set, from OPENAI_API_KEY)").length - 1, 2)
      // redis_host and redis_password are empty: no shared state, and no error about them.
      assert.include(out, "Shared state: none")
      const { client } = yield* serve("empty-values.yaml", env)
      const answer = yield* Effect.promise(() => client.chat.completions.create({ model: "gpt-4o", messages: hi }))
      assert.isString(answer.choices[0]?.message.content)
    }).pipe(Effect.scoped))

  it.live("litellm-settings.yaml: allowed_fails, cooldown_time and the rest are honoured under litellm_settings", () =>
    Effect.gen(function*() {
      const { code, out, err } = yield* check("litellm-settings.yaml", {})
      assert.strictEqual(code, 0, err)
      assert.include(out, "Retries: 1  timeout: 12s")
      // cooldown_time from litellm_settings; allowed_fails from router_settings, which wins.
      assert.include(out, "Cooldown: 7s after more than 2 failures in a minute")
      assert.include(out, "gpt-4o -> gpt-4o-mini")
      assert.notInclude(out + err, "litellm_settings.allowed_fails")
      assert.notInclude(out + err, "litellm_settings.cooldown_time")
    }))

  it.live("tags.yaml: tags from metadata, the top-level field or x-litellm-tags pick deployments; none matching is a 400", () =>
    Effect.gen(function*() {
      const { env } = yield* environment
      const { client } = yield* serve("tags.yaml", env)
      const servedBy = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
        Effect.promise(() =>
          client.chat.completions.create({ model: "gpt-4", messages: hi, ...body }, { headers }).withResponse()
        ).pipe(Effect.map(({ response }) => response.headers.get("x-litellm-model-id")))
      for (let i = 0; i < 3; i++) {
        assert.strictEqual(yield* servedBy({ tags: ["free"] }), "gpt-4-free")
        assert.strictEqual(yield* servedBy({ tags: "paid" }), "gpt-4-paid")
        assert.strictEqual(yield* servedBy({ metadata: { tags: ["paid"] } }), "gpt-4-paid")
        assert.strictEqual(yield* servedBy({}, { "x-litellm-tags": "free, other" }), "gpt-4-free")
        // No tags, or none that match: the deployment tagged default.
        assert.strictEqual(yield* servedBy({}), "gpt-4-default")
        assert.strictEqual(yield* servedBy({ tags: ["enterprise"] }), "gpt-4-default")
      }
      const error = yield* failure(() =>
        client.chat.completions.create({ model: "gpt-4-teams", messages: hi, tags: ["team-b", "eu"] } as never).withResponse()
      )
      assert.instanceOf(error, BadRequestError)
      const { headers, message } = error as BadRequestError
      assert.include(message, `model group "gpt-4-teams"`)
      assert.include(message, `["team-b","eu"]`)
      assert.isNull(headers?.get("retry-after") ?? null)
    }).pipe(Effect.scoped))

  it.live("wildcard.yaml: \"anthropic/*\" and \"*\" route any matching name to the provider with the requested model", () =>
    Effect.gen(function*() {
      const { env, openai } = yield* environment
      const { code, out, err } = yield* check("wildcard.yaml", env)
      assert.strictEqual(code, 0, err)
      assert.include(out, "Wildcards (")
      assert.include(out, "  anthropic/* -> anthropic/*")
      assert.include(out, "  * -> the provider the name says")

      const { client } = yield* serve("wildcard.yaml", env)
      const route = (model: string) =>
        Effect.promise(() => client.chat.completions.create({ model, messages: hi }).withResponse()).pipe(
          Effect.map(({ response }) => ({
            group: response.headers.get("x-llm-router-model-group"),
            provider: response.headers.get("x-llm-router-provider"),
            model: response.headers.get("x-llm-router-model")
          }))
        )
      assert.deepStrictEqual(yield* route("anthropic/claude-haiku-4-5"), { group: "anthropic/*", provider: "anthropic", model: "claude-haiku-4-5" })
      assert.deepStrictEqual(yield* route("anthropic/claude-sonnet-4-5"), { group: "anthropic/*", provider: "anthropic", model: "claude-sonnet-4-5" })
      assert.deepStrictEqual(yield* route("gpt-4.1-mini"), { group: "*", provider: "openai", model: "gpt-4.1-mini" })
      assert.deepStrictEqual(yield* route("gpt-4o"), { group: "gpt-4o", provider: "openai", model: "gpt-4o" })
      // The provider was called with the requested model.
      assert.include(openai.requests.map((r) => (r.body as { model?: string } | undefined)?.model), "gpt-4.1-mini")
    }).pipe(Effect.scoped))

  it.live("unsupported-providers.yaml: check lists them and exits 1; serve warns and answers 501 naming the provider", () =>
    Effect.gen(function*() {
      const { env } = yield* environment
      const { code, out, err } = yield* check("unsupported-providers.yaml", env)
      assert.strictEqual(code, 1)
      for (const provider of ["bedrock", "vertex_ai", "cohere"]) assert.include(out, `provider=${provider} (NOT SUPPORTED: answers 501)`)
      assert.include(out, "Unsupported providers:")
      assert.include(err, "3 deployments on providers this gateway does not support")

      const { client, server } = yield* serve("unsupported-providers.yaml", env)
      const warnings = server.stderr().split("\n").filter((l) => l.startsWith("WARNING:"))
      assert.lengthOf(warnings, 3, server.stderr())
      assert.include(warnings.join("\n"), `deployment "chat-cohere" of model group "chat" is on provider "cohere"`)
      // Twice, and through the alias: always 501, never a 429 once the deployment is cooling.
      for (const model of ["claude-bedrock", "claude-bedrock", "claude"]) {
        const error = yield* failure(() => client.chat.completions.create({ model, messages: hi }))
        assert.instanceOf(error, InternalServerError)
        assert.strictEqual((error as InternalServerError).status, 501)
        assert.include((error as InternalServerError).message, `provider "bedrock" is not supported`)
      }
      const vertex = yield* failure(() => client.chat.completions.create({ model: "gemini-vertex", messages: hi }))
      assert.strictEqual((vertex as InternalServerError).status, 501)
      assert.include((vertex as InternalServerError).message, "vertex_ai")
      // The mixed group is served by its OpenAI deployment, every time.
      for (let i = 0; i < 4; i++) {
        const { response } = yield* Effect.promise(() => client.chat.completions.create({ model: "chat", messages: hi }).withResponse())
        assert.strictEqual(response.headers.get("x-llm-router-deployment"), "chat-openai")
      }
    }).pipe(Effect.scoped))
})

/**
 * The no-keys demo that `pnpm start` runs: the gateway on `examples/demo.yaml`, whose
 * deployments are HTTP mock upstreams (OpenAI, Anthropic, Gemini wire formats) started
 * here in the same process. One OpenAI mock goes down for 20 s of every 60 s, so you can
 * watch failover in the `x-llm-router-*` response headers and in `/metrics`.
 *
 *   pnpm start                 gateway on http://127.0.0.1:4000 (PORT=… to change)
 *
 * A port in use (the gateway's or a mock's) is one line and exit 1; Ctrl-C exits 0 quietly.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect, Exit, Layer, Schedule } from "effect"
import { Gateway, GatewayConfig, Providers, StartupError, UpstreamLog } from "@llm-router/server"
import { fileURLToPath } from "node:url"
import { AnthropicUpstream, GeminiUpstream, MockUpstream, OpenAiUpstream } from "@llm-router/testing"

const CONFIG = fileURLToPath(new URL("./demo.yaml", import.meta.url))
const DEFAULT_PORT = 4000
/** The ports demo.yaml names for the mock upstreams. */
const MOCK_PORTS = { openai: 4101, anthropic: 4102, gemini: 4103, flaky: 4104 } as const
const OUTAGE = { startsAfter: "15 seconds", lasts: "20 seconds", upFor: "40 seconds" } as const

const time = () => new Date().toISOString().slice(11, 19)

/** Takes `upstream` down (HTTP 500) for 20 s of every 60 s, the first time 15 s after start. */
const recurringOutage = (upstream: MockUpstream.MockUpstream, name: string) => {
  const outage = Effect.gen(function*() {
    upstream.setFault("server-error")
    yield* Console.log(`[${time()}] ${name}: outage begins (every request gets HTTP 500 for ${OUTAGE.lasts})`)
    yield* Effect.sleep(OUTAGE.lasts)
    upstream.setFault(undefined)
    yield* Console.log(`[${time()}] ${name}: healthy again`)
  })
  // 20 s down, then 40 s up: one outage a minute.
  return Effect.sleep(OUTAGE.startsAfter).pipe(
    Effect.andThen(Effect.repeat(outage, Schedule.spaced(OUTAGE.upFor)))
  )
}

const instructions = (base: string) => `
llm-router demo: the gateway is on ${base}, in front of four mock upstreams (no API keys needed).

  model group    deployments                                   falls back to
  gpt-4o         openai-flaky (down 20 s every 60 s), openai-steady   claude-sonnet
  gpt-4o-mini    openai-mini-flaky (same flaky mock)          claude-sonnet, gemini-flash
  claude-sonnet  anthropic-mock (Anthropic wire format)       gemini-flash
  gemini-flash   gemini-mock (Gemini wire format)
  default        alias of gpt-4o
  text-embedding-3-small (embeddings)   openai-embeddings-flaky, then gemini-embeddings

Try (watch the x-llm-router-* headers while the flaky mock is down):

  curl -s -D - ${base}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}'

  curl -N ${base}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"claude-sonnet","stream":true,"messages":[{"role":"user","content":"Stream to me"}]}'

  curl -s -D - -o /dev/null ${base}/v1/embeddings -H 'content-type: application/json' \\
    -d '{"model":"text-embedding-3-small","input":["Hello","world"]}'

  curl -s ${base}/health/readiness
  curl -s ${base}/metrics | grep -E '^llm_router_(requests|attempt_failures|fallbacks|cooldowns)'

Or any OpenAI client: base URL ${base}/v1, any API key. Ctrl-C stops.
`

/** A mock on its fixed port, or one line saying which port is taken. */
const mock = <A, E, R>(name: string, port: number, make: Effect.Effect<A, E, R>) =>
  make.pipe(StartupError.explainListen(
    `the demo's ${name} mock`,
    "127.0.0.1",
    port,
    `the demo needs ports ${MOCK_PORTS.openai}-${MOCK_PORTS.flaky} free (stop whatever holds them)`
  ))

const main = Effect.gen(function*() {
  const port = (yield* StartupError.portFromEnv()) ?? DEFAULT_PORT
  yield* mock("OpenAI", MOCK_PORTS.openai, OpenAiUpstream.make({ port: MOCK_PORTS.openai, text: "Hello from the steady OpenAI mock.", chunkDelayMs: 40 }))
  yield* mock("Anthropic", MOCK_PORTS.anthropic, AnthropicUpstream.make({ port: MOCK_PORTS.anthropic, text: "Hello from the Anthropic mock.", chunkDelayMs: 40 }))
  yield* mock("Gemini", MOCK_PORTS.gemini, GeminiUpstream.make({ port: MOCK_PORTS.gemini, text: "Hello from the Gemini mock.", streamDelayMs: 40 }))
  const flaky = yield* mock("flaky OpenAI", MOCK_PORTS.flaky, OpenAiUpstream.make({ port: MOCK_PORTS.flaky, text: "Hello from the flaky OpenAI mock.", chunkDelayMs: 40 }))

  const config = yield* GatewayConfig.load(CONFIG, { registry: Providers.builtin })
  yield* Layer.build(
    Gateway.layer({
      config,
      clientFor: UpstreamLog.logFailures(Providers.builtin.clientFor),
      embeddingClientFor: Providers.builtin.embeddingClientFor,
      port
    }).pipe(
      Layer.provide(NodeHttpClient.layerUndici)
    )
  ).pipe(StartupError.explainListen("the demo's gateway", "127.0.0.1", port, "pick another with PORT=N"))
  yield* Console.log(instructions(`http://127.0.0.1:${port}`))
  yield* recurringOutage(flaky, "openai-flaky (mock on :4104)").pipe(Effect.forkScoped)
  return yield* Effect.never
})

main.pipe(
  Effect.scoped,
  Effect.tapError((error) => Console.error(error instanceof StartupError.StartupError ? `llm-router demo: ${error.message}` : error.message)),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    // Ctrl-C is how the demo is meant to end: exit 0, not 130 (which pnpm reports as a failure).
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
  })
)

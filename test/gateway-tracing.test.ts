/**
 * Traces from `llm-router serve` to an OTLP collector (a local HTTP server here), configured
 * by the standard OTel environment: the caller's trace is joined through `traceparent`, the
 * router's GenAI spans sit under the gateway's server span, each attempt under the request,
 * the provider HTTP call under its attempt; probes are not traced, nothing secret is sent,
 * and the spans still in the batch at SIGTERM are flushed before exit.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { GeminiUpstream, OpenAiUpstream } from "@llm-router/testing"
import { listeningUrl, run } from "./CliProcess.ts"

const MASTER_KEY = "sk-tracing-test-master-key"
const OPENAI_KEY = "sk-tracing-test-openai-key"
const GEMINI_KEY = "AIzaTracingTestGeminiKey0123"
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
const PARENT_SPAN = "00f067aa0ba902b7"
const NATIVE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4737"
const NATIVE_STREAM_TRACE = "4bf92f3577b34da6a3ce929d0e0e4738"
const TRANSLATED_TRACE = "4bf92f3577b34da6a3ce929d0e0e4739"
const TRANSLATED_STREAM_TRACE = "4bf92f3577b34da6a3ce929d0e0e473a"

interface OtlpAttribute {
  readonly key: string
  readonly value: Record<string, unknown>
}
interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<OtlpAttribute>
  readonly status: { readonly code: number; readonly message?: string }
}

/** An OTLP/HTTP JSON collector: keeps every body POSTed to /v1/traces. */
const collector = Effect.acquireRelease(
  Effect.promise(async () => {
    const bodies: Array<string> = []
    const server = http.createServer((req, res) => {
      let body = ""
      req.on("data", (chunk) => (body += chunk))
      req.on("end", () => {
        if (req.method === "POST" && req.url === "/v1/traces") bodies.push(body)
        res.writeHead(200, { "content-type": "application/json" })
        res.end("{}")
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    return { server, bodies, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }
  }),
  ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
)

const spansOf = (bodies: ReadonlyArray<string>): Array<OtlpSpan & { readonly service: string }> =>
  bodies.flatMap((body) =>
    (JSON.parse(body) as {
      resourceSpans: Array<{ resource: { attributes: Array<OtlpAttribute> }; scopeSpans: Array<{ spans: Array<OtlpSpan> }> }>
    }).resourceSpans.flatMap((rs) => {
      const service = String(rs.resource.attributes.find((a) => a.key === "service.name")?.value["stringValue"])
      return rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ ...span, service })))
    })
  )

/** An attribute's value, whatever its OTLP type. */
const attr = (span: OtlpSpan, key: string): unknown => {
  const value = span.attributes.find((a) => a.key === key)?.value
  if (value === undefined) return undefined
  if ("arrayValue" in value) {
    return ((value["arrayValue"] as { values?: Array<Record<string, unknown>> }).values ?? []).map((v) => Object.values(v)[0])
  }
  const raw = Object.values(value)[0]
  return "intValue" in value ? Number(raw) : raw
}

const SERVER = 2
const CLIENT = 3
const ERROR = 2

describe("llm-router serve with OTEL_EXPORTER_OTLP_ENDPOINT", () => {
  it.live("exports GenAI spans under the caller's trace, flushed on SIGTERM, with no secret in them", () =>
    Effect.gen(function*() {
      const otlp = yield* collector
      const openai = yield* OpenAiUpstream.make()
      const gemini = yield* GeminiUpstream.make()
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llm-router-tracing-"))
      // gpt: the first deployment always fails with a 500, so every request fails over to the second.
      fs.writeFileSync(path.join(dir, "config.yaml"), `
model_list:
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o, api_base: "${openai.faultUrl("server-error")}", api_key: os.environ/OPENAI_KEY, order: 1 }
    model_info: { id: failing }
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${openai.baseUrl}", api_key: os.environ/OPENAI_KEY, order: 2 }
    model_info: { id: healthy }
  - model_name: flash
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: "${gemini.baseUrl}", api_key: os.environ/GEMINI_KEY }
litellm_settings:
  num_retries: 1
  callbacks: ["otel", "prometheus"]
general_settings:
  master_key: os.environ/MASTER_KEY
`)
      const gateway = run(["serve", "--config", "config.yaml", "--port", "0"], {
        cwd: dir,
        env: {
          OPENAI_KEY,
          GEMINI_KEY,
          MASTER_KEY,
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_SERVICE_NAME: "gateway-under-test"
        }
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => gateway.child.kill("SIGKILL")))
      const url = yield* listeningUrl(gateway, 15_000)
      assert.include(gateway.stdout(), `tracing: OTLP http/json to ${otlp.url}/v1/traces as service "gateway-under-test"`)
      // Both callbacks are acted on: neither is in the unsupported-keys warning.
      assert.notInclude(gateway.stderr(), "callbacks")

      const post = (body: object, traceparent?: string) =>
        Effect.promise(async () => {
          const response = await fetch(`${url}/v1/chat/completions`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${MASTER_KEY}`,
              "content-type": "application/json",
              ...(traceparent ? { traceparent } : {})
            },
            body: JSON.stringify(body)
          })
          return { status: response.status, deployment: response.headers.get("x-llm-router-deployment"), text: await response.text() }
        })
      const plain = yield* post(
        { model: "gpt", messages: [{ role: "user", content: "hi" }], max_tokens: 50 },
        `00-${TRACE_ID}-${PARENT_SPAN}-01`
      )
      assert.strictEqual(plain.status, 200)
      assert.strictEqual(plain.deployment, "healthy")
      const streamed = yield* post({ model: "flash", messages: [{ role: "user", content: "hi" }], stream: true })
      assert.strictEqual(streamed.status, 200)
      assert.include(streamed.text, "data: [DONE]")
      // Responses calls, each in a trace of its own: native to OpenAI (plain, then streamed), and
      // translated through Gemini's chat.
      const respond = (body: object, traceId: string) =>
        Effect.promise(async () => {
          const response = await fetch(`${url}/v1/responses`, {
            method: "POST",
            headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json", traceparent: `00-${traceId}-${PARENT_SPAN}-01` },
            body: JSON.stringify(body)
          })
          return { status: response.status, text: await response.text() }
        })
      const nativePlain = yield* respond({ model: "gpt", input: "hi" }, NATIVE_TRACE)
      assert.strictEqual(nativePlain.status, 200)
      const nativeStreamed = yield* respond({ model: "gpt", input: "hi", stream: true }, NATIVE_STREAM_TRACE)
      assert.strictEqual(nativeStreamed.status, 200)
      assert.include(nativeStreamed.text, "response.completed")
      const translatedPlain = yield* respond({ model: "flash", input: "hi" }, TRANSLATED_TRACE)
      assert.strictEqual(translatedPlain.status, 200)
      const translatedStreamed = yield* respond({ model: "flash", input: "hi", stream: true }, TRANSLATED_STREAM_TRACE)
      assert.strictEqual(translatedStreamed.status, 200)
      const probe = yield* Effect.promise(() => fetch(`${url}/health/liveness`).then((r) => r.status))
      assert.strictEqual(probe, 200)

      // The batch waits for its export interval; SIGTERM flushes it before the process exits.
      gateway.child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => gateway.exit), 0)
      const spans = spansOf(otlp.bodies)
      assert.isTrue(spans.every((s) => s.service === "gateway-under-test"))

      // The plain request: caller's trace → server span → chat gpt → two attempts → HTTP client spans.
      const server = spans.find((s) => s.kind === SERVER && s.traceId === TRACE_ID)!
      assert.isDefined(server, `no server span in ${spans.map((s) => s.name).join(", ")}`)
      assert.strictEqual(server.parentSpanId, PARENT_SPAN)
      assert.strictEqual(server.name, "POST /v1/chat/completions")
      const request = spans.find((s) => s.name === "chat gpt" && s.traceId === TRACE_ID)!
      assert.strictEqual(request.parentSpanId, server.spanId)
      assert.strictEqual(attr(request, "gen_ai.operation.name"), "chat")
      assert.strictEqual(attr(request, "gen_ai.request.model"), "gpt")
      assert.strictEqual(attr(request, "gen_ai.request.max_tokens"), 50)
      assert.strictEqual(attr(request, "gen_ai.provider.name"), "openai")
      assert.strictEqual(attr(request, "llm_router.deployment"), "healthy")
      assert.strictEqual(attr(request, "llm_router.attempts"), 2)
      assert.isNumber(attr(request, "gen_ai.usage.output_tokens"))
      assert.deepStrictEqual(attr(request, "gen_ai.response.finish_reasons"), ["stop"])
      const failed = spans.find((s) => s.name === "chat gpt-4o" && s.traceId === TRACE_ID)!
      const served = spans.find((s) => s.name === "chat gpt-4o-mini" && s.traceId === TRACE_ID)!
      for (const attempt of [failed, served]) {
        assert.strictEqual(attempt.kind, CLIENT)
        assert.strictEqual(attempt.parentSpanId, request.spanId)
        // The provider call's own HTTP span nests under its attempt.
        assert.isTrue(spans.some((s) => s.parentSpanId === attempt.spanId && s.kind === CLIENT), `no HTTP span under ${attempt.name}`)
      }
      assert.strictEqual(failed.status.code, ERROR)
      assert.strictEqual(attr(failed, "error.type"), "InternalServerError")
      assert.strictEqual(attr(served, "llm_router.attempt"), 2)

      // The streamed request: its own trace, a Gemini provider, time to first chunk recorded.
      const stream = spans.find((s) => s.name === "chat flash")!
      assert.strictEqual(attr(stream, "llm_router.stream"), true)
      assert.strictEqual(attr(stream, "gen_ai.provider.name"), "gcp.gemini")
      assert.isNumber(attr(stream, "llm_router.time_to_first_chunk_ms"))
      assert.notStrictEqual(stream.status.code, ERROR)

      // Responses requests: their spans say what answered as a chat's do, the upstream's response id
      // (what the provider's logs know), not the gateway's own that the client got.
      const responsesSpan = (traceId: string) => {
        const span = spans.find((s) => s.name.startsWith("chat ") && s.kind !== CLIENT && s.traceId === traceId && attr(s, "llm_router.deployment") !== undefined)
        assert.isDefined(span, `no request span in trace ${traceId}`)
        return span!
      }
      const clientId = (text: string) => (JSON.parse(text) as { id: string }).id
      const native = responsesSpan(NATIVE_TRACE)
      assert.strictEqual(attr(native, "llm_router.deployment"), "healthy")
      assert.match(String(attr(native, "gen_ai.response.id")), /^resp_mock_/)
      assert.notStrictEqual(attr(native, "gen_ai.response.id"), clientId(nativePlain.text))
      assert.strictEqual(attr(native, "gen_ai.response.model"), "gpt-4o-mini")
      assert.isAbove(Number(attr(native, "gen_ai.usage.input_tokens")), 0)
      assert.isAbove(Number(attr(native, "gen_ai.usage.output_tokens")), 0)
      assert.deepStrictEqual(attr(native, "gen_ai.response.finish_reasons"), ["stop"])
      const nativeStream = responsesSpan(NATIVE_STREAM_TRACE)
      assert.strictEqual(attr(nativeStream, "llm_router.stream"), true)
      assert.match(String(attr(nativeStream, "gen_ai.response.id")), /^resp_mock_/)
      assert.strictEqual(attr(nativeStream, "gen_ai.response.model"), "gpt-4o-mini")
      assert.isAbove(Number(attr(nativeStream, "gen_ai.usage.output_tokens")), 0)
      assert.deepStrictEqual(attr(nativeStream, "gen_ai.response.finish_reasons"), ["stop"])
      const translated = responsesSpan(TRANSLATED_TRACE)
      assert.strictEqual(attr(translated, "gen_ai.provider.name"), "gcp.gemini")
      assert.isString(attr(translated, "gen_ai.response.id"))
      assert.notStrictEqual(attr(translated, "gen_ai.response.id"), clientId(translatedPlain.text))
      assert.include(String(attr(translated, "gen_ai.response.model")), "gemini")
      assert.deepStrictEqual(attr(translated, "gen_ai.response.finish_reasons"), ["stop"])
      const translatedStream = responsesSpan(TRANSLATED_STREAM_TRACE)
      assert.strictEqual(attr(translatedStream, "llm_router.stream"), true)
      assert.isString(attr(translatedStream, "gen_ai.response.id"))
      assert.notInclude(translatedStreamed.text, String(attr(translatedStream, "gen_ai.response.id")))
      assert.include(String(attr(translatedStream, "gen_ai.response.model")), "gemini")
      assert.deepStrictEqual(attr(translatedStream, "gen_ai.response.finish_reasons"), ["stop"])

      // Probes are not traced; keys never leave the process.
      assert.isFalse(spans.some((s) => attr(s, "url.path") === "/health/liveness"))
      const exported = otlp.bodies.join("\n")
      for (const secret of [MASTER_KEY, OPENAI_KEY, GEMINI_KEY]) assert.notInclude(exported, secret)
    }))
})

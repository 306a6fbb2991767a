import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { LlmError } from "@llm-router/core"
import * as http from "node:http"
import * as net from "node:net"
import * as Stub from "./Stub.ts"

const yaml = `
model_list:
  - model_name: main
    litellm_params: { model: openai/gpt-4o, api_key: sk-upstream-secret-123456, order: 1 }
    model_info: { id: main-a }
  - model_name: main
    litellm_params: { model: openai/gpt-4o, api_key: sk-upstream-secret-123456, order: 2 }
    model_info: { id: main-b }
  - model_name: solo
    litellm_params: { model: anthropic/claude-x }
    model_info: { id: solo-1 }
  - model_name: backup
    litellm_params: { model: gemini/gemini-x }
    model_info: { id: backup-1 }
router_settings:
  num_retries: 1
  max_retry_after: 2
  model_group_alias:
    default-model: main
    secret-alias: { model: main, hidden: true }
litellm_settings:
  fallbacks: [{ "solo": ["backup"] }]
general_settings:
  master_key: sk-gateway-master-1
`
const auth = { authorization: "Bearer sk-gateway-master-1" }
const message = [{ role: "user", content: "hi" }]

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}
const request = (url: string, init: RequestInit = {}): Effect.Effect<Reply> =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, headers: response.headers, text: await response.text() }
  })
const post = (url: string, body: unknown, headers: Record<string, string> = auth) =>
  request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })
const errorOf = (reply: Reply) => (JSON.parse(reply.text) as { error: { message: string; type: string; param: string | null; code: string | null } }).error
const sseData = (text: string) =>
  text.split("\n\n").filter((block) => block.startsWith("data: ")).map((block) => block.slice("data: ".length))

const origin = (deployment: string) => ({ provider: "stub", deployment, message: `failure at ${deployment}` })

describe("Gateway", () => {
  it.live("answers a chat request with the route in its headers", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml)
      const reply = yield* post(`${url}/v1/chat/completions`, { model: "main", messages: message }, { ...auth, "x-request-id": "caller-id-7" })
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(JSON.parse(reply.text).choices[0].message.content, "Hello from main-a.")
      assert.strictEqual(reply.headers.get("x-llm-router-model-group"), "main")
      assert.strictEqual(reply.headers.get("x-llm-router-deployment"), "main-a")
      assert.strictEqual(reply.headers.get("x-llm-router-provider"), "openai")
      assert.strictEqual(reply.headers.get("x-llm-router-model"), "gpt-4o")
      assert.strictEqual(reply.headers.get("x-llm-router-attempts"), "1")
      assert.strictEqual(reply.headers.get("x-llm-router-fallbacks"), "")
      assert.match(reply.headers.get("x-llm-router-latency-ms") ?? "", /^\d+$/)
      assert.strictEqual(reply.headers.get("x-request-id"), "caller-id-7")
      // Also without the /v1 prefix, and by alias.
      const bare = yield* post(`${url}/chat/completions`, { model: "default-model", messages: message })
      assert.strictEqual(bare.status, 200)
      assert.match(bare.headers.get("x-request-id") ?? "", /^req_[0-9a-f]{27}$/)
      const again = yield* post(`${url}/chat/completions`, { model: "main", messages: message }, { ...auth, "x-request-id": "not valid\u00e9" })
      assert.match(again.headers.get("x-request-id") ?? "", /^req_[0-9a-f]{27}$/)
      assert.notStrictEqual(again.headers.get("x-request-id"), bare.headers.get("x-request-id"))
    }).pipe(Effect.scoped))

  it.live("shows failover within a group and to a fallback group", () =>
    Effect.gen(function*() {
      const { url, probe } = yield* Stub.start(yaml, {
        "main-a": { fail: new LlmError.InternalServerError({ ...origin("main-a"), status: 500 }) },
        "solo-1": { fail: new LlmError.AuthenticationFailed({ ...origin("solo-1"), status: 401 }) }
      })
      const within = yield* post(`${url}/v1/chat/completions`, { model: "main", messages: message })
      assert.strictEqual(within.status, 200)
      assert.strictEqual(within.headers.get("x-llm-router-deployment"), "main-b")
      assert.strictEqual(within.headers.get("x-llm-router-attempts"), "2")
      const fallback = yield* post(`${url}/v1/chat/completions`, { model: "solo", messages: message })
      assert.strictEqual(fallback.status, 200)
      assert.strictEqual(fallback.headers.get("x-llm-router-model-group"), "backup")
      assert.strictEqual(fallback.headers.get("x-llm-router-fallbacks"), "backup")
      assert.strictEqual(fallback.headers.get("x-llm-router-deployment"), "backup-1")
      assert.deepStrictEqual(probe.calls.map((c) => c.deployment), ["main-a", "main-b", "solo-1", "backup-1"])
    }).pipe(Effect.scoped))

  it.live("maps router errors to OpenAI's shape and status, with Retry-After and without secrets", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml, {
        "backup-1": {
          fail: new LlmError.RateLimited({
            ...origin("backup-1"),
            status: 429,
            retryAfter: Duration.seconds(7),
            message: "slow down, key sk-upstream-secret-123456"
          })
        }
      })
      // Longer than max_retry_after: the router gives up at once and passes the wait on.
      const limited = yield* post(`${url}/v1/chat/completions`, { model: "backup", messages: message })
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers.get("retry-after"), "7")
      assert.strictEqual(limited.headers.get("x-llm-router-deployment"), "backup-1")
      const error = errorOf(limited)
      assert.strictEqual(error.type, "rate_limit_error")
      assert.notInclude(limited.text, "sk-upstream-secret-123456")
      const unknown = yield* post(`${url}/v1/chat/completions`, { model: "nope", messages: message })
      assert.strictEqual(unknown.status, 404)
      assert.strictEqual(errorOf(unknown).code, "model_not_found")
    }).pipe(Effect.scoped))

  it.live("refuses bad input with a 400 naming the field, before any provider is called", () =>
    Effect.gen(function*() {
      const { url, probe } = yield* Stub.start(yaml)
      const malformed = yield* post(`${url}/v1/chat/completions`, "{\"model\": \"main\", ")
      assert.strictEqual(malformed.status, 400)
      assert.strictEqual(errorOf(malformed).code, "invalid_json")
      const missing = yield* post(`${url}/v1/chat/completions`, { model: "main" })
      assert.strictEqual(missing.status, 400)
      assert.strictEqual(errorOf(missing).param, "messages")
      const wrongType = yield* post(`${url}/v1/chat/completions`, { model: "main", messages: message, temperature: "hot" })
      assert.strictEqual(wrongType.status, 400)
      assert.strictEqual(errorOf(wrongType).param, "temperature")
      const notObject = yield* post(`${url}/v1/chat/completions`, "[1,2]")
      assert.strictEqual(notObject.status, 400)
      assert.strictEqual(errorOf(notObject).type, "invalid_request_error")
      assert.strictEqual(probe.calls.length, 0)
    }).pipe(Effect.scoped))

  it.live("needs the master key on /v1 routes, not on health", () =>
    Effect.gen(function*() {
      const { url, probe } = yield* Stub.start(yaml)
      const none = yield* post(`${url}/v1/chat/completions`, { model: "main", messages: message }, {})
      assert.strictEqual(none.status, 401)
      assert.strictEqual(errorOf(none).type, "authentication_error")
      const wrong = yield* post(`${url}/v1/chat/completions`, { model: "main", messages: message }, { authorization: "Bearer sk-gateway-master-2" })
      assert.strictEqual(wrong.status, 401)
      const models = yield* request(`${url}/v1/models`)
      assert.strictEqual(models.status, 401)
      assert.strictEqual((yield* request(`${url}/health/liveness`)).status, 200)
      assert.strictEqual((yield* request(`${url}/health/readiness`)).status, 200)
      assert.strictEqual((yield* request(`${url}/metrics`)).status, 200)
      assert.strictEqual(probe.calls.length, 0)
    }).pipe(Effect.scoped))

  it.live("lists groups and visible aliases as OpenAI models", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml)
      const reply = yield* request(`${url}/v1/models`, { headers: auth })
      const list = JSON.parse(reply.text) as { object: string; data: Array<{ id: string; object: string }> }
      assert.strictEqual(list.object, "list")
      assert.deepStrictEqual(list.data.map((m) => m.id).sort(), ["backup", "default-model", "main", "solo"])
      assert.isTrue(list.data.every((m) => m.object === "model"))
    }).pipe(Effect.scoped))

  it.live("answers unknown routes with a 404 in OpenAI's shape", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml)
      const reply = yield* request(`${url}/v1/no-such-route`, { method: "POST", headers: auth, body: "{}" })
      assert.strictEqual(reply.status, 404)
      assert.strictEqual(errorOf(reply).type, "invalid_request_error")
      assert.isNotNull(reply.headers.get("x-request-id"))
    }).pipe(Effect.scoped))

  it.live("a group over its budget answers 429 with the wait until the window ends", () =>
    Effect.gen(function*() {
      const { probe, url } = yield* Stub.start(`
model_list:
  - model_name: capped
    litellm_params: { model: openai/gpt-4o, max_budget: 0.000001, budget_duration: 1h }
    model_info: { id: capped-1, input_cost_per_token: 0.001, output_cost_per_token: 0.001 }
`)
      const body = { model: "capped", messages: message }
      const chat = `${url}/v1/chat/completions`
      assert.strictEqual((yield* post(chat, body, {})).status, 200)
      const over = yield* post(chat, body, {})
      assert.strictEqual(over.status, 429)
      assert.match(errorOf(over).message, /over its budget \(deployment capped-1: \$0\.000001 per 1h\)/)
      const wait = Number(over.headers.get("retry-after"))
      assert.isTrue(wait >= 1 && wait <= 3600, `Retry-After ${wait}: the rest of the hour`)
      assert.strictEqual(probe.calls.length, 1, "the second request reached no provider")
    }).pipe(Effect.scoped))

  it.live("reports readiness per group from the router's cooldowns", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml, {
        "backup-1": { fail: new LlmError.RateLimited({ ...origin("backup-1"), status: 429 }) }
      })
      const before = JSON.parse((yield* request(`${url}/health/readiness`)).text)
      assert.strictEqual(before.status, "ready")
      assert.strictEqual(before.groups.backup.available, 1)
      assert.deepStrictEqual(before.shared_state, { store: "memory" })
      yield* post(`${url}/v1/chat/completions`, { model: "backup", messages: message })
      const after = JSON.parse((yield* request(`${url}/health/readiness`)).text)
      assert.strictEqual(after.status, "degraded")
      assert.strictEqual(after.groups.backup.available, 0)
      assert.strictEqual(after.groups.backup.cooling_down[0].deployment, "backup-1")
      assert.strictEqual(after.groups.backup.cooling_down[0].reason, "RateLimited")
      assert.strictEqual(after.groups.main.available, 2)
    }).pipe(Effect.scoped))

  it.live("protects /metrics when require_auth_for_metrics_endpoint is set", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml.replace("litellm_settings:", "litellm_settings:\n  require_auth_for_metrics_endpoint: true"))
      assert.strictEqual((yield* request(`${url}/metrics`)).status, 401)
      assert.strictEqual((yield* request(`${url}/metrics`, { headers: auth })).status, 200)
      assert.strictEqual((yield* request(`${url}/health/liveness`)).status, 200)
    }).pipe(Effect.scoped))

  it.live("serves the router's metrics as Prometheus text", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml)
      yield* post(`${url}/v1/chat/completions`, { model: "main", messages: message })
      const reply = yield* request(`${url}/metrics`)
      assert.strictEqual(reply.status, 200)
      assert.include(reply.headers.get("content-type") ?? "", "text/plain")
      assert.match(reply.text, /llm_router_requests_total\{[^}]*deployment="main-a"[^}]*outcome="success"/)
      assert.match(reply.text, /llm_router_http_requests_total\{route="\/v1\/chat\/completions",status="200"\}/)
      assert.notInclude(reply.text, "sk-upstream-secret-123456")
    }).pipe(Effect.scoped))
})

describe("Gateway streaming", () => {
  const streamBody = (model: string) => ({ model, messages: message, stream: true })

  it.live("streams SSE chunks and [DONE], with the route in the headers", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml, { "main-a": { text: "one two three" } })
      const reply = yield* post(`${url}/v1/chat/completions`, streamBody("main"))
      assert.strictEqual(reply.status, 200)
      assert.include(reply.headers.get("content-type") ?? "", "text/event-stream")
      assert.strictEqual(reply.headers.get("x-llm-router-deployment"), "main-a")
      const data = sseData(reply.text)
      assert.strictEqual(data.at(-1), "[DONE]")
      const text = data.slice(0, -1).map((d) => JSON.parse(d)).map((c) => c.choices[0]?.delta?.content ?? "").join("")
      assert.strictEqual(text, "one two three")
    }).pipe(Effect.scoped))

  it.live("fails over before the first content chunk, invisibly to the client", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml, {
        "main-a": { fail: new LlmError.ServiceUnavailable({ ...origin("main-a"), status: 503 }) }
      })
      const reply = yield* post(`${url}/v1/chat/completions`, streamBody("main"))
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.headers.get("x-llm-router-deployment"), "main-b")
      assert.strictEqual(reply.headers.get("x-llm-router-attempts"), "2")
      assert.strictEqual(sseData(reply.text).at(-1), "[DONE]")
    }).pipe(Effect.scoped))

  it.live("answers a real HTTP error status when the stream fails before any content", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml, {
        "backup-1": { fail: new LlmError.PermissionDenied({ ...origin("backup-1"), status: 403 }) }
      })
      const reply = yield* post(`${url}/v1/chat/completions`, streamBody("backup"))
      assert.strictEqual(reply.status, 403)
      assert.include(reply.headers.get("content-type") ?? "", "application/json")
      assert.strictEqual(errorOf(reply).type, "permission_error")
    }).pipe(Effect.scoped))

  it.live("ends with an SSE error event when the stream fails after content", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml, {
        "main-a": {
          text: "a b c d",
          afterChunks: { chunks: 2, error: new LlmError.ConnectionFailed({ ...origin("main-a"), message: "reset, key sk-upstream-secret-123456" }) }
        }
      })
      const reply = yield* post(`${url}/v1/chat/completions`, streamBody("main"))
      assert.strictEqual(reply.status, 200)
      const data = sseData(reply.text)
      const last = JSON.parse(data.at(-1)!) as { error: { type: string; code: string; message: string } }
      assert.strictEqual(last.error.code, "upstream_connection_failed")
      assert.notInclude(reply.text, "[DONE]")
      assert.notInclude(reply.text, "sk-upstream-secret-123456")
      const content = data.slice(0, -1).map((d) => JSON.parse(d).choices[0]?.delta?.content ?? "").join("")
      assert.strictEqual(content, "a b ")
    }).pipe(Effect.scoped))

  it.live("marks a restart visibly when the policy restarts streams", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml.replace("num_retries: 1", "num_retries: 1\n  stream_failure_policy: restart"), {
        "main-a": {
          text: "first try here",
          afterChunks: { chunks: 1, error: new LlmError.ConnectionFailed(origin("main-a")) }
        },
        "main-b": { text: "second answer" }
      })
      const reply = yield* post(`${url}/v1/chat/completions`, streamBody("main"))
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.headers.get("x-llm-router-deployment"), "main-a")
      assert.match(reply.text, /^: llm-router: main-a failed mid-stream \(ConnectionFailed\)/m)
      assert.match(reply.text, /^: llm-router: now serving from main-b$/m)
      const events = sseData(reply.text)
      assert.strictEqual(events.at(-1), "[DONE]")
      const chunks = events.slice(0, -1).map((d) => JSON.parse(d))
      const markerIndex = chunks.findIndex((c) => c.llm_router?.event === "restarted")
      assert.isAtLeast(markerIndex, 1)
      assert.strictEqual(chunks[markerIndex].llm_router.failed_deployment, "main-a")
      assert.strictEqual(chunks[markerIndex].llm_router.error.code, "upstream_connection_failed")
      assert.deepStrictEqual(chunks[markerIndex].choices, [])
      const after = chunks.slice(markerIndex + 1).map((c) => c.choices[0]?.delta?.content ?? "").join("")
      assert.strictEqual(after, "second answer")
    }).pipe(Effect.scoped))

  it.live("interrupts the upstream stream when the client disconnects", () =>
    Effect.gen(function*() {
      const { url, probe } = yield* Stub.start(yaml, { "main-a": { text: "x y z", afterChunks: { chunks: 1 } } })
      yield* Effect.promise(() =>
        new Promise<void>((resolve, reject) => {
          const req = http.request(`${url}/v1/chat/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" } }, (res) => {
            res.once("data", () => {
              req.destroy()
              resolve()
            })
          })
          req.on("error", () => {})
          req.on("close", () => resolve())
          req.setTimeout(5_000, () => reject(new Error("no data")))
          req.end(JSON.stringify(streamBody("main")))
        })
      )
      // The upstream stream hangs after its first chunk; only the disconnect can end it.
      for (let i = 0; i < 100 && probe.closedEarly.length === 0; i++) yield* Effect.sleep("20 millis")
      assert.deepStrictEqual(probe.closedEarly, ["main-a"])
    }).pipe(Effect.scoped))
})

/** Raw HTTP, for bodies fetch will not send: stalled, chunked without a length. */
const raw = (
  url: string,
  write: (req: http.ClientRequest) => void,
  headers: Record<string, string> = {}
): Effect.Effect<{ status: number; body: string; headers: http.IncomingHttpHeaders }> =>
  Effect.promise(() =>
    new Promise((resolve, reject) => {
      const req = http.request(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json", ...headers }
      }, (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk) => (body += chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
      })
      req.on("error", reject)
      write(req)
    })
  )

/**
 * Chat requests pipelined on one connection, all in one write, so that Node's parser hands
 * them to the gateway in one turn of the event loop. Request i sends the id `pipelined-i`.
 * The status and request id of each answer, in order.
 */
const pipelined = (url: string, bodies: ReadonlyArray<string>): Effect.Effect<Array<{ status: number; requestId: string }>> =>
  Effect.promise(() =>
    new Promise((resolve, reject) => {
      const { port } = new URL(url)
      const socket = net.connect(Number(port), "127.0.0.1", () =>
        socket.write(bodies.map((body, i) =>
          `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: ${auth.authorization}\r\n` +
          `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: pipelined-${i}\r\n` +
          `connection: ${i === bodies.length - 1 ? "close" : "keep-alive"}\r\n\r\n${body}`
        ).join("")))
      let text = ""
      socket.setEncoding("utf8")
      socket.on("data", (chunk) => (text += chunk))
      socket.on("error", reject)
      socket.on("end", () =>
        resolve(text.split(/(?=HTTP\/1\.1 \d{3} )/).map((answer) => ({
          status: Number(answer.slice(9, 12)),
          requestId: /^x-request-id: (.*)\r$/m.exec(answer)?.[1] ?? ""
        }))))
    })
  )

describe("Gateway limits", () => {
  it.live("refuses a body over the limit with 413, by its length or as it arrives, and keeps serving", () =>
    Effect.gen(function*() {
      const { url, probe } = yield* Stub.start(yaml, {}, { maxRequestBytes: 64 * 1024 })
      const big = JSON.stringify({ model: "main", messages: [{ role: "user", content: "x".repeat(100 * 1024) }] })
      const declared = yield* post(`${url}/v1/chat/completions`, big)
      assert.strictEqual(declared.status, 413)
      assert.strictEqual(errorOf(declared).code, "request_too_large")
      const chunked = yield* raw(url, (req) => {
        for (let i = 0; i < 10; i++) req.write("x".repeat(16 * 1024))
        req.end()
      }, { "transfer-encoding": "chunked" })
      assert.strictEqual(chunked.status, 413)
      assert.strictEqual(probe.calls.length, 0)
      const ok = yield* post(`${url}/v1/chat/completions`, { model: "main", messages: message })
      assert.strictEqual(ok.status, 200)
    }).pipe(Effect.scoped))

  it.live("reads a body that arrives in parts, or after 100-continue, as one that arrives whole", () =>
    Effect.gen(function*() {
      const { url, probe } = yield* Stub.start(yaml, {}, { maxRequestBytes: 64 * 1024 })
      const body = JSON.stringify({ model: "main", messages: [{ role: "user", content: "in parts" }] })
      // The second half comes well after the headers: the body is not complete when first looked at.
      const parts = yield* raw(url, (req) => {
        req.write(body.slice(0, 20))
        setTimeout(() => req.end(body.slice(20)), 50)
      }, { "content-length": String(Buffer.byteLength(body)) })
      assert.strictEqual(parts.status, 200)
      const continued = yield* raw(url, (req) => {
        req.on("continue", () => req.end(body))
      }, { "content-length": String(Buffer.byteLength(body)), expect: "100-continue" })
      assert.strictEqual(continued.status, 200)
      // Requests that reach the gateway in one turn of the event loop: the first body is taken
      // as soon as it is whole, the others together at the end of the turn.
      const together = yield* pipelined(
        url,
        Array.from({ length: 4 }, (_, i) => JSON.stringify({ model: "main", messages: [{ role: "user", content: `together ${i}` }] }))
      )
      // Their answers, all but the first deferred to the turn's end too, each go to their own request.
      assert.deepStrictEqual(together, [0, 1, 2, 3].map((i) => ({ status: 200, requestId: `pipelined-${i}` })))
      assert.deepStrictEqual(
        probe.calls.map((c) => c.request.messages[0]?.content),
        ["in parts", "in parts", "together 0", "together 1", "together 2", "together 3"]
      )
      // A chunked body over the limit that arrives whole in one write.
      const whole = yield* raw(url, (req) => req.end("x".repeat(80 * 1024)), { "transfer-encoding": "chunked" })
      assert.strictEqual(whole.status, 413)
      assert.strictEqual(probe.calls.length, 6)
    }).pipe(Effect.scoped))

  it.live("times out a stalled body with 408, and keeps serving", () =>
    Effect.gen(function*() {
      const { url, probe } = yield* Stub.start(yaml, {}, { bodyTimeoutMs: 150 })
      const stalled = yield* raw(url, (req) => {
        req.write("{\"model\": \"main\", ")
        // Never ends: the gateway must give up on its own.
      }, { "content-length": "1000" })
      assert.strictEqual(stalled.status, 408)
      assert.strictEqual(JSON.parse(stalled.body).error.code, "request_timeout")
      assert.strictEqual(stalled.headers.connection, "close")
      assert.strictEqual(probe.calls.length, 0)
      const ok = yield* post(`${url}/v1/chat/completions`, { model: "main", messages: message })
      assert.strictEqual(ok.status, 200)
    }).pipe(Effect.scoped))
})

describe("Gateway /health", () => {
  it.live("names each deployment's api_base without its credentials or query", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(`
model_list:
  - model_name: main
    litellm_params: { model: openai/gpt-4o, api_key: sk-x, api_base: "https://user:pa55word@proxy.example/v1?token=secret-q" }
    model_info: { id: main-a }
general_settings:
  master_key: sk-gateway-master-1
`)
      const reply = yield* request(`${url}/health`, { headers: auth })
      assert.strictEqual(reply.status, 200)
      const body = JSON.parse(reply.text) as { healthy_endpoints: Array<{ model_id: string; api_base?: string }> }
      assert.deepStrictEqual(body.healthy_endpoints.map((e) => [e.model_id, e.api_base]), [["main-a", "https://proxy.example/v1"]])
      assert.notInclude(reply.text, "pa55word")
      assert.notInclude(reply.text, "secret-q")
    }).pipe(Effect.scoped))
})

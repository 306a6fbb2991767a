/**
 * The complexity router through the gateway: `x-llm-router-tier` on the answer (plain and
 * streamed), the header forcing a tier, a bad forced tier answered 400 in OpenAI's shape, and the
 * tier counted in /metrics and written in the access log.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as AccessLog from "../src/AccessLog.ts"
import * as RouteHeaders from "../src/RouteHeaders.ts"
import * as Stub from "./Stub.ts"

const yaml = `
model_list:
  - model_name: cheap
    litellm_params: { model: openai/gpt-4o-mini }
    model_info: { id: cheap-1 }
  - model_name: strong
    litellm_params: { model: anthropic/claude-x }
    model_info: { id: strong-1 }
  - model_name: auto
    litellm_params:
      model: auto_router/complexity_router
      complexity_router_config:
        tiers: { SIMPLE: cheap, MEDIUM: cheap, COMPLEX: strong, REASONING: strong }
      complexity_router_default_model: cheap
`

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body)
    })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: "auto", messages: [{ role: "user", content }], ...extra })

describe("Gateway: complexity routing", () => {
  it.live("sends x-llm-router-tier and serves from the tier's group, plain and streamed", () =>
    Effect.gen(function*() {
      const { probe, url } = yield* Stub.start(yaml)
      const simple = yield* post(url, ask("Hi there!"))
      assert.strictEqual(simple.status, 200)
      assert.strictEqual(simple.headers.get("x-llm-router-tier"), "SIMPLE")
      assert.strictEqual(simple.headers.get("x-llm-router-model-group"), "cheap")
      const code = yield* post(url, ask("Write a Rust function that parses semantic version strings, with tests.", { stream: true }))
      assert.strictEqual(code.status, 200)
      assert.strictEqual(code.headers.get("x-llm-router-tier"), "COMPLEX")
      assert.strictEqual(code.headers.get("x-llm-router-model-group"), "strong")
      assert.deepStrictEqual(probe.calls.map((c) => c.deployment), ["cheap-1", "strong-1"])
      // The router is listed as a model, and a plain group's answer has no tier header.
      const models = yield* Effect.promise(async () => (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> })
      assert.deepStrictEqual(models.data.map((m) => m.id), ["cheap", "strong", "auto"])
      const plain = yield* post(url, { model: "cheap", messages: [{ role: "user", content: "Hi" }] })
      assert.strictEqual(plain.headers.get("x-llm-router-tier"), null)
    }).pipe(Effect.scoped))

  it.live("the x-llm-router-tier request header forces a tier; an unknown one is a 400", () =>
    Effect.gen(function*() {
      const { probe, url } = yield* Stub.start(yaml)
      const forced = yield* post(url, ask("Hi there!"), { "x-llm-router-tier": "reasoning" })
      assert.strictEqual(forced.status, 200)
      assert.strictEqual(forced.headers.get("x-llm-router-tier"), "REASONING")
      assert.strictEqual(forced.headers.get("x-llm-router-model-group"), "strong")
      const bad = yield* post(url, ask("Hi there!"), { "x-llm-router-tier": "ENORMOUS" })
      assert.strictEqual(bad.status, 400)
      const error = (JSON.parse(bad.text) as { error: { message: string; type: string } }).error
      assert.strictEqual(error.type, "invalid_request_error")
      assert.include(error.message, "SIMPLE, MEDIUM, COMPLEX, REASONING")
      assert.strictEqual(probe.calls.length, 1)
    }).pipe(Effect.scoped))

  it.live("counts requests per tier in /metrics", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml)
      yield* post(url, ask("Hi there!"))
      yield* post(url, ask("Good morning!"))
      const metrics = yield* Effect.promise(async () => (await fetch(`${url}/metrics`)).text())
      assert.match(metrics, /llm_router_complexity_requests_total\{[^}]*router="auto"[^}]*tier="SIMPLE"[^}]*\} [2-9]/)
    }).pipe(Effect.scoped))
})

describe("AccessLog: complexity routing", () => {
  it("writes the tier of a routed answer, and none for a plain one", () => {
    const route = {
      group: "strong", servedBy: "strong", deployment: "strong-1", provider: "anthropic", model: "claude-x",
      attempts: 1, fallbacks: [], latencyMs: 3,
      complexity: { router: "auto", tier: "COMPLEX" as const, score: 0.7, signals: ["code-words"], forced: false }
    }
    const request = { method: "POST", url: "/v1/chat/completions" } as unknown as HttpServerRequest.HttpServerRequest
    const answer = (headers: Record<string, string>) => ({ status: 200, headers }) as unknown as HttpServerResponse.HttpServerResponse
    const routed = JSON.parse(AccessLog.line(request, answer(RouteHeaders.ofRoute(route, "req_1")), "req_1", 0, 5)) as Record<string, unknown>
    assert.strictEqual(routed["tier"], "COMPLEX")
    assert.strictEqual(routed["model_group"], "strong")
    const { complexity: _, ...plainRoute } = route
    const plain = JSON.parse(AccessLog.line(request, answer(RouteHeaders.ofRoute(plainRoute, "req_2")), "req_2", 0, 5)) as Record<string, unknown>
    assert.isFalse("tier" in plain)
  })
})

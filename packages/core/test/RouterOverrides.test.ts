/**
 * Per-request overrides (LiteLLM's body fields `num_retries`, `timeout`, `fallbacks`,
 * `disable_fallbacks`, `mock_response`; from an Effect app `Overrides.Current`), on TestClock:
 * each changes what the router does for that request only, and none reaches the provider.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Chat, LlmClient } from "@llm-router/core"
import { Overrides, Router, RouterConfig, RouterState } from "@llm-router/core"
import { Effect, Random, Stream } from "effect"
import { assertTag, collectStream, deployment, failOnClock, harness, request, SimulatedProvider, streamedText, succeedOnClock } from "./Fixture.ts"

const failing = { failureRates: [{ error: { tag: "InternalServerError" as const }, rate: 1 }] }
const config = {
  model_list: [deployment("gpt", "a"), deployment("gpt", "b"), deployment("claude", "c"), deployment("gemini", "g")],
  fallbacks: [{ gpt: ["claude"] }],
  num_retries: 2,
  allowed_fails: 100
}
const withBody = (fields: Record<string, unknown>) => request("gpt", "hi", fields as Partial<Chat.ChatRequest>)

describe("per-request overrides", () => {
  it.effect("num_retries: 0 in the body gives exactly one attempt per group", () =>
    Effect.gen(function*() {
      const h = yield* harness(config, { a: failing, b: failing, c: failing })
      yield* failOnClock(h.router.chat(withBody({ num_retries: 0 })))
      assert.strictEqual(h.log.filter((c) => c.group === "gpt").length, 1)
      assert.strictEqual(h.callsTo("c"), 1)
      // The next request, without the field, has the configured retries again.
      yield* failOnClock(h.router.chat(request("gpt")))
      assert.strictEqual(h.log.filter((c) => c.group === "gpt").length, 4)
    }).pipe(Random.withSeed(1)))

  it.effect("Overrides.Current sets the same from an Effect app; the body wins over it", () =>
    Effect.gen(function*() {
      const h = yield* harness(config, { a: failing, b: failing, c: failing })
      yield* failOnClock(h.router.chat(request("gpt")).pipe(Effect.provideService(Overrides.Current, { numRetries: 0, disableFallbacks: true })))
      assert.deepStrictEqual(h.log.length, 1)
      yield* failOnClock(
        h.router.chat(withBody({ num_retries: 1 })).pipe(Effect.provideService(Overrides.Current, { numRetries: 0, disableFallbacks: true }))
      )
      assert.deepStrictEqual(h.log.length, 3)
    }).pipe(Random.withSeed(2)))

  it.effect("disable_fallbacks: the group answers or fails on its own", () =>
    Effect.gen(function*() {
      const h = yield* harness(config, { a: failing, b: failing })
      assertTag(yield* failOnClock(h.router.chat(withBody({ disable_fallbacks: true }))), "InternalServerError")
      assert.strictEqual(h.callsTo("c"), 0)
      yield* succeedOnClock(h.router.chat(request("gpt")))
      assert.strictEqual(h.callsTo("c"), 1)
    }).pipe(Random.withSeed(3)))

  it.effect("fallbacks in the body replace the configured chain of the requested group", () =>
    Effect.gen(function*() {
      const h = yield* harness(config, { a: failing, b: failing })
      const { route } = yield* succeedOnClock(h.router.chat(withBody({ fallbacks: ["gemini"] })))
      assert.strictEqual(route.deployment, "g")
      assert.deepStrictEqual(route.fallbacks, ["gemini"])
      assert.strictEqual(h.callsTo("c"), 0)
    }).pipe(Random.withSeed(4)))

  it.effect("timeout in the body bounds each call", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a")], num_retries: 0 },
        { a: { latency: { _tag: "Fixed", ms: 5_000 } } }
      )
      const error = yield* failOnClock(h.router.chat(withBody({ timeout: 1 })))
      assertTag(error, "Timeout")
      assert.include(error.message, "1000 ms")
    }))

  it.effect("mock_response answers without calling a provider, whole or streamed", () =>
    Effect.gen(function*() {
      const h = yield* harness(config)
      const { response, route } = yield* succeedOnClock(h.router.chat(withBody({ mock_response: "It is mocked." })))
      assert.strictEqual(response.choices[0]?.message.content, "It is mocked.")
      assert.include(["a", "b"], route.deployment)
      const { parts, error } = yield* collectStream(h.router.stream(withBody({ mock_response: "Streamed mock." })))
      assert.isUndefined(error)
      assert.strictEqual(streamedText(parts), "Streamed mock.")
      assert.deepStrictEqual(h.log, [])
    }))

  it.effect("a malformed field or an unknown fallback is a BadRequest naming the field", () =>
    Effect.gen(function*() {
      const h = yield* harness(config)
      for (const [fields, param] of [
        [{ num_retries: "two" }, "num_retries"],
        [{ num_retries: -1 }, "num_retries"],
        [{ timeout: 0 }, "timeout"],
        [{ disable_fallbacks: "yes" }, "disable_fallbacks"],
        [{ fallbacks: ["nope"] }, "fallbacks"],
        [{ mock_response: 5 }, "mock_response"]
      ] as const) {
        const error = yield* failOnClock(h.router.chat(withBody(fields)))
        assertTag(error, "BadRequest")
        assert.strictEqual(error._tag === "BadRequest" ? error.param : undefined, param, JSON.stringify(fields))
      }
      assert.deepStrictEqual(h.log, [])
    }))

  it.effect("the fields never reach the provider", () =>
    Effect.gen(function*() {
      const seen: Array<Chat.ChatRequest> = []
      const sim = yield* SimulatedProvider.make({ deployment: "a" })
      const recording: LlmClient.Service = {
        chat: (req) => Effect.suspend(() => (seen.push(req), sim.chat(req))),
        stream: (req) => Stream.suspend(() => (seen.push(req), sim.stream(req)))
      }
      const decoded = yield* RouterConfig.decode({ model_list: [deployment("gpt", "a"), deployment("claude", "c")] })
      const router = yield* Router.make(decoded, () => Effect.succeed(recording)).pipe(Effect.provide(RouterState.layerMemory))
      const fields = { num_retries: 1, timeout: 30, fallbacks: ["claude"], disable_fallbacks: false, temperature: 0.5 }
      yield* succeedOnClock(router.chat(withBody(fields)))
      yield* Stream.runDrain(router.stream(withBody(fields)))
      assert.strictEqual(seen.length, 2)
      for (const req of seen) {
        for (const key of ["num_retries", "timeout", "fallbacks", "disable_fallbacks", "mock_response"]) assert.notProperty(req, key)
        assert.strictEqual(req.temperature, 0.5)
      }
    }))
})

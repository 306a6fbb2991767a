/**
 * Counting tokens through a router (`LlmClient.count`, behind `count_tokens`) is a side call: a
 * deployment that counts exactly is asked, else the count is the estimate, and nothing is
 * recorded against any deployment (rpm/tpm, latency, successes, failures), so a client
 * that counts before every message does not steer routing; a cooling group still answers.
 */
import { assert, describe, it } from "@effect/vitest"
import { ComplexityRouter, LlmError, type LlmClient, ProviderError, Router, RouterConfig, RouterMetrics, RouterState, TokenEstimate } from "@llm-router/core"
import { Effect, Fiber, Metric } from "effect"
import { TestClock } from "effect/testing"
import { deployment, failOnClock, request, SimulatedProvider, succeedOnClock } from "./Fixture.ts"

/** What a deployment's `countTokens` does: count, or fail; absent, the deployment cannot count. */
type Counter = (id: string) => Effect.Effect<number, LlmError.LlmError>

const serverError = (id: string) =>
  Effect.fail(new LlmError.InternalServerError({ provider: "anthropic", deployment: id, status: 500, message: "count failed" }))

const routerOf = (
  input: Record<string, unknown>,
  options: {
    readonly behaviours?: Record<string, Omit<SimulatedProvider.Options, "deployment">>
    readonly counters?: Record<string, Counter>
  } = {}
) =>
  Effect.gen(function*() {
    const config = yield* RouterConfig.decode(input)
    const state = yield* RouterState.makeMemory
    const counted: Array<string> = []
    const router = yield* Router.make(config, (d) =>
      Effect.map(SimulatedProvider.make({ deployment: d.id, group: d.group, ...options.behaviours?.[d.id] }), (sim): LlmClient.Service => {
        const counter = options.counters?.[d.id]
        if (counter === undefined) return sim
        return {
          chat: sim.chat,
          stream: sim.stream,
          countTokens: () => Effect.suspend(() => {
            counted.push(d.id)
            return counter(d.id)
          })
        }
      })).pipe(Effect.provideService(RouterState.RouterState, state))
    const stats = (id: string) => Effect.map(state.snapshot([id]), (s) => s.stats.get(id)!)
    return { router, state, stats, counted }
  })

describe("counting tokens through a router", () => {
  it.effect("a count for a complexity router's name goes to its tier's group but is not counted as a routed request", () =>
    Effect.gen(function*() {
      const { router } = yield* routerOf({
        model_list: [
          deployment("cheap", "cheap-1"),
          deployment("strong", "strong-1"),
          { model_name: "auto", litellm_params: { model: ComplexityRouter.MODEL, complexity_router_config: { tiers: { SIMPLE: "cheap", MEDIUM: "cheap", COMPLEX: "strong", REASONING: "strong" } } } }
        ]
      })
      const tiered = (tier: string) => RouterMetrics.complexityRequests({ router: "auto", tier, forced: "false" })
      const before = yield* Metric.value(tiered("SIMPLE"))
      const counted = yield* router.count!(request("auto", "Hello, how are you?"))
      assert.isAbove(counted.inputTokens, 0)
      assert.deepStrictEqual(yield* Metric.value(tiered("SIMPLE")), before)
      yield* succeedOnClock(router.chat(request("auto", "Hello, how are you?")), "1 second")
      assert.notDeepEqual(yield* Metric.value(tiered("SIMPLE")), before)
    }))

  it.effect("spends no rpm and records nothing: a deployment at rpm 2 still serves two chats after three counts", () =>
    Effect.gen(function*() {
      const { router, stats } = yield* routerOf({
        routing_strategy: "usage-based-routing-v2",
        model_list: [deployment("gpt", "a", { rpm: 2 })]
      })
      const before = yield* stats("a")
      const ask = request("gpt", "How many tokens is this?")
      for (let i = 0; i < 3; i++) {
        const counted = yield* router.count!(ask)
        assert.strictEqual(counted.inputTokens, TokenEstimate.ofRequest(ask))
        assert.isUndefined(counted.route, "an estimate names no deployment")
      }
      assert.deepStrictEqual(yield* stats("a"), before)
      yield* succeedOnClock(router.chat(request("gpt")), "1 second")
      yield* succeedOnClock(router.chat(request("gpt")), "1 second")
      assert.strictEqual((yield* stats("a")).requestsThisMinute, 2)
    }))

  it.effect("asks the deployment that counts exactly, and records neither its success nor its latency", () =>
    Effect.gen(function*() {
      const { router, stats, counted } = yield* routerOf(
        { model_list: [deployment("claude", "c", { model: "anthropic/claude-sonnet-4-5" })] },
        { counters: { c: () => Effect.succeed(1234) } }
      )
      const before = yield* stats("c")
      const answer = yield* router.count!(request("claude", "hi"))
      assert.strictEqual(answer.inputTokens, 1234)
      assert.strictEqual(answer.route?.deployment, "c")
      assert.strictEqual(answer.route?.group, "claude")
      assert.strictEqual(answer.route?.attempts, 1)
      assert.deepStrictEqual(counted, ["c"])
      assert.deepStrictEqual(yield* stats("c"), before)
    }))

  it.effect("leaves a failing deployment's failure count as it was (a count is no success that resets allowed_fails)", () =>
    Effect.gen(function*() {
      const { router, stats } = yield* routerOf(
        { model_list: [deployment("claude", "c")], allowed_fails: 2, num_retries: 0 },
        { behaviours: { c: { script: [SimulatedProvider.fail("InternalServerError", { status: 500 })] } }, counters: { c: () => Effect.succeed(9) } }
      )
      yield* failOnClock(router.chat(request("claude")), "1 second")
      assert.strictEqual((yield* stats("c")).recentFailures, 1)
      assert.strictEqual((yield* router.count!(request("claude"))).inputTokens, 9)
      assert.strictEqual((yield* stats("c")).recentFailures, 1)
    }))

  it.effect("a failed count falls to the next deployment that counts, by order, without cooling the one that failed", () =>
    Effect.gen(function*() {
      const { router, stats, counted } = yield* routerOf(
        {
          model_list: [
            deployment("claude", "second"),
            deployment("claude", "plain"),
            deployment("claude", "first", { order: 1 })
          ],
          allowed_fails: 0
        },
        { counters: { first: serverError, second: () => Effect.succeed(77) } }
      )
      const answer = yield* router.count!(request("claude"))
      assert.strictEqual(answer.inputTokens, 77)
      assert.strictEqual(answer.route?.deployment, "second")
      assert.strictEqual(answer.route?.attempts, 2)
      assert.deepStrictEqual(counted, ["first", "second"])
      const first = yield* stats("first")
      assert.strictEqual(first.cooldownUntil, 0)
      assert.strictEqual(first.recentFailures, 0)
      assert.strictEqual(first.inFlight, 0)
    }))

  it.effect("the request's tags choose who counts, as they choose who answers; no deployment with them is the chat's 400", () =>
    Effect.gen(function*() {
      const { router, counted } = yield* routerOf(
        {
          model_list: [deployment("claude", "eu", { tags: ["eu"] }), deployment("claude", "us", { tags: ["us"] })],
          enable_tag_filtering: true
        },
        { counters: { eu: () => Effect.succeed(1), us: () => Effect.succeed(2) } }
      )
      const us = yield* router.count!(request("claude", "hi", { metadata: { tags: ["us"] } }))
      assert.strictEqual(us.inputTokens, 2)
      assert.deepStrictEqual(counted, ["us"])
      const refused = yield* Effect.flip(router.count!(request("claude", "hi", { metadata: { tags: ["apac"] } })))
      assert.strictEqual(refused._tag, "BadRequest")
      assert.deepStrictEqual(counted, ["us"])
    }))

  it.effect("a 400 on the request is its answer; a 405 passes to the next counter; a counter that hangs gives way to the estimate within ten seconds", () =>
    Effect.gen(function*() {
      const badRequest = () => Effect.fail(new LlmError.BadRequest({ provider: "anthropic", status: 400, message: "messages: bad" }))
      const refusing = yield* routerOf({ model_list: [deployment("claude", "c")] }, { counters: { c: badRequest } })
      assert.strictEqual((yield* Effect.flip(refusing.router.count!(request("claude"))))._tag, "BadRequest")

      // A server that serves messages but not counts (405) is the deployment's failure: the next one counts.
      const notCounting = () => Effect.fail(ProviderError.classify({ provider: "anthropic", deployment: "proxy", status: 405, body: "Method Not Allowed" }))
      const proxied = yield* routerOf(
        { model_list: [deployment("claude", "proxy", { order: 1 }), deployment("claude", "real", { order: 2 })] },
        { counters: { proxy: notCounting, real: () => Effect.succeed(42) } }
      )
      assert.strictEqual((yield* proxied.router.count!(request("claude"))).inputTokens, 42)

      const hanging = yield* routerOf({ model_list: [deployment("claude", "c")] }, { counters: { c: () => Effect.never } })
      const ask = request("claude", "a question")
      const fiber = yield* Effect.forkChild(hanging.router.count!(ask))
      yield* TestClock.adjust("10 seconds")
      const answer = yield* Fiber.join(fiber)
      assert.strictEqual(answer.inputTokens, TokenEstimate.ofRequest(ask))
      assert.isUndefined(answer.route)
    }))

  it.effect("every count failing answers the estimate", () =>
    Effect.gen(function*() {
      const { router, counted } = yield* routerOf({ model_list: [deployment("claude", "c")] }, { counters: { c: serverError } })
      const ask = request("claude", "a question of some length")
      const answer = yield* router.count!(ask)
      assert.strictEqual(answer.inputTokens, TokenEstimate.ofRequest(ask))
      assert.isUndefined(answer.route)
      assert.deepStrictEqual(counted, ["c"])
    }))

  it.effect("a group whose deployments are all cooling answers the estimate, never a 429; a cooling counter is not asked", () =>
    Effect.gen(function*() {
      const { router, stats, counted } = yield* routerOf(
        { model_list: [deployment("claude", "c")], num_retries: 0 },
        { behaviours: { c: { script: [SimulatedProvider.fail("RateLimited", { status: 429 })] } }, counters: { c: () => Effect.succeed(5) } }
      )
      yield* failOnClock(router.chat(request("claude")), "1 second")
      assert.isAbove((yield* stats("c")).cooldownUntil, 0, "the 429 cooled the only deployment")
      const ask = request("claude", "hi there")
      const answer = yield* router.count!(ask)
      assert.strictEqual(answer.inputTokens, TokenEstimate.ofRequest(ask))
      assert.deepStrictEqual(counted, [])
    }))

  it.effect("an unknown model fails as a chat's would", () =>
    Effect.gen(function*() {
      const { router } = yield* routerOf({ model_list: [deployment("claude", "c")] })
      const error = yield* Effect.flip(router.count!(request("nope")))
      assert.strictEqual(error._tag, "ModelNotFound")
    }))
})

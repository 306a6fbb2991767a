/**
 * The complexity router inside the router: a request for its name is classified and served by
 * its tier's group, with that group's retries and fallbacks; the ladder climbs past a tier whose
 * deployments are all cooling down; a forced tier wins; the route reports the decision.
 */
import { assert, describe, it } from "@effect/vitest"
import { ComplexityRouter, LlmClient, Router, RouterConfig, RouterState, Strategy } from "@llm-router/core"
import { Effect, pipe } from "effect"
import { assertTag, collectStream, deployment, failOnClock, harness, request, SimulatedProvider, succeedOnClock } from "./Fixture.ts"

const { fail } = SimulatedProvider
const down = { failureRates: [{ error: { tag: "ServiceUnavailable" as const }, rate: 1 }] }

const auto = (tiers: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  model_name: "auto",
  litellm_params: { model: ComplexityRouter.MODEL, complexity_router_config: { tiers }, ...extra }
})

const groups = [
  deployment("cheap", "cheap-1"),
  deployment("mid", "mid-1"),
  deployment("strong", "strong-1"),
  deployment("strong-backup", "strong-backup-1"),
  deployment("thinker", "thinker-1")
]
const tiers = { SIMPLE: "cheap", MEDIUM: "mid", COMPLEX: "strong", REASONING: "thinker" }

const HELLO = "Hello, how are you?"
const CODE = "Write a TypeScript function that parses a CSV line with quoted fields, and add unit tests."
const MATH = "A train leaves at 3 pm going 60 miles per hour; a second leaves at 4 pm going 80 miles per hour. At what time does the second catch up?"

describe("complexity routing", () => {
  it.effect("serves each prompt from its tier's group and reports tier, score and signals", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [...groups, auto(tiers, { complexity_router_default_model: "mid" })] })
      const simple = yield* succeedOnClock(h.router.chat(request("auto", HELLO)))
      const code = yield* succeedOnClock(h.router.chat(request("auto", CODE)))
      const math = yield* succeedOnClock(h.router.chat(request("auto", MATH)))
      assert.deepStrictEqual(h.order(), ["cheap-1", "strong-1", "thinker-1"])
      assert.strictEqual(simple.route.group, "cheap")
      assert.strictEqual(simple.route.complexity?.router, "auto")
      assert.strictEqual(simple.route.complexity?.tier, "SIMPLE")
      assert.strictEqual(code.route.complexity?.tier, "COMPLEX")
      assert.isTrue(code.route.complexity!.signals.includes("code-words"))
      assert.isTrue(code.route.complexity!.score! > simple.route.complexity!.score!)
      assert.strictEqual(math.route.complexity?.tier, "REASONING")
      assert.isFalse(math.route.complexity!.forced)
    }))

  it.effect("a plain group's route carries no complexity decision", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [...groups, auto(tiers)] })
      const { route } = yield* succeedOnClock(h.router.chat(request("mid", CODE)))
      assert.strictEqual(route.complexity, undefined)
      assert.isFalse("complexity" in route)
    }))

  it.effect("fallbacks configured for the tier's group fire (LiteLLM #38832)", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [...groups, auto(tiers)], fallbacks: [{ strong: ["strong-backup"] }], num_retries: 0 },
        { "strong-1": down }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request("auto", CODE)))
      assert.deepStrictEqual(h.order(), ["strong-1", "strong-backup-1"])
      assert.strictEqual(route.group, "strong")
      assert.strictEqual(route.servedBy, "strong-backup")
      assert.deepStrictEqual(route.fallbacks, ["strong-backup"])
      assert.strictEqual(route.complexity?.tier, "COMPLEX")
    }))

  it.effect("climbs the ladder, never down, when the tier's group is cooling down; then the default", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [...groups, auto(tiers, { complexity_router_default_model: "mid" })], num_retries: 0 },
        { "cheap-1": { script: [fail("RateLimited")] }, "strong-1": { script: [fail("RateLimited")] }, "thinker-1": { script: [fail("RateLimited")] } }
      )
      // A 429 cools a deployment at once: cheap, strong and thinker go out of rotation.
      for (const prompt of [HELLO, CODE, MATH]) assertTag(yield* failOnClock(h.router.chat(request("auto", prompt)), 0), "RateLimited")
      assert.deepStrictEqual(h.order(), ["cheap-1", "strong-1", "thinker-1"])
      // SIMPLE climbs past cooling cheap to MEDIUM's group.
      const simple = yield* succeedOnClock(h.router.chat(request("auto", HELLO)), 0)
      assert.strictEqual(simple.route.group, "mid")
      assert.strictEqual(simple.route.complexity?.tier, "SIMPLE")
      // COMPLEX finds COMPLEX and REASONING cooling: it takes the default, never SIMPLE's or MEDIUM's by climbing down.
      const code = yield* succeedOnClock(h.router.chat(request("auto", CODE)), 0)
      assert.strictEqual(code.route.group, "mid")
      assert.deepStrictEqual(h.order().slice(3), ["mid-1", "mid-1"])
    }))

  it.effect("climbs past a tier whose deployments are over their budget, or at their rpm under usage-based routing", () =>
    Effect.gen(function*() {
      const priced = { input_cost_per_token: 0.001, output_cost_per_token: 0.001 }
      const budgeted = yield* harness({
        model_list: [
          deployment("cheap", "cheap-1", { max_budget: 0.000001, budget_duration: "1h" }, priced),
          deployment("mid", "mid-1"),
          deployment("strong", "strong-1"),
          deployment("thinker", "thinker-1"),
          auto(tiers)
        ]
      })
      const first = yield* succeedOnClock(budgeted.router.chat(request("auto", HELLO)), "1 second")
      assert.strictEqual(first.route.group, "cheap")
      // cheap has spent its budget for the hour: SIMPLE climbs to MEDIUM's group instead of a 429.
      const second = yield* succeedOnClock(budgeted.router.chat(request("auto", HELLO)), "1 second")
      assert.strictEqual(second.route.group, "mid")
      assert.strictEqual(second.route.complexity?.tier, "SIMPLE")

      const limited = yield* harness({
        model_list: [deployment("cheap", "cheap-1", { rpm: 1 }), deployment("mid", "mid-1"), deployment("strong", "strong-1"), deployment("thinker", "thinker-1"), auto(tiers)],
        routing_strategy: "usage-based-routing-v2"
      })
      assert.strictEqual((yield* succeedOnClock(limited.router.chat(request("auto", HELLO)), 0)).route.group, "cheap")
      assert.strictEqual((yield* succeedOnClock(limited.router.chat(request("auto", HELLO)), 0)).route.group, "mid")
      assert.deepStrictEqual(limited.order(), ["cheap-1", "mid-1"])
    }))

  it.effect("the ladder asks a tier's group its own strategy's filters: one that calls through cooldowns is not passed by", () =>
    Effect.gen(function*() {
      const throughCooldowns = pipe(Strategy.members, Strategy.pick(Strategy.first))
      const h = yield* harness({ model_list: [...groups, auto(tiers)], num_retries: 0 }, {}, { strategies: { cheap: throughCooldowns } })
      yield* h.state.onFailure("cheap-1", { reason: "RateLimited", countsTowardCooldown: true, coolsImmediately: true, allowedFails: 0, cooldownMs: 60_000 })
      const { route } = yield* succeedOnClock(h.router.chat(request("auto", HELLO)), 0)
      assert.strictEqual(route.group, "cheap")
      assert.deepStrictEqual(h.order(), ["cheap-1"])

      // The same through an orElse: the first strategy's filters leave nothing, the second calls through.
      const orElseThrough = pipe(Strategy.candidates, Strategy.pick(Strategy.first), Strategy.orElse(throughCooldowns))
      const g = yield* harness({ model_list: [...groups, auto(tiers)], num_retries: 0 }, {}, { strategies: { cheap: orElseThrough } })
      yield* g.state.onFailure("cheap-1", { reason: "RateLimited", countsTowardCooldown: true, coolsImmediately: true, allowedFails: 0, cooldownMs: 60_000 })
      assert.strictEqual((yield* succeedOnClock(g.router.chat(request("auto", HELLO)), 0)).route.group, "cheap")
    }))

  it.effect("a forced tier wins (metadata.complexity_tier); an unknown one is a bad request", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [...groups, auto(tiers)] })
      const forced = yield* succeedOnClock(h.router.chat(request("auto", HELLO, { metadata: { complexity_tier: "REASONING" } })))
      assert.strictEqual(forced.route.group, "thinker")
      assert.deepStrictEqual(forced.route.complexity, { router: "auto", tier: "REASONING", score: undefined, signals: ["forced"], forced: true })
      const error = yield* failOnClock(h.router.chat(request("auto", HELLO, { metadata: { complexity_tier: "HUGE" } })))
      assertTag(error, "BadRequest")
      assert.include(error.message, "complexity_tier")
      assert.strictEqual(h.order().length, 1)
    }))

  it.effect("a conversation with no user text goes to the default model", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [...groups, auto(tiers, { complexity_router_default_model: "mid" })] })
      const { route } = yield* succeedOnClock(h.router.chat({ model: "auto", messages: [{ role: "system", content: "You are terse." }] }))
      assert.strictEqual(route.group, "mid")
      assert.strictEqual(route.complexity?.tier, undefined)
      assert.deepStrictEqual(route.complexity?.signals, ["no-user-text"])
    }))

  it.effect("streams are routed the same way, and their Start and Done carry the decision", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [...groups, auto(tiers)] })
      const { error, parts } = yield* collectStream(h.router.stream(request("auto", CODE, { stream: true })))
      assert.strictEqual(error, undefined)
      assert.deepStrictEqual(h.order(), ["strong-1"])
      const start = parts.find((p): p is Extract<LlmClient.StreamPart, { _tag: "Start" }> => p._tag === "Start")
      const done = parts.find((p): p is Extract<LlmClient.StreamPart, { _tag: "Done" }> => p._tag === "Done")
      assert.strictEqual(start?.route.complexity?.tier, "COMPLEX")
      assert.strictEqual(done?.route.complexity?.tier, "COMPLEX")
    }))
})

describe("ComplexityRouter.make (in code)", () => {
  it.effect("a router made in code, with a classifier of one's own, routes like a configured one", () =>
    Effect.gen(function*() {
      const decoded = yield* RouterConfig.decode({ model_list: groups })
      const everythingIsHard = ComplexityRouter.make({
        name: "smart",
        tiers: { SIMPLE: "cheap", REASONING: ["thinker", "strong"] },
        classifier: () => ({ tier: "REASONING", score: 1, signals: ["mine"] })
      })
      const config = { ...decoded, settings: { ...decoded.settings, complexityRouters: new Map([["smart", everythingIsHard]]) } }
      const sims = yield* Effect.forEach(config.deployments, (d) => SimulatedProvider.make({ deployment: d.id, group: d.group }))
      const router = yield* Router.make(config, (d) => Effect.succeed<LlmClient.Service>(sims.find((s) => s.deployment === d.id)!)).pipe(
        Effect.provideServiceEffect(RouterState.RouterState, RouterState.makeMemory)
      )
      const { route } = yield* succeedOnClock(router.chat(request("smart", HELLO)))
      assert.strictEqual(route.group, "thinker")
      assert.deepStrictEqual(route.complexity, { router: "smart", tier: "REASONING", score: 1, signals: ["mine"], forced: false })
      assert.strictEqual(ComplexityRouter.describeRules(everythingIsHard), "a custom classifier")
    }))
})

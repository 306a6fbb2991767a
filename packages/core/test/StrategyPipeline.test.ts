/**
 * Strategies as pipelines: properties of composition over generated snapshots (a pick never
 * comes from what a filter removed; the built-in steps composed by hand pick exactly as the
 * named LiteLLM strategy on the same snapshot and random number), and a custom strategy
 * given to a router (the README's "cheapest under 500 ms at p50, else the fastest").
 */
import { assert, describe, it } from "@effect/vitest"
import type { Deployment, RouterState } from "@llm-router/core"
import { Strategy } from "@llm-router/core"
import { Effect, pipe, Schema } from "effect"
import { bareDeployment as d, deployment, failOnClock, harness, request, succeedOnClock } from "./Fixture.ts"


const DeploymentSpec = Schema.Struct({
  weight: Schema.optionalKey(Schema.Literals([0, 1, 2, 5])),
  price: Schema.optionalKey(Schema.Literals([1, 2, 3])),
  inFlight: Schema.Literals([0, 1, 2, 3]),
  latencyMs: Schema.optionalKey(Schema.Literals([50, 100, 400, 900])),
  tokens: Schema.Literals([0, 100, 1000])
})
const Scenario = Schema.Struct({
  deployments: Schema.Array(DeploymentSpec).check(Schema.isMinLength(1), Schema.isMaxLength(8)),
  /** Which deployments (by index bit) the filter keeps. */
  keepMask: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(255)),
  random: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThan(1)),
  streaming: Schema.Boolean
})

const build = (scenario: typeof Scenario.Type) => {
  const candidates = scenario.deployments.map((spec, i) =>
    d(`d${i}`, {
      ...(spec.weight !== undefined ? { weight: spec.weight } : {}),
      ...(spec.price !== undefined ? { inputCostPerToken: spec.price / 1e6, outputCostPerToken: spec.price / 1e6 } : {})
    })
  )
  const stats = new Map<string, RouterState.DeploymentStats>(scenario.deployments.map((spec, i) => [`d${i}`, {
    cooldownUntil: 0,
    inFlight: spec.inFlight,
    requestsThisMinute: 0,
    tokensThisMinute: spec.tokens,
    recentFailures: 0,
    latencyMs: spec.latencyMs,
    latencyP50Ms: spec.latencyMs,
    timeToFirstChunkMs: spec.latencyMs === undefined ? undefined : spec.latencyMs / 2
  }]))
  const context: Strategy.Context = { snapshot: { now: 0, stats }, streaming: scenario.streaming, random: scenario.random }
  return { candidates, context }
}

describe("Strategy pipelines", () => {
  it.effect.prop("never pick a deployment that an earlier filter removed", [Scenario], ([scenario]) =>
    Effect.sync(() => {
      const { candidates, context } = build(scenario)
      const kept = (x: Deployment.Deployment) => ((scenario.keepMask >> Number(x.id.slice(1))) & 1) === 1
      const picks: ReadonlyArray<Strategy.Pick> = [Strategy.simpleShuffle, Strategy.leastBusy, Strategy.lowestLatency, Strategy.lowestCost]
      for (const final of picks) {
        const strategy = pipe(Strategy.candidates, Strategy.filter(kept), Strategy.keepLowest(Strategy.inFlight), Strategy.pick(final))
        const chosen = strategy(candidates, context)
        if (candidates.some(kept)) {
          assert.isDefined(chosen)
          assert.isTrue(kept(chosen!), `${chosen!.id} was filtered out`)
        } else assert.isUndefined(chosen)
      }
    }))

  it.effect.prop("the built-in steps composed by hand pick exactly as the named strategy", [Scenario], ([scenario]) =>
    Effect.sync(() => {
      const { candidates, context } = build(scenario)
      const composed: Record<string, Strategy.Strategy> = {
        "least-busy": pipe(Strategy.candidates, Strategy.pickLowest(Strategy.inFlight)),
        "latency-based-routing": pipe(Strategy.candidates, Strategy.pickLowest(Strategy.meanLatency)),
        "cost-based-routing": pipe(Strategy.candidates, Strategy.pickLowest(Strategy.pricePerToken)),
        "usage-based-routing": pipe(Strategy.candidates, Strategy.pickLowest(Strategy.tokensThisMinute)),
        "simple-shuffle": pipe(Strategy.candidates, Strategy.pick(Strategy.simpleShuffle))
      }
      for (const [name, strategy] of Object.entries(composed)) {
        const named = Strategy.byName[name as keyof typeof Strategy.byName]
        assert.strictEqual(strategy(candidates, context)?.id, named(candidates, context).id, name)
      }
    }))

  it("orElse answers with the second strategy only when the first chose none", () => {
    const fast = d("fast", { inputCostPerToken: 3e-6, outputCostPerToken: 3e-6 })
    const slowCheap = d("slow-cheap", { inputCostPerToken: 1e-6, outputCostPerToken: 1e-6 })
    const midCheap = d("mid", { inputCostPerToken: 2e-6, outputCostPerToken: 2e-6 })
    const strategy = pipe(
      Strategy.candidates,
      Strategy.filter((x, context) => (Strategy.statsOf(context, x).latencyP50Ms ?? 0) < 500),
      Strategy.pickLowest(Strategy.pricePerToken),
      Strategy.orElse(pipe(Strategy.candidates, Strategy.pickLowest(Strategy.latencyP50)))
    )
    const stats = (p50: Record<string, number>) => ({
      now: 0,
      stats: new Map(Object.entries(p50).map(([id, ms]) => [id, {
        cooldownUntil: 0,
        inFlight: 0,
        requestsThisMinute: 0,
        tokensThisMinute: 0,
        recentFailures: 0,
        latencyP50Ms: ms
      }]))
    })
    const under = { snapshot: stats({ fast: 100, "slow-cheap": 900, mid: 300 }), streaming: false, random: 0 }
    assert.strictEqual(strategy([fast, slowCheap, midCheap], under)?.id, "mid")
    const allSlow = { snapshot: stats({ fast: 600, "slow-cheap": 900, mid: 700 }), streaming: false, random: 0 }
    assert.strictEqual(strategy([fast, slowCheap, midCheap], allSlow)?.id, "fast")
  })

  const Large = Schema.Struct({
    count: Schema.Int.check(Schema.isGreaterThanOrEqualTo(17), Schema.isLessThanOrEqualTo(60)),
    field: Schema.Literals(["weight", "rpm", "tpm", "none"]),
    /** Which deployments (by index, mod 7) carry the field, and their weights. */
    weights: Schema.Array(Schema.Literals([0, 1, 2, 7, 100])).check(Schema.isMinLength(7), Schema.isMaxLength(7)),
    random: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThan(1))
  })

  it.effect.prop("a large group's prepared shuffle picks as the walk over the weights does", [Large], ([large]) =>
    Effect.sync(() => {
      const candidates = Array.from({ length: large.count }, (_, i) => {
        const w = large.weights[i % 7]!
        return d(`d${i}`, large.field === "none" || w === 100 ? {} : { [large.field]: w })
      })
      // LiteLLM's rule, walked as the small path walks it.
      const field = (["weight", "rpm", "tpm"] as const).find((f) => candidates.some((c) => c[f] !== undefined))
      const weights = candidates.map((c) => (field === undefined ? 1 : c[field] ?? 0))
      const total = weights.reduce((a, b) => a + b, 0)
      let expected = candidates[Math.floor(large.random * candidates.length)]!
      if (field !== undefined && total > 0) {
        let threshold = large.random * total
        expected = candidates[candidates.length - 1]!
        for (let i = 0; i < candidates.length; i++) {
          threshold -= weights[i]!
          if (threshold < 0) {
            expected = candidates[i]!
            break
          }
        }
      }
      const context: Strategy.Context = { snapshot: { now: 0, stats: new Map() }, streaming: false, random: large.random }
      assert.strictEqual(Strategy.simpleShuffle(candidates, context).id, expected.id)
      // Asked again for the same array (prepared once), the same answer.
      assert.strictEqual(Strategy.simpleShuffle(candidates, context).id, expected.id)
    }))

  it("lowestOrder keeps the lowest order in a large group too", () => {
    const candidates = Array.from({ length: 40 }, (_, i) => d(`d${i}`, i % 3 === 0 ? {} : { order: i % 5 === 1 ? 1 : 2 }))
    const expected = candidates.filter((c) => c.order === 1).map((c) => c.id)
    assert.deepStrictEqual(Strategy.lowestOrder(candidates).map((c) => c.id), expected)
    assert.deepStrictEqual(Strategy.lowestOrder(candidates).map((c) => c.id), expected)
  })

  it("randomPair gives two distinct indices in range", () => {
    for (let n = 2; n < 12; n++) {
      for (let k = 0; k < 1000; k++) {
        const [i, j] = Strategy.randomPair(k / 1000, n)
        assert.isTrue(i !== j && i >= 0 && j >= 0 && i < n && j < n, `${n} ${k}: ${i} ${j}`)
      }
    }
  })
})

describe("a custom strategy in a router", () => {
  const config = {
    model_list: [
      deployment("gpt", "fast", { input_cost_per_token: 3e-6, output_cost_per_token: 3e-6 }),
      deployment("gpt", "cheap", { input_cost_per_token: 1e-6, output_cost_per_token: 1e-6 })
    ],
    num_retries: 0
  }
  const cheapFast = pipe(
    Strategy.candidates,
    Strategy.filter((x, context) => (Strategy.statsOf(context, x).latencyP50Ms ?? 0) < 500),
    Strategy.pickLowest(Strategy.pricePerToken),
    Strategy.orElse(pipe(Strategy.candidates, Strategy.pickLowest(Strategy.latencyP50)))
  )

  it.effect("takes the cheapest deployment while its p50 is under 500 ms, then the fastest", () =>
    Effect.gen(function*() {
      const h = yield* harness(config, { fast: { latency: { _tag: "Fixed", ms: 100 } }, cheap: { latency: { _tag: "Fixed", ms: 800 } } }, { strategy: cheapFast })
      // Unmeasured, both count as fast: the cheaper one is called, and measured slow.
      yield* succeedOnClock(h.router.chat(request()), "1 second")
      assert.deepStrictEqual(h.order(), ["cheap"])
      yield* succeedOnClock(h.router.chat(request()), "1 second")
      assert.deepStrictEqual(h.order(), ["cheap", "fast"])
      yield* succeedOnClock(h.router.chat(request()), "1 second")
      assert.deepStrictEqual(h.order(), ["cheap", "fast", "fast"])
    }))

  it.effect("a strategy that chooses none answers NoDeploymentAvailable", () =>
    Effect.gen(function*() {
      const none = pipe(Strategy.candidates, Strategy.filter(() => false), Strategy.pick(Strategy.simpleShuffle))
      const h = yield* harness(config, {}, { strategy: none })
      const error = yield* failOnClock(h.router.chat(request()))
      assert.strictEqual(error._tag, "NoDeploymentAvailable")
      assert.deepStrictEqual(h.order(), [])
    }))
})

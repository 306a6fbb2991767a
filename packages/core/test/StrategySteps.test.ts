/**
 * The router's own filters as pipeline steps (`Strategy.matchingTags`, `withinContextWindow`,
 * `withinBudget`, `withinRateLimits`, `healthy`, `lowestOrder`): each step and its refusal on
 * its own, then properties of pipelines run as the router runs them (`Selection`: compiled
 * once, the leading built-in filters, then the rest and the pick), over generated groups,
 * snapshots and pipelines: a pick never comes from what an earlier filter (built-in or the
 * app's) removed, and when a built-in filter leaves nothing its refusal is the answer; LiteLLM's
 * named strategies pick exactly as the same steps composed by hand, and as their bare pick
 * with the router's filters in front (how the router ran every strategy before).
 */
import { assert, describe, it } from "@effect/vitest"
import type { Budget, Deployment, RouterState } from "@llm-router/core"
import { LlmError, RouterConfig, Strategy } from "@llm-router/core"
import { Duration, Effect, pipe, Schema } from "effect"
import type { Engine } from "../src/internal/Engine.ts"
import type { Run } from "../src/internal/Run.ts"
import * as Selection from "../src/internal/Selection.ts"
import { bareDeployment as d, idleStats as idle } from "./Fixture.ts"



const NOW = 90_000

const context = (fields: Partial<Strategy.Context> = {}, stats: Record<string, Partial<RouterState.DeploymentStats>> = {}): Strategy.Context => ({
  snapshot: { now: NOW, stats: new Map(Object.entries(stats).map(([id, s]) => [id, { ...idle, ...s }])) },
  streaming: false,
  random: 0,
  group: "g",
  ...fields
})

const ids = (candidates: ReadonlyArray<Deployment.Deployment>) => candidates.map((c) => c.id)

const hourly = (id: string): Budget.Limit => ({ key: `deployment:${id}`, limitUsd: 1, periodMs: 3_600_000, label: `deployment ${id}`, period: "1h" })

describe("the router's filters as steps", () => {
  it("matchingTags: the tagged ones, else the default ones; a 400 for the requested group, a skip for a fallback", () => {
    const eu = d("eu", { tags: ["eu"] })
    const us = d("us", { tags: ["us"] })
    const dflt = d("dflt", { tags: ["default"] })
    const all = [eu, us, dflt]
    assert.deepStrictEqual(ids(Strategy.matchingTags(all, context({ tags: ["eu", "x"] }))), ["eu"])
    assert.deepStrictEqual(ids(Strategy.matchingTags(all, context({ tags: ["asia"] }))), ["dflt"])
    assert.deepStrictEqual(ids(Strategy.matchingTags(all, context())), ["dflt"], "no tags asked: the default ones")
    const untagged = [eu, us]
    assert.strictEqual(Strategy.matchingTags(untagged, context()), untagged, "no default one: all, the same array")
    assert.deepStrictEqual(Strategy.matchingTags(untagged, context({ tags: ["asia"] })), [])
    const refused = Strategy.matchingTags.refusal(untagged, context({ tags: ["asia"] }))
    assert.strictEqual(refused._tag, "BadRequest")
    assert.strictEqual((refused as LlmError.BadRequest).status, 400)
    assert.include(refused.message, `"g" has any of the tags ["asia"]`)
    assert.strictEqual(Strategy.matchingTags.refusal(untagged, context({ tags: ["asia"], isFallback: true }))._tag, "NoDeploymentAvailable")
  })

  it("withinContextWindow: the deployments whose window holds the estimate; ContextWindowExceeded when none does", () => {
    const small = d("small", { maxInputTokens: 100 })
    const large = d("large", { maxInputTokens: 10_000 })
    const unknown = d("unknown")
    const all = [small, large, unknown]
    assert.strictEqual(Strategy.withinContextWindow(all, context({ estimatedTokens: 100 })), all, "all fit: the same array")
    assert.deepStrictEqual(ids(Strategy.withinContextWindow(all, context({ estimatedTokens: 101 }))), ["large", "unknown"])
    assert.deepStrictEqual(Strategy.withinContextWindow([small, large], context({ estimatedTokens: 20_000 })), [])
    const refused = Strategy.withinContextWindow.refusal([small, large], context({ estimatedTokens: 20_000 }))
    assert.strictEqual(refused._tag, "ContextWindowExceeded")
    assert.include(refused.message, "about 20000 tokens")
  })

  it("withinBudget: none over budget without a budget; a 429 until the first window reopens", () => {
    const a = d("a")
    const b = d("b")
    const over = new Set(["a"])
    const overBudget = (x: Deployment.Deployment) => (over.has(x.id) ? hourly(x.id) : undefined)
    const both = [a, b]
    assert.strictEqual(Strategy.withinBudget(both, context()), both, "no budget: the same array")
    assert.deepStrictEqual(ids(Strategy.withinBudget(both, context({ overBudget }))), ["b"])
    over.add("b")
    assert.deepStrictEqual(Strategy.withinBudget(both, context({ overBudget })), [])
    const refused = Strategy.withinBudget.refusal(both, context({ overBudget }))
    assert.strictEqual(refused._tag, "NoDeploymentAvailable")
    assert.include(refused.message, "over its budget (deployment a: $1 per 1h; deployment b: $1 per 1h)")
    assert.strictEqual(Duration.toMillis((refused as LlmError.NoDeploymentAvailable).retryAfter!), 3_600_000 - NOW)
  })

  it("withinRateLimits: rpm reached, or tpm with this request's tokens, is out; a 429 until the minute ends", () => {
    const rpm = d("rpm", { rpm: 2 })
    const tpm = d("tpm", { tpm: 1000 })
    const free = d("free")
    const all = [rpm, tpm, free]
    const stats = { rpm: { requestsThisMinute: 2 }, tpm: { tokensThisMinute: 900 }, free: { requestsThisMinute: 99 } }
    assert.deepStrictEqual(ids(Strategy.withinRateLimits(all, context({ estimatedTokens: 100 }, stats))), ["tpm", "free"])
    assert.deepStrictEqual(ids(Strategy.withinRateLimits(all, context({ estimatedTokens: 101 }, stats))), ["free"])
    assert.strictEqual(Strategy.withinRateLimits(all, context({ estimatedTokens: 1 })), all, "under every limit: the same array")
    const refused = Strategy.withinRateLimits.refusal([rpm, tpm], context({}, stats))
    assert.strictEqual(refused._tag, "NoDeploymentAvailable")
    assert.include(refused.message, "rpm: rpm 2; tpm: tpm 1000")
    assert.strictEqual(Duration.toMillis((refused as LlmError.NoDeploymentAvailable).retryAfter!), 60_000 - (NOW % 60_000))
  })

  it("healthy: not cooling; reads nothing when the store says none is; a 429 until the first recovers", () => {
    const a = d("a")
    const b = d("b")
    const both = [a, b]
    const stats = { a: { cooldownUntil: NOW + 5_000 }, b: { cooldownUntil: NOW + 2_000 } }
    assert.deepStrictEqual(ids(Strategy.healthy(both, context({}, { a: stats.a }))), ["b"])
    assert.deepStrictEqual(Strategy.healthy(both, context({}, stats)), [])
    const noneCooling = { ...context({}, stats), snapshot: { now: NOW, stats: new Map(), noneCooling: true } }
    assert.strictEqual(Strategy.healthy(both, noneCooling), both)
    const refused = Strategy.healthy.refusal(both, context({}, stats))
    assert.strictEqual(refused._tag, "NoDeploymentAvailable")
    assert.include(refused.message, "all 2 are cooling down")
    assert.strictEqual(Duration.toMillis((refused as LlmError.NoDeploymentAvailable).retryAfter!), 2_000)
  })

  it("lowestOrder: the lowest order; never leaves nothing", () => {
    const all = [d("a", { order: 2 }), d("b", { order: 1 }), d("c")]
    assert.deepStrictEqual(ids(Strategy.lowestOrder(all, context())), ["b"])
    assert.deepStrictEqual(ids(Strategy.lowestOrder([d("c"), d("e")])), ["c", "e"])
  })

  it("admission is the router's order, with rpm/tpm limits only when asked", () => {
    assert.deepStrictEqual(Strategy.admitted.steps, [
      Strategy.matchingTags,
      Strategy.withinContextWindow,
      Strategy.withinBudget,
      Strategy.healthy,
      Strategy.lowestOrder
    ])
    assert.strictEqual(Strategy.admission({ rateLimits: true }).steps[3], Strategy.withinRateLimits)
    assert.strictEqual(Strategy.admitted.from, "members")
  })
})

// ---------------------------------------------------------------------------------------------
// Pipelines as the router runs them.

const Member = Schema.Struct({
  order: Schema.optionalKey(Schema.Literals([1, 2])),
  tags: Schema.Literals(["none", "eu", "us", "default"]),
  window: Schema.optionalKey(Schema.Literals([100, 1000])),
  rpm: Schema.optionalKey(Schema.Literals([1, 5])),
  tpm: Schema.optionalKey(Schema.Literals([500, 5000])),
  requests: Schema.Literals([0, 1, 5]),
  tokens: Schema.Literals([0, 400, 4000]),
  /** 0–1: no budget, 2: under it, 3: over it. */
  budget: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(3)),
  /** 0–2: not cooling, 3: for a second, 4: for five. */
  cooling: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(4)),
  weight: Schema.optionalKey(Schema.Literals([1, 3])),
  inFlight: Schema.Literals([0, 1, 2]),
  price: Schema.optionalKey(Schema.Literals([1, 2]))
})

/** The steps a generated pipeline is made of, by index; 6 is the app's own filter. */
const STEPS = [
  Strategy.matchingTags,
  Strategy.withinContextWindow,
  Strategy.withinBudget,
  Strategy.withinRateLimits,
  Strategy.healthy,
  Strategy.lowestOrder
] as const
const NAMES = [
  "simple-shuffle",
  "least-busy",
  "latency-based-routing",
  "cost-based-routing",
  "usage-based-routing",
  "usage-based-routing-v2"
] as const

const Scenario = Schema.Struct({
  members: Schema.Array(Member).check(Schema.isMinLength(1), Schema.isMaxLength(8)),
  requestTags: Schema.Literals(["none", "eu", "us", "asia"]),
  estimatedTokens: Schema.Literals([50, 300, 3000]),
  steps: Schema.Array(Schema.Literals([0, 1, 2, 3, 4, 5, 6])).check(Schema.isMaxLength(9)),
  /** Which members (by index bit) the app's filter keeps. */
  keepMask: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(255)),
  random: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThan(1)),
  name: Schema.Literals(NAMES),
  fallback: Schema.Boolean
})
type Scenario = typeof Scenario.Type

const defaults = Effect.runSync(RouterConfig.decode({ model_list: [{ model_name: "g", litellm_params: { model: "openai/x" } }] })).settings

/** A group, its snapshot, and a router's engine and run over it (tags and pre-call checks on). */
const build = (scenario: Scenario) => {
  const members = scenario.members.map((m, i) =>
    d(`d${i}`, {
      tags: m.tags === "none" ? [] : [m.tags],
      ...(m.order !== undefined ? { order: m.order } : {}),
      ...(m.window !== undefined ? { maxInputTokens: m.window } : {}),
      ...(m.rpm !== undefined ? { rpm: m.rpm } : {}),
      ...(m.tpm !== undefined ? { tpm: m.tpm } : {}),
      ...(m.weight !== undefined ? { weight: m.weight } : {}),
      ...(m.price !== undefined ? { inputCostPerToken: m.price / 1e6, outputCostPerToken: m.price / 1e6 } : {})
    })
  )
  const spec = (x: Deployment.Deployment) => scenario.members[Number(x.id.slice(1))]!
  const snapshot: RouterState.Snapshot = {
    now: NOW,
    stats: new Map(members.map((x) => [x.id, {
      ...idle,
      cooldownUntil: spec(x).cooling < 3 ? 0 : NOW + (spec(x).cooling === 3 ? 1000 : 5000),
      inFlight: spec(x).inFlight,
      requestsThisMinute: spec(x).requests,
      tokensThisMinute: spec(x).tokens,
      latencyMs: 100 * (1 + spec(x).inFlight)
    }]))
  }
  const budgetLimits = new Map(members.filter((x) => spec(x).budget >= 2).map((x) => [x.id, [hourly(x.id)]]))
  const overBudget = (x: Deployment.Deployment) => (spec(x).budget === 3 ? hourly(x.id) : undefined)
  const settings = { ...defaults, enableTagFiltering: true, enablePreCallChecks: true, routingStrategy: scenario.name }
  const tags = scenario.requestTags === "none" ? undefined : [scenario.requestTags]
  const run: Run = {
    request: { model: "g", ...(tags !== undefined ? { metadata: { tags } } : {}) },
    group: scenario.fallback ? "first" : "g",
    streaming: false,
    startedAt: 0,
    attempts: 0,
    fallbacks: [],
    visited: undefined,
    excluded: undefined,
    failed: undefined,
    estimatedTokens: scenario.estimatedTokens,
    estimate: () => scenario.estimatedTokens,
    overrides: undefined,
    session: undefined,
    span: undefined
  }
  /** One decision as the router makes it: compiled, the leading filters, then the rest and the pick. */
  const route = (strategy: Strategy.Strategy): Deployment.Deployment | LlmError.LlmError => {
    const engine = {
      settings,
      budgetLimits,
      overBudget,
      pins: undefined,
      // No adaptive estimates: `latency-based-routing` ranks by the mean latency, as it does on its own.
      latency: { estimates: undefined, observer: () => undefined },
      compiled: new Map([["g", Selection.compile(strategy, members, settings, budgetLimits)]]),
      strategyFor: () => strategy
    } as unknown as Engine
    const admitted = Selection.admit(engine, run, "g", members, snapshot, false, undefined)
    return "_tag" in admitted ? admitted : Selection.decide(admitted, scenario.random)
  }
  const context: Strategy.Context = {
    snapshot,
    streaming: false,
    random: scenario.random,
    group: "g",
    isFallback: scenario.fallback,
    tags,
    estimatedTokens: scenario.estimatedTokens,
    overBudget
  }
  return { members, spec, route, context, tags }
}

/** What each step keeps, said again plainly (LiteLLM's rules), for the oracle. */
const oracle = (scenario: Scenario, built: ReturnType<typeof build>) => {
  const { spec, tags } = built
  const tagged = (x: Deployment.Deployment, tag: string) => spec(x).tags === tag
  const min = (xs: ReadonlyArray<Deployment.Deployment>) => Math.min(...xs.map((x) => spec(x).order ?? Infinity))
  return [
    (xs: ReadonlyArray<Deployment.Deployment>) => {
      const defaults = xs.filter((x) => tagged(x, "default"))
      if (tags === undefined) return defaults.length > 0 ? defaults : xs
      const matching = xs.filter((x) => tagged(x, tags[0]!))
      return matching.length > 0 ? matching : defaults
    },
    (xs: ReadonlyArray<Deployment.Deployment>) => xs.filter((x) => (spec(x).window ?? Infinity) >= scenario.estimatedTokens),
    (xs: ReadonlyArray<Deployment.Deployment>) => xs.filter((x) => spec(x).budget !== 3),
    (xs: ReadonlyArray<Deployment.Deployment>) =>
      xs.filter((x) => spec(x).requests < (spec(x).rpm ?? Infinity) && spec(x).tokens + scenario.estimatedTokens <= (spec(x).tpm ?? Infinity)),
    (xs: ReadonlyArray<Deployment.Deployment>) => xs.filter((x) => spec(x).cooling < 3),
    (xs: ReadonlyArray<Deployment.Deployment>) => xs.filter((x) => (spec(x).order ?? Infinity) === min(xs)),
    (xs: ReadonlyArray<Deployment.Deployment>) => xs.filter((x) => ((scenario.keepMask >> Number(x.id.slice(1))) & 1) === 1)
  ] as const
}

/** How each step's refusal reads (the app's filter has none: the strategy chose none). */
const refusalLooks: ReadonlyArray<(error: LlmError.LlmError, fallback: boolean) => boolean> = [
  (e, fallback) => e._tag === (fallback ? "NoDeploymentAvailable" : "BadRequest") && e.message.includes("has any of the tags"),
  (e) => e._tag === "ContextWindowExceeded",
  (e) => e._tag === "NoDeploymentAvailable" && e.message.includes("over its budget"),
  (e) => e._tag === "NoDeploymentAvailable" && e.message.includes("rpm/tpm limit"),
  (e) => e._tag === "NoDeploymentAvailable" && e.message.includes("cooling down"),
  () => false,
  (e) => e._tag === "NoDeploymentAvailable" && e.message.includes("chose none")
]

describe("pipelines as the router runs them", () => {
  it.effect.prop("never pick what an earlier filter removed; the filter that left nothing answers", [Scenario], ([scenario]) =>
    Effect.sync(() => {
      const built = build(scenario)
      const keeps = oracle(scenario, built)
      const appFilter = Strategy.filter((x) => ((scenario.keepMask >> Number(x.id.slice(1))) & 1) === 1)
      const steps = scenario.steps.map((i) => (i === 6 ? appFilter : Strategy.step(STEPS[i]!)))
      const strategy = Strategy.pick(Strategy.byName[scenario.name])(steps.reduce((p, add) => add(p), Strategy.members))
      let expected: ReadonlyArray<Deployment.Deployment> = built.members
      let emptiedBy: number | undefined
      for (const i of scenario.steps) {
        expected = keeps[i]!(expected)
        if (expected.length === 0) {
          emptiedBy = i
          break
        }
      }
      const alone = strategy(built.members, built.context)
      const routed = built.route(strategy)
      if (emptiedBy === undefined) {
        assert.include(ids(expected), alone?.id, "on its own, picked a deployment a filter removed")
        assert.isFalse("_tag" in routed, `expected a pick, got ${"_tag" in routed ? routed.message : ""}`)
        assert.include(ids(expected), (routed as Deployment.Deployment).id, "picked a deployment a filter removed")
      } else {
        assert.isUndefined(alone)
        assert.isTrue("_tag" in routed, `step ${emptiedBy} left nothing, yet ${(routed as Deployment.Deployment).id} was picked`)
        assert.isTrue(refusalLooks[emptiedBy]!(routed as LlmError.LlmError, scenario.fallback), `step ${emptiedBy}: ${(routed as LlmError.LlmError).message}`)
      }
    }), { arbitrary: { runs: 500 } })

  it.effect.prop("the built-in steps composed by hand pick exactly as the named strategy", [Scenario], ([scenario]) =>
    Effect.sync(() => {
      const built = build(scenario)
      const usage = scenario.name.startsWith("usage-based-routing")
      const byHand = pipe(
        Strategy.members,
        Strategy.matchingTags,
        Strategy.withinContextWindow,
        Strategy.withinBudget,
        usage ? Strategy.withinRateLimits : (p: Strategy.Pipeline) => p,
        Strategy.healthy,
        Strategy.lowestOrder,
        Strategy.pick(Strategy.byName[scenario.name])
      )
      const named = Strategy.named[scenario.name]
      const show = (x: Deployment.Deployment | LlmError.LlmError | undefined) =>
        x === undefined ? "none" : "_tag" in x ? `${x._tag}: ${x.message}` : x.id
      // As the router runs them: by hand, the named pipeline, and the bare pick after the router's filters.
      const byRouter = built.route(named)
      assert.strictEqual(show(built.route(byHand)), show(byRouter))
      assert.strictEqual(show(built.route(Strategy.byName[scenario.name])), show(byRouter))
      // On their own, over the same members, snapshot and random number.
      assert.strictEqual(show(byHand(built.members, built.context)), show(named(built.members, built.context)))
      if (!("_tag" in byRouter)) assert.strictEqual(show(named(built.members, built.context)), byRouter.id)
    }), { arbitrary: { runs: 1000 } })
})

/**
 * The routing strategies are pure functions of (candidates, snapshot, random): tested here
 * directly, without a router. The router-level distribution test is in RouterRouting.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Deployment, RouterState } from "@llm-router/core"
import { Strategy } from "@llm-router/core"
import { bareDeployment as d, idleStats as idle } from "./Fixture.ts"



const context = (
  random: number,
  stats: Record<string, Partial<RouterState.DeploymentStats>> = {},
  streaming = false
): Strategy.Context => ({
  random,
  streaming,
  snapshot: { now: 0, stats: new Map(Object.entries(stats).map(([id, s]) => [id, { ...idle, ...s }])) }
})

/** How often each deployment is picked over an even grid of random numbers. */
const shares = (strategy: Strategy.Pick, candidates: ReadonlyArray<Deployment.Deployment>, steps = 10_000) => {
  const counts = new Map<string, number>()
  for (let i = 0; i < steps; i++) {
    const picked = strategy(candidates, context(i / steps))
    counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1)
  }
  return (id: string) => (counts.get(id) ?? 0) / steps
}

describe("simple-shuffle", () => {
  it("draws by weight", () => {
    const share = shares(Strategy.simpleShuffle, [d("a", { weight: 1 }), d("b", { weight: 3 })])
    assert.closeTo(share("a"), 0.25, 1e-9)
    assert.closeTo(share("b"), 0.75, 1e-9)
  })

  it("falls back to rpm, then tpm, then uniform", () => {
    const byRpm = shares(Strategy.simpleShuffle, [d("a", { rpm: 100, tpm: 1 }), d("b", { rpm: 900, tpm: 1_000_000 })])
    assert.closeTo(byRpm("a"), 0.1, 1e-9)
    const byTpm = shares(Strategy.simpleShuffle, [d("a", { tpm: 3000 }), d("b", { tpm: 1000 })])
    assert.closeTo(byTpm("a"), 0.75, 1e-9)
    const uniform = shares(Strategy.simpleShuffle, [d("a"), d("b"), d("c"), d("e")])
    for (const id of ["a", "b", "c", "e"]) assert.closeTo(uniform(id), 0.25, 1e-9)
  })

  it("weight wins over rpm, and a deployment without the chosen field weighs nothing", () => {
    const share = shares(Strategy.simpleShuffle, [d("a", { weight: 2, rpm: 1 }), d("b", { rpm: 1_000_000 }), d("c", { weight: 2 })])
    assert.strictEqual(share("b"), 0)
    assert.closeTo(share("a"), 0.5, 1e-9)
  })

  it("zero weights everywhere mean uniform", () => {
    const share = shares(Strategy.simpleShuffle, [d("a", { weight: 0 }), d("b", { weight: 0 })])
    assert.closeTo(share("a"), 0.5, 1e-9)
  })

  it("never picks outside the candidates, even at the edge of the random range", () => {
    const candidates = [d("a", { weight: 1 }), d("b", { weight: 1e-9 })]
    assert.include(["a", "b"], Strategy.simpleShuffle(candidates, context(0.9999999999999999)).id)
    assert.strictEqual(Strategy.simpleShuffle([d("only")], context(0.5)).id, "only")
  })
})

describe("least-busy", () => {
  it("picks the fewest calls in flight, ties broken by the random number", () => {
    const candidates = [d("a"), d("b"), d("c")]
    const stats = { a: { inFlight: 3 }, b: { inFlight: 1 }, c: { inFlight: 1 } }
    assert.strictEqual(Strategy.leastBusy(candidates, context(0.1, stats)).id, "b")
    assert.strictEqual(Strategy.leastBusy(candidates, context(0.9, stats)).id, "c")
    assert.strictEqual(Strategy.leastBusy(candidates, context(0.5, { a: { inFlight: 0 }, b: { inFlight: 5 }, c: { inFlight: 2 } })).id, "a")
  })
})

describe("latency-based-routing", () => {
  it("picks the lowest mean latency; unmeasured deployments go first", () => {
    const candidates = [d("a"), d("b"), d("c")]
    assert.strictEqual(
      Strategy.lowestLatency(candidates, context(0, { a: { latencyMs: 300 }, b: { latencyMs: 100 }, c: { latencyMs: 200 } })).id,
      "b"
    )
    assert.strictEqual(Strategy.lowestLatency(candidates, context(0, { a: { latencyMs: 300 }, b: { latencyMs: 100 } })).id, "c")
  })

  it("uses time to first chunk for streams, latency for chat", () => {
    const candidates = [d("a"), d("b")]
    const stats = { a: { latencyMs: 100, timeToFirstChunkMs: 90 }, b: { latencyMs: 2000, timeToFirstChunkMs: 20 } }
    assert.strictEqual(Strategy.lowestLatency(candidates, context(0, stats, false)).id, "a")
    assert.strictEqual(Strategy.lowestLatency(candidates, context(0, stats, true)).id, "b")
  })
})

describe("cost-based-routing", () => {
  it("picks the lowest price per token from the deployment's own prices", () => {
    const candidates = [
      d("a", { inputCostPerToken: 3e-6, outputCostPerToken: 15e-6 }),
      d("b", { inputCostPerToken: 1e-6, outputCostPerToken: 2e-6 }),
      d("c", { inputCostPerToken: 0.5e-6, outputCostPerToken: 10e-6 })
    ]
    assert.strictEqual(Strategy.lowestCost(candidates, context(0.7)).id, "b")
  })

  it("uses the model catalog, and puts unknown prices last", () => {
    const mini = d("mini", { model: "gpt-4o-mini" })
    const big = d("big", { model: "gpt-4o" })
    const unknown = d("unknown", { model: "no-such-model-anywhere" })
    assert.strictEqual(Strategy.lowestCost([unknown, big, mini], context(0)).id, "mini")
    assert.strictEqual(Strategy.lowestCost([unknown, big], context(0.99)).id, "big")
    assert.strictEqual(Strategy.lowestCost([unknown], context(0.5)).id, "unknown")
  })
})

describe("order", () => {
  it("keeps the lowest order; deployments without one come after all that have one", () => {
    const ids = (xs: ReadonlyArray<Deployment.Deployment>) => xs.map((x) => x.id)
    assert.deepStrictEqual(ids(Strategy.lowestOrder([d("a", { order: 2 }), d("b", { order: 1 }), d("c"), d("e", { order: 1 })])), ["b", "e"])
    assert.deepStrictEqual(ids(Strategy.lowestOrder([d("a", { order: 2 }), d("c")])), ["a"])
    assert.deepStrictEqual(ids(Strategy.lowestOrder([d("a"), d("c")])), ["a", "c"])
  })

  it("every strategy is reachable by its LiteLLM name", () => {
    assert.deepStrictEqual(Object.keys(Strategy.byName).sort(), [
      "cost-based-routing",
      "latency-based-routing",
      "least-busy",
      "simple-shuffle",
      "usage-based-routing",
      "usage-based-routing-v2"
    ])
  })
})

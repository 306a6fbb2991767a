/**
 * Property tests of the router over generated scenarios: 1–3 model groups with fallback
 * chains (cycles allowed), 1–4 deployments each with a fault script (errors of every kind,
 * hangs, provider retry hints) and settings (num_retries, allowed_fails, cooldown_time,
 * max_fallbacks, timeout). Some groups are "healthy" (every deployment always succeeds),
 * which makes the success oracle exact. A few sequential requests per scenario share the
 * router's state, so cooldowns carry over between them.
 *
 * The oracle walks the fallback chains exactly as the rules say (configured order, each
 * group once, at most `max_fallbacks` entered): without a bad request (which selects no
 * chain) that walk is what the router does when every group fails, so every request's
 * groups are a prefix of it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import {
  assertNoFutileRetries,
  chainsOf,
  errorOf,
  faultsOf,
  groupName,
  groupTimeBound,
  type GroupSpec,
  isSubsequence,
  run,
  runs,
  Scenario
} from "./FailoverScenario.ts"

/** The groups a request enters when every group fails: configured order, each once, at most max_fallbacks. */
const walk = (scenario: Scenario): ReadonlyArray<number> => {
  const chains = chainsOf(scenario)
  const entered = [0]
  const visited = new Set([0])
  const enter = (g: number) => {
    for (const next of chains[g] ?? []) {
      if (visited.has(next)) continue
      if (entered.length - 1 >= scenario.maxFallbacks) break
      visited.add(next)
      entered.push(next)
      enter(next)
    }
  }
  enter(0)
  return entered
}

/** Longest a request may take: per group entered, every attempt up to the timeout plus every backoff. */
const timeBound = (scenario: Scenario) => {
  const hinted = scenario.groups.some((g) => faultsOf(g).includes("RateLimitedWait"))
  return walk(scenario).length * groupTimeBound(scenario.numRetries, scenario.timeoutSeconds, hinted)
}

// ---------------------------------------------------------------------------------------
// Properties

const RUNS = 400

describe("router properties", () => {
  it.effect.prop(
    "success, budget, cooldown, fallback order, wall time and no futile retries",
    { scenario: Scenario },
    ({ scenario }) =>
      Effect.gen(function*() {
        const { calls, outcomes } = yield* run(scenario)
        const entered = walk(scenario)
        const anyBadRequest = scenario.groups.some((g) => faultsOf(g).includes("BadRequest"))
        const healthyAt = entered.findIndex((g) => scenario.groups[g]!.healthy)
        const reachable = healthyAt >= 0 &&
          entered.slice(0, healthyAt).every((g) => !faultsOf(scenario.groups[g]!).includes("BadRequest"))
        const budgetPerGroup = scenario.numRetries + 1
        const bound = timeBound(scenario)

        for (const outcome of outcomes) {
          const mine = calls.filter((c) => c.request === outcome.request)
          const label = `request ${outcome.request}`

          // (1) A healthy group reachable within the fallback budget means success.
          if (reachable) assert.isTrue(Exit.isSuccess(outcome.result), `${label} failed: ${errorOf(outcome.result)?._tag}`)

          // (2) Never more calls than the budget: num_retries + 1 per group, each group entered once.
          const perDeployment = new Map<string, number>()
          const perGroup = new Map<number, number>()
          for (const c of mine) {
            perDeployment.set(c.deployment, (perDeployment.get(c.deployment) ?? 0) + 1)
            perGroup.set(c.group, (perGroup.get(c.group) ?? 0) + 1)
          }
          for (const [id, n] of perDeployment) assert.isAtMost(n, budgetPerGroup, `${label}: ${id} called ${n} times`)
          for (const [g, n] of perGroup) assert.isAtMost(n, budgetPerGroup, `${label}: group ${g} called ${n} times`)
          assert.isAtMost(mine.length, budgetPerGroup * entered.length)

          // (3) A cooling deployment is called only when no other deployment of its group was available.
          for (const c of mine) {
            if (c.cooling) {
              assert.deepStrictEqual(c.othersAvailable, [], `${label}: ${c.deployment} called while cooling`)
            }
          }

          // (4) Groups are entered in the configured fallback order.
          const groupsCalled = runs(mine.map((c) => c.group))
          assert.strictEqual(new Set(groupsCalled).size, groupsCalled.length, `${label}: a group was entered twice`)
          assert.isTrue(isSubsequence(groupsCalled, entered), `${label}: groups ${groupsCalled} not in order ${entered}`)
          if (Exit.isSuccess(outcome.result)) {
            const route = outcome.result.value
            const taken = route.fallbacks.map((name) => Number(name.slice(1)))
            const served = Number(route.servedBy.slice(1))
            assert.strictEqual(served, taken.at(-1) ?? 0)
            assert.strictEqual(route.group, groupName(0))
            if (anyBadRequest) assert.isTrue(isSubsequence(taken, entered.slice(1)))
            else assert.deepStrictEqual(taken, entered.slice(1, taken.length + 1), `${label}: fallbacks out of order`)
            assert.strictEqual(route.attempts, mine.length)
            assert.strictEqual(mine.at(-1)?.deployment, route.deployment)
            assert.strictEqual(route.latencyMs, outcome.endedAt - outcome.startedAt)
          }

          // (5) Wall time stays within the timeouts and backoffs the settings allow.
          assert.isAtMost(outcome.endedAt - outcome.startedAt, bound, `${label}: took too long`)

          // (6) An error that cannot succeed on a deployment is never retried there in the same request.
          assertNoFutileRetries(label, mine)
        }
      }),
    { timeout: 60_000, arbitrary: { runs: RUNS, seed: 20261123 } }
  )

  // The generator must produce the cases the properties are about; this keeps it honest.
  it.effect("the oracle's walk follows configured order, once per group, within max_fallbacks", () =>
    Effect.sync(() => {
      const deployment = { script: [], then: "fail", forever: "ServiceUnavailable", latencyMs: 0 } as const
      const group = (fallbacks: GroupSpec["fallbacks"]): GroupSpec => ({ healthy: false, deployments: [deployment], fallbacks })
      const base = { numRetries: 0, allowedFails: 0, cooldownSeconds: 0, timeoutSeconds: 1, requests: 1, gapMs: 0, streaming: false } as const
      // g0 → g1 → (g0, g2): the cycle back to g0 is skipped.
      const cycle: Scenario = { ...base, maxFallbacks: 5, groups: [group("next"), group("next two"), group("none")] }
      assert.deepStrictEqual(chainsOf(cycle), [[1], [2, 0], []])
      assert.deepStrictEqual(walk(cycle), [0, 1, 2])
      assert.deepStrictEqual(walk({ ...cycle, maxFallbacks: 1 }), [0, 1])
      // g0 → (g1, g2) with g1 → g0: nested first, then the rest of g0's chain.
      const nested: Scenario = { ...base, maxFallbacks: 5, groups: [group("next two"), group("previous"), group("previous")] }
      assert.deepStrictEqual(walk(nested), [0, 1, 2])
      assert.deepStrictEqual(walk({ ...nested, groups: [group("previous"), group("none"), group("previous")] }), [0, 2, 1])
    }))
})


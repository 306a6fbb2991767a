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
import type { LlmClient, RouteInfo } from "@llm-router/core"
import { LlmError, Router, RouterConfig, RouterState } from "@llm-router/core"
import { SimulatedProvider } from "@llm-router/testing"
import { Arbitrary, Clock, Duration, Effect, Exit, Fiber, Random, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"

// ---------------------------------------------------------------------------------------
// Scenarios

const Fault = Schema.Literals([
  "RateLimited",
  "RateLimitedWait", // 429 asking for 2 s (within max_retry_after)
  "Quota",
  "AuthenticationFailed",
  "PermissionDenied",
  "ModelNotFound",
  "BadRequest",
  "ContextWindowExceeded",
  "ContentPolicyViolation",
  "Timeout",
  "ConnectionFailed",
  "ServiceUnavailable",
  "LongWait", // 503 asking for 2 minutes (beyond max_retry_after)
  "InternalServerError",
  "Hang"
])
type Fault = typeof Fault.Type

const DeploymentSpec = Schema.Struct({
  script: Schema.Array(Fault).check(Schema.isMaxLength(4)),
  /** After the script: succeed forever (one time in three), or fail forever with `forever`. */
  then: Schema.Literals(["succeed", "fail", "fail again"]),
  forever: Fault,
  latencyMs: Schema.Literals([0, 100])
})
// Fixed-size tuples cut to a generated count: arrays would mostly come out short (the generator's size budget is shared).
const GroupSpec = Schema.Struct({
  /** "healthy": every deployment always succeeds (the scripts are ignored); one group in three. */
  kind: Schema.Literals(["healthy", "faulty", "flaky"]),
  deploymentCount: Schema.Literals([1, 2, 3, 4]),
  deployments: Schema.Tuple([DeploymentSpec, DeploymentSpec, DeploymentSpec, DeploymentSpec]),
  /** This group's chain, relative to its index i among n groups: (i+1), (i+1, i+2) or (i-1), mod n (cycles included). */
  fallbacks: Schema.Literals(["none", "next", "next two", "previous"])
})
const ScenarioSpec = Schema.Struct({
  groupCount: Schema.Literals([1, 2, 3]),
  groups: Schema.Tuple([GroupSpec, GroupSpec, GroupSpec]),
  numRetries: Schema.Literals([0, 1, 2, 3]),
  allowedFails: Schema.Literals([0, 1, 2, 3]),
  cooldownSeconds: Schema.Literals([0, 1, 5, 30]),
  maxFallbacks: Schema.Literals([0, 1, 2, 5]),
  timeoutSeconds: Schema.Literals([1, 2]),
  requests: Schema.Literals([1, 2, 3, 4]),
  gapMs: Schema.Literals([0, 500, 3000]),
  /** Requests as streams (failover before the first chunk, bounded by the same timeout) or chat. */
  streaming: Schema.Boolean
})
type GroupSpec = Omit<typeof GroupSpec.Type, "deploymentCount" | "deployments" | "kind"> & {
  readonly healthy: boolean
  readonly deployments: ReadonlyArray<typeof DeploymentSpec.Type>
}
type Scenario = Omit<typeof ScenarioSpec.Type, "groupCount" | "groups"> & { readonly groups: ReadonlyArray<GroupSpec> }
const Scenario = Arbitrary.map(Arbitrary.schema(ScenarioSpec), ({ groupCount, groups, ...settings }): Scenario => ({
  ...settings,
  groups: groups.slice(0, groupCount).map(({ deploymentCount, deployments, kind, ...group }) => ({
    ...group,
    healthy: kind === "healthy",
    deployments: deployments.slice(0, deploymentCount)
  }))
}))

const MAX_RETRY_AFTER_MS = 5000
/** Enough scripted calls that no deployment runs out within a scenario (≤ 4 requests × 4 attempts). */
const SCRIPT_LENGTH = 20

const behaviour = (fault: Fault): SimulatedProvider.Behavior => {
  switch (fault) {
    case "Hang":
      return SimulatedProvider.hang
    case "RateLimitedWait":
      return SimulatedProvider.fail("RateLimited", { retryAfter: "2 seconds" })
    case "Quota":
      return SimulatedProvider.fail("RateLimited", { quotaExhausted: true })
    case "LongWait":
      return SimulatedProvider.fail("ServiceUnavailable", { retryAfter: "2 minutes" })
    default:
      return SimulatedProvider.fail(fault)
  }
}

/** The calls a deployment makes, in order (a healthy group's always succeed). */
const scriptOf = (group: GroupSpec, d: typeof DeploymentSpec.Type): ReadonlyArray<SimulatedProvider.Behavior> => {
  if (group.healthy) return []
  const forever = d.then === "succeed" ? SimulatedProvider.succeed() : behaviour(d.forever)
  return [...d.script.map(behaviour), ...Array<SimulatedProvider.Behavior>(SCRIPT_LENGTH).fill(forever)]
}
const faultsOf = (group: GroupSpec): ReadonlyArray<Fault> =>
  group.healthy ? [] : group.deployments.flatMap((d) => [...d.script, ...(d.then === "succeed" ? [] : [d.forever])])

const groupName = (i: number) => `g${i}`
const chainsOf = (scenario: Scenario): ReadonlyArray<ReadonlyArray<number>> => {
  const n = scenario.groups.length
  const targets = (i: number, chain: GroupSpec["fallbacks"]) => {
    switch (chain) {
      case "none":
        return []
      case "next":
        return [(i + 1) % n]
      case "next two":
        return [(i + 1) % n, (i + 2) % n]
      case "previous":
        return [(i + n - 1) % n]
    }
  }
  return scenario.groups.map((g, i) => [...new Set(targets(i, g.fallbacks))].filter((t) => t !== i))
}

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
  let group = (scenario.numRetries + 1) * scenario.timeoutSeconds * 1000
  for (let k = 0; k < scenario.numRetries; k++) group += Math.max(500 * 2 ** k * 1.2, hinted ? MAX_RETRY_AFTER_MS : 0)
  return walk(scenario).length * group
}

const isSubsequence = (xs: ReadonlyArray<number>, of: ReadonlyArray<number>) => {
  let i = 0
  for (const x of of) if (i < xs.length && xs[i] === x) i++
  return i === xs.length
}
/** Consecutive duplicates removed. */
const runs = <A>(xs: ReadonlyArray<A>) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x)

// ---------------------------------------------------------------------------------------
// Running a scenario

interface Call {
  readonly request: number
  readonly deployment: string
  readonly group: number
  readonly at: number
  /** The callee was cooling down when called. */
  readonly cooling: boolean
  /** Deployments of the group that were neither cooling nor ruled out for this request. */
  readonly othersAvailable: ReadonlyArray<string>
  error?: LlmError.LlmError | undefined
}

interface Outcome {
  readonly request: number
  readonly startedAt: number
  readonly endedAt: number
  readonly result: Exit.Exit<RouteInfo.RouteInfo, LlmError.LlmError>
}

const run = (scenario: Scenario) =>
  Effect.gen(function*() {
    const chains = chainsOf(scenario)
    const config = yield* RouterConfig.decode({
      model_list: scenario.groups.flatMap((g, gi) =>
        g.deployments.map((_, di) => ({
          model_name: groupName(gi),
          litellm_params: { model: `openai/g${gi}d${di}` },
          model_info: { id: `g${gi}d${di}` }
        }))
      ),
      num_retries: scenario.numRetries,
      allowed_fails: scenario.allowedFails,
      cooldown_time: scenario.cooldownSeconds,
      max_fallbacks: scenario.maxFallbacks,
      timeout: scenario.timeoutSeconds,
      max_retry_after: MAX_RETRY_AFTER_MS / 1000,
      fallbacks: chains.flatMap((targets, gi) => (targets.length > 0 ? [{ [groupName(gi)]: targets.map(groupName) }] : []))
    })
    const state = yield* RouterState.makeMemory
    const calls: Array<Call> = []
    const current = { request: -1, excluded: new Set<string>() }
    const groupIds = (gi: number) => scenario.groups[gi]!.deployments.map((_, di) => `g${gi}d${di}`)

    const client = (gi: number, di: number) =>
      Effect.map(
        SimulatedProvider.make({
          deployment: `g${gi}d${di}`,
          group: groupName(gi),
          script: scriptOf(scenario.groups[gi]!, scenario.groups[gi]!.deployments[di]!),
          latency: { _tag: "Fixed", ms: scenario.groups[gi]!.deployments[di]!.latencyMs }
        }),
        (sim): LlmClient.Service => {
          /** Logs the call with what the router knew at that moment. */
          const record = Effect.gen(function*() {
            const ids = groupIds(gi)
            const snap = yield* state.snapshot(ids)
            const cooling = (id: string) => (snap.stats.get(id)?.cooldownUntil ?? 0) > 0
            const call: Call = {
              request: current.request,
              deployment: sim.deployment,
              group: gi,
              at: yield* Clock.currentTimeMillis,
              cooling: cooling(sim.deployment),
              othersAvailable: ids.filter((id) => id !== sim.deployment && !cooling(id) && !current.excluded.has(id))
            }
            calls.push(call)
            return call
          })
          const failed = (call: Call) => (error: LlmError.LlmError) =>
            Effect.sync(() => {
              call.error = error
              if (!LlmError.policy(error).retrySameDeployment) current.excluded.add(sim.deployment)
            })
          return {
            chat: (req) => Effect.flatMap(record, (call) => sim.chat(req).pipe(Effect.tapError(failed(call)))),
            stream: (req) => Stream.unwrap(Effect.map(record, (call) => sim.stream(req).pipe(Stream.tapError(failed(call)))))
          }
        }
      )

    const router = yield* Router.make(config, (d) => {
      const [gi, di] = d.id.slice(1).split("d").map(Number)
      return client(gi!, di!)
    }).pipe(Effect.provideService(RouterState.RouterState, state))

    const traffic = Effect.gen(function*() {
      const outcomes: Array<Outcome> = []
      for (let r = 0; r < scenario.requests; r++) {
        current.request = r
        current.excluded = new Set()
        const startedAt = yield* Clock.currentTimeMillis
        const req = { model: groupName(0), messages: [{ role: "user" as const, content: "hi" }] }
        const result = yield* Effect.exit(
          scenario.streaming
            ? Effect.flatMap(Stream.runCollect(router.stream(req)), (parts) => {
              const done = parts.at(-1)
              return done?._tag === "Done" ? Effect.succeed(done.route) : Effect.die(new Error("a stream without Done"))
            })
            : Effect.map(router.chat(req), (completion) => completion.route)
        )
        outcomes.push({ request: r, startedAt, endedAt: yield* Clock.currentTimeMillis, result })
        yield* Effect.sleep(Duration.millis(scenario.gapMs))
      }
      return outcomes
    })
    const fiber = yield* Effect.forkChild(traffic)
    yield* TestClock.adjust("6 hours")
    assert.isDefined(fiber.pollUnsafe(), "the requests finished")
    return { calls, outcomes: yield* Fiber.join(fiber) }
  }).pipe(
    // The router's random choices (shuffle, jitter) are seeded by the scenario, so a failure replays.
    Random.withSeed(JSON.stringify(scenario))
  )

const errorOf = (exit: Exit.Exit<unknown, LlmError.LlmError>) =>
  Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined

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
          mine.forEach((c, i) => {
            if (c.error && !LlmError.policy(c.error).retrySameDeployment) {
              const again = mine.slice(i + 1).find((later) => later.deployment === c.deployment)
              assert.isUndefined(again, `${label}: ${c.deployment} retried after ${c.error._tag}`)
            }
          })
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

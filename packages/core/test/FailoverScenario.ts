/**
 * Generated failover scenarios shared by the router's property tests: 1–3 model groups with
 * fallback chains (cycles allowed), 1–4 deployments each with a fault script (errors of every
 * kind, hangs, provider retry hints) and settings; and `run`, which plays a few sequential
 * requests through a router over `SimulatedProvider`s on TestClock and logs every call with
 * what the router knew at that moment.
 */
import { assert } from "@effect/vitest"
import type { LlmClient, RouteInfo } from "@llm-router/core"
import { LlmError, Router, RouterConfig, RouterState } from "@llm-router/core"
import { SimulatedProvider } from "@llm-router/testing"
import { Arbitrary, Clock, Duration, Effect, Exit, Fiber, Random, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"

// ---------------------------------------------------------------------------------------
// Scenarios

export const Fault = Schema.Literals([
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
export type Fault = typeof Fault.Type

export const DeploymentSpec = Schema.Struct({
  script: Schema.Array(Fault).check(Schema.isMaxLength(4)),
  /** After the script: succeed forever (one time in three), or fail forever with `forever`. */
  then: Schema.Literals(["succeed", "fail", "fail again"]),
  forever: Fault,
  latencyMs: Schema.Literals([0, 100])
})
// Fixed-size tuples cut to a generated count: arrays would mostly come out short (the generator's size budget is shared).
export const GroupSpec = Schema.Struct({
  /** "healthy": every deployment always succeeds (the scripts are ignored); one group in three. */
  kind: Schema.Literals(["healthy", "faulty", "flaky"]),
  deploymentCount: Schema.Literals([1, 2, 3, 4]),
  deployments: Schema.Tuple([DeploymentSpec, DeploymentSpec, DeploymentSpec, DeploymentSpec]),
  /** This group's chain, relative to its index i among n groups: (i+1), (i+1, i+2) or (i-1), mod n (cycles included). */
  fallbacks: Schema.Literals(["none", "next", "next two", "previous"])
})
export const ScenarioSpec = Schema.Struct({
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
export type GroupSpec = Omit<typeof GroupSpec.Type, "deploymentCount" | "deployments" | "kind"> & {
  readonly healthy: boolean
  readonly deployments: ReadonlyArray<typeof DeploymentSpec.Type>
}
export type Scenario = Omit<typeof ScenarioSpec.Type, "groupCount" | "groups"> & { readonly groups: ReadonlyArray<GroupSpec> }
export const Scenario = Arbitrary.map(Arbitrary.schema(ScenarioSpec), ({ groupCount, groups, ...settings }): Scenario => ({
  ...settings,
  groups: groups.slice(0, groupCount).map(({ deploymentCount, deployments, kind, ...group }) => ({
    ...group,
    healthy: kind === "healthy",
    deployments: deployments.slice(0, deploymentCount)
  }))
}))

export const MAX_RETRY_AFTER_MS = 5000
/** Enough scripted calls that no deployment runs out within a scenario (≤ 4 requests × 4 attempts). */
const SCRIPT_LENGTH = 20

export const behaviour = (fault: Fault): SimulatedProvider.Behavior => {
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
export const scriptOf = (group: GroupSpec, d: typeof DeploymentSpec.Type): ReadonlyArray<SimulatedProvider.Behavior> => {
  if (group.healthy) return []
  const forever = d.then === "succeed" ? SimulatedProvider.succeed() : behaviour(d.forever)
  return [...d.script.map(behaviour), ...Array<SimulatedProvider.Behavior>(SCRIPT_LENGTH).fill(forever)]
}
export const faultsOf = (group: GroupSpec): ReadonlyArray<Fault> =>
  group.healthy ? [] : group.deployments.flatMap((d) => [...d.script, ...(d.then === "succeed" ? [] : [d.forever])])

export const groupName = (i: number) => `g${i}`
export const chainsOf = (scenario: Scenario): ReadonlyArray<ReadonlyArray<number>> => {
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

/**
 * Longest one group entered may take with `retries` retries: every attempt up to the timeout
 * plus every backoff (`hinted`: a provider asked for a wait within max_retry_after).
 */
export const groupTimeBound = (retries: number, timeoutSeconds: number, hinted: boolean) => {
  let bound = (retries + 1) * timeoutSeconds * 1000
  for (let k = 0; k < retries; k++) bound += Math.max(500 * 2 ** k * 1.2, hinted ? MAX_RETRY_AFTER_MS : 0)
  return bound
}

export const isSubsequence = <A>(xs: ReadonlyArray<A>, of: ReadonlyArray<A>) => {
  let i = 0
  for (const x of of) if (i < xs.length && xs[i] === x) i++
  return i === xs.length
}
/** Consecutive duplicates removed. */
export const runs = <A>(xs: ReadonlyArray<A>) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x)

// ---------------------------------------------------------------------------------------
// Running a scenario

export interface Call {
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

export interface Outcome {
  readonly request: number
  readonly startedAt: number
  readonly endedAt: number
  readonly result: Exit.Exit<RouteInfo.RouteInfo, LlmError.LlmError>
}

/** What a test adds to the scenario's config: policies, or chains of its own (the scenario's by default). */
export interface Extra {
  readonly config?: Readonly<Record<string, unknown>>
  /** Each group's fallback targets: group names or deployment ids. */
  readonly fallbacks?: ReadonlyArray<ReadonlyArray<string>>
}

export const run = (scenario: Scenario, extra: Extra = {}) =>
  Effect.gen(function*() {
    const chains = extra.fallbacks ?? chainsOf(scenario).map((targets) => targets.map(groupName))
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
      fallbacks: chains.flatMap((targets, gi) => (targets.length > 0 ? [{ [groupName(gi)]: targets }] : [])),
      ...extra.config
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

export const errorOf = (exit: Exit.Exit<unknown, LlmError.LlmError>) =>
  Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined

/** Property (6): an error that cannot succeed on a deployment is never retried there in the same request. */
export const assertNoFutileRetries = (label: string, mine: ReadonlyArray<Call>) =>
  mine.forEach((c, i) => {
    if (c.error && !LlmError.policy(c.error).retrySameDeployment) {
      const again = mine.slice(i + 1).find((later) => later.deployment === c.deployment)
      assert.isUndefined(again, `${label}: ${c.deployment} retried after ${c.error._tag}`)
    }
  })

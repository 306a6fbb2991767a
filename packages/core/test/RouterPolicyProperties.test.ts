/**
 * The failover properties of `RouterProperties.test.ts`, over the same generated scenarios,
 * with random routing policies on top: a LiteLLM `retry_policy` and a
 * `model_group_retry_policy` per group (retries per error kind, 0 included, or unset), and
 * fallback plans whose targets are groups or single deployments (`model_info.id`), within
 * `max_fallbacks`.
 *
 * The oracle walks the plan over its targets (group names and deployment ids): configured
 * order, each target once, the request's own group never again, at most `max_fallbacks`
 * entered; a deployment target has no chain of its own. A request's calls must split into
 * consecutive runs, one per target in walk order, each run's calls on that target and each
 * retry allowed by the policy of the target's group for the error just seen.
 */
import { assert, describe, it } from "@effect/vitest"
import { LlmError, RetryPolicy } from "@llm-router/core"
import { Arbitrary, Effect, Exit, Schema } from "effect"
import {
  assertNoFutileRetries,
  type Call,
  chainsOf,
  errorOf,
  faultsOf,
  groupName,
  groupTimeBound,
  isSubsequence,
  run,
  Scenario
} from "./FailoverScenario.ts"

// ---------------------------------------------------------------------------------------
// Policies

/** LiteLLM's `retry_policy` keys, in the order of `PolicySpec.retries`. */
const POLICY_KEYS = [
  "BadRequestErrorRetries",
  "AuthenticationErrorRetries",
  "TimeoutErrorRetries",
  "RateLimitErrorRetries",
  "ContentPolicyViolationErrorRetries",
  "InternalServerErrorRetries"
] as const
const Retries = Schema.Literals(["unset", 0, 1, 2, 3])
const PolicySpec = Schema.Struct({
  set: Schema.Boolean,
  retries: Schema.Tuple([Retries, Retries, Retries, Retries, Retries, Retries])
})
type PolicySpec = typeof PolicySpec.Type
/** How a group's chain names its targets: the groups, or each group's first or last deployment. */
const TargetKind = Schema.Literals(["group", "first deployment", "last deployment"])
const PoliciesSpec = Schema.Struct({
  retryPolicy: PolicySpec,
  groupPolicies: Schema.Tuple([PolicySpec, PolicySpec, PolicySpec]),
  targets: Schema.Tuple([TargetKind, TargetKind, TargetKind])
})
type Policies = typeof PoliciesSpec.Type
const Policies = Arbitrary.schema(PoliciesSpec)

/** A policy as the config's `retry_policy` object; undefined when unset. */
const litellmPolicy = (spec: PolicySpec): Record<string, number> | undefined => {
  if (!spec.set) return undefined
  const policy: Record<string, number> = {}
  spec.retries.forEach((retries, i) => {
    if (retries !== "unset") policy[POLICY_KEYS[i]!] = retries
  })
  return policy
}

/** Retries a policy allows after an error of `tag` (as LiteLLM maps its keys to error kinds); undefined when it says nothing. */
const retriesFor = (spec: PolicySpec, tag: LlmError.Tag): number | undefined => {
  const policy = litellmPolicy(spec) ?? {}
  const key = Object.keys(policy).find((k) => RetryPolicy.litellmKeys[k]?.includes(tag))
  return key === undefined ? undefined : policy[key]
}

/** A plan target: a group, or one deployment of a group. */
interface Target {
  readonly key: string
  readonly group: number
  readonly deployment?: string | undefined
}

const groupOfKey = (key: string) => Number(key.slice(1).split("d")[0])

const targetsOf = (scenario: Scenario, policies: Policies): ReadonlyArray<ReadonlyArray<string>> =>
  chainsOf(scenario).map((targets, gi) =>
    targets.map((t) => {
      const kind = policies.targets[gi]!
      if (kind === "group") return groupName(t)
      return `g${t}d${kind === "first deployment" ? 0 : scenario.groups[t]!.deployments.length - 1}`
    })
  )

/** The targets a request enters when every one fails: configured order, each once, at most max_fallbacks. */
const walk = (scenario: Scenario, policies: Policies): ReadonlyArray<Target> => {
  const chains = targetsOf(scenario, policies)
  const entered = [groupName(0)]
  const visited = new Set(entered)
  const enter = (key: string) => {
    // A deployment id has no chain of its own (and no default chain is configured).
    if (key.includes("d")) return
    for (const next of chains[groupOfKey(key)] ?? []) {
      if (visited.has(next)) continue
      if (entered.length - 1 >= scenario.maxFallbacks) break
      visited.add(next)
      entered.push(next)
      enter(next)
    }
  }
  enter(groupName(0))
  return entered.map((key) => ({ key, group: groupOfKey(key), deployment: key.includes("d") ? key : undefined }))
}

/** Retries allowed on `target` after `error`: its group's policy, else the router's, else num_retries. */
const retriesAfter = (scenario: Scenario, policies: Policies, target: Target, tag: LlmError.Tag) =>
  retriesFor(policies.groupPolicies[target.group]!, tag) ?? retriesFor(policies.retryPolicy, tag) ?? scenario.numRetries

/** The most retries any error may earn on `target`. */
const maxRetries = (scenario: Scenario, policies: Policies, target: Target) =>
  Math.max(
    scenario.numRetries, // kinds no policy key names
    ...Object.values(RetryPolicy.litellmKeys).flat().map((tag) => retriesAfter(scenario, policies, target, tag))
  )

const belongs = (call: Call, target: Target) =>
  target.deployment === undefined ? call.group === target.group : call.deployment === target.deployment

/**
 * The calls split into consecutive runs, each on one target in walk order (a target entered
 * at most once; one may be entered without a call), each retry within the target's policy for
 * the error before it. Returns each call's target, or undefined when no split exists.
 */
const explain = (
  scenario: Scenario,
  policies: Policies,
  calls: ReadonlyArray<Call>,
  entered: ReadonlyArray<Target>
): ReadonlyArray<Target> | undefined => {
  const from = (ci: number, ki: number): Array<Target> | undefined => {
    if (ci === calls.length) return []
    for (let k = ki; k < entered.length; k++) {
      const target = entered[k]!
      for (let end = ci; end < calls.length && belongs(calls[end]!, target); end++) {
        const position = end - ci
        if (position > 0) {
          // A call that failed without its error reaching the client was cut by the router's timeout.
          const tag = calls[end - 1]!.error?._tag ?? "Timeout"
          if (position > retriesAfter(scenario, policies, target, tag)) break
        }
        const rest = from(end + 1, k + 1)
        if (rest !== undefined) return [...Array<Target>(end - ci + 1).fill(target), ...rest]
      }
    }
    return undefined
  }
  return from(0, 0)
}

const configOf = (scenario: Scenario, policies: Policies) => {
  const retryPolicy = litellmPolicy(policies.retryPolicy)
  const byGroup = Object.fromEntries(
    scenario.groups.flatMap((_, gi) => {
      const policy = litellmPolicy(policies.groupPolicies[gi]!)
      return policy === undefined ? [] : [[groupName(gi), policy]]
    })
  )
  return {
    ...(retryPolicy === undefined ? {} : { retry_policy: retryPolicy }),
    ...(Object.keys(byGroup).length === 0 ? {} : { model_group_retry_policy: byGroup })
  }
}

// ---------------------------------------------------------------------------------------
// Properties

const RUNS = 50

describe("router properties under random retry policies and fallback plans", () => {
  it.effect.prop(
    "success, per-kind retry budget, cooldown, fallback order, wall time and no futile retries",
    { scenario: Scenario, policies: Policies },
    ({ policies, scenario }) =>
      Effect.gen(function*() {
        const { calls, outcomes } = yield* run(scenario, {
          config: configOf(scenario, policies),
          fallbacks: targetsOf(scenario, policies)
        })
        const entered = walk(scenario, policies)
        const anyBadRequest = scenario.groups.some((g) => faultsOf(g).includes("BadRequest"))
        const healthyAt = entered.findIndex((t) => scenario.groups[t.group]!.healthy)
        const reachable = healthyAt >= 0 &&
          entered.slice(0, healthyAt).every((t) => !faultsOf(scenario.groups[t.group]!).includes("BadRequest"))
        const hinted = scenario.groups.some((g) => faultsOf(g).includes("RateLimitedWait"))
        const bound = entered.reduce(
          (sum, t) => sum + groupTimeBound(maxRetries(scenario, policies, t), scenario.timeoutSeconds, hinted),
          0
        )

        for (const outcome of outcomes) {
          const mine = calls.filter((c) => c.request === outcome.request)
          const label = `request ${outcome.request}`

          // (1) A healthy group reachable within the fallback budget means success.
          if (reachable) assert.isTrue(Exit.isSuccess(outcome.result), `${label} failed: ${errorOf(outcome.result)?._tag}`)

          // (2) + (4) The calls follow the walk: targets in configured order, each entered once, at most
          // max_fallbacks of them, and on each no more retries than its group's policy allows for the errors seen.
          const assigned = explain(scenario, policies, mine, entered)
          assert.isDefined(
            assigned,
            `${label}: calls ${mine.map((c) => `${c.deployment}:${c.error?._tag ?? "ok/timeout"}`)} do not follow ${
              entered.map((t) => t.key)
            }`
          )

          // (3) A cooling deployment is called only when no other deployment of its group was available
          // (a deployment target has no others).
          mine.forEach((c, i) => {
            if (c.cooling && assigned?.[i]?.deployment === undefined) {
              assert.deepStrictEqual(c.othersAvailable, [], `${label}: ${c.deployment} called while cooling`)
            }
          })

          if (Exit.isSuccess(outcome.result)) {
            const route = outcome.result.value
            const keys = entered.map((t) => t.key)
            assert.strictEqual(route.group, groupName(0))
            assert.strictEqual(route.servedBy, route.fallbacks.at(-1) ?? groupName(0))
            if (anyBadRequest) assert.isTrue(isSubsequence(route.fallbacks, keys.slice(1)))
            else assert.deepStrictEqual(route.fallbacks, keys.slice(1, route.fallbacks.length + 1), `${label}: fallbacks out of order`)
            // The answer is the last call's, the one that succeeded.
            assert.strictEqual(route.attempts, mine.length)
            assert.strictEqual(mine.at(-1)?.deployment, route.deployment)
            assert.strictEqual(route.latencyMs, outcome.endedAt - outcome.startedAt)
          }

          // (5) Wall time stays within the timeouts and backoffs the policies allow.
          assert.isAtMost(outcome.endedAt - outcome.startedAt, bound, `${label}: took too long`)

          // (6) An error that cannot succeed on a deployment is never retried there in the same request.
          assertNoFutileRetries(label, mine)

          // (7) An error the request caused never moves it to another deployment of the same target.
          mine.forEach((c, i) => {
            const next = mine[i + 1]
            if (c.error && !LlmError.policy(c.error).tryOtherDeployments && next !== undefined) {
              assert.notStrictEqual(assigned?.[i + 1], assigned?.[i], `${label}: ${c.error._tag} on ${c.deployment} retried on ${next.deployment}`)
            }
          })
        }
      }),
    { timeout: 60_000, arbitrary: { runs: RUNS, seed: 20261206 } }
  )
})

/**
 * Fallbacks: when a group gives up, which groups answer instead (the error's chain: generic,
 * context-window or content-policy, else the default), each with its own retries and chain,
 * within `max_fallbacks`; and the last-resort pass that ignores cooldowns when a request
 * would otherwise fail without a single call. `route` is the whole request, generic over the
 * operation performed on a deployment.
 */
import { Effect } from "effect"
import * as FallbackPlan from "../FallbackPlan.ts"
import * as LlmError from "../LlmError.ts"
import * as RouterMetrics from "../RouterMetrics.ts"
import { runGroup } from "./AttemptLoop.ts"
import type { Engine } from "./Engine.ts"
import { addTo, type Operation, resetChains, type Run, type Served } from "./Run.ts"

/**
 * Which groups (or deployments) a failure of `group` falls back to: the request's own chain or
 * none when it says so (`Overrides`), else the router's plan (`FallbackPlan.chainFor`).
 */
export const chainFor = (engine: Engine, run: Run, error: LlmError.LlmError, group: string): ReadonlyArray<string> => {
  const overrides = run.overrides
  if (overrides !== undefined) {
    if (overrides.disableFallbacks === true) return []
    if (overrides.fallbacks !== undefined && group === run.group && LlmError.policy(error).fallback !== "none") {
      return overrides.fallbacks
    }
  }
  return FallbackPlan.chainFor(engine.plan, error, group)
}

/**
 * A 200 whose choice was cut by a content filter is a policy violation, when a chain exists to act on it.
 * As in `chainFor`: once content-policy chains are configured only they apply, so a filtered answer is
 * never turned into an error that has nowhere to go.
 */
export const contentFilterSelectsFallback = (engine: Engine, group: string) => FallbackPlan.actsOnContentFilter(engine.plan, group)

/** A group, then its fallback chain in configured order; each fallback gets its own retries and chain. */
const runWithFallbacks = <A>(
  engine: Engine,
  run: Run,
  group: string,
  operation: Operation<A>,
  ignoreCooldown: boolean
): Effect.Effect<Served<A>, LlmError.LlmError> =>
  runGroup(engine, run, group, operation, ignoreCooldown).pipe(
    Effect.catch((error) => fallBack(engine, run, group, error, operation, ignoreCooldown))
  )

/**
 * After `group` gave up with `error`: its chain in configured order, each fallback with its own
 * retries and chain, within `max_fallbacks`; `error` when none answers. (A stream whose group
 * has spent its restarts comes here too.)
 */
export const fallBack = <A>(
  engine: Engine,
  run: Run,
  group: string,
  error: LlmError.LlmError,
  operation: Operation<A>,
  ignoreCooldown = false
): Effect.Effect<Served<A>, LlmError.LlmError> =>
  Effect.gen(function*() {
    let last = error
    for (const next of chainFor(engine, run, error, group)) {
      if (next === run.group || run.visited?.has(next) === true) continue
      if (run.fallbacks.length >= engine.plan.maxFallbacks) break
      addTo(run, "visited", next)
      run.fallbacks.push(next)
      yield* RouterMetrics.recordFallback(group, next)
      const result = yield* Effect.result(runWithFallbacks(engine, run, next, operation, ignoreCooldown))
      if (result._tag === "Success") return result.success
      // A provider's real error says more than a fallback's "everything is cooling down".
      if (result.failure._tag !== "NoDeploymentAvailable" || last._tag === "NoDeploymentAvailable") last = result.failure
    }
    return yield* last
  })

/**
 * The whole request: its group, then the fallbacks. When it would fail without a single call
 * because everything is cooling down, it makes one more pass that ignores cooldowns (see
 * README, "Cooldown").
 */
export const route = <A>(engine: Engine, run: Run, operation: Operation<A>): Effect.Effect<Served<A>, LlmError.LlmError> =>
  runWithFallbacks(engine, run, run.group, operation, false).pipe(
    Effect.catchTag("NoDeploymentAvailable", (error) => {
      if (run.attempts > 0) return Effect.fail(error)
      resetChains(run)
      return runWithFallbacks(engine, run, run.group, operation, true)
    })
  )

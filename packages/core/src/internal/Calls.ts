/**
 * One call on one deployment, as every operation makes it: its time bounds (the request's own
 * `timeout`, else the deployment's, else the router's), what a served call records (its route,
 * its cost against budgets, its success in the metrics) and what a failed or abandoned one does
 * to the deployment's state (a failure that may cool it down; a release of its in-flight count).
 */
import { Effect, type Fiber } from "effect"
import * as Budget from "../Budget.ts"
import type { Usage } from "../Chat.ts"
import * as Cost from "../Cost.ts"
import * as Deadline from "../Deadline.ts"
import type { Deployment } from "../Deployment.ts"
import * as LlmError from "../LlmError.ts"
import type { RouteInfo } from "../RouteInfo.ts"
import * as RouterMetrics from "../RouterMetrics.ts"
import type { Success } from "../RouterState.ts"
import type { Engine } from "./Engine.ts"
import type { Run } from "./Run.ts"
import * as Wildcards from "./Wildcards.ts"

/** A call's bound: the request's own `timeout`, else the deployment's, else the router's. */
export const requestTimeoutMs = (engine: Engine, run: Run<any>, d: Deployment) =>
  run.overrides?.timeoutMs ?? d.timeoutMs ?? engine.settings.timeoutMs
export const firstChunkTimeoutMs = (engine: Engine, run: Run<any>, d: Deployment) =>
  run.overrides?.timeoutMs ?? d.streamTimeoutMs ?? engine.settings.streamTimeoutMs ?? requestTimeoutMs(engine, run, d)
export const idleTimeoutMs = (engine: Engine, run: Run<any>, d: Deployment) =>
  engine.settings.streamIdleTimeoutMs ?? firstChunkTimeoutMs(engine, run, d)

/** A whole call to `d` under its request timeout (`requestTimeoutMs`), which fails it with a `Timeout`. */
export const underRequestTimeout = <A>(engine: Engine, run: Run<any>, d: Deployment, call: Effect.Effect<A, LlmError.LlmError>) => {
  const timeoutMs = requestTimeoutMs(engine, run, d)
  return call.pipe(
    Deadline.timeoutOrElse(timeoutMs, () =>
      Effect.fail(
        new LlmError.Timeout({
          provider: d.provider,
          deployment: d.id,
          phase: "request",
          message: `No response from ${d.id} within ${timeoutMs} ms`
        })
      ))
  )
}

/**
 * The route of a request served whole (a chat, an embedding), with its cost counted against
 * budgets and its success in the metrics, read in the calling fiber (no steps of its own).
 */
export const servedWhole = (
  engine: Engine,
  run: Run<any>,
  served: { readonly deployment: Deployment; readonly group: string },
  usage: Usage | null | undefined,
  fiber: Fiber.Fiber<unknown, unknown>,
  now: number
): RouteInfo => {
  const route = routeInfo(run, served, now, usage)
  spend(engine, route, now)
  RouterMetrics.recordSuccessUnsafe(route, false, fiber.context)
  return route
}

/** Counts what a served call cost against its deployment's budgets. */
export const spend = (engine: Engine, route: RouteInfo, now: number) => {
  if (engine.ledger !== undefined && route.costUsd !== undefined) {
    Budget.record(engine.ledger, engine.budgetLimits.get(route.deployment), now, route.costUsd)
  }
}

/** Ends an in-flight call that neither succeeded nor failed (the caller went away, or it died). */
export const release = (engine: Engine, d: Deployment) =>
  Effect.asVoid(engine.state.onFailure(d.id, {
    reason: "Interrupted",
    countsTowardCooldown: false,
    coolsImmediately: false,
    allowedFails: 0,
    cooldownMs: 0
  }))

/**
 * The in-flight count `onStart` took for one call, given back exactly once: by the record of
 * how the call ended (`settle`), or by `release` when it neither succeeded nor failed. Whichever
 * comes first takes the count and the other does nothing, so two owners (the attempt loop's
 * bracket, and a stream's scope after it opened) may both hold it. Either runs uninterruptibly:
 * an interruption cannot land between taking the count and the state update that gives it back.
 */
export class InFlight {
  private held = true
  private handedOver = false
  private success: Success | undefined = undefined
  private readonly engine: Engine
  private readonly deployment: Deployment
  constructor(engine: Engine, deployment: Deployment) {
    this.engine = engine
    this.deployment = deployment
  }
  /** Runs `record` (a success or a failure recorded, which gives the count back) unless the count is back already. */
  settle(record: Effect.Effect<unknown>): Effect.Effect<void> {
    return Effect.uninterruptible(Effect.suspend(() => {
      if (!this.held) return Effect.void
      this.held = false
      return Effect.asVoid(record)
    }))
  }
  /** Gives the count back without a record (the caller went away, or the call died), unless it is back already. */
  release(): Effect.Effect<void> {
    return this.settle(release(this.engine, this.deployment))
  }
  /**
   * A call that answered whole succeeds with `value`: its `success` is recorded by the attempt's
   * bracket (`recordSuccess`) once the attempt ends so, in the same uninterruptible step.
   */
  answered<A>(value: A, success: Success): Effect.Effect<A> {
    this.success = success
    return Effect.succeed(value)
  }
  /**
   * An opened stream takes the count over: the release it returns is for the stream's scope,
   * and the attempt's success leaves the count to it (see `recordSuccess`).
   */
  handOver(): Effect.Effect<void> {
    this.handedOver = true
    return this.release()
  }
  /**
   * For the attempt loop's bracket (already uninterruptible) when the attempt succeeds: records
   * the success its operation reported (`answered`), which gives the count back; nothing when a
   * stream took the count over (`handOver`); else (an operation that reported neither) gives the
   * count back without a record, so no operation can keep it raised.
   */
  recordSuccess(): Effect.Effect<void> {
    if (!this.held || (this.success === undefined && this.handedOver)) return Effect.void
    if (this.success === undefined) return this.release()
    this.held = false
    return this.engine.state.onSuccess(this.deployment.id, this.success)
  }
}

/** Records a failed call and says whether its deployment is now cooling down. */
export const recordFailure = (engine: Engine, d: Deployment, group: string, error: LlmError.LlmError) => {
  const { settings } = engine
  const policy = LlmError.policy(error)
  // A provider's hint is trusted up to a bound: one `Retry-After: 999999999` must not cool a deployment for years.
  const retryAfter = Math.min(LlmError.retryAfterMillis(error) ?? 0, settings.maxCooldownFromRetryAfterMs)
  return engine.state.onFailure(d.id, {
    reason: error._tag,
    countsTowardCooldown: policy.countsTowardCooldown && !settings.disableCooldowns,
    // With cooldowns off a failure still counts in the failure rate a strategy may read.
    countsAsFailure: policy.countsTowardCooldown,
    coolsImmediately: policy.coolsImmediately,
    allowedFails: settings.allowedFailsByTag[error._tag] ?? settings.allowedFails,
    cooldownMs: Math.max(d.cooldownMs ?? settings.cooldownMs, retryAfter)
  }).pipe(
    Effect.tap((cooldown) => RouterMetrics.recordFailure(group, d, error, cooldown !== undefined))
  )
}

/** The route of a served request, as its caller sees it. */
export const routeInfo = (
  run: Run<any>,
  served: { readonly deployment: Deployment; readonly group: string },
  now: number,
  usage: Usage | null | undefined,
  extra?: Partial<RouteInfo>
): RouteInfo => {
  // A wildcard deployment served the model the request named (its provider and price).
  const d = Wildcards.isPattern(served.deployment.group)
    ? Wildcards.concrete(served.deployment, run.request.model) ?? served.deployment
    : served.deployment
  const route: RouteInfo = {
    group: run.group,
    servedBy: served.group,
    deployment: d.id,
    provider: d.provider,
    model: d.model,
    attempts: run.attempts,
    fallbacks: [...run.fallbacks],
    latencyMs: now - run.startedAt,
    usage: usage ?? undefined,
    costUsd: Cost.ofUsage(d, usage),
    ...extra
  }
  // Only a complexity router's requests carry the field: every other route keeps its shape.
  return run.complexity === undefined ? route : { ...route, complexity: run.complexity }
}


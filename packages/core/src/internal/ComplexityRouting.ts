/**
 * The complexity router's step in group resolution: a request for a complexity router's name
 * (`ComplexityRouter`) is classified and given the model group of its tier, before the strategy
 * picks a deployment. A tier group is taken as available when its strategy's own filters
 * (`Selection.admitsAny`: within budget, within rpm/tpm under usage-based routing, not cooling
 * down, as configured) leave one of its deployments, on one state snapshot of the router's
 * groups; the request then runs as a request
 * for that group, with its retries, cooldowns and fallbacks. The decision rides on the run, so
 * the route reports it and metrics count it.
 */
import { Effect } from "effect"
import type { ChatRequest } from "../Chat.ts"
import * as ComplexityRouter from "../ComplexityRouter.ts"
import * as LlmError from "../LlmError.ts"
import type { ComplexityRoute } from "../RouteInfo.ts"
import * as RouterMetrics from "../RouterMetrics.ts"
import * as TokenEstimate from "../TokenEstimate.ts"
import { type Engine, resolveGroup, unknownModel } from "./Engine.ts"
import { ROUTER } from "./Run.ts"
import * as Selection from "./Selection.ts"

export interface Tiered {
  readonly group: string
  readonly complexity: ComplexityRoute
}

/** Per router, the ids of the deployments of every group it may choose (its tiers and default). */
const deploymentIds = new WeakMap<ComplexityRouter.ComplexityRouter, ReadonlyArray<string>>()

const idsOf = (engine: Engine, router: ComplexityRouter.ComplexityRouter): ReadonlyArray<string> => {
  let ids = deploymentIds.get(router)
  if (ids === undefined) {
    const groups = new Set<string>()
    for (const names of Object.values(router.tiers)) {
      for (const name of names) groups.add(resolveGroup(engine, name) ?? name)
    }
    if (router.defaultModel !== undefined) groups.add(resolveGroup(engine, router.defaultModel) ?? router.defaultModel)
    ids = [...groups].flatMap((group) => engine.groupIds.get(group) ?? [])
    deploymentIds.set(router, ids)
  }
  return ids
}

/** The group label of a request's failure metrics: its group, or a complexity router's name (both from the config). */
export const metricGroup = (engine: Engine, model: string): string | undefined =>
  resolveGroup(engine, model) ?? (engine.settings.complexityRouters?.has(model) ? model : undefined)

/**
 * Resolves a chat request's group, a group or alias as ever, else (for a complexity router's name)
 * its tier's group, and continues there; anything else is an unknown model.
 */
export const onGroup = <A>(
  engine: Engine,
  request: ChatRequest,
  continueOn: (group: string, complexity: ComplexityRoute | undefined) => Effect.Effect<A, LlmError.LlmError>,
  /** Counted in `llm_router_complexity_requests_total` (not for a token count, which is no request served). */
  counted = true
): Effect.Effect<A, LlmError.LlmError> => {
  const group = resolveGroup(engine, request.model)
  if (group !== undefined) return continueOn(group, undefined)
  const router = engine.settings.complexityRouters?.get(request.model)
  if (router === undefined) return Effect.fail(unknownModel(engine, request))
  return Effect.flatMap(resolve(engine, router, request, counted), (tiered) => continueOn(tiered.group, tiered.complexity))
}

/** The group a complexity router gives `request`, with what decided it; a bad forced tier is a 400. */
export const resolve = (
  engine: Engine,
  router: ComplexityRouter.ComplexityRouter,
  request: ChatRequest,
  counted = true
): Effect.Effect<Tiered, LlmError.LlmError> =>
  Effect.flatMap(engine.state.snapshot(idsOf(engine, router)), (snapshot) => {
    // A tier's group is passed by when its compiled strategy's own filters (budgets, rpm/tpm,
    // cooldowns…, as an attempt runs them) would leave none of its deployments.
    // Counted once for all the tier groups tried (each `admitsAny` would count it again).
    let tokens: number | undefined
    const estimate = () => (tokens ??= TokenEstimate.ofRequest(request))
    const available = (name: string) => {
      const group = resolveGroup(engine, name)
      return group !== undefined && Selection.admitsAny(engine, group, request, request.stream === true, estimate, snapshot)
    }
    const decision = ComplexityRouter.decide(router, request, available)
    if (decision instanceof ComplexityRouter.InvalidTier) {
      return Effect.fail(new LlmError.BadRequest({ provider: ROUTER, status: 400, message: decision.message, param: "metadata.complexity_tier" }))
    }
    const complexity: ComplexityRoute = {
      router: router.name,
      tier: decision.tier,
      score: decision.score,
      signals: decision.signals,
      forced: decision.forced
    }
    const tiered = { group: resolveGroup(engine, decision.group) ?? decision.group, complexity }
    return counted ? Effect.as(RouterMetrics.recordTier(router.name, decision.tier, decision.forced), tiered) : Effect.succeed(tiered)
  })

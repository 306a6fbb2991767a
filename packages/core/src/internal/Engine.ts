/**
 * What a router is made of, built once from its config: the groups and their deployments, a
 * client per deployment (a chat client, or an embeddings client for an embedding deployment), the state store, the strategy, budgets, session pins and spans; and
 * what every part of the router asks of them (resolving a group, whether a group serves a kind
 * of call). A call's own steps are in `Calls`, a request's start in `Admission`. The selection, attempt loop, fallbacks and streaming modules take an
 * `Engine` as their first argument rather than closing over a shared scope.
 */
import { Effect } from "effect"
import * as Budget from "../Budget.ts"
import { type Deployment, isChat } from "../Deployment.ts"
import type * as EmbeddingClient from "../EmbeddingClient.ts"
import * as LatencyRouting from "../LatencyRouting.ts"
import type * as LlmClient from "../LlmClient.ts"
import * as LlmError from "../LlmError.ts"
import { type RouterConfig, RouterConfigError, type Settings } from "../RouterConfig.ts"
import * as FallbackPlan from "../FallbackPlan.ts"
import * as RetryPolicy from "../RetryPolicy.ts"
import { RouterState, type Service as StateService } from "../RouterState.ts"
import * as RouterTracing from "../RouterTracing.ts"
import * as SessionAffinity from "../SessionAffinity.ts"
import * as Strategy from "../Strategy.ts"
import { ROUTER, type Routable } from "./Run.ts"
import * as Observed from "./Observed.ts"
import * as Selection from "./Selection.ts"
import * as Wildcards from "./Wildcards.ts"

/** Gives each deployment the client that calls it (a provider adapter, a simulated provider…). */
export type ClientFor<E = never, R = never> = (deployment: Deployment) => Effect.Effect<LlmClient.Service, E, R>

/** Gives each embedding deployment (`model_info.mode: embedding`) the client that calls it. */
export type EmbeddingClientFor<E = never, R = never> = (deployment: Deployment) => Effect.Effect<EmbeddingClient.Service, E, R>

export interface Engine {
  readonly config: RouterConfig
  readonly settings: Settings
  readonly state: StateService
  /** The retry policy of a group (`RetryPolicy`), resolved once. */
  readonly retryFor: (group: string) => RetryPolicy.Resolved
  /** The strategy of a group: the app's for that group, else the app's for all, else the configured one. */
  readonly strategyFor: (group: string) => Strategy.Strategy
  /** Each target's strategy, compiled with the router's filters (`Selection.compile`). */
  readonly compiled: ReadonlyMap<string, Selection.Compiled>
  /** The first budget limit a deployment has reached at `now` (`Strategy.withinBudget`); none configured, no check. */
  readonly overBudget: ((deployment: Deployment, now: number) => Budget.Limit | undefined) | undefined
  /**
   * The router's adaptive latency routing: offered to every decision (`Strategy.Context.latency`),
   * fed from every call once a decision has read it (see `Observed`).
   */
  readonly latency: Observed.LatencyFeed
  /** Spend limits per deployment (`Budget`); none configured, no ledger and no check on any request. */
  readonly budgetLimits: ReadonlyMap<string, ReadonlyArray<Budget.Limit>>
  readonly ledger: Budget.Ledger | undefined
  readonly pins: SessionAffinity.PinTable | undefined
  readonly spans: RouterTracing.Spans
  readonly groups: ReadonlyMap<string, ReadonlyArray<Deployment>>
  /** The wildcard groups (`"*"`, `"anthropic/*"`), most specific first: a name no group or alias has falls to one. */
  readonly wildcards: ReadonlyArray<Wildcards.Pattern>
  /**
   * What a group name or fallback target routes over: the groups, and each deployment a
   * fallback plan names by id (`model_info.id`), as a group of one.
   */
  readonly targets: ReadonlyMap<string, ReadonlyArray<Deployment>>
  readonly groupIds: ReadonlyMap<string, ReadonlyArray<string>>
  /** The fallback plan: the app's, else the config's. */
  readonly plan: FallbackPlan.FallbackPlan
  /** The chat client of each chat deployment. */
  readonly clients: ReadonlyMap<string, LlmClient.Service>
  /** The embeddings client of each embedding deployment (when the router was given a way to make them). */
  readonly embeddingClients: ReadonlyMap<string, EmbeddingClient.Service>
  /**
   * What each group is (`chat`, `embedding`, or another `model_info.mode`): a group serves only
   * its kind of request (see `Embedding.modeRefusal`).
   */
  readonly groupKinds: ReadonlyMap<string, string>
  /** The groups and visible aliases, for the unknown-model error. */
  readonly knownModels: string
}

/** What an app adds to a router from code (see `Router.make`). */
export interface Options<E2 = never, R2 = never> {
  /** The strategy of every group, instead of `routing_strategy` (LiteLLM's `set_custom_routing_strategy`). */
  readonly strategy?: Strategy.Strategy | undefined
  /** Strategies of particular groups, over `strategy`. */
  readonly strategies?: Readonly<Record<string, Strategy.Strategy>> | undefined
  /** The retry policy of every group, over the config's `retry_policy`. */
  readonly retryPolicy?: RetryPolicy.RetryPolicy | undefined
  /** Retry policies of particular groups, over the config's `model_group_retry_policy`. */
  readonly retryPolicies?: Readonly<Record<string, RetryPolicy.RetryPolicy>> | undefined
  /**
   * Adaptive latency routing whose estimates this router feeds from every call it makes
   * (`LatencyRouting.make(...)`), in place of the one it makes from `routing_strategy_args`:
   * `latency-based-routing` (`Strategy.latencyBased`) ranks by it, and it routes the groups
   * `strategy` and `strategies` leave.
   */
  readonly latency?: LatencyRouting.LatencyRouting | undefined
  /** The fallback plan, instead of the config's chains (its targets are checked when the router is made). */
  readonly fallbacks?: FallbackPlan.FallbackPlan | undefined
  /** The embeddings client of each embedding deployment; without it an embedding group's requests fail. */
  readonly embeddingClientFor?: EmbeddingClientFor<E2, R2> | undefined
}

export const make = Effect.fnUntraced(function*<E, R, E2 = never, R2 = never>(
  config: RouterConfig,
  clientFor: ClientFor<E, R>,
  options: Options<E2, R2> = {}
) {
  const embeddingClientFor = options.embeddingClientFor
  const state = yield* RouterState
  const { settings } = config
  const budgetLimits = Budget.limitsOf(config.deployments, settings.providerBudgets)
  const ledger = budgetLimits.size > 0 ? (yield* Budget.MakeLedger)([...budgetLimits.values()].flat()) : undefined
  const makePins = yield* SessionAffinity.MakePinTable
  const groups = new Map<string, Array<Deployment>>()
  const clients = new Map<string, LlmClient.Service>()
  const context = yield* Effect.context<R>()
  const embeddingClients = new Map<string, EmbeddingClient.Service>()
  const groupKinds = new Map<string, string>()
  for (const deployment of config.deployments) {
    const members = groups.get(deployment.group)
    if (members) members.push(deployment)
    else groups.set(deployment.group, [deployment])
    // A group is one kind of model (`RouterConfig` checks): its first deployment says which.
    if (!groupKinds.has(deployment.group)) groupKinds.set(deployment.group, isChat(deployment.mode) ? "chat" : deployment.mode!)
    // Each deployment gets the client of its kind; the other kinds (images, audio, ...) get none.
    // A wildcard chat deployment's client is made per requested model, on first use (see `Wildcards`).
    if (isChat(deployment.mode)) {
      clients.set(
        deployment.id,
        Wildcards.isPattern(deployment.group) ? Wildcards.client(deployment, clientFor, context) : yield* clientFor(deployment)
      )
    } else if (deployment.mode === "embedding" && embeddingClientFor !== undefined) {
      embeddingClients.set(deployment.id, yield* embeddingClientFor(deployment))
    }
  }
  const plan = options.fallbacks === undefined ? FallbackPlan.fromSettings(settings) : resolvePlan(options.fallbacks, settings)
  const targets = new Map<string, ReadonlyArray<Deployment>>(groups)
  const byId = new Map(config.deployments.map((d) => [d.id, d]))
  const unknown: Array<string> = []
  for (const target of FallbackPlan.targets(plan)) {
    if (targets.has(target)) continue
    const single = byId.get(target)
    if (single !== undefined) targets.set(target, [single])
    else unknown.push(target)
  }
  if (unknown.length > 0) {
    return yield* new RouterConfigError({
      message: `The fallback plan names no group or deployment: ${unknown.join(", ")}`,
      issues: unknown.map((target) => ({ path: "fallbacks", message: `unknown model group or deployment "${target}"` }))
    })
  }
  // Adaptive latency routing keeps its estimates per router, fed by every call this router makes
  // once a decision has read them (an app's own from the start, as its pipeline may call its pick
  // directly): a router routing by something else pays nothing for it.
  const latency = Observed.feed(options.latency ?? LatencyRouting.make(settings.latencyArgs), options.latency !== undefined)
  const configured = options.latency !== undefined ? Strategy.latencyBased : Strategy.named[settings.routingStrategy]
  const strategyFor = strategies(options.strategy ?? configured, options.strategies)
  const engine: Engine = {
    config,
    settings,
    state,
    retryFor: retryPolicies(config, groups.keys(), options),
    strategyFor,
    latency,
    budgetLimits,
    ledger,
    pins: settings.sessionAffinityTtlMs > 0 ? makePins(settings.sessionAffinityTtlMs) : undefined,
    spans: RouterTracing.make(config.deployments),
    groups,
    wildcards: Wildcards.patternsOf(groups.keys()),
    targets,
    groupIds: new Map([...targets].map(([group, members]) => [group, members.map((d) => d.id)])),
    plan,
    clients,
    embeddingClients,
    groupKinds,
    // Hidden aliases still route, but are not advertised (LiteLLM's `hidden: true`).
    knownModels: [...groups.keys(), ...[...settings.aliases].filter(([, a]) => !a.hidden).map(([name]) => name)].join(", "),
    // Each target's strategy, compiled once (what a request routes over is known now).
    compiled: new Map([...targets].map(([group, members]) => [group, Selection.compile(strategyFor(group), members, settings, budgetLimits)])),
    overBudget: ledger === undefined ? undefined : (d, now) => Budget.exceeded(ledger, budgetLimits.get(d.id), now)
  }
  return engine
})

/** A plan from code, its aliases resolved to their groups. */
const resolvePlan = (plan: FallbackPlan.FallbackPlan, settings: Settings): FallbackPlan.FallbackPlan => {
  const groupOf = (name: string) => settings.aliases.get(name)?.group ?? name
  const chains = (map: ReadonlyMap<string, ReadonlyArray<string>>) =>
    new Map([...map].map(([from, to]) => [from === "*" ? from : groupOf(from), to.map(groupOf)]))
  return {
    generic: chains(plan.generic),
    contextWindow: chains(plan.contextWindow),
    contentPolicy: chains(plan.contentPolicy),
    default: plan.default.map(groupOf),
    maxFallbacks: plan.maxFallbacks
  }
}

/** Each group's retry policy, resolved once: the app's over the config's, a group's over the default. */
const retryPolicies = (config: RouterConfig, groups: Iterable<string>, options: Options<unknown, unknown>) => {
  const { settings } = config
  const all = options.retryPolicy ?? settings.retryPolicies?.default ?? {}
  const groupPolicy = (group: string) => options.retryPolicies?.[group] ?? settings.retryPolicies?.byGroup.get(group)
  const byGroup = new Map<string, RetryPolicy.Resolved>()
  for (const group of groups) {
    byGroup.set(group, RetryPolicy.resolve(groupPolicy(group), all, settings.numRetries, settings.retrySchedule))
  }
  const fallback = RetryPolicy.resolve(undefined, all, settings.numRetries, settings.retrySchedule)
  // A fallback target naming one deployment (`model_info.id`) retries with its group's policy.
  for (const d of config.deployments) {
    const policy = byGroup.get(d.group)
    if (policy !== undefined && !byGroup.has(d.id)) byGroup.set(d.id, policy)
  }
  return (group: string) => byGroup.get(group) ?? fallback
}

const strategies = (all: Strategy.Strategy, byGroup: Readonly<Record<string, Strategy.Strategy>> | undefined) => {
  if (byGroup === undefined) return () => all
  const map = new Map(Object.entries(byGroup))
  return (group: string) => map.get(group) ?? all
}

export const resolveGroup = (engine: Engine, model: string): string | undefined => {
  if (engine.groups.has(model)) return model
  const alias = engine.settings.aliases.get(model)
  if (alias && engine.groups.has(alias.group)) return alias.group
  return engine.wildcards.length === 0 ? undefined : Wildcards.match(engine.wildcards, model)
}

export const unknownModel = (engine: Engine, request: Routable) =>
  new LlmError.ModelNotFound({
    provider: ROUTER,
    status: 404,
    // A caller's model name is echoed cut short: it is input of any size.
    message: `Unknown model group "${
      request.model.length > 200 ? request.model.slice(0, 200) + "…" : request.model
    }". Known: ${engine.knownModels}`
  })

/**
 * The refusal of `group` for an operation of the other kind (`wanted`), or `undefined` when the
 * group serves it (see `groupKinds`).
 */
export const modeRefusal = (engine: Engine, group: string, wanted: "chat" | "embedding"): LlmError.BadRequest | undefined => {
  const kind = engine.groupKinds.get(group) ?? "chat"
  if (kind === wanted) return undefined
  const article = /^[aeiou]/.test(kind) ? "an" : "a"
  const serves = kind === "chat" ? "chat completions" : kind === "embedding" ? "embeddings (/v1/embeddings)" : `${kind} requests, which this router does not route`
  return new LlmError.BadRequest({
    provider: ROUTER,
    status: 400,
    message: `Model group "${group}" is ${article} ${kind} model group (model_info.mode): it serves ${serves}, not ${wanted === "chat" ? "chat completions" : "embeddings"}`,
    param: "model"
  })
}


/**
 * Selection: which deployment of a group takes an attempt. A group's strategy is compiled once
 * (`compile`) into the steps the router runs itself: the router's own filters when the
 * strategy starts from `Strategy.candidates` (or is a bare pick), the strategy's steps, its
 * pick, and what answers when it chooses none. Steps that cannot remove anything under the
 * config are dropped. Each attempt runs the leading built-in filters on its state snapshot
 * (`admit`, no random number needed), then the rest and the pick (`decide`). When a built-in
 * filter leaves nothing, its refusal is the answer (a budget 429, a tags 400…).
 *
 * The attempt loop's own concerns stay here, around the `healthy` step: deployments this
 * request must not call again are dropped just before it; after it, those that already failed
 * for this request give way to others; when it leaves nothing, an earlier failure of the
 * request is the answer, or, as the last resort (`ignoreCooldown`), the deployment that
 * recovers first is tried. A session goes back to its deployment when that reaches the pick.
 */
import type * as Budget from "../Budget.ts"
import type { Deployment } from "../Deployment.ts"
import * as LlmError from "../LlmError.ts"
import type { Settings } from "../RouterConfig.ts"
import type { Snapshot } from "../RouterState.ts"
import * as Strategy from "../Strategy.ts"
import { recoversFirst } from "./BuiltInSteps.ts"
import type { Engine } from "./Engine.ts"
import { estimatedTokens, ROUTER, type Routable, type Run } from "./Run.ts"

/** A group's strategy, ready to run: the steps the router runs, its pick, and the strategy after it. */
export interface Compiled {
  readonly steps: ReadonlyArray<Strategy.Step>
  /** How many leading steps are the router's own filters: they read no random number, so run before one is drawn. */
  readonly leading: number
  /** Where `Strategy.healthy` is, or -1. */
  readonly healthyAt: number
  /** The pick, or a strategy the router cannot see into (which may choose none). */
  readonly final: Strategy.Strategy
  readonly otherwise: Compiled | undefined
}

/**
 * `strategy` for a group of `members`: from `candidates` (or a bare pick), the router's filters
 * as configured come first; from `members`, only the steps it names. The built-in steps that
 * cannot remove anything here are left out: tags without `enable_tag_filtering`, the context
 * window without `enable_pre_call_checks` or any `max_input_tokens`, budgets, rpm/tpm and
 * `order` when no member has one.
 */
export const compile = (
  strategy: Strategy.Strategy,
  members: ReadonlyArray<Deployment>,
  settings: Settings,
  budgetLimits: ReadonlyMap<string, ReadonlyArray<Budget.Limit>>
): Compiled => {
  const plan = strategy.plan
  const pipeline = plan?.pipeline ?? Strategy.candidates
  const all = pipeline.from === "members"
    ? pipeline.steps
    : [...Strategy.admission({ rateLimits: settings.routingStrategy.startsWith("usage-based-routing") }).steps, ...pipeline.steps]
  const acts = (step: Strategy.Step): boolean => {
    switch (builtInOf(step)) {
      case "matchingTags":
        return settings.enableTagFiltering
      case "withinContextWindow":
        return settings.enablePreCallChecks && members.some((d) => d.maxInputTokens !== undefined)
      case "withinBudget":
        return members.some((d) => budgetLimits.has(d.id))
      case "withinRateLimits":
        return members.some((d) => d.rpm !== undefined || d.tpm !== undefined)
      case "lowestOrder":
        return members.some((d) => d.order !== undefined)
      default:
        return true
    }
  }
  const steps = all.filter(acts)
  const firstOwn = steps.findIndex((s) => builtInOf(s) === undefined)
  return {
    steps,
    leading: firstOwn < 0 ? steps.length : firstOwn,
    healthyAt: steps.findIndex((s) => builtInOf(s) === "healthy"),
    final: plan?.final ?? strategy,
    otherwise: plan?.otherwise === undefined ? undefined : compile(plan.otherwise, members, settings, budgetLimits)
  }
}

/** `group`'s compiled strategy: every target's is made with the engine (`Engine.make`); another group's now. */
const compiledFor = (engine: Engine, group: string, members: ReadonlyArray<Deployment>): Compiled =>
  engine.compiled.get(group) ?? compile(engine.strategyFor(group), members, engine.settings, engine.budgetLimits)

const builtInOf = (step: Strategy.Step): Strategy.BuiltInName | undefined => (step as Partial<Strategy.Filter>).builtIn

/**
 * One attempt's selection: what the router tells a step (`Strategy.Context`), and what the
 * attempt loop reads after it. One object per attempt; the random number is set once drawn.
 */
export class Attempt implements Strategy.Context {
  random = 0
  /** The candidates after the leading filters. */
  candidates: ReadonlyArray<Deployment>
  /** The group's deployments ready to take a retry at once: what `healthy` left (before the preference for fresh ones). */
  ready: ReadonlyArray<Deployment>
  /** A leading filter's refusal, kept for when the strategy after this one chooses none too. */
  refused: LlmError.LlmError | undefined = undefined
  readonly engine: Engine
  readonly run: Run
  readonly group: string
  readonly members: ReadonlyArray<Deployment>
  readonly snapshot: Snapshot
  readonly ignoreCooldown: boolean
  readonly lastError: LlmError.LlmError | undefined
  readonly compiled: Compiled
  constructor(
    engine: Engine,
    run: Run,
    group: string,
    members: ReadonlyArray<Deployment>,
    snapshot: Snapshot,
    ignoreCooldown: boolean,
    lastError: LlmError.LlmError | undefined,
    compiled: Compiled
  ) {
    this.engine = engine
    this.run = run
    this.group = group
    this.members = members
    this.snapshot = snapshot
    this.ignoreCooldown = ignoreCooldown
    this.lastError = lastError
    this.compiled = compiled
    this.candidates = members
    this.ready = members
  }
  get overBudget() {
    return this.engine.overBudget
  }
  get streaming() {
    return this.run.streaming
  }
  get request() {
    return this.run.request
  }
  get isFallback() {
    return this.group !== this.run.group
  }
  get tags() {
    return this.run.request.metadata?.tags
  }
  get estimatedTokens() {
    return estimatedTokens(this.run)
  }
  get latency() {
    return this.engine.latency.estimates
  }
}

/**
 * The leading built-in filters of one attempt, on its snapshot, or why there is nothing to
 * call. With nothing to call after an earlier failure, that failure (`lastError`) is the answer.
 */
export const admit = (
  engine: Engine,
  run: Run,
  group: string,
  members: ReadonlyArray<Deployment>,
  snapshot: Snapshot,
  ignoreCooldown: boolean,
  lastError: LlmError.LlmError | undefined
): Attempt | LlmError.LlmError => {
  const compiled = compiledFor(engine, group, members)
  const attempt = new Attempt(engine, run, group, members, snapshot, ignoreCooldown, lastError, compiled)
  const start = begin(attempt, compiled)
  const out = "_tag" in start ? start : runSteps(attempt, compiled, 0, compiled.leading, start)
  if (!("_tag" in out)) {
    attempt.candidates = out
    return attempt
  }
  // With a strategy to answer after this one, it still gets its turn (`decide`).
  if (compiled.otherwise === undefined) return out
  attempt.candidates = []
  attempt.refused = out
  return attempt
}

/**
 * The deployment of one attempt: the rest of the steps, then the session's deployment if it
 * reached the pick, else the pick. When a strategy chooses none the next one (`orElse`) tries;
 * the last refusal of a built-in filter is the answer, else `NoDeploymentAvailable`.
 */
export const decide = (attempt: Attempt, random: number): Deployment | LlmError.LlmError => {
  attempt.random = random
  let compiled: Compiled | undefined = attempt.compiled
  let refused = attempt.refused
  let out: ReadonlyArray<Deployment> | LlmError.LlmError = refused ?? attempt.candidates
  for (;;) {
    if (!("_tag" in out)) out = runSteps(attempt, compiled, compiled.leading, compiled.steps.length, out)
    if ("_tag" in out) refused = out
    else if (out.length > 0) {
      const chosen = pinned(attempt, out) ?? compiled.final(out, attempt)
      if (chosen !== undefined) return chosen
    }
    compiled = compiled.otherwise
    if (compiled === undefined) break
    const start = begin(attempt, compiled)
    out = "_tag" in start ? start : runSteps(attempt, compiled, 0, compiled.leading, start)
  }
  return refused ?? new LlmError.NoDeploymentAvailable({
    provider: ROUTER,
    group: attempt.group,
    message: `The routing strategy of model group "${attempt.group}" chose none of its ${attempt.candidates.length} available deployments`
  })
}

/** A session's deployment, when it is among the candidates at the pick. */
const pinned = ({ engine, group, run, snapshot }: Attempt, candidates: ReadonlyArray<Deployment>) => {
  if (run.session === undefined || engine.pins === undefined) return undefined
  const id = engine.pins.get(group, run.session, snapshot.now)
  return id === undefined ? undefined : candidates.find((c) => c.id === id)
}

/** Where a strategy starts: the members, or without a `healthy` step, the members this request may still call. */
const begin = (attempt: Attempt, compiled: Compiled): ReadonlyArray<Deployment> | LlmError.LlmError => {
  if (compiled.healthyAt >= 0) return attempt.members
  const callable = callableOf(attempt)
  if (callable.length === 0) return attempt.lastError ?? cannotRecover(attempt.group)
  attempt.ready = callable
  return preferFresh(attempt.run, callable)
}

/** Steps `from` to `to` over `current`: what is left, or the refusal of the built-in filter that left nothing. */
const runSteps = (
  attempt: Attempt,
  compiled: Compiled,
  from: number,
  to: number,
  current: ReadonlyArray<Deployment>
): ReadonlyArray<Deployment> | LlmError.LlmError => {
  const context = attempt
  for (let i = from; i < to && current.length > 0; i++) {
    const step = compiled.steps[i]!
    if (i === compiled.healthyAt) {
      const callable = attempt.run.excluded === undefined ? current : current.filter((d) => !attempt.run.excluded!.has(d.id))
      if (callable.length === 0) return attempt.lastError ?? cannotRecover(attempt.group)
      const healthy = step(callable, context)
      attempt.ready = healthy
      if (healthy.length > 0) current = preferFresh(attempt.run, healthy)
      // Every deployment is cooling: try the one that recovers first rather than fail without a call.
      else if (attempt.ignoreCooldown) current = [recoversFirst(callable, context)]
      else return attempt.lastError ?? (step as Strategy.Filter).refusal(callable, context)
      continue
    }
    const next = step(current, context)
    const refusal = (step as Partial<Strategy.Filter>).refusal
    if (next.length === 0 && refusal !== undefined) return refusal(current, context)
    current = next
  }
  return current
}

/**
 * Whether the group's leading built-in filters (its compiled strategy's, as an attempt runs
 * them, and those of each `orElse` after it) leave a deployment for a new request, on `snapshot`: what the complexity ladder asks of
 * a tier's group before any run exists. A strategy without `healthy` admits a cooling group, as
 * its attempts would call it.
 */
export const admitsAny = (
  engine: Engine,
  group: string,
  request: Routable,
  streaming: boolean,
  estimate: () => number,
  snapshot: Snapshot
): boolean => {
  const members = engine.targets.get(group)
  if (members === undefined || members.length === 0) return false
  const compiled = compiledFor(engine, group, members)
  let tokens: number | undefined
  const context: Strategy.Context = {
    snapshot,
    streaming,
    random: 0,
    request,
    group,
    isFallback: false,
    tags: request.metadata?.tags,
    overBudget: engine.overBudget,
    get estimatedTokens() {
      return tokens ??= estimate()
    }
  }
  // The strategy, and each `orElse` after it, as `admit` and `decide` would try them in turn.
  for (let strategy: Compiled | undefined = compiled; strategy !== undefined; strategy = strategy.otherwise) {
    let current = members
    for (let i = 0; i < strategy.leading && current.length > 0; i++) current = strategy.steps[i]!(current, context)
    if (current.length > 0) return true
  }
  return false
}

/** The members this request may still call (the errors of the others cannot succeed there). */
const callableOf = ({ members, run }: Attempt) =>
  run.excluded === undefined ? members : members.filter((d) => !run.excluded!.has(d.id))

/** Deployments that have not failed for this request, if any; else all of them. */
const preferFresh = (run: Run, candidates: ReadonlyArray<Deployment>): ReadonlyArray<Deployment> => {
  if (run.failed === undefined) return candidates
  const fresh = candidates.filter((d) => !run.failed!.has(d.id))
  return fresh.length > 0 ? fresh : candidates
}

const cannotRecover = (group: string) =>
  new LlmError.NoDeploymentAvailable({
    provider: ROUTER,
    group,
    message: `Every deployment of model group "${group}" failed with an error it cannot recover from`
  })

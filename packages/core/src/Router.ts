/**
 * The router: many deployments, one `LlmClient`. For each request it resolves the model
 * group, picks a healthy deployment (strategy over a state snapshot), calls it under a
 * timeout, retries on another deployment or after a backoff, cools failing deployments
 * down, and walks the configured fallback chains when a group gives up. Streams fail over
 * transparently until their first content chunk.
 *
 * What to do about an error is decided by `LlmError.policy`; what is remembered between
 * requests lives in `RouterState` (and a session's last deployment in `SessionAffinity`).
 * This module holds the control flow only.
 */
import { Cause, Channel, Clock, Duration, Effect, Exit, type Fiber, Layer, Pull, Random, Result, Schedule, Scope, Stream, Tracer } from "effect"
import * as Arr from "effect/Array"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { ChatChunk, ChatRequest, Usage } from "./Chat.ts"
import { chunkHasContent } from "./Chat.ts"
import * as Budget from "./Budget.ts"
import * as Cost from "./Cost.ts"
import * as Deadline from "./Deadline.ts"
import type { Deployment } from "./Deployment.ts"
import * as IdleDeadline from "./IdleDeadline.ts"
import * as LlmClient from "./LlmClient.ts"
import * as LlmError from "./LlmError.ts"
import type { RouteInfo } from "./RouteInfo.ts"
import type { RouterConfig, Settings } from "./RouterConfig.ts"
import * as RouterMetrics from "./RouterMetrics.ts"
import { RouterState } from "./RouterState.ts"
import type { Snapshot } from "./RouterState.ts"
import * as RouterTracing from "./RouterTracing.ts"
import * as SessionAffinity from "./SessionAffinity.ts"
import * as Strategy from "./Strategy.ts"
import * as TokenEstimate from "./TokenEstimate.ts"

/** Gives each deployment the client that calls it (a provider adapter, a simulated provider…). */
export type ClientFor<E = never, R = never> = (deployment: Deployment) => Effect.Effect<LlmClient.Service, E, R>

/** The router's view of one request, across its retries and fallbacks. */
interface Run {
  readonly request: ChatRequest
  readonly group: string
  readonly streaming: boolean
  readonly startedAt: number
  attempts: number
  readonly fallbacks: Array<string>
  /**
   * The groups tried so far besides `group`. This and the next two sets are made on first use:
   * most requests succeed at once and never need them.
   */
  visited: Set<string> | undefined
  /** Deployments that must not be called again for this request (the error cannot succeed there). */
  excluded: Set<string> | undefined
  /** Deployments that failed once for this request: others are preferred. */
  failed: Set<string> | undefined
  estimatedTokens: number | undefined
  /** The request's session, when affinity is on and it names one (see `SessionAffinity`). */
  readonly session: string | undefined
  /** The request's span, when a tracer is installed (see `RouterTracing`). */
  readonly span: Tracer.Span | undefined
}

/** Adds to one of a run's sets, making it on first use. */
const addTo = (run: Run, set: "visited" | "excluded" | "failed", id: string): void => {
  const members = run[set] ?? (run[set] = new Set())
  members.add(id)
}

interface Served<A> {
  readonly value: A
  readonly deployment: Deployment
  readonly group: string
}

const ROUTER = "llm-router"

/**
 * `Stream.toPull` with its scope given, for a pull that one fiber reads in turn: without the
 * context merge and the semaphore `toPull` wraps around every pull (a copy of every service per
 * pull). A stream that fails while opening fails its first pull, as with `toPull`.
 */
const pullIn = <A, E>(
  stream: Stream.Stream<A, E>,
  scope: Scope.Scope
): Effect.Effect<Pull.Pull<NonEmptyReadonlyArray<A>, E>> =>
  Effect.catchCause(Channel.toPullScoped(stream.channel, scope), (cause) => Effect.succeed(Effect.failCause(cause)))

export const make = Effect.fnUntraced(function*<E, R>(config: RouterConfig, clientFor: ClientFor<E, R>) {
  const state = yield* RouterState
  const { settings } = config
  const strategy = Strategy.byName[settings.routingStrategy]
  // Spend limits (`Budget`): none configured, no ledger and no check on any request.
  const budgetLimits = Budget.limitsOf(config.deployments, settings.providerBudgets)
  const ledger = budgetLimits.size > 0 ? (yield* Budget.MakeLedger)([...budgetLimits.values()].flat()) : undefined
  const makePins = yield* SessionAffinity.MakePinTable
  const pins = settings.sessionAffinityTtlMs > 0 ? makePins(settings.sessionAffinityTtlMs) : undefined
  const spans = RouterTracing.make(config.deployments)
  const groups = new Map<string, Array<Deployment>>()
  const clients = new Map<string, LlmClient.Service>()
  for (const deployment of config.deployments) {
    const members = groups.get(deployment.group)
    if (members) members.push(deployment)
    else groups.set(deployment.group, [deployment])
    clients.set(deployment.id, yield* clientFor(deployment))
  }
  const groupIds = new Map([...groups].map(([group, members]) => [group, members.map((d) => d.id)]))

  // Hidden aliases still route, but are not advertised (LiteLLM's `hidden: true`).
  const knownModels = [...groups.keys(), ...[...settings.aliases].filter(([, a]) => !a.hidden).map(([name]) => name)].join(", ")

  const resolveGroup = (model: string): string | undefined => {
    if (groups.has(model)) return model
    const alias = settings.aliases.get(model)
    return alias && groups.has(alias.group) ? alias.group : undefined
  }

  const requestTimeoutMs = (d: Deployment) => d.timeoutMs ?? settings.timeoutMs
  const firstChunkTimeoutMs = (d: Deployment) => d.streamTimeoutMs ?? settings.streamTimeoutMs ?? requestTimeoutMs(d)
  const idleTimeoutMs = (d: Deployment) => settings.streamIdleTimeoutMs ?? firstChunkTimeoutMs(d)

  const estimatedTokens = (run: Run) => (run.estimatedTokens ??= TokenEstimate.ofRequest(run.request))

  /**
   * The pre-call check: deployments whose context window cannot hold the request, or whose
   * tags do not match the request's `metadata.tags`, are not candidates. When nothing is
   * left, the error says why (a context-window error selects `context_window_fallbacks`).
   */
  const eligible = (run: Run, group: string): Result.Result<ReadonlyArray<Deployment>, LlmError.LlmError> => {
    let members: ReadonlyArray<Deployment> = groups.get(group) ?? []
    const tags = run.request.metadata?.tags
    if (tags && tags.length > 0) {
      members = members.filter((d) => d.tags.some((t) => tags.includes(t)))
      if (members.length === 0) {
        return Result.fail(
          new LlmError.NoDeploymentAvailable({
            provider: ROUTER,
            group,
            message: `No deployment of model group "${group}" has any of the tags ${JSON.stringify(tags)}`
          })
        )
      }
    } else if (members.some((d) => d.tags.includes("default"))) {
      members = members.filter((d) => d.tags.includes("default"))
    }
    if (settings.enablePreCallChecks) {
      const fitting = members.filter((d) => d.maxInputTokens === undefined || estimatedTokens(run) <= d.maxInputTokens)
      if (fitting.length === 0) {
        return Result.fail(
          new LlmError.ContextWindowExceeded({
            provider: ROUTER,
            message: `The request (about ${estimatedTokens(run)} tokens) exceeds the context window of every deployment of "${group}"`
          })
        )
      }
      members = fitting
    }
    return Result.succeed(members)
  }

  /** The candidates not cooling down: the same array when none is, as on most requests. */
  const notCooling = (candidates: ReadonlyArray<Deployment>, snapshot: Snapshot): ReadonlyArray<Deployment> => {
    const cooling = (d: Deployment) => (snapshot.stats.get(d.id)?.cooldownUntil ?? 0) !== 0
    return candidates.some(cooling) ? candidates.filter((d) => !cooling(d)) : candidates
  }

  const withEligible = <A>(
    found: Result.Result<ReadonlyArray<Deployment>, LlmError.LlmError>,
    f: (candidates: ReadonlyArray<Deployment>) => Effect.Effect<A, LlmError.LlmError>
  ): Effect.Effect<A, LlmError.LlmError> => (Result.isFailure(found) ? Effect.fail(found.failure) : f(found.success))

  // Usage-based routing, as LiteLLM's: `rpm` / `tpm` are limits, not weights. A deployment that
  // has had its requests (or tokens, counting this request's estimate) for the minute is no
  // candidate until the next. (Under the other strategies they stay weights, as in LiteLLM.)
  const rateLimited = settings.routingStrategy.startsWith("usage-based-routing") &&
    config.deployments.some((d) => d.rpm !== undefined || d.tpm !== undefined)
  const withinRateLimits = (run: Run, candidates: ReadonlyArray<Deployment>, snapshot: Snapshot) =>
    candidates.filter((d) => {
      const stats = snapshot.stats.get(d.id)
      if (stats === undefined) return true
      if (d.rpm !== undefined && stats.requestsThisMinute >= d.rpm) return false
      return d.tpm === undefined || stats.tokensThisMinute + estimatedTokens(run) <= d.tpm
    })
  const overRateLimits = (group: string, candidates: ReadonlyArray<Deployment>, now: number) =>
    new LlmError.NoDeploymentAvailable({
      provider: ROUTER,
      group,
      message: `No deployments available for model group "${group}": every deployment has reached its rpm/tpm limit for this minute (${
        candidates.map((d) => `${d.id}: ${[d.rpm !== undefined ? `rpm ${d.rpm}` : "", d.tpm !== undefined ? `tpm ${d.tpm}` : ""].filter(Boolean).join(", ")}`).join("; ")
      })`,
      retryAfter: Duration.millis(60_000 - (now % 60_000))
    })

  const withinBudget = (ledger: Budget.Ledger, candidates: ReadonlyArray<Deployment>, now: number) =>
    candidates.filter((d) => Budget.exceeded(ledger, budgetLimits.get(d.id), now) === undefined)

  /** Every candidate is over a budget: a 429 until the first of their windows ends (or a fallback). */
  const overBudget = (group: string, candidates: ReadonlyArray<Deployment>, now: number) => {
    const reached = candidates.map((d) => Budget.exceeded(ledger!, budgetLimits.get(d.id), now)!)
    const reopens = Math.min(...reached.map((limit) => Budget.windowEndsAt(limit, now)))
    return new LlmError.NoDeploymentAvailable({
      provider: ROUTER,
      group,
      message: `No deployments available for model group "${group}": every deployment is over its budget (${
        [...new Set(reached.map(Budget.describe))].join("; ")
      })`,
      retryAfter: Duration.millis(Math.max(0, reopens - now))
    })
  }

  /** Counts what a served call cost against its deployment's budgets. */
  const spend = (route: RouteInfo, now: number) => {
    if (ledger !== undefined && route.costUsd !== undefined) {
      Budget.record(ledger, budgetLimits.get(route.deployment), now, route.costUsd)
    }
  }

  /** Ends an in-flight call that neither succeeded nor failed (the caller went away). */
  const release = (d: Deployment) =>
    Effect.asVoid(state.onFailure(d.id, {
      reason: "Interrupted",
      countsTowardCooldown: false,
      coolsImmediately: false,
      allowedFails: 0,
      cooldownMs: 0
    }))

  /** Records a failed call and says whether its deployment is now cooling down. */
  const recordFailure = (d: Deployment, group: string, error: LlmError.LlmError) => {
    const policy = LlmError.policy(error)
    const retryAfter = LlmError.retryAfterMillis(error) ?? 0
    return state.onFailure(d.id, {
      reason: error._tag,
      countsTowardCooldown: policy.countsTowardCooldown && !settings.disableCooldowns,
      coolsImmediately: policy.coolsImmediately,
      allowedFails: settings.allowedFailsByTag[error._tag] ?? settings.allowedFails,
      cooldownMs: Math.max(d.cooldownMs ?? settings.cooldownMs, retryAfter)
    }).pipe(
      Effect.tap((cooldown) => RouterMetrics.recordFailure(group, d, error, cooldown !== undefined))
    )
  }

  /**
   * One model group: choose, call, and on failure retry, preferring another healthy
   * deployment (no wait) over the same one (after a backoff), within `num_retries`.
   * `ignoreCooldown` is the last resort, when every deployment of every chain is cooling.
   */
  const runGroup = <A>(
    run: Run,
    group: string,
    call: (d: Deployment, client: LlmClient.Service) => Effect.Effect<A, LlmError.LlmError>,
    ignoreCooldown: boolean
  ): Effect.Effect<Served<A>, LlmError.LlmError> =>
    // The candidates depend only on the request and the config: found at once, not in a step of their own.
    withEligible(eligible(run, group), (candidates) => {
      const ids = groupIds.get(group) ?? []
      // The backoff schedule is only stepped when a retry has to wait: most requests never need it.
      let backoff: ((now: number, input: LlmError.LlmError) => Pull.Pull<[unknown, Duration.Duration], never, unknown>) | undefined
      let lastError: LlmError.LlmError | undefined

      /**
       * Attempt number `attempt` and, after a failure, the next ones. The path of a first attempt
       * that succeeds is plain `flatMap`s (every request takes it; a generator costs about a
       * microsecond per run); what follows a failure is a generator, as it is rare and may wait.
       */
      const attemptFrom = (attempt: number): Effect.Effect<Served<A>, LlmError.LlmError> => {
        if (attempt > settings.numRetries) return Effect.fail(lastError!)
        return Effect.flatMap(state.snapshot(ids), (snapshot) => {
          const affordable = ledger === undefined ? candidates : withinBudget(ledger, candidates, snapshot.now)
          if (affordable.length === 0) return Effect.fail(overBudget(group, candidates, snapshot.now))
          const unlimited = rateLimited ? withinRateLimits(run, affordable, snapshot) : affordable
          if (unlimited.length === 0) return Effect.fail(overRateLimits(group, affordable, snapshot.now))
          const callable = run.excluded === undefined ? unlimited : unlimited.filter((d) => !run.excluded!.has(d.id))
          const healthy = notCooling(callable, snapshot)
          let pool: ReadonlyArray<Deployment>
          if (healthy.length > 0) {
            const fresh = run.failed === undefined ? healthy : healthy.filter((d) => !run.failed!.has(d.id))
            pool = Strategy.lowestOrder(fresh.length > 0 ? fresh : healthy)
          } else if (ignoreCooldown && callable.length > 0) {
            // Every deployment is cooling: try the one that recovers first rather than fail without a call.
            const soonest = callable.reduce((a, b) =>
              (snapshot.stats.get(a.id)?.cooldownUntil ?? 0) <= (snapshot.stats.get(b.id)?.cooldownUntil ?? 0) ? a : b
            )
            pool = [soonest]
          } else {
            if (lastError) return Effect.fail(lastError)
            const until = Math.min(...callable.map((d) => snapshot.stats.get(d.id)?.cooldownUntil ?? snapshot.now))
            return Effect.fail(
              new LlmError.NoDeploymentAvailable({
                provider: ROUTER,
                group,
                message: callable.length === 0
                  ? `Every deployment of model group "${group}" failed with an error it cannot recover from`
                  : `No deployments available for model group "${group}": all ${callable.length} are cooling down`,
                ...(callable.length > 0 && Number.isFinite(until)
                  ? { retryAfter: Duration.millis(Math.max(0, until - snapshot.now)) }
                  : {})
              })
            )
          }
          const attemptOn = (random: number): Effect.Effect<Served<A>, LlmError.LlmError> => {
            // A session goes back to its deployment while that is still one the strategy could pick.
            const pinned = run.session !== undefined ? pins?.get(group, run.session, snapshot.now) : undefined
            const d = (pinned !== undefined ? pool.find((c) => c.id === pinned) : undefined) ??
              strategy(pool, { snapshot, streaming: run.streaming, random })
            run.attempts++
            return Effect.flatMap(state.onStart(d.id), () => {
              // Made once the call is recorded as started: `call` may read the clock as it is made.
              const direct = call(d, clients.get(d.id)!)
              const called = run.span === undefined ? direct : spans.attempt(run.span, d, run.attempts, direct)
              return Effect.matchCauseEffect(Effect.onInterrupt(called, () => release(d)), {
                onFailure: (cause) => afterFailure(attempt, d, healthy, cause),
                onSuccess: (value) => {
                  if (run.session !== undefined) pins?.set(group, run.session, d.id, snapshot.now)
                  return Effect.succeed({ value, deployment: d, group })
                }
              })
            })
          }
          return pool.length > 1 ? Effect.flatMap(Random.next, attemptOn) : attemptOn(0)
        })
      }

      /** After a failed attempt: record it, then retry (at once, or after a backoff) or give up. */
      const afterFailure = (
        attempt: number,
        d: Deployment,
        healthy: ReadonlyArray<Deployment>,
        cause: Cause.Cause<LlmError.LlmError>
      ): Effect.Effect<Served<A>, LlmError.LlmError> =>
        Effect.gen(function*() {
          const error = Cause.findErrorOption(cause)
          if (error._tag === "None") return yield* Effect.failCause(cause as Cause.Cause<never>)
          lastError = error.value
          const policy = LlmError.policy(lastError)
          addTo(run, "failed", d.id)
          if (!policy.retrySameDeployment) addTo(run, "excluded", d.id)
          const cooled = yield* recordFailure(d, group, lastError)
          if (!policy.tryOtherDeployments || attempt === settings.numRetries) return yield* lastError
          // Another healthy deployment can take the retry at once; otherwise wait out a backoff.
          const othersReady = healthy.some((o) => o.id !== d.id && run.excluded?.has(o.id) !== true)
          const now = yield* Clock.currentTimeMillis
          const hinted = LlmError.retryAfterMillis(lastError)
          // A provider that names its wait (a 429's Retry-After) is retried after it, within max_retry_after,
          // even though this failure cooled it down: the retry then waits until that cooldown is over.
          const waitOut = cooled !== undefined && hinted !== undefined && cooled.until - now <= settings.maxRetryAfterMs
            ? cooled.until - now
            : undefined
          const selfReady = policy.retrySameDeployment && (cooled === undefined || waitOut !== undefined)
          if (!othersReady && !selfReady && !ignoreCooldown) return yield* attemptFrom(attempt + 1)
          if (!othersReady) {
            const retryAfter = Math.max(hinted ?? 0, waitOut ?? 0)
            // A provider asking for a longer wait than we allow: give up here and let fallbacks answer.
            if (retryAfter > settings.maxRetryAfterMs) return yield* lastError
            backoff ??= yield* Schedule.toStep(settings.retrySchedule)
            const step = yield* Pull.catchDone(
              Effect.map(backoff(now, lastError), ([, delay]) => Duration.toMillis(delay)),
              () => Effect.succeed(undefined)
            )
            if (step === undefined) return yield* lastError
            const delay = Math.max(step, retryAfter, settings.minRetryDelayMs)
            if (delay > 0) yield* Effect.sleep(Duration.millis(delay))
          }
          yield* RouterMetrics.recordRetry(group)
          return yield* attemptFrom(attempt + 1)
        })

      return attemptFrom(0)
    })

  /** Which groups a failure of `group` falls back to, per the error's chain. */
  const chainFor = (error: LlmError.LlmError, group: string): ReadonlyArray<string> => {
    const chain = LlmError.policy(error).fallback
    if (chain === "none") return []
    if (chain === "context-window" && settings.contextWindowFallbacks.size > 0) {
      return settings.contextWindowFallbacks.get(group) ?? settings.contextWindowFallbacks.get("*") ?? []
    }
    if (chain === "content-policy" && settings.contentPolicyFallbacks.size > 0) {
      return settings.contentPolicyFallbacks.get(group) ?? settings.contentPolicyFallbacks.get("*") ?? []
    }
    return settings.fallbacks.get(group) ?? settings.defaultFallbacks
  }

  /** A group, then its fallback chain in configured order; each fallback gets its own retries and chain. */
  const runWithFallbacks = <A>(
    run: Run,
    group: string,
    call: (d: Deployment, client: LlmClient.Service) => Effect.Effect<A, LlmError.LlmError>,
    ignoreCooldown: boolean
  ): Effect.Effect<Served<A>, LlmError.LlmError> =>
    runGroup(run, group, call, ignoreCooldown).pipe(
      Effect.catch((error) =>
        Effect.gen(function*() {
          let last = error
          for (const next of chainFor(error, group)) {
            if (next === run.group || run.visited?.has(next) === true) continue
            if (run.fallbacks.length >= settings.maxFallbacks) break
            addTo(run, "visited", next)
            run.fallbacks.push(next)
            yield* RouterMetrics.recordFallback(group, next)
            const result = yield* Effect.result(runWithFallbacks(run, next, call, ignoreCooldown))
            if (result._tag === "Success") return result.success
            // A provider's real error says more than a fallback's "everything is cooling down".
            if (result.failure._tag !== "NoDeploymentAvailable" || last._tag === "NoDeploymentAvailable") last = result.failure
          }
          return yield* last
        })
      )
    )

  /**
   * The whole request. When it would fail without a single call because everything is
   * cooling down, it makes one more pass that ignores cooldowns (see README, "Cooldown").
   */
  const routeRequest = <A>(
    run: Run,
    call: (d: Deployment, client: LlmClient.Service) => Effect.Effect<A, LlmError.LlmError>
  ): Effect.Effect<Served<A>, LlmError.LlmError> =>
    runWithFallbacks(run, run.group, call, false).pipe(
      Effect.catchTag("NoDeploymentAvailable", (error) => {
        if (run.attempts > 0) return Effect.fail(error)
        run.visited = undefined
        run.fallbacks.length = 0
        return runWithFallbacks(run, run.group, call, true)
      })
    )

  const unknownModel = (request: ChatRequest) =>
    new LlmError.ModelNotFound({
      provider: ROUTER,
      status: 404,
      // A caller's model name is echoed cut short: it is input of any size.
      message: `Unknown model group "${request.model.length > 200 ? request.model.slice(0, 200) + "…" : request.model}". Known: ${knownModels}`
    })

  const newRun = (
    fiber: Fiber.Fiber<unknown, unknown>,
    request: ChatRequest,
    group: string,
    streaming: boolean,
    startedAt: number,
    span: Tracer.Span | undefined
  ): Run => ({
    request,
    group,
    streaming,
    startedAt,
    attempts: 0,
    fallbacks: [],
    visited: undefined,
    excluded: undefined,
    failed: undefined,
    estimatedTokens: undefined,
    session: pins === undefined ? undefined : SessionAffinity.sessionOf(fiber.getRef(SessionAffinity.SessionId), request),
    span
  })

  const start = (request: ChatRequest, streaming: boolean): Effect.Effect<Run, LlmError.LlmError> => {
    const group = resolveGroup(request.model)
    if (group === undefined) return Effect.fail(unknownModel(request))
    return Effect.withFiber((fiber) => {
      const run = (span: Tracer.Span | undefined) =>
        Effect.map(Clock.currentTimeMillis, (startedAt): Run => newRun(fiber, request, group, streaming, startedAt, span))
      return RouterTracing.enabled(fiber) ? Effect.flatMap(spans.request(request, streaming), run) : run(undefined)
    })
  }

  const routeInfo = (
    run: Run,
    served: { readonly deployment: Deployment; readonly group: string },
    now: number,
    usage: Usage | null | undefined,
    extra?: Partial<RouteInfo>
  ): RouteInfo => ({
    group: run.group,
    servedBy: served.group,
    deployment: served.deployment.id,
    provider: served.deployment.provider,
    model: served.deployment.model,
    attempts: run.attempts,
    fallbacks: [...run.fallbacks],
    latencyMs: now - run.startedAt,
    usage: usage ?? undefined,
    costUsd: Cost.ofUsage(served.deployment, usage),
    ...extra
  })

  /**
   * A 200 whose choice was cut by a content filter is a policy violation, when a chain exists to act on it.
   * As in `chainFor`: once content-policy chains are configured only they apply, so a filtered answer is
   * never turned into an error that has nowhere to go.
   */
  const contentFilterSelectsFallback = (group: string) =>
    settings.contentPolicyFallbacks.size > 0
      ? settings.contentPolicyFallbacks.has(group) || settings.contentPolicyFallbacks.has("*")
      : settings.defaultFallbacks.length > 0

  const chat = (request: ChatRequest): Effect.Effect<LlmClient.Completion, LlmError.LlmError> =>
    chatRouted(request).pipe(Effect.tapError((error) => RouterMetrics.recordRequestFailure(resolveGroup(request.model), error, false)))

  // `flatMap`s rather than `Effect.gen` on the chat path, which every request takes: a
  // generator costs about a microsecond per run. The clock and the fiber are read once, and
  // each step reads them where it runs (a `Clock.currentTimeMillis` or `Metric.update` would be
  // steps of their own).
  const chatRouted = (request: ChatRequest): Effect.Effect<LlmClient.Completion, LlmError.LlmError> => {
    const group = resolveGroup(request.model)
    if (group === undefined) return Effect.fail(unknownModel(request))
    return Effect.withFiber((fiber) => {
      const clock = fiber.getRef(Clock.Clock)
      if (!RouterTracing.enabled(fiber)) {
        return routeChat(newRun(fiber, request, group, false, clock.currentTimeMillisUnsafe(), undefined), fiber, clock)
      }
      return Effect.flatMap(spans.request(request, false), (span) =>
        spans.completion(span, routeChat(newRun(fiber, request, group, false, clock.currentTimeMillisUnsafe(), span), fiber, clock)))
    })
  }

  const routeChat = (
    run: Run,
    fiber: Fiber.Fiber<unknown, unknown>,
    clock: Clock.Clock
  ): Effect.Effect<LlmClient.Completion, LlmError.LlmError> =>
    Effect.flatMap(
      routeRequest(run, (d, client) => {
        // Made when the attempt starts (see `runGroup`).
        const began = clock.currentTimeMillisUnsafe()
        return client.chat(run.request).pipe(
          Deadline.timeoutOrElse(requestTimeoutMs(d), () =>
            Effect.fail(
              new LlmError.Timeout({
                provider: d.provider,
                deployment: d.id,
                phase: "request",
                message: `No response from ${d.id} within ${requestTimeoutMs(d)} ms`
              })
            )
          ),
          Effect.flatMap((completion) => {
            if (
              completion.response.choices.some((c) => c.finish_reason === "content_filter") &&
              contentFilterSelectsFallback(d.group)
            ) {
              return Effect.fail(
                new LlmError.ContentPolicyViolation({
                  provider: d.provider,
                  deployment: d.id,
                  status: 200,
                  message: `${d.id} answered with finish_reason "content_filter"`
                })
              )
            }
            const latencyMs = clock.currentTimeMillisUnsafe() - began
            return Effect.as(
              state.onSuccess(d.id, { latencyMs, tokens: completion.response.usage?.total_tokens ?? 0 }),
              completion
            )
          })
        )
      }),
      (served) => {
        const now = clock.currentTimeMillisUnsafe()
        const route = routeInfo(run, served, now, served.value.response.usage)
        spend(route, now)
        RouterMetrics.recordSuccessUnsafe(route, false, fiber.context)
        return Effect.succeed({ response: served.value.response, route })
      }
    )

  /**
   * Opens a stream on one deployment and reads it up to its first content chunk, holding
   * back the role-only preamble so that a failure until then can still fail over. The
   * attempt's scope is closed (aborting the upstream call) when the attempt fails.
   */
  const openStream = (run: Run, parent: Scope.Scope) => (d: Deployment, client: LlmClient.Service) =>
    Clock.clockWith((clock) => {
      const began = clock.currentTimeMillisUnsafe()
      return Effect.flatMap(Scope.fork(parent), (scope) => {
        const held: Array<ChatChunk> = []
        type Pulled = Pull.Pull<NonEmptyReadonlyArray<LlmClient.StreamPart>, LlmError.LlmError>
        const readToContent = (pull: Pulled): Effect.Effect<{ pull: Pulled; held: Array<ChatChunk>; ended: boolean }, LlmError.LlmError> =>
          Effect.flatMap(Pull.catchDone(pull, () => Effect.succeed(undefined)), (parts) => {
            if (parts === undefined) return Effect.succeed({ pull, held, ended: true })
            for (const part of parts) if (part._tag === "Chunk") held.push(part.chunk)
            return held.some(chunkHasContent) ? Effect.succeed({ pull, held, ended: false }) : readToContent(pull)
          })
        return Effect.flatMap(pullIn(client.stream(run.request), scope), readToContent).pipe(
          Deadline.timeoutOrElse(firstChunkTimeoutMs(d), () =>
            Effect.fail(
              new LlmError.Timeout({
                provider: d.provider,
                deployment: d.id,
                phase: "first-chunk",
                message: `No content from ${d.id} within ${firstChunkTimeoutMs(d)} ms`
              })
            )
          ),
          Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void)),
          Effect.map((opened) => ({ ...opened, scope, began, firstChunkAt: clock.currentTimeMillisUnsafe() }))
        )
      })
    })

  const stream = (request: ChatRequest): Stream.Stream<LlmClient.StreamPart, LlmError.LlmError> =>
    Stream.unwrap(
      Effect.flatMap(start(request, true), (run) => Effect.flatMap(Effect.scope, (parent) => {
        type Open = Served<Effect.Success<ReturnType<ReturnType<typeof openStream>>>>
        let current: Open | undefined
        /** The current deployment's pull, under the idle deadline. */
        let pullCurrent: Pull.Pull<NonEmptyReadonlyArray<LlmClient.StreamPart>, LlmError.LlmError> = Cause.done()
        let usage: Usage | undefined
        let restarts = 0
        let done = false
        /** Whether the current deployment's call has been recorded as finished (success or failure). */
        let settled = true

        const finalRoute = (open: Open, now: number) =>
          routeInfo(run, open, now, usage, {
            timeToFirstChunkMs: open.value.firstChunkAt - run.startedAt,
            ...(restarts > 0 ? { restarts } : {})
          })
        const response = run.span === undefined ? undefined : new RouterTracing.ResponseAttributes()
        const emitChunks = (chunks: ReadonlyArray<ChatChunk>): Array<LlmClient.StreamPart> =>
          chunks.map((chunk) => {
            if (chunk.usage) usage = chunk.usage
            response?.observe(chunk)
            return { _tag: "Chunk", chunk }
          })
        /** The chunk parts of a batch from the source, passed on as they are; its own Start/Done are dropped. */
        const chunkParts = (parts: ReadonlyArray<LlmClient.StreamPart>): Array<LlmClient.StreamPart> => {
          const out: Array<LlmClient.StreamPart> = []
          for (const part of parts) {
            if (part._tag !== "Chunk") continue
            if (part.chunk.usage) usage = part.chunk.usage
            response?.observe(part.chunk)
            out.push(part)
          }
          return out
        }
        /** The idle deadline on a deployment's pulls after its first content. */
        const idleGuard = (opened: Open) => {
          const d = opened.deployment
          // A stream that ended while being opened is never pulled again: no deadline to keep.
          if (opened.value.ended) return Effect.succeed(opened.value.pull)
          return IdleDeadline.guard(opened.value.pull, idleTimeoutMs(d), () =>
            Effect.fail(
              new LlmError.Timeout({
                provider: d.provider,
                deployment: d.id,
                phase: "idle",
                message: `${d.id} sent nothing for ${idleTimeoutMs(d)} ms mid-stream`
              })
            ), opened.value.scope)
        }
        // `flatMap`s rather than `Effect.gen` on the steps every stream takes (see `runGroup`).
        const openNext = Effect.suspend(() =>
          Effect.flatMap(routeRequest(run, openStream(run, parent)), (opened) => {
            current = opened
            settled = false
            return Effect.flatMap(idleGuard(opened), (guarded) => {
              pullCurrent = guarded
              return Effect.map(Clock.currentTimeMillis, (now): NonEmptyReadonlyArray<LlmClient.StreamPart> => [
                { _tag: "Start", route: routeInfo(run, opened, now, undefined) },
                ...emitChunks(opened.value.held)
              ])
            })
          })
        )
        const finish = (open: Open) =>
          Effect.suspend(() => {
            done = true
            settled = true
            return Clock.clockWith((clock) => {
              const now = clock.currentTimeMillisUnsafe()
              return Effect.flatMap(
                state.onSuccess(open.deployment.id, {
                  latencyMs: now - open.value.began,
                  timeToFirstChunkMs: open.value.firstChunkAt - open.value.began,
                  tokens: usage?.total_tokens ?? 0
                }),
                () => {
                  const route = finalRoute(open, now)
                  spend(route, now)
                  const recorded = RouterMetrics.recordSuccess(route, true)
                  return Effect.as(
                    run.span === undefined ? recorded : Effect.andThen(recorded, spans.streamed(run.span, route, response!)),
                    Arr.of<LlmClient.StreamPart>({ _tag: "Done", route })
                  )
                }
              )
            })
          })
        /** After content was sent: end with the error, or restart on another deployment when the policy says so. */
        const failAfterContent = (open: Open, error: LlmError.LlmError) =>
          Effect.gen(function*() {
            yield* Scope.close(open.value.scope, Exit.fail(error))
            addTo(run, "failed", open.deployment.id)
            addTo(run, "excluded", open.deployment.id)
            settled = true
            yield* recordFailure(open.deployment, open.group, error)
            if (settings.streamFailurePolicy !== "restart" || restarts >= settings.numRetries) return yield* error
            restarts++
            usage = undefined
            const now = yield* Clock.currentTimeMillis
            const restarted: LlmClient.StreamPart = { _tag: "Restarted", route: finalRoute(open, now), reason: error }
            // The restart is a new routing pass: the groups entered before may still hold other deployments.
            run.visited = undefined
            run.fallbacks.length = 0
            // Nothing left to restart on: the caller gets the error that broke the stream, not "no deployments".
            const next = yield* openNext.pipe(Effect.catchTag("NoDeploymentAvailable", () => Effect.fail(error)))
            return Arr.prepend(next, restarted)
          })

        type Parts = NonEmptyReadonlyArray<LlmClient.StreamPart>
        const pull: Pull.Pull<Parts, LlmError.LlmError> = Effect.suspend(
          (): Pull.Pull<Parts, LlmError.LlmError> => {
            if (done) return Cause.done()
            if (current === undefined) return openNext
            const active = current
            if (active.value.ended) return finish(active)
            // One step per chunk (this runs for every chunk): the end, a failure, or the batch's chunks.
            return Effect.matchEffect(pullCurrent, {
              onFailure: (error) => (Cause.isDone(error) ? finish(active) : failAfterContent(active, error)),
              onSuccess: (parts) => {
                // The source may hand back batches without chunks (its own Start/Done): skip them.
                const chunks = chunkParts(parts)
                return chunks.length > 0 ? Effect.succeed(chunks as unknown as Parts) : pull
              }
            })
          }
        )
        const span = run.span
        // A failed stream ends its span at once: the consumer may hold the scope open a while yet.
        const traced = span === undefined
          ? pull
          : Effect.tapCause(pull, (cause) => (Pull.isDoneCause(cause) ? Effect.void : spans.end(span, Exit.failCause(cause))))
        // A consumer that stops reading mid-stream still ends the deployment's in-flight call (and the span).
        return Effect.as(
          Effect.addFinalizer((exit) =>
            Effect.andThen(
              current !== undefined && !settled ? release(current.deployment) : Effect.void,
              span === undefined ? Effect.void : spans.end(span, exit)
            )
          ),
          Stream.fromPull(Effect.succeed(traced))
        )
      }))
    ).pipe(Stream.tapError((error) => RouterMetrics.recordRequestFailure(resolveGroup(request.model), error, true)))

  return LlmClient.LlmClient.of({ chat, stream })
})

/** The router as the application's `LlmClient`. */
export const layer = <E, R>(
  config: RouterConfig,
  clientFor: ClientFor<E, R>
): Layer.Layer<LlmClient.LlmClient, E, RouterState | R> => Layer.effect(LlmClient.LlmClient, make(config, clientFor))

export type { Settings }

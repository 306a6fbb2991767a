/**
 * The attempt loop of one model group: choose a deployment (`Selection`), perform the
 * operation on it, and on failure retry, preferring another healthy deployment (no wait) over
 * the same one (after a backoff), within `num_retries`. Generic over the operation (`Run`'s
 * `Operation`): a chat, opening a stream, or any other call a deployment answers.
 */
import { Cause, Clock, Duration, Effect, Exit, Pull, Random, Schedule } from "effect"
import type { Deployment } from "../Deployment.ts"
import * as LlmError from "../LlmError.ts"
import * as RouterMetrics from "../RouterMetrics.ts"
import type { Cooldown } from "../RouterState.ts"
import { InFlight, recordFailure } from "./Calls.ts"
import type { Engine } from "./Engine.ts"
import { addTo, type Operation, type Run, type Served } from "./Run.ts"
import * as Selection from "./Selection.ts"

/**
 * One model group for `run`. `ignoreCooldown` is the last resort, when every deployment of
 * every chain is cooling.
 */
export const runGroup = <A>(
  engine: Engine,
  run: Run,
  group: string,
  operation: Operation<A>,
  ignoreCooldown: boolean
): Effect.Effect<Served<A>, LlmError.LlmError> => {
  const members = engine.targets.get(group) ?? []
  const { settings, state } = engine
  const ids = engine.groupIds.get(group) ?? []
  const retry = engine.retryFor(group)
  /** Retries allowed after a failure with `error`: the request's own `num_retries`, else the group's policy. */
  const retriesAfter = (error: LlmError.LlmError) => run.overrides?.numRetries ?? retry.retriesAfter(error)
  // A backoff schedule is only stepped when a retry has to wait: most requests never need one.
  // One stepper per schedule, so a kind's backoff grows across its retries.
  let backoffs: Map<unknown, (now: number, input: LlmError.LlmError) => Pull.Pull<[unknown, Duration.Duration], never, unknown>> | undefined
  let lastError: LlmError.LlmError | undefined

  /**
   * Attempt number `attempt` and, after a failure, the next ones. The path of a first attempt
   * that succeeds is plain `flatMap`s (every request takes it; a generator costs about a
   * microsecond per run); what follows a failure is a generator, as it is rare and may wait.
   */
  const attemptFrom = (attempt: number): Effect.Effect<Served<A>, LlmError.LlmError> => {
    if (lastError !== undefined && attempt > retriesAfter(lastError)) return Effect.fail(lastError)
    return Effect.flatMap(state.snapshot(ids), (snapshot) => {
      const selection = Selection.admit(engine, run, group, members, snapshot, ignoreCooldown, lastError)
      if ("_tag" in selection) return Effect.fail(selection)
      const attemptOn = (random: number): Effect.Effect<Served<A>, LlmError.LlmError> => {
        const d = Selection.decide(selection, random)
        if ("_tag" in d) return Effect.fail(lastError ?? d)
        run.attempts++
        /** The cooldown the attempt's failure started, recorded by the bracket. */
        let cooled: Cooldown | undefined
        // One bracket for the in-flight count taken by `onStart`, taken uninterruptibly with the
        // bracket set around the call (only the call is interruptible): a success (as the operation
        // reported it) and a typed failure are recorded here, anything else (an interruption, a
        // defect) gives the count back here, so no exit leaves it raised. A stream's operation
        // reports no success: the stream it opened holds the count on, and records its end.
        const bracketed = Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(state.onStart(d.id), () => {
            const counted = new InFlight(engine, d)
            // Made once the call is recorded as started (`operation` may read the clock as it is
            // made), inside the effect: an adapter that throws as it builds the call is a defect
            // the bracket sees, not one that escapes it with the count taken.
            const direct = Effect.suspend(() => operation(d, counted))
            const called = run.span === undefined ? direct : engine.spans.attempt(run.span, d, run.attempts, direct)
            return Effect.onExit(restore(called), (exit) => {
              if (Exit.isSuccess(exit)) return counted.recordSuccess()
              const error = Cause.findErrorOption(exit.cause)
              if (error._tag === "None") return counted.release()
              return counted.settle(Effect.map(recordFailure(engine, d, group, error.value), (cooldown) => {
                cooled = cooldown
              }))
            })
          })
        )
        return Effect.matchCauseEffect(bracketed, {
          onFailure: (cause) => afterFailure(attempt, d, selection.ready, cause, cooled),
          onSuccess: (value) => {
            if (run.session !== undefined) engine.pins?.set(group, run.session, d.id, snapshot.now)
            return Effect.succeed({ value, deployment: d, group })
          }
        })
      }
      // One candidate needs no draw, unless an `orElse` strategy may pick among others.
      return selection.candidates.length > 1 || selection.compiled.otherwise !== undefined
        ? Effect.flatMap(Random.next, attemptOn)
        : attemptOn(0)
    })
  }

  /** After a failed attempt (recorded, `cooled` its deployment or not): retry (at once, or after a backoff) or give up. */
  const afterFailure = (
    attempt: number,
    d: Deployment,
    healthy: ReadonlyArray<Deployment>,
    cause: Cause.Cause<LlmError.LlmError>,
    cooled: Cooldown | undefined
  ): Effect.Effect<Served<A>, LlmError.LlmError> =>
    Effect.gen(function*() {
      const error = Cause.findErrorOption(cause)
      if (error._tag === "None") return yield* Effect.failCause(cause as Cause.Cause<never>)
      lastError = error.value
      const policy = LlmError.policy(lastError)
      addTo(run, "failed", d.id)
      if (!policy.retrySameDeployment) addTo(run, "excluded", d.id)
      if (!policy.tryOtherDeployments || attempt >= retriesAfter(lastError)) return yield* lastError
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
        const schedule = retry.scheduleAfter(lastError)
        let backoff = backoffs?.get(schedule)
        if (backoff === undefined) {
          backoff = yield* Schedule.toStep(schedule)
          ;(backoffs ??= new Map()).set(schedule, backoff)
        }
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
}

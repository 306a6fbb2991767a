/**
 * Retry policies: how many times a model group retries a failed call, and how long it waits
 * when no other deployment can take the retry at once, per kind of error. LiteLLM's
 * `retry_policy` and `model_group_retry_policy` (retries per error kind) decode into these;
 * from code, a policy per group with a `Schedule` per error kind. `num_retries` stays the
 * default, and a request's own `num_retries` (see `Overrides`) wins over all of them.
 */
import type { Schedule } from "effect"
import type { LlmError, Tag } from "./LlmError.ts"

export interface RetryPolicy {
  /** Retries after the first attempt, within the group. */
  readonly retries?: number | undefined
  /** Retries after a failure of a given kind, over `retries`. */
  readonly retriesByError?: Readonly<Partial<Record<Tag, number>>> | undefined
  /** The wait between retries when no other deployment can take one at once; its input is the error. */
  readonly schedule?: Schedule.Schedule<unknown, LlmError> | undefined
  /** The wait after a failure of a given kind, over `schedule`. */
  readonly scheduleByError?: Readonly<Partial<Record<Tag, Schedule.Schedule<unknown, LlmError>>>> | undefined
}

/** A router's retry policies: one for every group, and one per group over it. */
export interface RetryPolicies {
  readonly default: RetryPolicy
  readonly byGroup: ReadonlyMap<string, RetryPolicy>
}

/** LiteLLM's `retry_policy` keys, and the error tags each one governs (as its exception classes do). */
export const litellmKeys: Readonly<Record<string, ReadonlyArray<Tag>>> = {
  BadRequestErrorRetries: ["BadRequest", "ContextWindowExceeded"],
  AuthenticationErrorRetries: ["AuthenticationFailed", "PermissionDenied"],
  TimeoutErrorRetries: ["Timeout"],
  RateLimitErrorRetries: ["RateLimited"],
  ContentPolicyViolationErrorRetries: ["ContentPolicyViolation"],
  InternalServerErrorRetries: ["InternalServerError", "ServiceUnavailable", "ConnectionFailed"]
}

/** A LiteLLM `retry_policy` object as a policy (its keys checked by the config decoder). */
export const fromLitellm = (policy: Readonly<Record<string, number>>): RetryPolicy => {
  const retriesByError: Partial<Record<Tag, number>> = {}
  for (const [key, retries] of Object.entries(policy)) {
    for (const tag of litellmKeys[key] ?? []) retriesByError[tag] = retries
  }
  return { retriesByError }
}

/** What the attempt loop asks of a group's policies, resolved once per group. */
export interface Resolved {
  /** Retries allowed after a failure with `error`. */
  readonly retriesAfter: (error: LlmError) => number
  /** The backoff after a failure with `error`. */
  readonly scheduleAfter: (error: LlmError) => Schedule.Schedule<unknown, LlmError>
}

/**
 * The group's policy over the default one, field by field, over `num_retries` and the
 * configured backoff: the most specific setting that says something wins.
 */
export const resolve = (
  group: RetryPolicy | undefined,
  all: RetryPolicy,
  numRetries: number,
  schedule: Schedule.Schedule<unknown, LlmError>
): Resolved => {
  const retries = group?.retries ?? all.retries ?? numRetries
  const fallbackSchedule = group?.schedule ?? all.schedule ?? schedule
  const scheduleByError = { ...all.scheduleByError, ...group?.scheduleByError }
  const groupRetries = group?.retries
  return {
    retriesAfter: (error) =>
      group?.retriesByError?.[error._tag] ?? groupRetries ?? all.retriesByError?.[error._tag] ?? retries,
    scheduleAfter: (error) => scheduleByError[error._tag] ?? fallbackSchedule
  }
}

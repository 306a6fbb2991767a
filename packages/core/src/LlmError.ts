/**
 * Every way a call to a model can fail, as one tagged union, and the one table that
 * decides what the router does about each: retry the same deployment, count the failure
 * toward cooldown, and which fallback chain it selects. Provider adapters map their wire
 * errors into these; the router never looks at a provider's own error shapes.
 */
import { Duration, Schema } from "effect"

/** Where an error came from. `deployment` is absent when the router itself failed the call. */
const origin = {
  provider: Schema.String,
  deployment: Schema.optionalKey(Schema.String),
  status: Schema.optionalKey(Schema.Number),
  message: Schema.String,
  /** The first bytes of an upstream body that explained the failure, for debugging. */
  body: Schema.optionalKey(Schema.String)
}
const retryAfter = { retryAfter: Schema.optionalKey(Schema.Duration) }

export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  ...origin,
  ...retryAfter,
  /** Billing or quota exhausted (`insufficient_quota`, spend limit): waiting will not help. */
  quotaExhausted: Schema.optionalKey(Schema.Boolean)
}) {}
export class AuthenticationFailed extends Schema.TaggedError<AuthenticationFailed>()("AuthenticationFailed", origin) {}
export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", origin) {}
export class ModelNotFound extends Schema.TaggedError<ModelNotFound>()("ModelNotFound", origin) {}
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  ...origin,
  /** The request field at fault, when known (OpenAI's `param`). */
  param: Schema.optionalKey(Schema.String)
}) {}
export class ContextWindowExceeded extends Schema.TaggedError<ContextWindowExceeded>()("ContextWindowExceeded", origin) {}
export class ContentPolicyViolation extends Schema.TaggedError<ContentPolicyViolation>()("ContentPolicyViolation", origin) {}
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  ...origin,
  /** Which clock ran out: the whole request, the wait for a stream's first chunk, or a stall between chunks. */
  phase: Schema.Literals(["request", "first-chunk", "idle"])
}) {}
export class ConnectionFailed extends Schema.TaggedError<ConnectionFailed>()("ConnectionFailed", origin) {}
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  ...origin,
  ...retryAfter
}) {}
export class InternalServerError extends Schema.TaggedError<InternalServerError>()("InternalServerError", {
  ...origin,
  ...retryAfter
}) {}
/** The router's own: every deployment of the group is cooling down or was filtered out. */
export class NoDeploymentAvailable extends Schema.TaggedError<NoDeploymentAvailable>()("NoDeploymentAvailable", {
  ...origin,
  ...retryAfter,
  group: Schema.String
}) {}

export type LlmError =
  | RateLimited
  | AuthenticationFailed
  | PermissionDenied
  | ModelNotFound
  | BadRequest
  | ContextWindowExceeded
  | ContentPolicyViolation
  | Timeout
  | ConnectionFailed
  | ServiceUnavailable
  | InternalServerError
  | NoDeploymentAvailable

export const LlmError = Schema.Union([
  RateLimited,
  AuthenticationFailed,
  PermissionDenied,
  ModelNotFound,
  BadRequest,
  ContextWindowExceeded,
  ContentPolicyViolation,
  Timeout,
  ConnectionFailed,
  ServiceUnavailable,
  InternalServerError,
  NoDeploymentAvailable
])

export type Tag = LlmError["_tag"]

/** Which fallback chain an error selects once its group has given up. */
export type FallbackChain = "generic" | "context-window" | "content-policy" | "none"

export interface Policy {
  /** Another try on the same deployment can succeed. */
  readonly retrySameDeployment: boolean
  /** Another deployment of the same group can succeed where this one failed. */
  readonly tryOtherDeployments: boolean
  /** The failure counts toward the deployment's cooldown. */
  readonly countsTowardCooldown: boolean
  /** One such failure takes the deployment out of rotation at once. */
  readonly coolsImmediately: boolean
  readonly fallback: FallbackChain
}

const transient: Policy = {
  retrySameDeployment: true,
  tryOtherDeployments: true,
  countsTowardCooldown: true,
  coolsImmediately: false,
  fallback: "generic"
}
/** The deployment is misconfigured (key, permission, model name): it will not heal by itself. */
const deploymentBroken: Policy = {
  retrySameDeployment: false,
  tryOtherDeployments: true,
  countsTowardCooldown: true,
  coolsImmediately: true,
  fallback: "generic"
}
/** The request is at fault for this model: no deployment's health is in question. */
const requestRejected = (fallback: FallbackChain): Policy => ({
  retrySameDeployment: false,
  tryOtherDeployments: false,
  countsTowardCooldown: false,
  coolsImmediately: false,
  fallback
})

const policies: { readonly [K in Tag]: Policy } = {
  RateLimited: { ...transient, coolsImmediately: true },
  AuthenticationFailed: deploymentBroken,
  PermissionDenied: deploymentBroken,
  ModelNotFound: deploymentBroken,
  BadRequest: requestRejected("none"),
  ContextWindowExceeded: requestRejected("context-window"),
  ContentPolicyViolation: requestRejected("content-policy"),
  Timeout: transient,
  ConnectionFailed: transient,
  ServiceUnavailable: transient,
  InternalServerError: transient,
  // From a call, it is an inner router's (a router used as a deployment): the outer group's other
  // deployments may still answer. The router's own never reaches a retry decision.
  NoDeploymentAvailable: { ...requestRejected("generic"), tryOtherDeployments: true }
}

/** What the router does about an error: decided here, from its tag, and nowhere else. */
export const policy = (error: LlmError): Policy =>
  error._tag === "RateLimited" && error.quotaExhausted === true
    ? { ...deploymentBroken, coolsImmediately: true }
    : policies[error._tag]

/** `retryAfter` in milliseconds, when the provider (or the router) gave one. */
export const retryAfterMillis = (error: LlmError): number | undefined =>
  "retryAfter" in error && error.retryAfter !== undefined ? Duration.toMillis(error.retryAfter) : undefined

export const isLlmError = (u: unknown): u is LlmError =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" && u._tag in policies

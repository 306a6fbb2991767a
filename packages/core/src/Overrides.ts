/**
 * Per-request overrides of the routing policy: LiteLLM's request-body fields `num_retries`,
 * `timeout` (seconds), `fallbacks`, `disable_fallbacks` and `mock_response` (answers without
 * calling a provider, for tests). The router takes them off a request before it goes upstream,
 * so a gateway client sends them in the body (the `openai` SDK's `extra_body`); an Effect app
 * sets the same through `Overrides.Current`, as it sets `SessionAffinity.SessionId`. A body
 * field wins over the context's.
 */
import { Context, Result, Schema } from "effect"
import * as LlmError from "./LlmError.ts"

export interface Overrides {
  /** Retries within a group, over every retry policy; 0: one attempt per group. */
  readonly numRetries?: number | undefined
  /** The bound on each call (and a stream's wait for its first chunk), in milliseconds. */
  readonly timeoutMs?: number | undefined
  /** The requested group's fallbacks, instead of the configured chains. */
  readonly fallbacks?: ReadonlyArray<string> | undefined
  /** No fallbacks at all: the requested group answers or fails. */
  readonly disableFallbacks?: boolean | undefined
  /** Answer with this text without calling a provider (a deployment is still chosen). */
  readonly mockResponse?: string | undefined
}

/** The current request's overrides, from an Effect app: `Effect.provideService(Overrides.Current, { numRetries: 0 })`. */
export const Current = Context.Reference<Overrides | undefined>("@llm-router/core/Overrides/Current", {
  defaultValue: () => undefined
})

/** The request-body fields, as LiteLLM names and bounds them. */
export const BodyFields = Schema.Struct({
  num_retries: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(20))),
  timeout: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(86_400))),
  fallbacks: Schema.optionalKey(Schema.Array(Schema.String).check(Schema.isMaxLength(50))),
  disable_fallbacks: Schema.optionalKey(Schema.Boolean),
  mock_response: Schema.optionalKey(Schema.String)
})

const FIELDS = Object.keys(BodyFields.fields) as ReadonlyArray<keyof typeof BodyFields.fields>
const decodeFields = Schema.decodeUnknownResult(BodyFields)

/** Whether a request carries any override field (checked on every request: no allocation). */
export const inBody = (request: object): boolean => {
  for (let i = 0; i < FIELDS.length; i++) if (FIELDS[i]! in request) return true
  return false
}

/**
 * Takes the override fields off a request: the request without them and what they say, or a
 * `BadRequest` naming the field at fault.
 */
export const takeFromBody = <Req extends object>(
  request: Req
): Result.Result<readonly [Req, Overrides], LlmError.BadRequest> => {
  const rest: Record<string, unknown> = {}
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(request)) {
    if ((FIELDS as ReadonlyArray<string>).includes(key)) fields[key] = value
    else rest[key] = value
  }
  const decoded = decodeFields(fields)
  if (Result.isFailure(decoded)) {
    const field = FIELDS.find((key) => key in fields && Result.isFailure(decodeFields({ [key]: fields[key] })))
    return Result.fail(
      new LlmError.BadRequest({
        provider: "llm-router",
        status: 400,
        ...(field !== undefined ? { param: field } : {}),
        message: `Invalid ${field ?? "routing override"}: ${String(decoded.failure).split("\n")[0]}`
      })
    )
  }
  const body = decoded.success
  return Result.succeed([rest as Req, {
    numRetries: body.num_retries,
    timeoutMs: body.timeout === undefined ? undefined : body.timeout * 1000,
    fallbacks: body.fallbacks,
    disableFallbacks: body.disable_fallbacks,
    mockResponse: body.mock_response
  }])
}

/** `body` over `context`, field by field. */
export const merge = (context: Overrides | undefined, body: Overrides | undefined): Overrides | undefined => {
  if (body === undefined) return context
  if (context === undefined) return body
  return {
    numRetries: body.numRetries ?? context.numRetries,
    timeoutMs: body.timeoutMs ?? context.timeoutMs,
    fallbacks: body.fallbacks ?? context.fallbacks,
    disableFallbacks: body.disableFallbacks ?? context.disableFallbacks,
    mockResponse: body.mockResponse ?? context.mockResponse
  }
}

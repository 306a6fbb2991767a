/**
 * LiteLLM's wildcard model groups: a `model_name` with `*` (`"*"`, `"anthropic/*"`) takes any
 * requested model name it matches that no group or alias names, and its deployments call their
 * provider with the requested model: `model: "anthropic/*"` puts what the `*` matched in place
 * of its own `*` (a request for `anthropic/claude-haiku-4-5` calls Anthropic's
 * `claude-haiku-4-5`); `model: "*"` takes the whole name, its provider prefix included (a bare
 * name is OpenAI's, as everywhere). The most specific pattern wins (the longest fixed part).
 *
 * Cooldowns, metrics and state stay keyed by the configured deployment; the client for each
 * requested model is made on first use and kept in a small bounded cache, so no map grows with
 * the names clients send.
 */
import { Context, Effect, Stream } from "effect"
import { type Deployment, parseModel } from "../Deployment.ts"
import type * as LlmClient from "../LlmClient.ts"
import * as LlmError from "../LlmError.ts"

export interface Pattern {
  readonly group: string
  readonly regex: RegExp
  /** Characters outside the `*`s: more is more specific. */
  readonly fixed: number
}

export const isPattern = (group: string): boolean => group.includes("*")

const regexOf = (pattern: string) =>
  new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("(.*)")}$`, "s")

/** The wildcard groups among `groups`, most specific first. */
export const patternsOf = (groups: Iterable<string>): ReadonlyArray<Pattern> =>
  [...groups].filter(isPattern)
    .map((group) => ({ group, regex: regexOf(group), fixed: group.replaceAll("*", "").length }))
    .sort((a, b) => b.fixed - a.fixed)

/** The wildcard group a requested model name falls to, if any. */
export const match = (patterns: ReadonlyArray<Pattern>, model: string): string | undefined =>
  patterns.find((p) => p.regex.test(model))?.group

/** Each wildcard deployment's pattern, compiled once: every answer it serves reads it (`Calls.routeInfo`). */
const regexes = new WeakMap<Deployment, RegExp>()

/** `deployment` (of a wildcard group) calling the model `requested` stands for, or `undefined` when it does not match. */
export const concrete = (deployment: Deployment, requested: string): Deployment | undefined => {
  let regex = regexes.get(deployment)
  if (regex === undefined) regexes.set(deployment, regex = regexOf(deployment.group))
  const captured = regex.exec(requested)
  if (captured === null) return undefined
  const parts = captured.slice(1)
  if (deployment.model === "*" && deployment.provider === "openai") {
    // `model: "*"`: the requested name says the provider, as LiteLLM reads it.
    const { model, provider } = parseModel(parts.join(""))
    return { ...deployment, provider, model }
  }
  let i = 0
  const model = deployment.model.replace(/\*/g, () => parts[i++] ?? "")
  return { ...deployment, model }
}

/** Clients for the requested models this many at most; the oldest is dropped first. */
export const MAX_CLIENTS = 128

/**
 * The client of a wildcard deployment: each call finds (or makes, through `clientFor`) the
 * client of the model the request names, then makes the call with it.
 */
export const client = <E, R>(
  deployment: Deployment,
  clientFor: (deployment: Deployment) => Effect.Effect<LlmClient.Service, E, R>,
  context: Context.Context<R>
): LlmClient.Service => {
  const made = new Map<string, LlmClient.Service>()
  const clientOf = (requested: string): Effect.Effect<LlmClient.Service, LlmError.LlmError> => {
    const cached = made.get(requested)
    if (cached !== undefined) return Effect.succeed(cached)
    const target = concrete(deployment, requested)
    const notServed = (why: string) =>
      new LlmError.ModelNotFound({
        provider: deployment.provider,
        deployment: deployment.id,
        status: 404,
        message: `The wildcard deployment ${deployment.id} cannot serve "${requested.slice(0, 200)}": ${why}`
      })
    if (target === undefined) return Effect.fail(notServed(`it does not match "${deployment.group}"`))
    return clientFor(target).pipe(
      Effect.provideContext(context),
      Effect.mapError((error) => notServed(error instanceof Error ? error.message : String(error))),
      Effect.tap((service) =>
        Effect.sync(() => {
          if (made.size >= MAX_CLIENTS) made.delete(made.keys().next().value!)
          made.set(requested, service)
        })
      )
    )
  }
  // A model the provider does not have is the request's mistake here, not the deployment's: a
  // 400 that neither cools the wildcard deployment (every other model would go with it) nor retries.
  const requestFault = (error: LlmError.LlmError): LlmError.LlmError =>
    error._tag === "ModelNotFound"
      ? new LlmError.BadRequest({ provider: error.provider, ...(error.deployment !== undefined ? { deployment: error.deployment } : {}), status: 400, param: "model", message: error.message })
      : error
  return {
    chat: (request) => Effect.mapError(Effect.flatMap(clientOf(request.model), (service) => service.chat(request)), requestFault),
    stream: (request) => Stream.mapError(Stream.unwrap(Effect.map(clientOf(request.model), (service) => service.stream(request))), requestFault)
  }
}

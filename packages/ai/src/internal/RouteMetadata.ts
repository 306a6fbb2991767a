/**
 * How the router's own facts ride on `effect/ai` parts and errors: under the `llm-router` key
 * of a part's `metadata` (or an error reason's), as JSON, as every provider's extras do there.
 * The route of an answer goes on its `response-metadata` part (the deployment that started
 * answering) and its `finish` part (the final route: attempts, fallbacks, usage, cost).
 */
import type { LlmError, RouteInfo } from "@llm-router/core"
import { Scrub } from "@llm-router/core"
import type { Response } from "effect/ai"

/** The key under `metadata` (and the `Model`'s provider name). */
export const KEY = "llm-router"

type Json = Response.ProviderMetadata[string]

/** A value as JSON: `undefined` fields dropped, as `JSON.stringify` drops them. */
const toJson = (value: unknown): Json => JSON.parse(JSON.stringify(value)) as Json

export const ofRoute = (route: RouteInfo.RouteInfo): Response.ProviderMetadata => ({ [KEY]: toJson({ route }) })

const scrub = Scrub.make([])

const failure = (error: LlmError.LlmError) => ({
  error: error._tag,
  provider: error.provider,
  deployment: error.deployment,
  status: error.status,
  group: "group" in error ? error.group : undefined,
  param: "param" in error ? error.param : undefined,
  phase: "phase" in error ? error.phase : undefined,
  quotaExhausted: "quotaExhausted" in error ? error.quotaExhausted : undefined,
  message: scrub(error.message)
})

/** What a failure says about where it happened, for an `AiError` reason's metadata. */
export const ofError = (error: LlmError.LlmError): Response.ProviderMetadata => ({ [KEY]: toJson(failure(error)) })

/** A stream's restart: why, and the route of the answer it abandoned. */
export const ofRestart = (route: RouteInfo.RouteInfo, reason: LlmError.LlmError): Response.ProviderMetadata => ({
  [KEY]: toJson({ restarted: { ...failure(reason), route } })
})

/** The `llm-router` record of a part's or a reason's metadata, when there is one. */
export const read = (metadata: Response.ProviderMetadata | undefined): Record<string, unknown> | undefined => {
  const value = metadata?.[KEY]
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
}

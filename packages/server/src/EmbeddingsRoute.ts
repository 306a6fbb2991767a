/**
 * `POST /v1/embeddings` (and `/embeddings`): OpenAI's embeddings API through the router's
 * embedding groups (`model_info.mode: embedding`), with the same retries, cooldowns, fallbacks,
 * budgets, metrics and `x-llm-router-*` route headers as chat. A body that is not an embeddings
 * request, or a chat group asked for embeddings, is a 400 in OpenAI's error shape.
 */
import { Effect, Result } from "effect"
import { HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { type EmbeddingClient, Embeddings, type LlmError, WireJson } from "@llm-router/core"
import type * as ApiError from "./ApiError.ts"
import * as RequestBody from "./RequestBody.ts"
import * as RouteHeaders from "./RouteHeaders.ts"

export interface Dependencies {
  /** Reads the request's body under the gateway's limits. */
  readonly readBody: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<Buffer, ApiError.ApiError>
  /** The router's embeddings. */
  readonly embeddings: EmbeddingClient.Service
  /** A routed request's failure as the HTTP answer (OpenAI's error shape, with route headers). */
  readonly failure: (
    error: LlmError.LlmError,
    group: string,
    started: number,
    requestId: string
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
}

const decode = RequestBody.decoder(Embeddings.EmbeddingRequest, "embeddings request")

/** The route's handler, for the gateway's `handle` (which adds auth, request ids and errors). */
export const handler = (deps: Dependencies) =>
(
  request: HttpServerRequest.HttpServerRequest,
  requestId: string,
  started: number
): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError.ApiError> =>
  Effect.flatMap(deps.readBody(request), (bytes) => {
    const decoded = decode(bytes)
    if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
    return Effect.matchEffect(deps.embeddings.embed(decoded.success), {
      onSuccess: ({ response, route }) =>
        Effect.succeed(HttpServerResponse.text(WireJson.stringify(response), {
          status: 200,
          contentType: "application/json",
          headers: RouteHeaders.ofRoute(route, requestId)
        })),
      onFailure: (error) => deps.failure(error, decoded.success.model, started, requestId)
    })
  })

/**
 * `POST /v1/embeddings` (and `/embeddings`): OpenAI's embeddings API through the router's
 * embedding groups (`model_info.mode: embedding`), with the same retries, cooldowns, fallbacks,
 * budgets, metrics and `x-llm-router-*` route headers as chat. A body that is not an embeddings
 * request, or a chat group asked for embeddings, is a 400 in OpenAI's error shape.
 */
import { Clock, Effect, Result } from "effect"
import type { HttpRouter } from "effect/http"
import { type EmbeddingClient, Embeddings, type LlmError } from "@llm-router/core"
import * as ApiError from "./ApiError.ts"
import * as RequestBody from "./RequestBody.ts"
import * as RouteHeaders from "./RouteHeaders.ts"
import * as RouteKit from "./RouteKit.ts"

const decode = RequestBody.decoder(Embeddings.EmbeddingRequest, "embeddings request")

const { json } = RouteKit

/** Registers the route on the gateway's router, over the router's `embeddings`. */
export const register = (router: HttpRouter.HttpRouter, kit: RouteKit.RouteKit, embeddings: EmbeddingClient.Service) =>
  Effect.gen(function*() {
    const embed: RouteKit.Handler = (request, requestId, started) =>
      Effect.flatMap(kit.readBody(request), (bytes) => {
        const decoded = decode(bytes)
        if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
        const failed = (error: LlmError.LlmError) =>
          Effect.map(Clock.currentTimeMillis, (at) => {
            const apiError = ApiError.fromLlmError(error, kit.scrub)
            return json(ApiError.body(apiError), apiError.status, RouteHeaders.ofError(apiError, decoded.success.model, at - started, requestId))
          })
        return Effect.matchEffect(embeddings.embed(decoded.success), {
          onFailure: failed,
          onSuccess: ({ response, route }) => Effect.succeed(json(response, 200, RouteHeaders.ofRoute(route, requestId, kit.apiBaseOf(route.deployment))))
        })
      })
    const handler = kit.handle("/v1/embeddings", RouteKit.openAiDialect, embed)
    yield* router.add("POST", "/v1/embeddings", handler)
    yield* router.add("POST", "/embeddings", handler)
  })

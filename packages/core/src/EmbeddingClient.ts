/**
 * The service an application embeds text through, beside `LlmClient` (as effect/ai's
 * `EmbeddingModel` sits beside `LanguageModel`): send an embeddings request, get the vectors
 * and the route that served them. Provider adapters that have an embeddings API make one per
 * deployment, and the router is one too, over a config's embedding groups (`model_info.mode:
 * embedding`), with the same retries, cooldowns, fallbacks and budgets as chat.
 */
import { Context, Layer } from "effect"
import type { Effect } from "effect"
import type { EmbeddingRequest, EmbeddingResponse } from "./Embeddings.ts"
import type { LlmError } from "./LlmError.ts"
import type { RouteInfo } from "./RouteInfo.ts"

export interface Embedded {
  readonly response: EmbeddingResponse
  readonly route: RouteInfo
}

export interface Service {
  readonly embed: (request: EmbeddingRequest) => Effect.Effect<Embedded, LlmError>
}

export class EmbeddingClient extends Context.Service<EmbeddingClient, Service>()("@llm-router/core/EmbeddingClient") {}

export const layer = (service: Service): Layer.Layer<EmbeddingClient> => Layer.succeed(EmbeddingClient, EmbeddingClient.of(service))

/**
 * The router: many deployments, one `LlmClient` (and one `EmbeddingClient`, for embedding groups). For each request it resolves the model
 * group, picks a healthy deployment (strategy over a state snapshot), calls it under a
 * timeout, retries on another deployment or after a backoff, cools failing deployments
 * down, and walks the configured fallback chains when a group gives up. Streams fail over
 * transparently until their first content chunk.
 *
 * What to do about an error is decided by `LlmError.policy`; what is remembered between
 * requests lives in `RouterState` (and a session's last deployment in `SessionAffinity`).
 * The control flow lives in `internal/`, a module per concept: `Engine` (what a router is
 * made of), `Selection`, `AttemptLoop`, `Fallbacks`, `Completion`, `Streaming` and `Embedding`.
 */
import { Context, Effect, Layer } from "effect"
import * as EmbeddingClient from "./EmbeddingClient.ts"
import * as LlmClient from "./LlmClient.ts"
import type { RouterConfig, RouterConfigError, Settings } from "./RouterConfig.ts"
import type { RouterState } from "./RouterState.ts"
import { chat } from "./internal/Completion.ts"
import { count } from "./internal/CountTokens.ts"
import { embed } from "./internal/Embedding.ts"
import * as Engine from "./internal/Engine.ts"
import { operate } from "./internal/Operation.ts"
import { operateStream, stream } from "./internal/Streaming.ts"

/** Gives each deployment the client that calls it (a provider adapter, a simulated provider…). */
export type ClientFor<E = never, R = never> = Engine.ClientFor<E, R>

/** Gives each embedding deployment (`model_info.mode: embedding`) its embeddings client. */
export type EmbeddingClientFor<E = never, R = never> = Engine.EmbeddingClientFor<E, R>

/**
 * What an app adds to a router from code: its own strategy for every group, or for some
 * (`Strategy` pipelines; LiteLLM's `set_custom_routing_strategy`); and `embeddingClientFor`,
 * the embeddings client of each embedding deployment (`Providers.builtin.embeddingClientFor`).
 */
export type Options<E2 = never, R2 = never> = Engine.Options<E2, R2>

/**
 * The router's two faces over one engine (one state, one budget ledger, one pin table): chat
 * for its chat groups, embeddings for its embedding groups. Without `embeddingClientFor`, an
 * embedding group's requests fail: its deployments have no client.
 */
export const makeServices = <E, R, E2 = never, R2 = never>(config: RouterConfig, clientFor: ClientFor<E, R>, options?: Options<E2, R2>) =>
  Effect.map(Engine.make(config, clientFor, options), (engine) => ({
    llm: LlmClient.LlmClient.of({
      chat: (request) => chat(engine, request),
      stream: (request) => stream(engine, request),
      operate: (request, operation) => operate(engine, request, operation),
      operateStream: (request, operation) => operateStream(engine, request, operation),
      count: (request) => count(engine, request)
    }),
    embeddings: EmbeddingClient.EmbeddingClient.of({ embed: (request) => embed(engine, request) })
  }))

export const make = <E, R, E2 = never, R2 = never>(config: RouterConfig, clientFor: ClientFor<E, R>, options?: Options<E2, R2>) =>
  Effect.map(makeServices(config, clientFor, options), (services) => services.llm)

/** The router as the application's `LlmClient`, and as its `EmbeddingClient` (see `makeServices`). */
export const layer = <E, R, E2 = never, R2 = never>(
  config: RouterConfig,
  clientFor: ClientFor<E, R>,
  options?: Options<E2, R2>
): Layer.Layer<LlmClient.LlmClient | EmbeddingClient.EmbeddingClient, E | E2 | RouterConfigError, RouterState | R | R2> =>
  Layer.effectContext(
    Effect.map(makeServices(config, clientFor, options), (services) =>
      Context.make(LlmClient.LlmClient, services.llm).pipe(Context.add(EmbeddingClient.EmbeddingClient, services.embeddings)))
  )

export type { Settings }

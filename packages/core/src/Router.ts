/**
 * The router: many deployments, one `LlmClient`. For each request it resolves the model
 * group, picks a healthy deployment (strategy over a state snapshot), calls it under a
 * timeout, retries on another deployment or after a backoff, cools failing deployments
 * down, and walks the configured fallback chains when a group gives up. Streams fail over
 * transparently until their first content chunk.
 *
 * What to do about an error is decided by `LlmError.policy`; what is remembered between
 * requests lives in `RouterState` (and a session's last deployment in `SessionAffinity`).
 * The control flow lives in `internal/`, a module per concept: `Engine` (what a router is
 * made of), `Selection`, `AttemptLoop`, `Fallbacks`, `Completion` and `Streaming`.
 */
import { Effect, Layer } from "effect"
import * as LlmClient from "./LlmClient.ts"
import type { RouterConfig, RouterConfigError, Settings } from "./RouterConfig.ts"
import type { RouterState } from "./RouterState.ts"
import { chat } from "./internal/Completion.ts"
import * as Engine from "./internal/Engine.ts"
import { stream } from "./internal/Streaming.ts"

/** Gives each deployment the client that calls it (a provider adapter, a simulated provider…). */
export type ClientFor<E = never, R = never> = Engine.ClientFor<E, R>

/**
 * What an app adds to a router from code: its own strategy for every group, or for some
 * (`Strategy` pipelines; LiteLLM's `set_custom_routing_strategy`).
 */
export type Options = Engine.Options

export const make = <E, R>(config: RouterConfig, clientFor: ClientFor<E, R>, options?: Options) =>
  Effect.map(Engine.make(config, clientFor, options), (engine) =>
    LlmClient.LlmClient.of({
      chat: (request) => chat(engine, request),
      stream: (request) => stream(engine, request)
    }))

/** The router as the application's `LlmClient`. */
export const layer = <E, R>(
  config: RouterConfig,
  clientFor: ClientFor<E, R>,
  options?: Options
): Layer.Layer<LlmClient.LlmClient, E | RouterConfigError, RouterState | R> => Layer.effect(LlmClient.LlmClient, make(config, clientFor, options))

export type { Settings }

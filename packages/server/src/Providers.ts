/**
 * Which adapter calls which deployment: `Deployment.provider` (the prefix of
 * `litellm_params.model`) dispatched to the provider packages' `make`. The list of known
 * prefixes also validates a config, so an unknown provider is a config error that names
 * the ones this gateway can call, rather than a failure on the first request.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, Tracer } from "effect"
import { HttpClient } from "effect/http"
import { type Deployment, type LlmClient, type Router, RouterConfig } from "@llm-router/core"
import { Anthropic } from "@llm-router/anthropic"
import { Google } from "@llm-router/google"
import { OpenAi } from "@llm-router/openai"
import * as UndiciHttpClient from "./UndiciHttpClient.ts"

/** What every provider package exports. */
export interface Adapter<R> {
  readonly providers: ReadonlyArray<string>
  readonly make: (deployment: Deployment.Deployment) => Effect.Effect<LlmClient.Service, never, R>
}

export interface Registry<R> {
  /** Every provider prefix the registry serves, in adapter order. */
  readonly known: ReadonlyArray<string>
  /** Fails with a config error naming the known prefixes when a deployment's provider has no adapter. */
  readonly clientFor: Router.ClientFor<RouterConfig.RouterConfigError, R>
}

/** A registry over adapters; the first adapter that names a prefix serves it. */
export const make = <R>(adapters: ReadonlyArray<Adapter<R>>): Registry<R> => {
  const byProvider = new Map<string, Adapter<R>>()
  for (const adapter of adapters) {
    for (const provider of adapter.providers) if (!byProvider.has(provider)) byProvider.set(provider, adapter)
  }
  const known = [...byProvider.keys()]
  return {
    known,
    clientFor: (deployment) => {
      const adapter = byProvider.get(deployment.provider)
      // The gateway validates configs against `known` first; a library caller may not have.
      if (adapter === undefined) {
        return Effect.fail(RouterConfig.RouterConfigError.fromIssues([{
          path: `model_list (deployment ${deployment.id})`,
          message: `unknown provider "${deployment.provider}" (known: ${known.join(", ")})`
        }]))
      }
      return adapter.make(deployment)
    }
  }
}

/** OpenAI and every OpenAI-compatible API, Anthropic, and Gemini. */
export const builtin: Registry<HttpClient.HttpClient> = make<HttpClient.HttpClient>([OpenAi, Anthropic, Google])

/**
 * The HTTP client the adapters call providers through: undici, one connection pool per
 * origin, through `UndiciHttpClient` (a third of the gateway's per-request CPU less than the
 * stock client; see there for what it hands back to the stock one). When a tracer is
 * installed it makes a client span per call and sends `traceparent`, as the stock client does.
 */
export const layerHttpClient: Layer.Layer<HttpClient.HttpClient> = Layer.effect(HttpClient.HttpClient)(
  Effect.gen(function*() {
    const stock = yield* NodeHttpClient.makeUndici
    const spans = (yield* Tracer.Tracer) !== Tracer.nativeTracer
    return UndiciHttpClient.make(yield* NodeHttpClient.Dispatcher, stock, { spans })
  })
).pipe(Layer.provide(NodeHttpClient.layerDispatcher))

/**
 * Which adapter calls which deployment: `Deployment.provider` (the prefix of
 * `litellm_params.model`) dispatched to the provider packages' `make`. The list of known
 * prefixes also validates a config, so an unknown provider is a config error that names
 * the ones this registry can call, rather than a failure on the first request.
 *
 * This is what an Effect app needs to run the router as a library; the gateway uses the same
 * registry and adds only its HTTP client.
 */
import { Effect, Layer } from "effect"
import type { HttpClient } from "effect/http"
import { type Deployment, type EmbeddingClient, type LlmClient, Router, RouterConfig, type RouterState } from "@llm-router/core"
import { Anthropic } from "@llm-router/anthropic"
import { GeminiEmbeddings, Google } from "@llm-router/google"
import { OpenAi, OpenAiEmbeddings } from "@llm-router/openai"

/** What every provider package exports. */
export interface Adapter<R> {
  readonly providers: ReadonlyArray<string>
  readonly make: (deployment: Deployment.Deployment) => Effect.Effect<LlmClient.Service, never, R>
}

/** What a provider package with an embeddings API exports for it. */
export interface EmbeddingAdapter<R> {
  readonly providers: ReadonlyArray<string>
  readonly make: (deployment: Deployment.Deployment) => Effect.Effect<EmbeddingClient.Service, never, R>
}

export interface Registry<R> {
  /** Every provider prefix the registry serves, in adapter order. */
  readonly known: ReadonlyArray<string>
  /** Fails with a config error naming the known prefixes when a deployment's provider has no adapter. */
  readonly clientFor: Router.ClientFor<RouterConfig.RouterConfigError, R>
  /** The prefixes whose deployments can be embedding deployments (`model_info.mode: embedding`). */
  readonly knownEmbeddings: ReadonlyArray<string>
  /** Likewise for an embedding deployment: a config error when its provider has no embeddings API here. */
  readonly embeddingClientFor: (deployment: Deployment.Deployment) => Effect.Effect<EmbeddingClient.Service, RouterConfig.RouterConfigError, R>
}

/** The first adapter that names a prefix serves it; another prefix is a config error naming the known ones. */
const dispatch = <A extends { readonly providers: ReadonlyArray<string> }>(adapters: ReadonlyArray<A>, what: string) => {
  const byProvider = new Map<string, A>()
  for (const adapter of adapters) {
    for (const provider of adapter.providers) if (!byProvider.has(provider)) byProvider.set(provider, adapter)
  }
  const known = [...byProvider.keys()]
  return {
    known,
    find: <B, R>(deployment: Deployment.Deployment, use: (adapter: A) => Effect.Effect<B, never, R>) => {
      const adapter = byProvider.get(deployment.provider)
      // The gateway validates configs against `known` first; a library caller may not have.
      if (adapter === undefined) {
        return Effect.fail(RouterConfig.RouterConfigError.fromIssues([{
          path: `model_list (deployment ${deployment.id})`,
          message: `${what} "${deployment.provider}" (known: ${known.join(", ")})`
        }]))
      }
      return use(adapter)
    }
  }
}

/** A registry over adapters (and the embedding adapters of the providers that have an embeddings API). */
export const make = <R>(adapters: ReadonlyArray<Adapter<R>>, embeddingAdapters: ReadonlyArray<EmbeddingAdapter<R>> = []): Registry<R> => {
  const chat = dispatch(adapters, "unknown provider")
  const embeddings = dispatch(embeddingAdapters, "no embeddings API for provider")
  return {
    known: chat.known,
    clientFor: (deployment) => chat.find(deployment, (adapter) => adapter.make(deployment)),
    knownEmbeddings: embeddings.known,
    embeddingClientFor: (deployment) => embeddings.find(deployment, (adapter) => adapter.make(deployment))
  }
}

/** OpenAI and every OpenAI-compatible API, Anthropic, and Gemini; embeddings through OpenAI's API and Gemini's. */
export const builtin: Registry<HttpClient.HttpClient> = make<HttpClient.HttpClient>(
  [OpenAi, Anthropic, Google],
  [{ providers: OpenAi.providers, make: OpenAiEmbeddings.make }, { providers: Google.providers, make: GeminiEmbeddings.make }]
)

/**
 * The router as the app's `LlmClient` (and `EmbeddingClient`, for its embedding groups) over
 * the built-in adapters, from a config value in
 * LiteLLM's shape (`model_list`, `fallbacks`, router settings: parsed YAML or JSON, or a
 * literal). An invalid config fails the layer with every problem and its path. For other
 * adapters, `Router.layer(config, make([...]).clientFor)`.
 */
export const layerRouter = (
  config: unknown
): Layer.Layer<LlmClient.LlmClient | EmbeddingClient.EmbeddingClient, RouterConfig.RouterConfigError, RouterState.RouterState | HttpClient.HttpClient> =>
  Layer.unwrap(Effect.map(RouterConfig.decode(config), (decoded) => Router.layer(decoded, builtin.clientFor, { embeddingClientFor: builtin.embeddingClientFor })))

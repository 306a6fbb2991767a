/**
 * Which adapter calls which deployment: `Deployment.provider` (the prefix of
 * `litellm_params.model`) dispatched to the provider packages' `make`. The list of known
 * prefixes also validates a config, so an unknown provider is a config error that names
 * the ones this registry can call, rather than a failure on the first request.
 *
 * This is what an Effect app needs to run the router as a library; the gateway uses the same
 * registry and adds only its HTTP client.
 */
import { Effect, Layer, Stream } from "effect"
import type { HttpClient } from "effect/http"
import { type Deployment, type EmbeddingClient, type LlmClient, LlmError, Router, RouterConfig, type RouterState } from "@llm-router/core"
import { Anthropic } from "@llm-router/anthropic"
import { GeminiEmbeddings, Google } from "@llm-router/google"
import { OpenAi, OpenAiEmbeddings } from "@llm-router/openai"
import * as ProviderEnvironment from "./ProviderEnvironment.ts"

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
  /** LiteLLM prefixes this registry knows of but cannot call (Bedrock, Vertex AI, …); see `notSupported`. */
  readonly unsupported: ReadonlyArray<string>
  /** The environment variables LiteLLM reads for a provider's key, base URL and version, when a deployment has none. */
  readonly environment: (provider: string) => ProviderEnvironment.ProviderEnvironment | undefined
  /**
   * Fails with a config error naming the known prefixes when a deployment's provider is unknown;
   * a deployment on an `unsupported` provider gets a client whose every call fails (`notSupported`).
   */
  readonly clientFor: Router.ClientFor<RouterConfig.RouterConfigError, R>
  /** Likewise for an embedding deployment (`model_info.mode: embedding`): a config error when its provider has no embeddings API here. */
  readonly embeddingClientFor: (deployment: Deployment.Deployment) => Effect.Effect<EmbeddingClient.Service, RouterConfig.RouterConfigError, R>
}

/**
 * Why a call to a deployment on a provider this registry cannot call failed: `ModelNotFound`
 * (the deployment is broken for good: the router cools it at once and tries the group's other
 * deployments, then its fallbacks) with status 501, which the gateway answers as 501.
 */
export const notSupported = (deployment: Deployment.Deployment): LlmError.ModelNotFound =>
  new LlmError.ModelNotFound({
    provider: deployment.provider,
    deployment: deployment.id,
    status: 501,
    message: `provider "${deployment.provider}" is not supported by this gateway (deployment "${deployment.id}", ` +
      `model "${deployment.model}"): it speaks OpenAI-compatible APIs, Anthropic and Gemini`
  })

const unsupportedClient = (deployment: Deployment.Deployment): LlmClient.Service => ({
  chat: () => Effect.fail(notSupported(deployment)),
  stream: () => Stream.fail(notSupported(deployment))
})

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
  const unsupported = ProviderEnvironment.unsupported.filter((p) => !chat.known.includes(p))
  return {
    known: chat.known,
    unsupported,
    environment: (provider) => (chat.known.includes(provider) ? ProviderEnvironment.environments[provider] : undefined),
    clientFor: (deployment) =>
      unsupported.includes(deployment.provider)
        ? Effect.succeed(unsupportedClient(deployment))
        : chat.find(deployment, (adapter) => adapter.make(deployment)),
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

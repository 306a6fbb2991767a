/**
 * OpenAI's embeddings API (`POST {base}/embeddings`), and every API that speaks it (Azure's
 * deployments, Ollama, vLLM, Together, Mistral, ...), as an `EmbeddingClient` per deployment.
 * Only the fields OpenAI documents are sent. The answer comes back in the encoding the caller
 * asked for whatever the server sent (some OpenAI-compatible servers ignore
 * `encoding_format`), and with usage: estimated from the input when a server reports none. An
 * answer that needed none of that keeps the text it was read from (`WireJson`), which the
 * gateway sends as is rather than serialising 1536 floats again.
 */
import {
  type Deployment,
  EmbeddingClient,
  Embeddings,
  LlmError,
  ProviderError,
  RouteInfo,
  TokenEstimate,
  WireJson
} from "@llm-router/core"
import { Clock, Effect, Layer, Result, Schema } from "effect"
import { HttpBody, HttpClient, HttpClientRequest } from "effect/http"
import * as Endpoint from "./Endpoint.ts"
import * as Transport from "./Transport.ts"

/** An upstream answer: OpenAI's shape, where OpenAI-compatible servers may leave usage out. */
export const UpstreamResponse = Schema.StructWithRest(
  Schema.Struct({
    data: Schema.Array(Embeddings.Embedding),
    model: Schema.optionalKey(Schema.String),
    usage: Schema.optionalKey(Schema.NullOr(Embeddings.EmbeddingUsage))
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)
const decodeUpstream = Schema.decodeUnknownResult(UpstreamResponse)

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isCount = (u: unknown): boolean => typeof u === "number" && Number.isSafeInteger(u) && u >= 0

/**
 * `UpstreamResponse`'s check without the Schema's per-element walk, for the common answer
 * (1536 or more floats a vector, where the Schema's walk costs more than the rest of the call):
 * `true` only for what the Schema accepts as it is (held to it by `FastPathFuzz.test.ts`);
 * anything else goes through the Schema.
 */
export const isPlainUpstream = (value: unknown): value is typeof UpstreamResponse.Type => {
  if (!isRecord(value)) return false
  const { data, model, usage } = value
  if (!Array.isArray(data)) return false
  if (model !== undefined && typeof model !== "string") return false
  if (usage !== undefined && usage !== null && !(isRecord(usage) && isCount(usage["prompt_tokens"]) && isCount(usage["total_tokens"]))) {
    return false
  }
  for (const item of data) {
    if (!isRecord(item) || item["object"] !== "embedding" || !isCount(item["index"])) return false
    const embedding = item["embedding"]
    if (typeof embedding === "string") continue
    if (!Array.isArray(embedding)) return false
    for (let i = 0; i < embedding.length; i++) {
      const x = embedding[i]
      if (typeof x !== "number" || !Number.isFinite(x)) return false
    }
  }
  return true
}

/** The body OpenAI documents, for the deployment's model. */
export const requestBody = (deployment: Deployment.Deployment, request: Embeddings.EmbeddingRequest) => ({
  model: deployment.model,
  input: request.input,
  ...(request.encoding_format !== undefined ? { encoding_format: request.encoding_format } : {}),
  ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
  ...(request.user !== undefined ? { user: request.user } : {})
})

/** Usage as OpenAI reports it for embeddings (no completion), in the route's chat shape. */
export const routeUsage = (usage: Embeddings.EmbeddingUsage) => ({
  prompt_tokens: usage.prompt_tokens,
  completion_tokens: 0,
  total_tokens: usage.total_tokens
})

export const make = (
  deployment: Deployment.Deployment
): Effect.Effect<EmbeddingClient.Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (http): EmbeddingClient.Service => {
    const resolved = Endpoint.resolve(deployment, "embeddings")
    const { scrub, transportFailure, brokenBody, failed } = Transport.make(deployment)
    const post = resolved._tag === "Ok"
      ? HttpClientRequest.post(resolved.endpoint.url, {
        headers: { ...resolved.endpoint.headers, accept: "application/json" },
        urlParams: resolved.endpoint.urlParams
      })
      : undefined

    const answer = (request: Embeddings.EmbeddingRequest, status: number, body: Transport.Body) => {
      if (body.failure !== undefined) return Result.fail(brokenBody(status, body))
      const malformed = (detail: string) =>
        Result.fail(ProviderError.malformedResponse(deployment.provider, deployment.id, status, detail, scrub(body.text)))
      let json: unknown
      try {
        json = JSON.parse(body.text)
      } catch {
        return malformed("the body is not JSON")
      }
      let upstream: typeof UpstreamResponse.Type
      if (isPlainUpstream(json)) upstream = json
      else {
        const decoded = decodeUpstream(json)
        if (Result.isFailure(decoded)) return malformed(`the body is not an embeddings list (${decoded.failure.message})`)
        upstream = decoded.success
      }
      const count = Embeddings.inputsOf(request.input).length
      if (upstream.data.length !== count) return malformed(`${upstream.data.length} embeddings for ${count} inputs`)
      // An answer already whole and in the encoding asked for goes out as the upstream wrote it (see `WireJson`).
      if (upstream["object"] === "list" && upstream.model !== undefined && upstream.usage !== undefined && upstream.usage !== null) {
        const whole = upstream as unknown as Embeddings.EmbeddingResponse
        if (Embeddings.encoded(whole, request.encoding_format) === whole) return Result.succeed(WireJson.remember(whole, body.text))
      }
      const estimated = TokenEstimate.ofText(Embeddings.inputText(request.input))
      const response = Embeddings.encoded({
        object: "list",
        data: upstream.data,
        model: upstream.model ?? deployment.model,
        usage: upstream.usage ?? { prompt_tokens: estimated, total_tokens: estimated }
      }, request.encoding_format)
      return response === undefined ? malformed("an embedding is not base64 of float32s") : Result.succeed(response)
    }

    const embed = (request: Embeddings.EmbeddingRequest): Effect.Effect<EmbeddingClient.Embedded, LlmError.LlmError> =>
      Clock.clockWith((clock) => {
        if (post === undefined || resolved._tag !== "Ok") {
          return Effect.fail(ProviderError.connectionFailed(
            deployment.provider,
            deployment.id,
            resolved._tag === "Misconfigured" ? resolved.problem : "misconfigured"
          ))
        }
        const startedAt = clock.currentTimeMillisUnsafe()
        let json: string
        try {
          json = JSON.stringify(requestBody(deployment, request))
        } catch {
          return Effect.fail(new LlmError.BadRequest({
            provider: deployment.provider,
            deployment: deployment.id,
            message: "the request could not be serialized to JSON"
          }))
        }
        return http.execute(HttpClientRequest.setBody(post, HttpBody.text(json, "application/json"))).pipe(
          Effect.mapError(transportFailure),
          Effect.flatMap((response) => {
            if (response.status < 200 || response.status >= 300) return failed(response)
            return Effect.flatMap(Transport.readBody(response), (body) => {
              const result = answer(request, response.status, body)
              if (Result.isFailure(result)) return Effect.fail(result.failure)
              const latencyMs = clock.currentTimeMillisUnsafe() - startedAt
              return Effect.succeed({
                response: result.success,
                route: RouteInfo.ofDeployment(deployment, latencyMs, routeUsage(result.success.usage))
              })
            })
          })
        )
      })

    return { embed }
  })

/** The embedding client for one deployment as a layer. */
export const layer = (deployment: Deployment.Deployment): Layer.Layer<EmbeddingClient.EmbeddingClient, never, HttpClient.HttpClient> =>
  Layer.effect(EmbeddingClient.EmbeddingClient, Effect.map(make(deployment), (service) => EmbeddingClient.EmbeddingClient.of(service)))

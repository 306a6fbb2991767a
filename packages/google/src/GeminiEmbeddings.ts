/**
 * Gemini's embeddings (`POST {base}/v1beta/models/{model}:batchEmbedContents`) as an
 * `EmbeddingClient` per deployment: an OpenAI embeddings request becomes one `requests[]`
 * entry per input (`dimensions` as `outputDimensionality`), and the `embeddings[].values`
 * come back in OpenAI's list, as floats or base64 as asked. Gemini's API reports no usage for
 * embeddings (unless a `usageMetadata` comes back), so usage and cost are then estimated from
 * the input's length.
 */
import type { Deployment } from "@llm-router/core"
import { EmbeddingClient, Embeddings, LlmError, ProviderError, RouteInfo, TokenEstimate } from "@llm-router/core"
import { Clock, Effect, Layer, Result, Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { connectionOf, methodUrl, modelPath } from "./Google.ts"

/** One request of `batchEmbedContents`. */
export interface EmbedContentRequest {
  readonly model: string
  readonly content: { readonly parts: ReadonlyArray<{ readonly text: string }> }
  readonly outputDimensionality?: number
}

export const BatchEmbedContentsResponse = Schema.Struct({
  embeddings: Schema.Array(Schema.Struct({ values: Schema.Array(Schema.Finite) })),
  /** Where Gemini reports it (`@google/genai` declares it), the prompt's tokens. */
  usageMetadata: Schema.optionalKey(Schema.Struct({ promptTokenCount: Schema.optionalKey(Schema.Finite) }))
})
const decodeResponse = Schema.decodeUnknownResult(Schema.fromJsonString(BatchEmbedContentsResponse))

/** The `batchEmbedContents` body, or the input Gemini cannot take (token ids: it embeds text only). */
export const requestBody = (
  deployment: Deployment.Deployment,
  request: Embeddings.EmbeddingRequest
): Result.Result<{ readonly requests: ReadonlyArray<EmbedContentRequest> }, LlmError.BadRequest> => {
  const inputs = Embeddings.inputsOf(request.input)
  if (inputs.some((input) => typeof input !== "string")) {
    return Result.fail(new LlmError.BadRequest({
      provider: deployment.provider,
      deployment: deployment.id,
      message: "Gemini embeds text only: token-id inputs cannot be sent to it",
      param: "input"
    }))
  }
  const model = modelPath(deployment.model)
  return Result.succeed({
    requests: (inputs as ReadonlyArray<string>).map((text) => ({
      model,
      content: { parts: [{ text }] },
      ...(request.dimensions !== undefined ? { outputDimensionality: request.dimensions } : {})
    }))
  })
}

export const make = (
  deployment: Deployment.Deployment
): Effect.Effect<EmbeddingClient.Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (http): EmbeddingClient.Service => {
    const { headers, scrub, origin, transportFailure, failed } = connectionOf(deployment)
    const post = HttpClientRequest.post(methodUrl(deployment, "batchEmbedContents"), { headers })
    const malformed = (status: number, detail: string, body?: string) =>
      ProviderError.malformedResponse(origin.provider, origin.deployment, status, detail, body === undefined ? undefined : scrub(body))

    const embed = (request: Embeddings.EmbeddingRequest): Effect.Effect<EmbeddingClient.Embedded, LlmError.LlmError> =>
      Clock.clockWith((clock) => {
        const body = requestBody(deployment, request)
        if (Result.isFailure(body)) return Effect.fail(body.failure)
        const began = clock.currentTimeMillisUnsafe()
        return http.execute(HttpClientRequest.bodyText(post, JSON.stringify(body.success), "application/json")).pipe(
          Effect.mapError(transportFailure),
          Effect.flatMap((response) => {
            if (response.status < 200 || response.status >= 300) return failed(response, clock.currentTimeMillisUnsafe())
            return response.text.pipe(
              Effect.mapError((error) => malformed(response.status, `the body was cut short (${error.reason._tag})`)),
              Effect.flatMap((text) => {
                const decoded = decodeResponse(text)
                if (Result.isFailure(decoded)) return Effect.fail(malformed(response.status, "the body is not a BatchEmbedContentsResponse", text))
                const vectors = decoded.success.embeddings
                if (vectors.length !== body.success.requests.length) {
                  return Effect.fail(malformed(response.status, `${vectors.length} embeddings for ${body.success.requests.length} inputs`))
                }
                const tokens = decoded.success.usageMetadata?.promptTokenCount ?? TokenEstimate.ofText(Embeddings.inputText(request.input))
                const floats: Embeddings.EmbeddingResponse = {
                  object: "list",
                  data: vectors.map((v, index) => ({ object: "embedding", index, embedding: v.values })),
                  model: deployment.model,
                  usage: { prompt_tokens: tokens, total_tokens: tokens }
                }
                const answer = Embeddings.encoded(floats, request.encoding_format)!
                const usage = { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens }
                return Effect.succeed({
                  response: answer,
                  route: RouteInfo.ofDeployment(deployment, clock.currentTimeMillisUnsafe() - began, usage)
                })
              })
            )
          })
        )
      })

    return { embed }
  })

/** The embedding client for one deployment as a layer. */
export const layer = (deployment: Deployment.Deployment): Layer.Layer<EmbeddingClient.EmbeddingClient, never, HttpClient.HttpClient> =>
  Layer.effect(EmbeddingClient.EmbeddingClient, Effect.map(make(deployment), (service) => EmbeddingClient.EmbeddingClient.of(service)))

/**
 * The Anthropic provider: an `LlmClient` for one deployment that speaks the Messages API
 * (`POST {base}/v1/messages`, `anthropic-version: 2023-06-01`, and its exact token count,
 * `/v1/messages/count_tokens`) over `effect/http`, translating
 * OpenAI-shape requests, answers and streams both ways. It never retries on its own (the router
 * decides), and interrupting a call aborts the upstream HTTP request.
 */
import { type Chat, type Deployment, LlmClient, LlmError, ProviderError, RouteInfo, StreamingHttp } from "@llm-router/core"
import { Clock, Effect, Layer, Redacted, Result, Schema, Stream } from "effect"
import { HttpClient, type HttpClientError, HttpClientRequest, type HttpClientResponse } from "effect/http"
import * as AnthropicError from "./AnthropicError.ts"
import * as AnthropicRequest from "./AnthropicRequest.ts"
import * as AnthropicResponse from "./AnthropicResponse.ts"
import * as AnthropicStream from "./AnthropicStream.ts"
import * as StructuredOutput from "./StructuredOutput.ts"

/** LiteLLM model prefixes served here (`anthropic/claude-…`). */
export const providers: ReadonlyArray<string> = ["anthropic"]

/** The default base, as the Anthropic SDK's `baseURL` takes it (no `/v1`). */
export const DEFAULT_API_BASE = "https://api.anthropic.com"
export const API_VERSION = "2023-06-01"

/** `{base}/v1/messages`; a base that already ends in `/v1` (or in `/v1/messages`) works too. */
export const messagesUrl = (apiBase: string | undefined): string => {
  const base = (apiBase ?? DEFAULT_API_BASE).trim().replace(/\/+$/, "")
  if (/\/v1\/messages$/.test(base)) return base
  return /\/v1$/.test(base) ? `${base}/messages` : `${base}/v1/messages`
}

/** LiteLLM's `extra_headers` (e.g. `anthropic-beta`), string values only. */
const extraHeaders = (params: Readonly<Record<string, unknown>>): Record<string, string> => {
  const extra = params["extra_headers"]
  if (typeof extra !== "object" || extra === null) return {}
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(extra)) if (typeof value === "string") headers[name.toLowerCase()] = value
  return headers
}

/**
 * The headers for one request: the deployment's, with the request's `anthropic-beta` (a
 * Messages API client's betas, in the chat request's `extra_headers`) added to the
 * deployment's own. Nothing else a request names is sent: the key and version stay the
 * deployment's.
 */
const requestHeaders = (base: Readonly<Record<string, string>>, request: Chat.ChatRequest): Readonly<Record<string, string>> => {
  const extra = (request as Record<string, unknown>)["extra_headers"]
  const asked = typeof extra === "object" && extra !== null ? (extra as Record<string, unknown>)["anthropic-beta"] : undefined
  if (typeof asked !== "string" || asked.length === 0) return base
  const betas = new Set([...(base["anthropic-beta"] ?? "").split(","), ...asked.split(",")].map((b) => b.trim()).filter((b) => b.length > 0))
  return { ...base, "anthropic-beta": [...betas].join(",") }
}

const decodeMessage = Schema.decodeUnknownResult(AnthropicResponse.Message)
const decodeCount = Schema.decodeUnknownResult(Schema.Struct({ input_tokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)) }))

export const make = (
  deployment: Deployment.Deployment
): Effect.Effect<LlmClient.Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    // Streams tie the request to the stream's scope, so ending or interrupting it aborts the call
    // (a client that does this by itself is left as it is: see `StreamingHttp`).
    const streamingHttp = StreamingHttp.forStreams(http)
    const url = messagesUrl(deployment.apiBase)
    const headers: Record<string, string> = {
      ...extraHeaders(deployment.params),
      "anthropic-version": API_VERSION,
      ...(deployment.apiKey !== undefined ? { "x-api-key": Redacted.value(deployment.apiKey) } : {})
    }
    const { provider, id } = deployment

    const route = (latencyMs: number, usage: Chat.Usage | null | undefined) => RouteInfo.ofDeployment(deployment, latencyMs, usage)

    const transportError = (error: HttpClientError.HttpClientError): LlmError.LlmError => {
      const reason = error.reason
      const cause = "cause" in reason && reason.cause instanceof Error ? `: ${reason.cause.message}` : ""
      return ProviderError.connectionFailed(provider, id, `${reason._tag}${cause}`)
    }
    /** The body could not be read to its end (a reset connection): the status was already in. */
    const bodyReadError = (status: number) => (error: HttpClientError.HttpClientError): LlmError.LlmError => {
      const cause = "cause" in error.reason && error.reason.cause instanceof Error ? `: ${error.reason.cause.message}` : ""
      return new LlmError.ConnectionFailed({
        provider,
        deployment: id,
        status,
        message: `The connection to ${provider} (${id}) was lost while reading the response${cause}`
      })
    }

    const buildRequest = (request: Chat.ChatRequest, stream: boolean) =>
      Effect.gen(function*() {
        const body = AnthropicRequest.fromChat(request, deployment, stream)
        if (Result.isFailure(body)) return yield* body.failure
        let json: string
        try {
          json = JSON.stringify(body.success)
        } catch (cause) {
          return yield* new LlmError.BadRequest({
            provider,
            deployment: id,
            message: `The request cannot be encoded as JSON: ${cause instanceof Error ? cause.message : String(cause)}`
          })
        }
        return {
          http: HttpClientRequest.post(url).pipe(
            HttpClientRequest.setHeaders(requestHeaders(headers, request)),
            HttpClientRequest.bodyText(json, "application/json")
          ),
          jsonTool: StructuredOutput.answersWithTool(body.success.tools)
        }
      })

    /** Sends; a non-2xx answer becomes the classified `LlmError`. */
    const send = <R>(
      client: HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>,
      request: HttpClientRequest.HttpClientRequest
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, LlmError.LlmError, R> =>
      client.execute(request).pipe(
        Effect.mapError(transportError),
        Effect.flatMap((response): Effect.Effect<HttpClientResponse.HttpClientResponse, LlmError.LlmError> =>
          response.status >= 200 && response.status < 300 ? Effect.succeed(response) : failed(response)
        )
      )

    const failed = (response: HttpClientResponse.HttpClientResponse) =>
      Effect.gen(function*() {
        const body = yield* response.text.pipe(Effect.catch(() => Effect.succeed("")))
        const now = yield* Clock.currentTimeMillis
        return yield* AnthropicError.classify({
          deployment,
          status: response.status,
          body,
          retryAfter: ProviderError.retryAfterFromHeaders(response.headers, now)
        })
      })

    /** A 2xx body read whole and decoded, or a malformed-response error that quotes it. */
    const readJson = <A>(
      response: HttpClientResponse.HttpClientResponse,
      decode: (json: unknown) => Result.Result<A, { readonly message: string }>,
      notA: (why: string) => string
    ): Effect.Effect<A, LlmError.LlmError> =>
      Effect.flatMap(response.text.pipe(Effect.mapError(bodyReadError(response.status))), (text) => {
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {
          return Effect.fail(ProviderError.malformedResponse(provider, id, response.status, "the body is not JSON", text))
        }
        const decoded = decode(json)
        return Result.isSuccess(decoded)
          ? Effect.succeed(decoded.success)
          : Effect.fail(ProviderError.malformedResponse(provider, id, response.status, notA(decoded.failure.message), text))
      })

    const chat = (request: Chat.ChatRequest): Effect.Effect<LlmClient.Completion, LlmError.LlmError> =>
      Effect.gen(function*() {
        const began = yield* Clock.currentTimeMillis
        const built = yield* buildRequest(request, false)
        const response = yield* send(http, built.http)
        const message = yield* readJson(response, decodeMessage, (why) => `the body is not an Anthropic Message (${why})`)
        const chatResponse = AnthropicResponse.toChatResponse(message, {
          created: Math.floor(began / 1000),
          json: AnthropicRequest.wantsJson(request),
          jsonTool: built.jsonTool
        })
        const now = yield* Clock.currentTimeMillis
        return { response: chatResponse, route: route(now - began, chatResponse.usage) }
      })

    const stream = (request: Chat.ChatRequest): Stream.Stream<LlmClient.StreamPart, LlmError.LlmError> =>
      Stream.unwrap(
        Effect.gen(function*() {
          const began = yield* Clock.currentTimeMillis
          const built = yield* buildRequest(request, true)
          const response = yield* send(streamingHttp, built.http)
          const answered = yield* Clock.currentTimeMillis
          let usage: Chat.Usage | undefined
          const start: LlmClient.StreamPart = { _tag: "Start", route: route(answered - began, undefined) }
          const chunks = AnthropicStream.translate(response.stream, {
            deployment,
            created: Math.floor(began / 1000),
            jsonTool: built.jsonTool,
            onBodyError: bodyReadError(response.status)
          }).pipe(Stream.map((chunk) => {
            if (chunk.usage) usage = chunk.usage
            return chunk
          }))
          const done = Effect.map(Clock.currentTimeMillis, (now): LlmClient.StreamPart => ({ _tag: "Done", route: route(now - began, usage) }))
          // Opens the body before `Start`, so a consumer that stops at `Start` aborts the request.
          return LlmClient.framed(start, chunks, done)
        })
      )

    // Anthropic counts a request exactly, free of charge (`POST /v1/messages/count_tokens`).
    const countTokens = (request: Chat.ChatRequest): Effect.Effect<number, LlmError.LlmError> =>
      Effect.gen(function*() {
        const body = AnthropicRequest.countTokensBody(request, deployment)
        if (Result.isFailure(body)) return yield* body.failure
        const response = yield* send(
          http,
          HttpClientRequest.post(`${url}/count_tokens`).pipe(
            HttpClientRequest.setHeaders(requestHeaders(headers, request)),
            HttpClientRequest.bodyText(JSON.stringify(body.success), "application/json")
          )
        )
        const counted = yield* readJson(response, decodeCount, () => "the body is not a token count")
        return counted.input_tokens
      })

    return { chat, stream, countTokens }
  })

/** The client as a layer, for an app that talks to one Anthropic deployment directly. */
export const layer = (deployment: Deployment.Deployment): Layer.Layer<LlmClient.LlmClient, never, HttpClient.HttpClient> =>
  Layer.effect(LlmClient.LlmClient, Effect.map(make(deployment), (service) => LlmClient.LlmClient.of(service)))

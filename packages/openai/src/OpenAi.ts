/**
 * OpenAI's Chat Completions API, and every API that speaks it (Azure OpenAI, Groq, Mistral,
 * DeepSeek, Together, Fireworks, xAI, OpenRouter, Ollama, vLLM, LM Studio, llama.cpp), as
 * an `LlmClient` per deployment, on `effect/http`. No SDK: the router owns retries and
 * timeouts. Interrupting a call aborts its HTTP request: `HttpClient` aborts an interrupted
 * request or body read, and a stream's request is tied to the stream's scope, so its socket
 * is closed however the stream ends (even when the consumer stops right after `Start`).
 */
import { type Chat, type Deployment, LlmClient, LlmError, ProviderError, ResponseLimit, RouteInfo, StreamingHttp } from "@llm-router/core"
import { Clock, Effect, Layer, Redacted, Result, type Scope, Stream } from "effect"
import { HttpBody, HttpClient, HttpClientError, HttpClientRequest, type HttpClientResponse } from "effect/http"
import * as ChunkStream from "./ChunkStream.ts"
import * as Endpoint from "./Endpoint.ts"
import * as ErrorBody from "./ErrorBody.ts"
import * as RequestBody from "./RequestBody.ts"
import * as ResponseBody from "./ResponseBody.ts"

export { AZURE_DEFAULT_API_VERSION, type Endpoint, profiles, providers, resolve as endpoint, validate } from "./Endpoint.ts"
export { isReasoningModel, make as requestBody } from "./RequestBody.ts"
export { retryAfterFromText } from "./ErrorBody.ts"

const isOk = (status: number) => status >= 200 && status < 300

interface Body {
  readonly text: string
  /** Set when the connection broke while reading; `text` holds what arrived before. */
  readonly failure?: HttpClientError.HttpClientError | undefined
}

/**
 * Reads a whole body, keeping what arrived even when the connection breaks mid-way, up to
 * `ResponseLimit.MaxResponseBytes` (past it the read stops, aborting the request, and fails).
 */
const readBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<Body> =>
  Effect.withFiber((fiber) => {
    const limit = fiber.getRef(ResponseLimit.MaxResponseBytes)
    const decoder = new TextDecoder()
    let text = ""
    let bytes = 0
    return Stream.runForEachArray(response.stream, (parts) => {
      for (const part of parts) {
        bytes += part.length
        if (bytes > limit) {
          const cause = new ResponseLimit.ResponseTooLarge(limit)
          return Effect.fail(
            new HttpClientError.HttpClientError({ reason: new HttpClientError.DecodeError({ request: response.request, response, cause }) })
          )
        }
        text += decoder.decode(part, { stream: true })
      }
      return Effect.void
    }).pipe(
        Effect.map((): Body => ({ text: text + decoder.decode() })),
        Effect.catch((failure) => Effect.succeed<Body>({ text: text + decoder.decode(), failure }))
      )
  })

/** Builds the client for one deployment. Never fails: a misconfigured deployment's calls do. */
export const make = (
  deployment: Deployment.Deployment
): Effect.Effect<LlmClient.Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    // Only streams (which a consumer may drop before the body ends) tie the request to their
    // scope, and only when the client does not abort by itself (see `StreamingHttp`).
    const streamingHttp = StreamingHttp.forStreams(http)
    const resolved = Endpoint.resolve(deployment)
    const context: ErrorBody.Context = {
      provider: deployment.provider,
      deployment: deployment.id,
      secret: deployment.apiKey === undefined ? undefined : Redacted.value(deployment.apiKey)
    }
    const scrub = (text: string) => ErrorBody.scrub(text, context.secret) ?? text

    const route = (latencyMs: number, usage: Chat.Usage | undefined, timeToFirstChunkMs?: number) =>
      RouteInfo.ofDeployment(deployment, latencyMs, usage, timeToFirstChunkMs)

    const transportFailure = (error: HttpClientError.HttpClientError): LlmError.LlmError =>
      ProviderError.connectionFailed(
        deployment.provider,
        deployment.id,
        error.reason._tag === "InvalidUrlError"
          ? "the api_base does not make a valid URL"
          : scrub(ErrorBody.describeCause(error.reason.cause ?? error.reason._tag))
      )

    const brokenBody = (status: number, body: Body): LlmError.LlmError => {
      const excerpt = ProviderError.excerpt(scrub(body.text))
      return new LlmError.ConnectionFailed({
        provider: deployment.provider,
        deployment: deployment.id,
        status,
        message: `${deployment.provider} (${deployment.id}) broke off the response: ${
          scrub(ErrorBody.describeCause(body.failure?.reason.cause ?? body.failure?.reason._tag))
        }`,
        ...(excerpt !== undefined ? { body: excerpt } : {})
      })
    }

    // The requests without their body, made once: only the body differs from call to call.
    const requestFor = (endpoint: Endpoint.Endpoint, accept: string) =>
      HttpClientRequest.post(endpoint.url, { headers: { ...endpoint.headers, accept }, urlParams: endpoint.urlParams })
    const target = resolved._tag === "Misconfigured" ? resolved : {
      _tag: "Ready" as const,
      endpoint: resolved.endpoint,
      whole: requestFor(resolved.endpoint, "application/json"),
      stream: requestFor(resolved.endpoint, "text/event-stream")
    }

    /** Sends the request; a streamed one is tied to the caller's scope (closing it aborts). */
    function send(request: Chat.ChatRequest, stream: true): Effect.Effect<HttpClientResponse.HttpClientResponse, LlmError.LlmError, Scope.Scope>
    function send(request: Chat.ChatRequest, stream: false): Effect.Effect<HttpClientResponse.HttpClientResponse, LlmError.LlmError>
    function send(request: Chat.ChatRequest, stream: boolean) {
      if (target._tag === "Misconfigured") {
        return Effect.fail(ProviderError.connectionFailed(deployment.provider, deployment.id, target.problem))
      }
      const endpoint = target.endpoint
      let json: string
      try {
        json = JSON.stringify(RequestBody.make(deployment, request, { stream, streamOptions: endpoint.streamOptions }))
      } catch {
        return Effect.fail(new LlmError.BadRequest({
          provider: deployment.provider,
          deployment: deployment.id,
          message: "the request could not be serialized to JSON"
        }))
      }
      const post = HttpClientRequest.setBody(stream ? target.stream : target.whole, HttpBody.text(json, "application/json"))
      return (stream ? streamingHttp.execute(post) : http.execute(post)).pipe(Effect.mapError(transportFailure))
    }

    /** A non-2xx answer: its body, headers and status, classified. */
    const failed = (response: HttpClientResponse.HttpClientResponse) =>
      Effect.gen(function*() {
        const body = yield* readBody(response)
        const now = yield* Clock.currentTimeMillis
        return yield* Effect.fail(ErrorBody.classify(
          context,
          response.status,
          body.text,
          ErrorBody.parse(body.text),
          ProviderError.retryAfterFromHeaders(response.headers, now)
        ))
      })

    /** A 2xx body that should hold a whole `chat.completion`. */
    const completion = (status: number, body: Body): Result.Result<Chat.ChatResponse, LlmError.LlmError> => {
      if (body.failure !== undefined) return Result.fail(brokenBody(status, body))
      const read = ResponseBody.response(body.text, deployment.model)
      switch (read._tag) {
        case "Ok":
          return Result.succeed(read.value)
        case "Error":
          return Result.fail(ErrorBody.classify(context, ErrorBody.statusOf(read.error), body.text, read.error, undefined))
        default:
          return Result.fail(ProviderError.malformedResponse(
            deployment.provider,
            deployment.id,
            status,
            read._tag === "Invalid" ? read.detail : "no answer",
            scrub(body.text)
          ))
      }
    }

    // Plain `flatMap`s rather than `Effect.gen`: a generator costs about a microsecond per run;
    // and the body is read and checked in one step, as each `map`/`catch` is a turn of the run loop.
    const chat = (request: Chat.ChatRequest): Effect.Effect<LlmClient.Completion, LlmError.LlmError> =>
      Clock.clockWith((clock) => {
        const startedAt = clock.currentTimeMillisUnsafe()
        return Effect.flatMap(send(request, false), (response) => {
          if (!isOk(response.status)) return failed(response)
          const answered = (body: Body): Effect.Effect<LlmClient.Completion, LlmError.LlmError> => {
            const answer = completion(response.status, body)
            if (Result.isFailure(answer)) return Effect.fail(answer.failure)
            return Effect.succeed({
              response: answer.success,
              route: route(clock.currentTimeMillisUnsafe() - startedAt, answer.success.usage ?? undefined)
            })
          }
          // `text` (unlike the body stream) does not abort after a normal end; a break mid-body
          // loses the bytes that came before it (undici discards them).
          return Effect.matchEffect(response.text, {
            onSuccess: (text) => answered({ text }),
            onFailure: (failure) => answered({ text: "", failure })
          })
        })
      })

    const stream = (request: Chat.ChatRequest): Stream.Stream<LlmClient.StreamPart, LlmError.LlmError> =>
      // `flatMap`s rather than `Effect.gen` on the path every stream takes (see `chat`).
      Stream.unwrap(Clock.clockWith((clock) => {
        const startedAt = clock.currentTimeMillisUnsafe()
        return Effect.flatMap(send(request, true), (response) => {
          if (!isOk(response.status)) return failed(response)
          // A server that ignored `stream: true` (or put an error in a 200): read it whole.
          if ((response.headers["content-type"] ?? "").includes("application/json")) return whole(response, startedAt)
          return Effect.succeed(streamed(response, startedAt, clock.currentTimeMillisUnsafe()))
        })
      }))

    /** An answer that came as one JSON body: the same parts, at once. */
    const whole = (response: HttpClientResponse.HttpClientResponse, startedAt: number) =>
      Effect.gen(function*() {
        const answer = yield* Effect.fromResult(completion(response.status, yield* readBody(response)))
        const now = yield* Clock.currentTimeMillis
        const parts: Array<LlmClient.StreamPart> = [
          { _tag: "Start", route: route(now - startedAt, undefined) },
          ...ResponseBody.asChunks(answer).map((chunk) => ({ _tag: "Chunk", chunk }) as const),
          { _tag: "Done", route: route(now - startedAt, answer.usage ?? undefined, now - startedAt) }
        ]
        return Stream.fromIterable(parts)
      })

    /** An SSE body as parts: `Start`, the chunks, then `Done` with usage, cost and time to first chunk. */
    const streamed = (
      response: HttpClientResponse.HttpClientResponse,
      startedAt: number,
      headersAt: number
    ): Stream.Stream<LlmClient.StreamPart, LlmError.LlmError> => {
      const progress: ChunkStream.Progress = { usage: undefined, firstChunkAt: undefined }
      const chunks = ChunkStream.chunks(response.stream, {
        ...context,
        status: response.status,
        model: deployment.model
      }, progress)
      const done = Effect.map(Clock.currentTimeMillis, (now): LlmClient.StreamPart => ({
        _tag: "Done",
        route: route(
          now - startedAt,
          progress.usage,
          progress.firstChunkAt === undefined ? undefined : progress.firstChunkAt - startedAt
        )
      }))
      const start: LlmClient.StreamPart = { _tag: "Start", route: route(headersAt - startedAt, undefined) }
      return LlmClient.framed(start, chunks, done)
    }

    return { chat, stream }
  })

/** The client for one deployment as a layer of the `LlmClient` service. */
export const layer = (deployment: Deployment.Deployment): Layer.Layer<LlmClient.LlmClient, never, HttpClient.HttpClient> =>
  Layer.effect(LlmClient.LlmClient, Effect.map(make(deployment), (service) => LlmClient.LlmClient.of(service)))

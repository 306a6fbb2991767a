/**
 * OpenAI's Chat Completions API, and every API that speaks it (Azure OpenAI, Groq, Mistral,
 * DeepSeek, Together, Fireworks, xAI, OpenRouter, Ollama, vLLM, LM Studio, llama.cpp), as
 * an `LlmClient` per deployment, on `effect/http`. No SDK: the router owns retries and
 * timeouts. Interrupting a call aborts its HTTP request: `HttpClient` aborts an interrupted
 * request or body read, and a stream's request is tied to the stream's scope, so its socket
 * is closed however the stream ends (even when the consumer stops right after `Start`).
 */
import { type Chat, type Deployment, LlmClient, LlmError, ProviderError, RouteInfo, StreamingHttp } from "@llm-router/core"
import { Clock, Effect, Layer, Result, type Scope, Stream } from "effect"
import { HttpBody, HttpClient, HttpClientRequest, type HttpClientResponse } from "effect/http"
import * as ChunkStream from "./ChunkStream.ts"
import * as Endpoint from "./Endpoint.ts"
import * as ErrorBody from "./ErrorBody.ts"
import * as RequestBody from "./RequestBody.ts"
import * as ResponseBody from "./ResponseBody.ts"
import * as ResponsesEvents from "./ResponsesEvents.ts"
import * as ResponsesResponse from "./ResponsesResponse.ts"
import * as Transport from "./Transport.ts"

export { AZURE_DEFAULT_API_VERSION, type Endpoint, profiles, providers, resolve as endpoint, validate } from "./Endpoint.ts"
export { isReasoningModel, make as requestBody } from "./RequestBody.ts"
export { retryAfterFromText } from "./ErrorBody.ts"

const isOk = (status: number) => status >= 200 && status < 300

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
    const { context, scrub, transportFailure, brokenBody, failed } = Transport.make(deployment)

    const route = (latencyMs: number, usage: Chat.Usage | undefined, timeToFirstChunkMs?: number) =>
      RouteInfo.ofDeployment(deployment, latencyMs, usage, timeToFirstChunkMs)

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

    /** A 2xx body that should hold a whole `chat.completion`. */
    const completion = (status: number, body: Transport.Body): Result.Result<Chat.ChatResponse, LlmError.LlmError> => {
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
          const answered = (body: Transport.Body): Effect.Effect<LlmClient.Completion, LlmError.LlmError> => {
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
        const answer = yield* Effect.fromResult(completion(response.status, yield* Transport.readBody(response)))
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

    // OpenAI's Responses API, natively, plain and streamed: OpenAI itself, and Azure's v1 API
    // (`…/openai/v1`, the deployment's name as the model), whose bases serve `/responses` beside
    // `/chat/completions` (the body as the client wrote it, the deployment's model set). Azure's
    // classic deployment paths and the other OpenAI-compatible servers get translated chats.
    const responsesRequest = (accept: string) =>
      target._tag === "Ready" && target.endpoint.url.endsWith(CHAT_PATH) &&
        (deployment.provider === "openai" || (deployment.provider === "azure" && target.endpoint.url.endsWith(AZURE_V1_CHAT_PATH)))
        ? HttpClientRequest.post(`${target.endpoint.url.slice(0, -CHAT_PATH.length)}/responses`, {
          headers: { ...target.endpoint.headers, accept },
          urlParams: target.endpoint.urlParams
        })
        : undefined
    const responsesTarget = responsesRequest("application/json")
    const responsesStreamTarget = responsesRequest("text/event-stream")

    /** A 2xx body that should hold a whole Responses API `response`. */
    const nativeResponse = (status: number, body: Transport.Body): Result.Result<LlmClient.Answer<Readonly<Record<string, unknown>>>, LlmError.LlmError> => {
      if (body.failure !== undefined) return Result.fail(brokenBody(status, body))
      let json: unknown
      try {
        json = JSON.parse(body.text)
      } catch {
        json = undefined
      }
      const record = typeof json === "object" && json !== null && !Array.isArray(json) ? json as Record<string, unknown> : undefined
      if (record?.["object"] === "response" && Array.isArray(record["output"])) {
        // A `failed` response carries its error (`content_filter`, `server_error`…): classified as an error body's.
        if (record["status"] === "failed" && typeof record["error"] === "object" && record["error"] !== null) {
          const failure = ErrorBody.extract(record)!
          return Result.fail(ErrorBody.classify(context, ErrorBody.statusOf(failure), body.text, failure, undefined))
        }
        return Result.succeed({
          value: record,
          usage: ResponsesResponse.chatUsage(record["usage"]),
          contentFiltered: ResponsesResponse.contentFiltered(record),
          ...ResponsesResponse.described(record)
        })
      }
      const error = ErrorBody.parse(body.text)
      if (error !== undefined) return Result.fail(ErrorBody.classify(context, ErrorBody.statusOf(error), body.text, error, undefined))
      return Result.fail(ProviderError.malformedResponse(deployment.provider, deployment.id, status, "not a Responses API response", scrub(body.text)))
    }

    // Both are offered only where the deployment has a Responses endpoint (see the end of `make`).
    const responses = (body: Readonly<Record<string, unknown>>): Effect.Effect<LlmClient.Answer<Readonly<Record<string, unknown>>>, LlmError.LlmError> => {
      const post = HttpClientRequest.setBody(responsesTarget!, HttpBody.text(JSON.stringify({ ...body, model: deployment.model }), "application/json"))
      return Effect.flatMap(Effect.mapError(http.execute(post), transportFailure), (response) =>
        isOk(response.status)
          ? Effect.flatMap(Transport.readBody(response), (read) => Effect.fromResult(nativeResponse(response.status, read)))
          : failed(response))
    }

    /** The same, streamed: the typed events (`ResponsesEvents`), the request tied to the stream's scope as a chat stream's is. */
    const responsesStream = (body: Readonly<Record<string, unknown>>): Stream.Stream<ResponsesEvents.Event, LlmError.LlmError> =>
      Stream.unwrap(Effect.suspend(() => {
        const post = HttpClientRequest.setBody(
          responsesStreamTarget!,
          HttpBody.text(JSON.stringify({ ...body, model: deployment.model, stream: true }), "application/json")
        )
        return Effect.flatMap(Effect.mapError(streamingHttp.execute(post), transportFailure), (response) => {
          if (!isOk(response.status)) return failed(response)
          // A server that answered with one JSON body: its error, else not the stream asked for.
          if ((response.headers["content-type"] ?? "").includes("application/json")) {
            return Effect.flatMap(Transport.readBody(response), (read) =>
              Effect.flatMap(Effect.fromResult(nativeResponse(response.status, read)), () =>
                Effect.fail(ProviderError.malformedResponse(deployment.provider, deployment.id, response.status, "a whole response where a stream was asked for", scrub(read.text)))))
          }
          return Effect.succeed(ResponsesEvents.events(response.stream, { ...context, status: response.status, model: deployment.model }))
        })
      }))

    return responsesTarget === undefined ? { chat, stream } : { chat, stream, responses, responsesStream }
  })

const CHAT_PATH = "/chat/completions"
const AZURE_V1_CHAT_PATH = "/openai/v1/chat/completions"

/** The client for one deployment as a layer of the `LlmClient` service. */
export const layer = (deployment: Deployment.Deployment): Layer.Layer<LlmClient.LlmClient, never, HttpClient.HttpClient> =>
  Layer.effect(LlmClient.LlmClient, Effect.map(make(deployment), (service) => LlmClient.LlmClient.of(service)))

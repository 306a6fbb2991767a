/**
 * The Gemini adapter: an `LlmClient` for one deployment, speaking
 * `POST {base}/v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`
 * over `effect/http`, key in `x-goog-api-key`. No SDK: the router owns retries, and an
 * interrupted call aborts its HTTP request (effect's client does, when the fiber is
 * interrupted or the stream's scope closes).
 */
import { Cause, Clock, Effect, Redacted, Stream } from "effect"
import type { Deployment } from "@llm-router/core"
import { Chat, LlmClient, LlmError, ProviderError, RouteInfo } from "@llm-router/core"
import { Sse } from "effect/encoding"
import type { HttpClientError, HttpClientResponse } from "effect/http"
import { HttpClient, HttpClientRequest } from "effect/http"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as GeminiError from "./GeminiError.ts"
import * as GeminiRequest from "./GeminiRequest.ts"
import * as GeminiResponse from "./GeminiResponse.ts"
import * as GeminiWire from "./GeminiWire.ts"

/** LiteLLM's prefix for Google AI Studio models (`gemini/gemini-2.5-flash`). */
export const providers: ReadonlyArray<string> = ["gemini"]

/** `@google/genai`'s default `baseUrl`. */
export const DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
export const DEFAULT_API_VERSION = "v1beta"

const versionSuffix = /\/v\d+(?:alpha|beta)?\d*$/

/**
 * The endpoint for a deployment. `api_base` is the SDK's `baseUrl` (the version is appended);
 * a base that already ends in a version (`…/v1beta`) is taken as is. `api_version` (`v1`)
 * replaces `v1beta`. `models/…` and `tunedModels/…` names are used as given.
 */
export const endpoint = (deployment: Deployment.Deployment, stream: boolean): string =>
  methodUrl(deployment, stream ? "streamGenerateContent" : "generateContent")

/** The URL of one of the model's methods (`generateContent`, `batchEmbedContents`, ...). */
export const methodUrl = (deployment: Deployment.Deployment, method: string): string => {
  const base = (deployment.apiBase ?? DEFAULT_BASE_URL).replace(/\/+$/, "")
  const version = deployment.apiVersion !== undefined && /^v\d+(?:alpha|beta)?\d*$/.test(deployment.apiVersion)
    ? deployment.apiVersion
    : DEFAULT_API_VERSION
  const root = versionSuffix.test(base) ? base : `${base}/${version}`
  return `${root}/${modelPath(deployment.model)}:${method}`
}

/** A model's resource name: `models/…` and `tunedModels/…` as given, a bare name under `models/`. */
export const modelPath = (model: string): string => (/^(models|tunedModels)\//.test(model) ? model : `models/${model}`)

const stringRecord = (u: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  if (typeof u === "object" && u !== null) {
    for (const [k, v] of Object.entries(u)) if (typeof v === "string") out[k] = v
  }
  return out
}

/** The most useful words about a failed exchange: effect's description plus the socket error code. */
const describe = (error: HttpClientError.HttpClientError): string => {
  const reason = error.reason
  const parts: Array<string> = [reason.description ?? reason._tag]
  let cause: unknown = "cause" in reason ? reason.cause : undefined
  for (let depth = 0; depth < 4 && typeof cause === "object" && cause !== null; depth++) {
    const c = cause as { code?: unknown; message?: unknown; cause?: unknown }
    if (typeof c.code === "string") {
      parts.push(c.code)
      break
    }
    if (typeof c.message === "string" && c.message !== parts[0]) parts.push(c.message)
    cause = c.cause
  }
  return parts.join(": ")
}

/**
 * What every call to a deployment shares (generateContent, batchEmbedContents): headers with
 * the key, and the scrubbing and classification of its failures.
 */
export const connectionOf = (deployment: Deployment.Deployment) => {
  const headers: Record<string, string> = {
    ...stringRecord(deployment.params["extra_headers"]),
    "content-type": "application/json"
  }
  const secret = deployment.apiKey !== undefined ? Redacted.value(deployment.apiKey) : undefined
  if (secret !== undefined) headers["x-goog-api-key"] = secret
  /** An upstream (or a proxy before it) that echoes the key must not put it in our errors. */
  const scrub = (text: string): string =>
    secret !== undefined && secret.length > 0 && text.includes(secret) ? text.split(secret).join("[redacted]") : text
  const origin: GeminiError.Origin = { provider: deployment.provider, deployment: deployment.id, redact: scrub }
  const transportFailure = (error: HttpClientError.HttpClientError): LlmError.LlmError =>
    ProviderError.connectionFailed(origin.provider, origin.deployment, scrub(describe(error)))
  /** A non-2xx answer: read its body (what can be read) and classify it. */
  const failed = (response: HttpClientResponse.HttpClientResponse, now: number): Effect.Effect<never, LlmError.LlmError> =>
    response.text.pipe(
      Effect.orElseSucceed(() => ""),
      Effect.flatMap((body) =>
        Effect.fail(
          GeminiError.fromResponse(origin, response.status, body, ProviderError.retryAfterFromHeaders(response.headers, now))
        )
      )
    )
  return { headers, scrub, origin, transportFailure, failed }
}

export const make = (deployment: Deployment.Deployment): Effect.Effect<LlmClient.Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (http) => build(deployment, http))

const build = (deployment: Deployment.Deployment, http: HttpClient.HttpClient): LlmClient.Service => {
  const defaults: GeminiRequest.Defaults = {
    model: deployment.model,
    safetySettings: deployment.params["safety_settings"],
    reasoningEffort: deployment.params["reasoning_effort"]
  }
  const { headers, scrub, origin, transportFailure, failed } = connectionOf(deployment)
  const chatUrl = endpoint(deployment, false)
  const streamUrl = endpoint(deployment, true)

  const request = (body: GeminiWire.GenerateContentRequest, stream: boolean) =>
    HttpClientRequest.post(stream ? streamUrl : chatUrl, {
      headers,
      ...(stream ? { urlParams: { alt: "sse" } } : {})
    }).pipe(HttpClientRequest.bodyText(JSON.stringify(body), "application/json"))

  const send = (body: GeminiWire.GenerateContentRequest, stream: boolean) =>
    http.execute(request(body, stream)).pipe(Effect.mapError(transportFailure))

  const route = (began: number, now: number, usage: Chat.Usage | undefined, timeToFirstChunkMs?: number) =>
    RouteInfo.ofDeployment(deployment, now - began, usage, timeToFirstChunkMs)

  const translate = (request: Chat.ChatRequest) =>
    Effect.fromResult(GeminiRequest.fromChat(request, origin, defaults))

  const chat = (chatRequest: Chat.ChatRequest): Effect.Effect<LlmClient.Completion, LlmError.LlmError> =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const began = clock.currentTimeMillisUnsafe()
      const body = yield* translate(chatRequest)
      const response = yield* send(body, false)
      if (response.status < 200 || response.status >= 300) return yield* failed(response, clock.currentTimeMillisUnsafe())
      const text = yield* response.text.pipe(
        Effect.mapError((error) =>
          ProviderError.malformedResponse(origin.provider, origin.deployment, response.status, `the body was cut short (${describe(error)})`)
        )
      )
      const decoded = GeminiWire.decodeResponseJson(text)
      if (decoded._tag === "Failure") {
        return yield* ProviderError.malformedResponse(origin.provider, origin.deployment, response.status, "the body is not a GenerateContentResponse", scrub(text))
      }
      const now = clock.currentTimeMillisUnsafe()
      const translated = GeminiResponse.toChatResponse(decoded.success, origin, { created: Math.floor(now / 1000), model: deployment.model }, text)
      if (translated._tag === "Failure") return yield* translated.failure
      const answer = translated.success
      return { response: answer, route: route(began, now, answer.usage ?? undefined) }
    })

  const stream = (chatRequest: Chat.ChatRequest): Stream.Stream<LlmClient.StreamPart, LlmError.LlmError> =>
    Stream.unwrap(
      Effect.gen(function*() {
        const clock = yield* Clock.Clock
        const began = clock.currentTimeMillisUnsafe()
        const body = yield* translate(chatRequest)
        const response = yield* send(body, true)
        if (response.status < 200 || response.status >= 300) return yield* failed(response, clock.currentTimeMillisUnsafe())
        const answeredAt = clock.currentTimeMillisUnsafe()
        const translator = new GeminiResponse.StreamTranslator(origin, { created: Math.floor(answeredAt / 1000), model: deployment.model })
        return parts(response, translator, () => clock.currentTimeMillisUnsafe(), route(began, answeredAt, undefined), (now, ttfc) =>
          route(began, now, translator.usage, ttfc !== undefined ? ttfc - began : undefined))
      })
    )

  /**
   * The SSE body → `Start`, `Chunk`s, `Done`. Written as a pull loop over the body bytes with
   * `Sse.makeParser`, so each network read is parsed, translated and emitted in one step and
   * the end of the body (clean or not) is seen where it happens.
   */
  const parts = (
    response: HttpClientResponse.HttpClientResponse,
    translator: GeminiResponse.StreamTranslator,
    now: () => number,
    start: RouteInfo.RouteInfo,
    done: (now: number, firstChunkAt: number | undefined) => RouteInfo.RouteInfo
  ): Stream.Stream<LlmClient.StreamPart, LlmError.LlmError> =>
    Stream.transformPull(response.stream, (pull) =>
      Effect.sync(() => {
        const decoder = new TextDecoder()
        const out: Array<LlmClient.StreamPart> = [{ _tag: "Start", route: start }]
        let failure: LlmError.LlmError | undefined
        let ended = false
        let firstChunkAt: number | undefined
        const malformed = (detail: string, body?: string) =>
          ProviderError.malformedResponse(origin.provider, origin.deployment, response.status, detail, body)
        const parser = Sse.makeParser((event) => {
          if (failure !== undefined || event._tag !== "Event") return
          const decoded = GeminiWire.decodeResponseJson(event.data)
          if (decoded._tag === "Failure") {
            failure = malformed("a stream event is not a GenerateContentResponse", scrub(event.data))
            return
          }
          const chunks = translator.push(decoded.success, event.data)
          if (!Array.isArray(chunks)) {
            failure = chunks
            return
          }
          for (const chunk of chunks) {
            // The first chunk a caller sees as progress, reasoning included (as the router counts it).
            if (firstChunkAt === undefined && Chat.chunkHasContent(chunk)) firstChunkAt = now()
            out.push({ _tag: "Chunk", chunk })
          }
        })
        const feed = (text: string) => {
          const error = parser.feed(text)
          if (error !== undefined && failure === undefined) failure = malformed(error.message)
        }
        const finish = () => {
          ended = true
          // A last event without its blank line is still an event (a strict parser would drop it).
          feed(decoder.decode() + "\n\n")
          if (failure !== undefined) return
          const last = translator.end()
          if (!Array.isArray(last)) {
            failure = last
            return
          }
          for (const chunk of last) out.push({ _tag: "Chunk", chunk })
          out.push({ _tag: "Done", route: done(now(), firstChunkAt) })
        }
        const cut = (error: HttpClientError.HttpClientError) =>
          malformed(`the stream was cut short (${describe(error)})`)
        const step: Effect.Effect<NonEmptyReadonlyArray<LlmClient.StreamPart>, LlmError.LlmError | Cause.Done> =
          Effect.suspend(() => {
            if (out.length > 0) return Effect.succeed(out.splice(0, out.length) as unknown as NonEmptyReadonlyArray<LlmClient.StreamPart>)
            if (failure !== undefined) return Effect.fail(failure)
            if (ended) return Cause.done()
            return pull.pipe(
              Effect.matchEffect({
                onFailure: (error) => {
                  if (Cause.isDone(error)) finish()
                  else failure = cut(error)
                  return step
                },
                onSuccess: (bytes) => {
                  for (const chunk of bytes) feed(decoder.decode(chunk, { stream: true }))
                  return step
                }
              })
            )
          })
        return step
      })
    )

  return LlmClient.LlmClient.of({ chat, stream })
}

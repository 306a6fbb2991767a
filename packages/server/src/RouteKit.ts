/**
 * What the gateway hands a route that lives in a file of its own (the Responses API, Anthropic's
 * Messages API): the router, the body reader, the handler wrapper (request id, auth, errors in the
 * route's own shape, the HTTP metric), the scrubber, and streaming of the router's parts as
 * server-sent events, with the status and headers held until the first content (`sse`, which the
 * chat route uses too).
 */
import { Cause, Channel, Effect, Pull, Result, Stream } from "effect"
import type { Scope } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { type Chat, type LlmClient, type LlmError, SessionAffinity, WireJson } from "@llm-router/core"
import * as ApiError from "./ApiError.ts"
import * as RouteHeaders from "./RouteHeaders.ts"

export type Handler = (
  request: HttpServerRequest.HttpServerRequest,
  requestId: string,
  started: number
) => Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError.ApiError, Scope.Scope>

/** How a route speaks: the body of its errors, and where it reads the caller's key from. */
export interface Dialect {
  /** The JSON body of an error answer (its status is the error's). */
  readonly errorBody: (error: ApiError.ApiError) => object
  /** The caller's key as an `Authorization` header value, or `undefined` when it sent none. */
  readonly authorization: (request: HttpServerRequest.HttpServerRequest) => string | undefined
}

/** OpenAI's: errors as `{"error": {…}}`, the key as `Authorization: Bearer`. */
/** A JSON answer: the text an upstream answer was read from when that is known (`WireJson`), else serialized. */
export const json = (body: object, status: number, headers: Record<string, string>) =>
  HttpServerResponse.text(WireJson.stringify(body), { status, contentType: "application/json", headers })

export const openAiDialect: Dialect = { errorBody: ApiError.body, authorization: (request) => request.headers["authorization"] }

export interface RouteKit {
  readonly client: LlmClient.Service
  readonly readBody: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<Buffer, ApiError.ApiError>
  /** Takes secrets out of text that leaves the gateway. */
  readonly scrub: (text: string) => string
  /** Wraps a handler: request id, auth, errors in `dialect`'s shape, and the HTTP metric under `route`. */
  readonly handle: (
    route: string,
    dialect: Dialect,
    f: Handler
  ) => (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope>
  /** The caller's session id from its headers, for session affinity. */
  readonly sessionOf: (request: HttpServerRequest.HttpServerRequest) => string | undefined
  /** A deployment's configured base URL without credentials, for `x-litellm-model-api-base`. */
  readonly apiBaseOf: (deployment: string) => string | undefined
}

/**
 * `Stream.toPull` with its scope given, for a pull that one fiber reads in turn: without the
 * context merge and the semaphore `toPull` wraps around every pull (a copy of every service per
 * pull). A stream that fails while opening fails its first pull, as with `toPull`.
 */
export const pullIn = <A, E>(
  stream: Stream.Stream<A, E>,
  scope: Scope.Scope
): Effect.Effect<Pull.Pull<NonEmptyReadonlyArray<A>, E>> =>
  Effect.catchCause(Channel.toPullScoped(stream.channel, scope), (cause) => Effect.succeed(Effect.failCause(cause)))

/** Runs `effect` with the caller's session, when it named one. */
export const inSession = <A, E>(effect: Effect.Effect<A, E>, session: string | undefined): Effect.Effect<A, E> =>
  session === undefined ? effect : Effect.provideService(effect, SessionAffinity.SessionId, session)

/** Turns the router's stream parts (a chat's chunks, or another kind's items: `A`) into SSE text, step by step. */
export interface SseEncoder<A = Chat.ChatChunk> {
  /** The text for a batch of parts (empty when they say nothing to this client). */
  readonly parts: (batch: ReadonlyArray<LlmClient.Part<A>>) => string
  /** The text after the last part; may record the whole answer first. */
  readonly end: Effect.Effect<string>
  /** The text that ends a stream that failed after its headers went out. */
  readonly fail: (error: LlmError.LlmError) => string
  /** Whether the answer has ended early (after `parts`): the rest of the stream is not read. */
  readonly stopped?: () => boolean
}

const encoder = new TextEncoder()

/**
 * A streamed answer: the router's stream is opened in the request's scope and read up to its
 * first parts (the router holds them until the first content, so a failure before it has failed
 * over already, or is `onFailure`'s real error answer), then sent as SSE through `makeEncoder`,
 * with the route headers of the deployment that answers.
 */
export const sse = <A = Chat.ChatChunk>(options: {
  readonly stream: Stream.Stream<LlmClient.Part<A>, LlmError.LlmError>
  readonly session: string | undefined
  readonly requestId: string
  /** The serving deployment's configured base URL, for `x-litellm-model-api-base` (none: the header is left out). */
  readonly apiBaseOf?: (deployment: string) => string | undefined
  readonly onFailure: (error: LlmError.LlmError) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  readonly makeEncoder: () => SseEncoder<A>
}): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope> => {
  const stream = options.session === undefined
    ? options.stream
    : Stream.provideService(options.stream, SessionAffinity.SessionId, options.session)
  return Effect.flatMap(Effect.flatMap(Effect.scope, (scope) => pullIn(stream, scope)), (pull) =>
    Effect.flatMap(Effect.result(Pull.catchDone(pull, () => Effect.succeed(undefined))), (first) => {
      if (Result.isFailure(first)) return options.onFailure(first.failure)
      const firstParts = first.success ?? []
      const start = firstParts[0]?._tag === "Start" ? firstParts[0].route : undefined
      const sse = options.makeEncoder()
      let pending = sse.parts(firstParts)
      let finished = first.success === undefined
      let ended = false
      const body: Pull.Pull<readonly [Uint8Array]> = Effect.suspend(function loop(): Pull.Pull<readonly [Uint8Array]> {
        if (pending.length > 0) {
          const out = pending
          pending = ""
          return Effect.succeed([encoder.encode(out)] as const)
        }
        if (finished) {
          if (ended) return Cause.done()
          ended = true
          return Effect.flatMap(sse.end, (text) => {
            pending = text
            return loop()
          })
        }
        return Effect.matchEffect(pull, {
          onFailure: (error) => {
            finished = true
            if (!Cause.isDone(error)) {
              ended = true
              pending = sse.fail(error)
            }
            return loop()
          },
          onSuccess: (parts) => {
            pending = sse.parts(parts)
            if (sse.stopped?.() === true) finished = ended = true
            return loop()
          }
        })
      })
      const headers: Record<string, string> = start !== undefined
        ? RouteHeaders.ofRoute(start, options.requestId, options.apiBaseOf?.(start.deployment))
        : { [RouteHeaders.names.requestId]: options.requestId }
      return Effect.succeed(HttpServerResponse.stream(Stream.fromPull(Effect.succeed(body)), {
        contentType: "text/event-stream",
        headers: { ...headers, "cache-control": "no-cache", "x-accel-buffering": "no" }
      }))
    }))
}

/**
 * How a provider adapter ties a streamed call's HTTP request to the stream, so that a consumer
 * who stops early (or is interrupted) aborts the upstream request at once.
 *
 * `HttpClient.withScope` does it for clients made with `HttpClient.make`, but pays on every
 * request, not only the dropped ones: an `AbortController`, a finalizer, and at the end an
 * `abort()` whose `DOMException` captures a stack trace. That was about 80 µs of CPU per
 * streamed request through the gateway (`bench/gateway/inprocess.ts --stream --compare`,
 * paired). A client whose body stream aborts its request when the stream is closed gains
 * nothing from it, since the adapters read a streamed answer's body as a `stream` in the
 * stream's own scope; such a client carries `AbortsWhenBodyStreamCloses`, and `forStreams`
 * leaves it as it is. Any other client, or a marked one transformed by an `HttpClient`
 * combinator (which makes a new, unmarked client), gets `withScope`.
 */
import { Effect, type Scope } from "effect"
import { HttpClient, type HttpClientError } from "effect/http"

/** Marks a client whose body stream, closed before its end, aborts the request. */
export const AbortsWhenBodyStreamCloses: unique symbol = Symbol.for(
  "@llm-router/core/StreamingHttp/AbortsWhenBodyStreamCloses"
)

/** `client`, marked: only for a client that keeps the promise above. */
export const markAbortsWhenBodyStreamCloses = <C extends HttpClient.HttpClient>(client: C): C =>
  Object.assign(client, { [AbortsWhenBodyStreamCloses]: true })

export const abortsWhenBodyStreamCloses = (client: HttpClient.HttpClient): boolean =>
  (client as { readonly [AbortsWhenBodyStreamCloses]?: boolean })[AbortsWhenBodyStreamCloses] === true

/** The client a streamed call should use: `client` when it aborts by itself, else `withScope(client)`. */
export const forStreams = (
  client: HttpClient.HttpClient
): HttpClient.HttpClient.With<HttpClientError.HttpClientError, Scope.Scope> =>
  abortsWhenBodyStreamCloses(client)
    // Needing no `Scope`, it runs as well where one is provided (`With` is invariant in it).
    ? client as unknown as HttpClient.HttpClient.With<HttpClientError.HttpClientError, Scope.Scope>
    : HttpClient.withScope(client)

/**
 * How long the end of a body may take to follow the end of the answer (OpenAI's `[DONE]`,
 * Anthropic's `message_stop`) before the request is aborted. The end is usually in the same
 * read; when it is not (the last chunk of a chunked body sent in a packet of its own, as many
 * servers do), it is a network hop behind. Reading it keeps the connection for the next call;
 * aborting closes it, so the next call to that provider pays for a new connection (a TLS
 * handshake, over the internet). Through the gateway, with the end one event-loop turn late,
 * draining saved about 1.1 ms of CPU per streamed request (`bench/gateway/inprocess.ts
 * --stream --paced`, paired). A plain timer, as for the request body's deadline: it bounds
 * an I/O wait that only the network can end, not the router's time.
 */
export const DRAIN_AFTER_END_MS = 50

const drainLimit: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), DRAIN_AFTER_END_MS)
  return Effect.sync(() => clearTimeout(timer))
})

/**
 * Reads and discards what is left of a body after the answer's end, until the body ends or
 * fails, or `DRAIN_AFTER_END_MS` pass. For a stream's finalizer: the answer has gone already.
 */
export const drainRest = (pull: Effect.Effect<unknown, unknown>): Effect.Effect<void> => {
  const drain: Effect.Effect<void> = Effect.catchCause(Effect.flatMap(pull, () => drain), () => Effect.void)
  return Effect.raceFirst(drain, drainLimit)
}

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
import type { Scope } from "effect"
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

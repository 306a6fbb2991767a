/**
 * An `HttpClient` straight onto undici's `Dispatcher`, for the calls a gateway makes on every
 * request. `NodeHttpClient.makeUndici` (through `HttpClient.make`) pays, per call, for a parsed
 * `URL`, an `AbortController` whose signal undici listens to, a `FinalizationRegistry` entry that
 * aborts a response dropped unread, a Node `Readable` for the body, and a wrapper response;
 * together about 60 µs of CPU per proxied request, a third of the gateway's own cost (measured in
 * `bench/gateway`). This client dispatches with undici's handler API and keeps the body in the
 * handler: a URL is parsed once per distinct address, an abort is a call on undici's controller,
 * and a body is a list of buffers.
 *
 * What it keeps of `HttpClient`'s contract:
 * - Interrupting the call while it waits for the response head aborts the request; so does
 *   interrupting a body read (`text`, `json`, `arrayBuffer`, …), or closing a body `stream`
 *   before it ends (a consumer that stops early, or whose scope closes).
 * - A body nobody reads is buffered up to `highWaterMark`, then the connection is paused; a
 *   paused response that is dropped is aborted when it is garbage collected, as with `make`.
 * - Transport failures are `TransportError`s, failures while reading a body `DecodeError`s.
 * - A body read whole (`text`, `json`, `arrayBuffer`, …) may have `ResponseLimit.MaxResponseBytes`
 *   (the caller's): past them the request is aborted and the read fails with a `DecodeError`
 *   caused by `ResponseLimit.ResponseTooLarge`. Body streams are not bounded.
 *
 * What it hands to the stock client (`fallback`) instead, to keep their exact behaviour:
 * streamed and multipart request bodies, and upgrades. Spans: made with `spans: true` (see
 * `Providers.layerHttpClient`), as the stock client makes them: a client span per call named by
 * `HttpClient.SpanNameGenerator`, with `http.*`, `url.*` and `server.*` attributes (URL redacted
 * as `UrlParams.CurrentRedactedNames` says), `traceparent` sent on, ended when the response head
 * arrives, failed for a 4xx or 5xx; `HttpClient.TracerDisabledWhen` and
 * `Tracer.DisablePropagation` are honoured. `HttpClient.withScope` has
 * no hold on it (Effect keeps scoped requests private to `HttpClient.make`), so a caller that
 * must abort when a scope closes reads the body as a `stream` in that scope, which does; the
 * client is marked as doing so (`StreamingHttp`), and the adapters skip `withScope` for it.
 */
import type * as Undici from "@effect/platform-node/Undici"
import { ResponseLimit, StreamingHttp } from "@llm-router/core"
import { Cause, Channel, Clock, Effect, Exit, Inspectable, Option, Result, type Schema, Scope, Stream, Tracer } from "effect"
import { identity } from "effect/Function"
import { pipeArguments } from "effect/Pipeable"
import type { Pull } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import {
  Cookies,
  Headers,
  HttpClient,
  HttpClientError,
  HttpClientRequest,
  HttpClientResponse,
  HttpIncomingMessage,
  HttpTraceContext,
  Url,
  UrlParams
} from "effect/http"

export interface Options {
  /** Bytes of unread body buffered before the connection is paused. Default 1 MiB. */
  readonly highWaterMark?: number | undefined
  /** Make a client span per call (when a tracer is installed). Default false: no per-call check. */
  readonly spans?: boolean | undefined
}

/** A client on `dispatcher`; requests it does not handle itself go to `fallback`. */
export const make = (
  dispatcher: Undici.Dispatcher,
  fallback: HttpClient.HttpClient,
  options: Options = {}
): HttpClient.HttpClient => {
  const highWaterMark = options.highWaterMark ?? 1024 * 1024
  const targets = new TargetCache()
  const execute = (request: HttpClientRequest.HttpClientRequest, maxBodyBytes: number) => {
    const body = request.body
    if (
      (body._tag !== "Empty" && body._tag !== "Uint8Array" && body._tag !== "Raw") ||
      (body._tag === "Raw" && typeof body.body !== "string" && !(body.body instanceof Uint8Array)) ||
      request.headers["upgrade"] !== undefined
    ) {
      return fallback.execute(request)
    }
    const target = targets.get(request)
    if (Result.isFailure(target)) {
      return Effect.fail(
        new HttpClientError.HttpClientError({
          reason: new HttpClientError.InvalidUrlError({ request, cause: target.failure })
        })
      )
    }
    const payload = body._tag === "Empty" ? null : body.body as string | Uint8Array
    const limits: Limits = { highWaterMark, maxBodyBytes }
    return options.spans === true
      ? traced(request, target.success, (traced) => dispatch(dispatcher, traced, target.success, payload, limits))
      : dispatch(dispatcher, request, target.success, payload, limits)
  }
  // Its body streams abort their request when closed early, so the adapters need not pay for
  // `withScope` on streams (which has no hold on this client anyway).
  return StreamingHttp.markAbortsWhenBodyStreamCloses(HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest, HttpClientError.HttpClientError>) =>
      // The caller's bound on a body read whole (see `ResponseLimit`), read where it calls.
      Effect.withFiber((fiber) => Effect.flatMap(request, (r) => execute(r, fiber.getRef(ResponseLimit.MaxResponseBytes)))),
    Effect.succeed
  ))
}

// ---------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------

interface Target {
  readonly origin: string
  readonly path: string
  /** The URL without its hash, as `HttpClientResponse.url` reports it. */
  readonly href: string
  /** The parsed URL, for span attributes. */
  readonly url: URL
}

/**
 * Parsed addresses by request URL (and query): a gateway calls a handful of endpoints, so each
 * is parsed once. Bounded, so a caller that builds a fresh URL per request cannot grow it.
 */
class TargetCache {
  private readonly byKey = new Map<string, Target>()
  get(request: HttpClientRequest.HttpClientRequest): Result.Result<Target, unknown> {
    const plain = request.urlParams.params.length === 0 && Option.isNone(request.hash)
    const key = plain
      ? request.url
      : `${request.url}\u0000${UrlParams.toString(request.urlParams)}\u0000${Option.getOrElse(request.hash, () => "")}`
    const cached = this.byKey.get(key)
    if (cached !== undefined) return Result.succeed(cached)
    const url = Url.make(request.url, request.urlParams, Option.getOrUndefined(request.hash))
    if (Result.isFailure(url)) return Result.fail(url.failure)
    const target: Target = {
      origin: url.success.origin,
      path: url.success.pathname + url.success.search,
      href: url.success.href.split("#")[0]!,
      url: url.success
    }
    if (this.byKey.size >= 512) this.byKey.clear()
    this.byKey.set(key, target)
    return Result.succeed(target)
  }
}

// ---------------------------------------------------------------------------------------
// Spans
// ---------------------------------------------------------------------------------------

const defaultPorts: Readonly<Record<string, number>> = { "http:": 80, "https:": 443 }

/** `call` inside a client span, given the request with `traceparent` (as `HttpClient.make` does). */
const traced = (
  request: HttpClientRequest.HttpClientRequest,
  target: Target,
  call: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  Effect.withFiber((fiber) => {
    if (fiber.getRef(Tracer.DisablePropagation) || fiber.getRef(HttpClient.TracerDisabledWhen)(request)) return call(request)
    return Effect.flatMap(Effect.makeSpan(fiber.getRef(HttpClient.SpanNameGenerator)(request), { kind: "client" }), (span) => {
      const url = target.url
      const redacted = fiber.getRef(UrlParams.CurrentRedactedNames)
      span.attribute("http.request.method", request.method)
      span.attribute("url.full", UrlParams.redactUrl(target.href, redacted))
      span.attribute("url.path", url.pathname)
      if (url.search !== "") span.attribute("url.query", UrlParams.redactUrl(url.search, redacted).slice(1))
      span.attribute("url.scheme", url.protocol.slice(0, -1))
      span.attribute("server.address", url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname)
      const port = url.port === "" ? defaultPorts[url.protocol] : Number(url.port)
      if (port !== undefined) span.attribute("server.port", port)
      const sent = fiber.getRef(HttpClient.TracerPropagationEnabled)
        ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span))
        : request
      const clock = fiber.getRef(Clock.Clock)
      return call(sent).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (Exit.isFailure(exit)) return span.end(clock.currentTimeNanosUnsafe(), exit)
            const status = exit.value.status
            span.attribute("http.response.status_code", status)
            // OpenTelemetry marks a client span failed for a 4xx or 5xx; the call itself succeeds.
            if (status < 400) return span.end(clock.currentTimeNanosUnsafe(), exit)
            span.attribute("error.type", String(status))
            span.end(
              clock.currentTimeNanosUnsafe(),
              Exit.fail(new HttpClientError.HttpClientError({ reason: new HttpClientError.StatusCodeError({ request, response: exit.value }) }))
            )
          })
        )
      )
    })
  })

// ---------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------

interface Limits {
  /** Bytes of unread body buffered before the connection is paused. */
  readonly highWaterMark: number
  /** Bytes a body read whole may have (`ResponseLimit.MaxResponseBytes`). */
  readonly maxBodyBytes: number
}

/** One shared reason: an abort needs no stack trace of its own. */
const interrupted = new Error("the HTTP request was interrupted")

const dispatch = (
  dispatcher: Undici.Dispatcher,
  request: HttpClientRequest.HttpClientRequest,
  target: Target,
  body: string | Uint8Array | null,
  limits: Limits
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  Effect.callback((resume) => {
    const exchange = new Exchange(request, target.href, limits, (response) => resume(Effect.succeed(response)), (cause) =>
      resume(Effect.fail(
        new HttpClientError.HttpClientError({ reason: new HttpClientError.TransportError({ request, cause }) })
      )))
    try {
      dispatcher.dispatch({
        origin: target.origin,
        path: target.path,
        method: request.method as Undici.Dispatcher.HttpMethod,
        headers: request.headers,
        body,
        // Timeouts are the caller's (the router's deadline); undici's would race them, and
        // each request would arm one more timer.
        headersTimeout: 0,
        bodyTimeout: 0
      }, exchange)
    } catch (cause) {
      exchange.onResponseError(undefined, cause as Error)
    }
    // Runs only when the caller is interrupted before the response head arrived.
    return Effect.sync(() => exchange.abort())
  })

/**
 * One request and its response body, as undici's dispatch handler: the head resolves the
 * call; body chunks wait in `chunks` until a reader takes them (a stream) or the body ends
 * (a whole-body read, which any number of readers may await).
 */
class Exchange implements Undici.Dispatcher.DispatchHandler {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly href: string
  private readonly limits: Limits
  private readonly onHead: (response: Response) => void
  private readonly onFailure: (cause: unknown) => void
  private controller: Undici.Dispatcher.DispatchController | undefined
  private aborted = false
  private headed = false
  private paused = false
  /** Weak: undici holds the exchange while the body flows, and must not keep a dropped response alive. */
  private response: WeakRef<Response> | undefined
  /** The response whose head has arrived but not yet been handed over (see `onResponseStart`). */
  private heldHead: Response | undefined
  private chunks: Array<Buffer> = []
  private buffered = 0
  /** Set once the body has ended or failed. */
  end: "ended" | { readonly cause: unknown } | undefined
  /** The stream reader waiting for more body (or its end). */
  private streamWaiter: (() => void) | undefined
  /** Whole-body readers waiting for the end; `undefined` until the first one comes. */
  private wholeWaiters: Set<() => void> | undefined

  constructor(
    request: HttpClientRequest.HttpClientRequest,
    href: string,
    limits: Limits,
    onHead: (response: Response) => void,
    onFailure: (cause: unknown) => void
  ) {
    this.request = request
    this.href = href
    this.limits = limits
    this.onHead = onHead
    this.onFailure = onFailure
  }

  abort(): void {
    if (this.aborted) return
    this.aborted = true
    this.controller?.abort(interrupted)
  }

  onRequestStart(controller: Undici.Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.aborted) controller.abort(interrupted)
  }

  onResponseStart(
    _controller: Undici.Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | Array<string> | undefined>
  ): void {
    if (statusCode < 200) return // 1xx: informational, the real head follows
    this.headed = true
    const response = new Response(this, statusCode, headers)
    this.response = new WeakRef(response)
    // The head is handed over when undici is done with what has arrived (a microtask), or at
    // the body's end if that comes first. A small answer usually arrives whole in one read, so
    // its reader finds the body complete and reads it in the same step instead of waiting again.
    this.heldHead = response
    queueMicrotask(() => this.releaseHead())
  }

  private releaseHead(): void {
    const response = this.heldHead
    if (response === undefined) return
    this.heldHead = undefined
    this.onHead(response)
  }

  onResponseData(controller: Undici.Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    if (this.wholeWaiters !== undefined && this.buffered > this.limits.maxBodyBytes) return this.tooLarge()
    if (this.streamWaiter !== undefined) {
      const waiter = this.streamWaiter
      this.streamWaiter = undefined
      waiter()
    } else if (this.wholeWaiters === undefined && this.buffered >= this.limits.highWaterMark && !this.paused) {
      this.paused = true
      controller.pause()
      // Nobody is reading: if the response is dropped as it is, free its connection
      // (at once when it has been collected already).
      const response = this.response?.deref()
      if (response !== undefined) droppedResponses.register(response, this, this)
      else this.abort()
    }
  }

  onResponseEnd(): void {
    this.finish("ended")
  }

  onResponseError(_controller: Undici.Dispatcher.DispatchController | undefined, error: Error): void {
    if (!this.headed) {
      this.headed = true
      this.onFailure(error)
      return
    }
    this.finish({ cause: error })
  }

  /** A body read whole that outgrew its bound: the request is aborted and its readers fail. */
  private tooLarge(): void {
    this.chunks = []
    this.buffered = 0
    // Its readers learn why before undici reports the abort (which then changes nothing).
    this.finish({ cause: new ResponseLimit.ResponseTooLarge(this.limits.maxBodyBytes) })
    this.abort()
  }

  private finish(end: NonNullable<Exchange["end"]>): void {
    if (this.end !== undefined) return
    this.end = end
    this.releaseHead()
    const waiter = this.streamWaiter
    this.streamWaiter = undefined
    waiter?.()
    const waiters = this.wholeWaiters
    if (waiters !== undefined) {
      this.wholeWaiters = new Set()
      for (const w of waiters) w()
    }
  }

  private unpause(): void {
    if (!this.paused) return
    this.paused = false
    droppedResponses.unregister(this)
    this.controller?.resume()
  }

  /** Stream reading: takes what has arrived, letting a paused connection go on. */
  take(): Array<Buffer> {
    const chunks = this.chunks
    this.chunks = []
    this.buffered = 0
    this.unpause()
    return chunks
  }

  /** Stream reading: `wake` runs once when more body (or its end) arrives. */
  awaitData(wake: () => void): void {
    this.streamWaiter = wake
  }

  stopAwaitingData(): void {
    this.streamWaiter = undefined
  }

  /** The body so far, in one buffer (the whole body, once `end` is "ended"). */
  collected(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks)]
    return this.chunks[0]!
  }

  /**
   * Whole-body reading: `done` runs once the body ends or fails. The returned function
   * withdraws it (an interrupted reader); when the last reader withdraws before the end,
   * the request is aborted, and later reads fail as the body did.
   */
  awaitEnd(done: () => void): () => void {
    const waiters = this.wholeWaiters ??= new Set()
    waiters.add(done)
    if (this.buffered > this.limits.maxBodyBytes) this.tooLarge()
    else this.unpause()
    return () => {
      if (waiters.delete(done) && waiters.size === 0 && this.end === undefined) this.abort()
    }
  }
}

const utf8 = (bytes: Buffer): string => bytes.toString("utf8")

const droppedResponses = new FinalizationRegistry<Exchange>((exchange) => exchange.abort())

// ---------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------

class Response extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId] = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId] = HttpIncomingMessage.TypeId
  private cachedHeaders: Headers.Headers | undefined
  private cachedCookies: Cookies.Cookies | undefined
  private readonly exchange: Exchange
  readonly status: number
  private readonly rawHeaders: Record<string, string | Array<string> | undefined>

  constructor(exchange: Exchange, status: number, rawHeaders: Record<string, string | Array<string> | undefined>) {
    super()
    this.exchange = exchange
    this.status = status
    this.rawHeaders = rawHeaders
  }

  get request(): HttpClientRequest.HttpClientRequest {
    return this.exchange.request
  }
  get url(): string {
    return this.exchange.href
  }
  get headers(): Headers.Headers {
    return this.cachedHeaders ??= Headers.fromInput(this.rawHeaders)
  }
  get cookies(): Cookies.Cookies {
    const header = this.rawHeaders["set-cookie"]
    return this.cachedCookies ??= header === undefined ? Cookies.empty : Cookies.fromSetCookie(header)
  }
  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  private decodeError(cause: unknown): HttpClientError.HttpClientError {
    return new HttpClientError.HttpClientError({
      reason: new HttpClientError.DecodeError({ request: this.request, response: this, cause })
    })
  }

  /**
   * The whole body, through `decode` in the same step (every non-streamed call reads its body
   * here, and a `map` would be a step of its own). Readers share one read; a read interrupted
   * alone aborts the request.
   */
  private whole<A>(decode: (bytes: Buffer) => A): Effect.Effect<A, HttpClientError.HttpClientError> {
    const exchange = this.exchange
    return Effect.callback((resume) => {
      const finish = () => {
        const end = exchange.end!
        if (end !== "ended") return resume(Effect.fail(this.decodeError(end.cause)))
        let decoded: Effect.Effect<A>
        try {
          decoded = Effect.succeed(decode(exchange.collected()))
        } catch (defect) {
          // A defect, as when a `map` throws (a body too long for a string, say).
          decoded = Effect.die(defect)
        }
        resume(decoded)
      }
      if (exchange.end !== undefined) return finish()
      const withdraw = exchange.awaitEnd(finish)
      return Effect.sync(withdraw)
    })
  }
  private get bytes(): Effect.Effect<Buffer, HttpClientError.HttpClientError> {
    return this.whole(identity)
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.HttpClientError> {
    return Effect.map(this.bytes, (bytes) =>
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
  }
  get text(): Effect.Effect<string, HttpClientError.HttpClientError> {
    return this.whole(utf8)
  }
  get json(): Effect.Effect<Schema.Json, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: (): Schema.Json => (text === "" ? null : JSON.parse(text)),
        catch: (cause) => this.decodeError(cause)
      }))
  }
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        // A leading "?" is form data; URLSearchParams would drop it as a query prefix.
        try: () => UrlParams.fromInput(new URLSearchParams(text.replace(/^\?/, "%3F"))),
        catch: (cause) => this.decodeError(cause)
      }))
  }
  get formData(): Effect.Effect<FormData, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.bytes, (bytes) =>
      Effect.tryPromise({
        try: () => new globalThis.Response(new Uint8Array(bytes), { headers: this.headers as Record<string, string> }).formData(),
        catch: (cause) => this.decodeError(cause)
      }))
  }
  get upgrade(): Effect.Effect<never, HttpClientError.HttpClientError> {
    // Upgrade requests go to the fallback client; this answer is never a `101`.
    return Effect.fail(
      new HttpClientError.HttpClientError({
        reason: new HttpClientError.StatusCodeError({ request: this.request, response: this })
      })
    )
  }

  /** The body as it arrives. Closing the stream before the body ends aborts the request. */
  get stream(): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    const exchange = this.exchange
    const response = this
    return Stream.fromChannel(Channel.fromTransform((_upstream, scope) =>
      Effect.as(
        Scope.addFinalizer(scope, Effect.sync(() => {
          exchange.stopAwaitingData()
          if (exchange.end === undefined) exchange.abort()
        })),
        Effect.suspend(function pull(): Pull.Pull<NonEmptyReadonlyArray<Uint8Array>, HttpClientError.HttpClientError> {
          const chunks = exchange.take()
          if (chunks.length > 0) return Effect.succeed(chunks as unknown as NonEmptyReadonlyArray<Uint8Array>)
          const end = exchange.end
          if (end === "ended") return Cause.done()
          if (end !== undefined) return Effect.fail(response.decodeError(end.cause))
          return Effect.flatMap(Effect.callback<void>((resume) => {
            exchange.awaitData(() => resume(Effect.void))
          }), pull)
        })
      )
    ))
  }

  pipe() {
    return pipeArguments(this, arguments)
  }

  toJSON(): unknown {
    return { _id: "HttpClientResponse", request: this.request.toJSON(), url: this.url, status: this.status }
  }
}

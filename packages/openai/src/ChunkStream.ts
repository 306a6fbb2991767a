/**
 * A streamed answer's body as chunks: bytes → text → SSE events (`effect/encoding` `Sse`) →
 * `ChatChunk`s, ending at `data: [DONE]`. An error event after the 200 fails the stream
 * with the matching `LlmError` (after the chunks before it); a body that ends or breaks
 * before `[DONE]` fails it too, so a cut stream is never mistaken for a finished one.
 *
 * The three steps run in one stage over the body: each pull decodes a batch of bytes
 * (`TextDecoder`, streaming) and feeds Effect's own SSE parser (`Sse.makeParser`), exactly
 * as `Stream.decodeText` and `Sse.decode` would, without a stream stage per step.
 */
import { type Chat, LlmError, ProviderError, StreamingHttp } from "@llm-router/core"
import { Cause, Clock, Effect, Pull, Scope, Stream } from "effect"
import type * as Arr from "effect/Array"
import { Sse } from "effect/encoding"
import type { HttpClientError } from "effect/http"
import * as ErrorBody from "./ErrorBody.ts"
import * as ResponseBody from "./ResponseBody.ts"

export interface Context extends ErrorBody.Context {
  readonly status: number
  readonly model: string
}

/** What the caller needs for the final route; filled in as chunks pass. */
export interface Progress {
  usage: Chat.Usage | undefined
  firstChunkAt: number | undefined
}

const FIRST_BYTES = 512
const decodeStreaming = { stream: true } as const

/**
 * The SSE events of a body, pulled in batches (the events of each batch of bytes), exactly as
 * `Stream.decodeText()` then `Sse.decode()` produce them: UTF-8 decoded in streaming mode,
 * then Effect's own parser; a `retry:` directive fails the pull after the events before it.
 * `onText` sees every decoded piece of text, in order.
 */
export const events = (
  pullBytes: Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, HttpClientError.HttpClientError>,
  onText: (text: string) => void
): Pull.Pull<Arr.NonEmptyReadonlyArray<Sse.Event>, HttpClientError.HttpClientError | Sse.Retry | Sse.SseError> => {
  const decoder = new TextDecoder()
  let parsed: Array<Sse.Event> = []
  let retry: Sse.Retry | undefined
  let bodyEnded = false
  const parser = Sse.makeParser((event) => {
    if (event._tag === "Retry") retry = event
    else parsed.push(event)
  })
  const feed = (text: string): Sse.SseError | undefined => {
    onText(text)
    return parser.feed(text)
  }
  type Events = Pull.Pull<Arr.NonEmptyReadonlyArray<Sse.Event>, HttpClientError.HttpClientError | Sse.Retry | Sse.SseError>
  return Effect.suspend(function loop(): Events {
    if (parsed.length > 0) {
      const out = parsed as unknown as Arr.NonEmptyReadonlyArray<Sse.Event>
      parsed = []
      return Effect.succeed(out)
    }
    if (retry !== undefined) return Effect.fail(retry)
    if (bodyEnded) return Cause.done()
    // One step per pull of bytes (this runs for every chunk): feed the batch, or the end, to the parser.
    return Effect.matchEffect(pullBytes, {
      onFailure: (error): Events => {
        if (!Cause.isDone(error)) return Effect.fail(error)
        bodyEnded = true
        const sseError = feed(decoder.decode())
        return sseError === undefined ? loop() : Effect.fail(sseError)
      },
      onSuccess: (batch) => {
        for (const bytes of batch) {
          const error = feed(decoder.decode(bytes, decodeStreaming))
          if (error !== undefined) return Effect.fail(error)
        }
        return loop()
      }
    })
  })
}

/**
 * How a streamed body fails, for one stream: a body that is not the documented events
 * (`malformed`, with the first bytes as its excerpt) and a connection or SSE failure
 * (`upstreamFailure`); `onText` keeps the first bytes as they are decoded. Keys scrubbed.
 */
export const failures = (context: Context) => {
  let firstBytes = ""
  const malformed = (detail: string, bytes: string = firstBytes) =>
    ProviderError.malformedResponse(
      context.provider,
      context.deployment,
      context.status,
      detail,
      ErrorBody.scrub(bytes, context.secret)
    )
  const connectionLost = (error: HttpClientError.HttpClientError): LlmError.LlmError => {
    const excerpt = ProviderError.excerpt(ErrorBody.scrub(firstBytes, context.secret))
    const detail = ErrorBody.scrub(ErrorBody.describeCause(error.reason.cause ?? error.reason._tag), context.secret)
    return new LlmError.ConnectionFailed({
      provider: context.provider,
      deployment: context.deployment,
      status: context.status,
      message: `${context.provider} (${context.deployment}) broke off the stream: ${detail}`,
      ...(excerpt !== undefined ? { body: excerpt } : {})
    })
  }
  return {
    malformed,
    upstreamFailure: (error: HttpClientError.HttpClientError | Sse.Retry | Sse.SseError): LlmError.LlmError =>
      error._tag === "HttpClientError"
        ? connectionLost(error)
        : malformed(error._tag === "SseError" ? error.message : "an unexpected SSE `retry:` directive"),
    onText: (text: string) => {
      if (firstBytes.length < FIRST_BYTES) firstBytes = (firstBytes + text).slice(0, FIRST_BYTES)
    }
  }
}

/** What `SseBody.read` says of one event: the stream's last was read, it ends here (see `sseBody`). */
export const Ended = "Ended" as const

/** How a streamed body's SSE events are read into its output (see `sseBody`). */
export interface SseBody<A> {
  /** Why a body that ends before its last event is malformed: "the stream ended before …". */
  readonly endedEarly: string
  /**
   * Reads one event, pushing what it yields onto `out`: `undefined` to read on, `Ended` after
   * the last event, or the `LlmError` the stream fails with (after the output before it).
   */
  readonly read: (
    event: Sse.Event,
    out: Array<A>,
    malformed: (detail: string, bytes?: string) => LlmError.LlmError
  ) => LlmError.LlmError | typeof Ended | undefined
  /** Runs on each non-empty batch of output before it is emitted. */
  readonly emitted?: (out: Arr.NonEmptyReadonlyArray<A>) => Effect.Effect<Arr.NonEmptyReadonlyArray<A>>
}

/**
 * A streamed body as its output, event by event (`read`), in one stage over the body: it ends
 * after the last event (then the rest of the body is read, briefly, so the connection is kept:
 * see `drainRest`), and fails with an error event's `LlmError` after the output before it, or
 * as malformed if the body ends or breaks before its last event. The chat stream (`chunks`) and
 * the Responses API's events (`ResponsesEvents`) are both read so.
 */
export const sseBody = <A>(
  body: Stream.Stream<Uint8Array, HttpClientError.HttpClientError>,
  context: Context,
  options: SseBody<A>
): Stream.Stream<A, LlmError.LlmError> =>
  Stream.suspend(() => {
    const { malformed, upstreamFailure, onText } = failures(context)
    const { endedEarly, emitted, read } = options

    return Stream.transformPull(body, (pullBytes, scope) => {
      const pull = events(pullBytes, onText)
      let finished = false
      let sawLast = false
      let pending: LlmError.LlmError | undefined
      const drainAfterLast = Effect.suspend(() => (sawLast ? StreamingHttp.drainRest(pullBytes) : Effect.void))
      const next: Effect.Effect<Arr.NonEmptyReadonlyArray<A>, LlmError.LlmError | Cause.Done> = Effect.suspend(() => {
        if (pending !== undefined) {
          const error = pending
          pending = undefined
          finished = true
          return Effect.fail(error)
        }
        if (finished) return Cause.done()
        return Effect.matchEffect(pull, {
          onFailure: (error) => Effect.fail(Cause.isDone(error) ? malformed(endedEarly) : upstreamFailure(error)),
          onSuccess: (batch) => {
            const out: Array<A> = []
            for (const event of batch) {
              const outcome = read(event, out, malformed)
              if (outcome === undefined) continue
              if (outcome === Ended) finished = sawLast = true
              else pending = outcome
              break
            }
            if (out.length === 0) return next
            const batchOut = out as unknown as Arr.NonEmptyReadonlyArray<A>
            return emitted === undefined ? Effect.succeed(batchOut) : emitted(batchOut)
          }
        })
      })
      return Effect.as(Scope.addFinalizer(scope, drainAfterLast), next)
    })
  })

export const chunks = (
  body: Stream.Stream<Uint8Array, HttpClientError.HttpClientError>,
  context: Context,
  progress: Progress
): Stream.Stream<Chat.ChatChunk, LlmError.LlmError> =>
  sseBody<Chat.ChatChunk>(body, context, {
    endedEarly: "the stream ended before `data: [DONE]`",
    read: (event, out, malformed) => {
      if (event.data === "[DONE]") return Ended
      if (event.data === "") return undefined
      // Some servers name their error events (`event: error`) and send a bare message.
      const read: ResponseBody.Read<Chat.ChatChunk> = event.event === "error"
        ? { _tag: "Error", error: ErrorBody.parse(event.data) ?? { message: event.data } }
        : ResponseBody.chunk(event.data, context.model)
      switch (read._tag) {
        case "Ok":
          out.push(read.value)
          if (read.value.usage) progress.usage = read.value.usage
          return undefined
        case "Error":
          return ErrorBody.classify(context, ErrorBody.statusOf(read.error), event.data, read.error, undefined)
        case "Invalid":
          return malformed(read.detail, event.data)
        case "Skip":
          return undefined
      }
    },
    emitted: (out) =>
      progress.firstChunkAt === undefined
        ? Effect.map(Clock.currentTimeMillis, (now) => {
          progress.firstChunkAt = now
          return out
        })
        : Effect.succeed(out)
  })

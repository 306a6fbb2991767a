/**
 * A streamed Responses API answer's body (OpenAI's typed events over SSE) as its events, each
 * the parsed JSON of one SSE event, in order. The stream ends after `response.completed` or
 * `response.incomplete`; an `error` event or `response.failed` fails it with the `LlmError` its
 * error names (after the events before it), and a body that ends or breaks before the last event
 * fails it too, so a cut stream is never mistaken for a finished one. The SSE parsing and the
 * failures are the chat stream's (`ChunkStream`).
 */
import type { LlmError } from "@llm-router/core"
import { StreamingHttp } from "@llm-router/core"
import { Cause, Effect, Scope, Stream } from "effect"
import type * as Arr from "effect/Array"
import type { HttpClientError } from "effect/http"
import * as ChunkStream from "./ChunkStream.ts"
import * as ErrorBody from "./ErrorBody.ts"

export type Event = Readonly<Record<string, unknown>>

/** The events after which OpenAI's stream has nothing more to say. */
const LAST = new Set(["response.completed", "response.incomplete"])

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

export const events = (
  body: Stream.Stream<Uint8Array, HttpClientError.HttpClientError>,
  context: ChunkStream.Context
): Stream.Stream<Event, LlmError.LlmError> =>
  Stream.suspend(() => {
    const { malformed, upstreamFailure, onText } = ChunkStream.failures(context)
    return Stream.transformPull(body, (pullBytes, scope) => {
      const pull = ChunkStream.events(pullBytes, onText)
      let finished = false
      let sawLast = false
      let pending: LlmError.LlmError | undefined
      /** An error object (an `error` event's fields, or a failed response's `error`) classified. */
      const failure = (error: Record<string, unknown>, data: string) => {
        const extracted = ErrorBody.extract({ error: { code: error["code"], message: error["message"], param: error["param"] } }) ?? {}
        return ErrorBody.classify(context, ErrorBody.statusOf(extracted), data, extracted, undefined)
      }
      // After the last event the rest of the body is read (briefly) so the connection is kept.
      const drainAfterLast = Effect.suspend(() => (sawLast ? StreamingHttp.drainRest(pullBytes) : Effect.void))
      const next: Effect.Effect<Arr.NonEmptyReadonlyArray<Event>, LlmError.LlmError | Cause.Done> = Effect.suspend(() => {
        if (pending !== undefined) {
          const error = pending
          pending = undefined
          finished = true
          return Effect.fail(error)
        }
        if (finished) return Cause.done()
        return Effect.matchEffect(pull, {
          onFailure: (error) =>
            Effect.fail(Cause.isDone(error) ? malformed("the stream ended before `response.completed`") : upstreamFailure(error)),
          onSuccess: (batch) => {
            const out: Array<Event> = []
            for (const sse of batch) {
              if (sse.data === "" || sse.data === "[DONE]") continue
              let json: unknown
              try {
                json = JSON.parse(sse.data)
              } catch {
                json = undefined
              }
              if (!isRecord(json)) {
                pending = malformed("an event that is not a JSON object", sse.data)
                break
              }
              const type = typeof json["type"] === "string" ? json["type"] : sse.event
              if (type === "error") {
                pending = failure(isRecord(json["error"]) ? json["error"] : json, sse.data)
                break
              }
              if (type === "response.failed") {
                const response = json["response"]
                const error = isRecord(response) && isRecord(response["error"]) ? response["error"] : { message: "the response failed" }
                pending = failure(error, sse.data)
                break
              }
              out.push(json)
              if (LAST.has(type)) {
                finished = sawLast = true
                break
              }
            }
            return out.length > 0 ? Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<Event>) : next
          }
        })
      })
      return Effect.as(Scope.addFinalizer(scope, drainAfterLast), next)
    })
  })

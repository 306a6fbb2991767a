/**
 * A streamed Responses API answer's body (OpenAI's typed events over SSE) as its events, each
 * the parsed JSON of one SSE event, in order. The stream ends after `response.completed` or
 * `response.incomplete`; an `error` event or `response.failed` fails it with the `LlmError` its
 * error names (after the events before it), and a body that ends or breaks before the last event
 * fails it too, so a cut stream is never mistaken for a finished one. The SSE reading and the
 * failures are the chat stream's (`ChunkStream.sseBody`).
 */
import type { LlmError } from "@llm-router/core"
import type { Stream } from "effect"
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
): Stream.Stream<Event, LlmError.LlmError> => {
  /** An error object (an `error` event's fields, or a failed response's `error`) classified. */
  const failure = (error: Record<string, unknown>, data: string) => {
    const extracted = ErrorBody.extract({ error: { code: error["code"], message: error["message"], param: error["param"] } }) ?? {}
    return ErrorBody.classify(context, ErrorBody.statusOf(extracted), data, extracted, undefined)
  }
  return ChunkStream.sseBody<Event>(body, context, {
    endedEarly: "the stream ended before `response.completed`",
    read: (sse, out, malformed) => {
      if (sse.data === "" || sse.data === "[DONE]") return undefined
      let json: unknown
      try {
        json = JSON.parse(sse.data)
      } catch {
        json = undefined
      }
      if (!isRecord(json)) return malformed("an event that is not a JSON object", sse.data)
      const type = typeof json["type"] === "string" ? json["type"] : sse.event
      if (type === "error") return failure(isRecord(json["error"]) ? json["error"] : json, sse.data)
      if (type === "response.failed") {
        const response = json["response"]
        return failure(isRecord(response) && isRecord(response["error"]) ? response["error"] : { message: "the response failed" }, sse.data)
      }
      out.push(json)
      return LAST.has(type) ? ChunkStream.Ended : undefined
    }
  })
}

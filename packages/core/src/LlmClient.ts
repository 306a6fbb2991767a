/**
 * The one service an application codes against: send a chat request, get a completion or
 * a stream. Provider adapters, simulated providers and the router are all values of it,
 * so routers nest and tests swap a simulated provider in for a real one.
 */
import { Cause, Context, Effect, Layer, Pull, Result, Stream } from "effect"
import * as Arr from "effect/Array"
import type { ChatChunk, ChatRequest, ChatResponse } from "./Chat.ts"
import type { LlmError } from "./LlmError.ts"
import type { RouteInfo } from "./RouteInfo.ts"

export interface Completion {
  readonly response: ChatResponse
  readonly route: RouteInfo
}

/**
 * What a stream yields. `Start` comes once, before the first chunk, naming the deployment
 * that will answer (the gateway turns it into response headers). `Restarted` tells the caller
 * that the chunks so far are void and the answer starts again on another deployment.
 * `Done` comes last with the final route: usage, cost, latency, time to first chunk.
 */
export type StreamPart =
  | { readonly _tag: "Start"; readonly route: RouteInfo }
  | { readonly _tag: "Chunk"; readonly chunk: ChatChunk }
  | { readonly _tag: "Restarted"; readonly route: RouteInfo; readonly reason: LlmError }
  | { readonly _tag: "Done"; readonly route: RouteInfo }

export interface Service {
  readonly chat: (request: ChatRequest) => Effect.Effect<Completion, LlmError>
  readonly stream: (request: ChatRequest) => Stream.Stream<StreamPart, LlmError>
}

export class LlmClient extends Context.Service<LlmClient, Service>()("@llm-router/core/LlmClient") {}

export const layer = (service: Service): Layer.Layer<LlmClient> => Layer.succeed(LlmClient, LlmClient.of(service))

/** The chunks of a stream, without the route parts. */
export const chunks = <E, R>(parts: Stream.Stream<StreamPart, E, R>): Stream.Stream<ChatChunk, E, R> =>
  Stream.filterMap(parts, (part) => (part._tag === "Chunk" ? Result.succeed(part.chunk) : Result.failVoid))

/**
 * A provider's answer as parts: `start`, the chunks, then `done`, each step its own batch, in
 * one stage (as `succeed(start)`, `concat(map(chunks))`, `concat(fromEffect(done))` would, for
 * less). The chunks, and the response body they read, are opened before `start` is emitted, so
 * a consumer that stops right after `Start` closes the body, which aborts the HTTP request
 * (see `StreamingHttp`).
 */
export const framed = <E, R, E2, R2>(
  start: StreamPart,
  chunks: Stream.Stream<ChatChunk, E, R>,
  done: Effect.Effect<StreamPart, E2, R2>
): Stream.Stream<StreamPart, E | E2, R | R2> =>
  Stream.transformPull(chunks, (pullChunks) =>
    Effect.sync(() => {
      let step: "start" | "chunks" | "end" = "start"
      const toParts = (batch: Arr.NonEmptyReadonlyArray<ChatChunk>) =>
        Arr.map(batch, (chunk): StreamPart => ({ _tag: "Chunk", chunk }))
      type Parts = Pull.Pull<Arr.NonEmptyReadonlyArray<StreamPart>, E | E2, void, R2>
      const pull: Parts = Effect.suspend((): Parts => {
        if (step === "start") {
          step = "chunks"
          return Effect.succeed(Arr.of(start))
        }
        if (step === "end") return Cause.done()
        // One step per chunk (this runs for every chunk): the batch as parts, or `done` at the end.
        return Effect.matchEffect(pullChunks, {
          onFailure: (error): Parts => {
            if (!Cause.isDone(error)) return Effect.fail(error)
            step = "end"
            return Effect.map(done, Arr.of)
          },
          onSuccess: (batch) => Effect.succeed(toParts(batch))
        })
      })
      return pull
    }))

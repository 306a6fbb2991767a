/**
 * The one service an application codes against: send a chat request, get a completion or
 * a stream. Provider adapters, simulated providers and the router are all values of it,
 * so routers nest and tests swap a simulated provider in for a real one.
 */
import { Cause, Context, Effect, Layer, Pull, Result, Schedule, Stream } from "effect"
import * as Arr from "effect/Array"
import { dual } from "effect/Function"
import type { ChatChunk, ChatRequest, ChatResponse, Usage } from "./Chat.ts"
import type { Deployment } from "./Deployment.ts"
import * as Restarts from "./internal/Restarts.ts"
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
 * `Done` comes last with the final route: usage, cost, latency, time to first chunk. A chat's
 * chunks are `ChatChunk`s (`StreamPart`); a routed stream of another kind (`StreamOperation`)
 * carries its own items.
 */
export type Part<A> =
  | { readonly _tag: "Start"; readonly route: RouteInfo }
  | { readonly _tag: "Chunk"; readonly chunk: A }
  | { readonly _tag: "Restarted"; readonly route: RouteInfo; readonly reason: LlmError }
  | { readonly _tag: "Done"; readonly route: RouteInfo }

export type StreamPart = Part<ChatChunk>

export interface Service {
  readonly chat: (request: ChatRequest) => Effect.Effect<Completion, LlmError>
  readonly stream: (request: ChatRequest) => Stream.Stream<StreamPart, LlmError>
  /**
   * A router's: runs `operation` on each attempt's deployment, under the selection, retries,
   * cooldowns, fallbacks, budgets and metrics a chat of `request` would get (see `Operation`).
   */
  readonly operate?: <A>(request: ChatRequest, operation: Operation<A>) => Effect.Effect<Operated<A>, LlmError>
  /**
   * A router's: a streamed `operate`. Each attempt opens `operation`'s stream on the deployment
   * picked; it fails over until its first content item, as a chat stream does, and after that a
   * failure ends the stream (never a restart: items of another kind cannot be taken back).
   */
  readonly operateStream?: <A>(request: ChatRequest, operation: StreamOperation<A>) => Stream.Stream<Part<A>, LlmError>
  /**
   * An adapter's that speaks OpenAI's Responses API natively: `body` sent as the client wrote
   * it (the deployment's model set), its `Response` JSON back with the usage it reports.
   */
  readonly responses?: (body: Readonly<Record<string, unknown>>) => Effect.Effect<Answer<Readonly<Record<string, unknown>>>, LlmError>
  /**
   * The same, streamed: `body` sent with `stream: true`, the Responses API's typed events back
   * (each a parsed SSE event, in order, ending with `response.completed` or `response.incomplete`;
   * an `error` event or `response.failed` fails the stream with its `LlmError`).
   */
  readonly responsesStream?: (body: Readonly<Record<string, unknown>>) => Stream.Stream<Readonly<Record<string, unknown>>, LlmError>
  /**
   * An adapter's whose provider counts a request's input tokens exactly (Anthropic's
   * `POST /v1/messages/count_tokens`): the count for `request` as this adapter would send it.
   * Without it, a caller estimates (`TokenEstimate`).
   */
  readonly countTokens?: (request: ChatRequest) => Effect.Effect<number, LlmError>
  /**
   * A router's: the input tokens of `request` counted without serving it (Anthropic's
   * `count_tokens`). A side call, not a completion: the group's healthy deployments that count
   * exactly (`countTokens`) are asked in order until one answers, else the count is the estimate
   * (`TokenEstimate`); nothing is recorded (no rpm, latency, success, failure, pin or metric), and
   * a group whose deployments are all cooling still answers (the estimate). It fails only as a
   * chat would before any call: an unknown model, a group of another kind.
   */
  readonly count?: (request: ChatRequest) => Effect.Effect<Counted, LlmError>
}

/** A router's count of a request's input tokens (see `count`). */
export interface Counted {
  readonly inputTokens: number
  /** The deployment that counted exactly, as a route; absent when the count is the estimate. */
  readonly route: RouteInfo | undefined
}

/**
 * What an answer says of itself, for the request's span (`gen_ai.response.*`): what a tracer
 * cannot read from an operation's opaque value. The id and model are the upstream's (those that
 * correlate with the provider's logs, as a chat span's are); the finish reasons are in the
 * answer's own terms (a Responses answer's `status`, or its `incomplete_details.reason`).
 */
export interface Described {
  readonly responseId?: string | undefined
  readonly responseModel?: string | undefined
  readonly finishReasons?: ReadonlyArray<string> | undefined
}

/**
 * What one attempt of a routed operation returns: its value, the usage to count, and what the
 * request's span should say of it (`Described`).
 */
export interface Answer<A> extends Described {
  readonly value: A
  readonly usage: Usage | null | undefined
  /**
   * The answer was cut by a content filter (a chat's `finish_reason: content_filter`, a Responses
   * `incomplete_details.reason: content_filter`): the router treats it as a chat's, a
   * `ContentPolicyViolation` when a content-policy chain can act on it.
   */
  readonly contentFiltered?: boolean | undefined
}

/**
 * One attempt of a call other than a chat, on the deployment the router picked: its client
 * and the routing request (per-request overrides taken off).
 */
export type Operation<A> = (deployment: Deployment, client: Service, request: ChatRequest) => Effect.Effect<Answer<A>, LlmError>

/**
 * A streamed call other than a chat (see `operateStream`): how each attempt opens its stream on
 * the deployment picked (its `Start`/`Done` parts, if any, are the router's to replace), which
 * items count as content (those before the first are held back, so a failure until then fails
 * over unseen), the usage an item reports (the last reported counts for cost and budgets) and,
 * optionally, what an item says of the answer for tracing.
 */
export interface StreamOperation<A> {
  readonly open: (deployment: Deployment, client: Service, request: ChatRequest) => Stream.Stream<Part<A>, LlmError>
  readonly isContent: (item: A) => boolean
  readonly usageOf: (item: A) => Usage | null | undefined
  /** What an item says of the answer, for the request's span (`Described`; the first id and model seen count, the last finish reasons). Read only when traced. */
  readonly describe?: ((item: A) => Described | undefined) | undefined
}

/** A routed operation's value and the route that served it. */
export interface Operated<A> {
  readonly value: A
  readonly route: RouteInfo
}

export class LlmClient extends Context.Service<LlmClient, Service>()("@llm-router/core/LlmClient") {}

export const layer = (service: Service): Layer.Layer<LlmClient> => Layer.succeed(LlmClient, LlmClient.of(service))

/** The part that voids the chunks before it: the answer starts again. */
export type Restarted = Extract<StreamPart, { readonly _tag: "Restarted" }>

/**
 * The chunks of a stream and its restarts, without the `Start`/`Done` route parts. A
 * `Restarted` stays in, so that whoever joins the chunks can drop those before it:
 * `Chat.collectChunks` does.
 */
export const chunks = <E, R>(parts: Stream.Stream<StreamPart, E, R>): Stream.Stream<ChatChunk | Restarted, E, R> =>
  Stream.filterMap(parts, (part): Result.Result<ChatChunk | Restarted, void> =>
    part._tag === "Chunk" ? Result.succeed(part.chunk) : part._tag === "Restarted" ? Result.succeed(part) : Result.failVoid)

// ---------------------------------------------------------------------------------------
// Combinators: a client from a client, as `HttpClient`'s are (`retry`, `mapRequest`, `tap`…).

/**
 * Retries a failed call as `policy` says (its input is the `LlmError`). A stream is opened
 * again too; when the failed attempt had already announced a deployment (its `Start`), the
 * next one begins with a `Restarted` part, so a consumer drops what it had (see `chunks`).
 * For a router, prefer its own `num_retries` and fallbacks: they know the deployments.
 */
export const retry: {
  <X>(policy: Schedule.Schedule<X, LlmError>): (self: Service) => Service
  <X>(self: Service, policy: Schedule.Schedule<X, LlmError>): Service
} = dual(2, <X>(self: Service, policy: Schedule.Schedule<X, LlmError>): Service => ({
  chat: (request) => Effect.retry(self.chat(request), policy),
  stream: (request) =>
    Stream.unwrap(Effect.map(Schedule.toStepWithSleep(policy), (step) => {
      const restarts = Restarts.make()
      const attempt = (): Stream.Stream<StreamPart, LlmError> =>
        Stream.catch(restarts.attempt(self.stream(request)), (error) =>
          Stream.unwrap(Pull.catchDone(Effect.as(step(error), Stream.suspend(attempt)), () => Effect.fail(error))))
      return attempt()
    }))
}))

/**
 * Falls back to `that` when `self` fails. A stream that fails after announcing a deployment
 * goes on with `that`'s answer after a `Restarted` part.
 */
export const orElse: {
  (that: Service): (self: Service) => Service
  (self: Service, that: Service): Service
} = dual(2, (self: Service, that: Service): Service => ({
  chat: (request) => Effect.catch(self.chat(request), () => that.chat(request)),
  stream: (request) =>
    Stream.suspend(() => {
      const restarts = Restarts.make()
      return Stream.catch(restarts.attempt(self.stream(request)), () => restarts.attempt(that.stream(request)))
    })
}))

/** Changes every request before it is sent (a default model, a system prompt, a `user` tag…). */
export const mapRequest: {
  (f: (request: ChatRequest) => ChatRequest): (self: Service) => Service
  (self: Service, f: (request: ChatRequest) => ChatRequest): Service
} = dual(2, (self: Service, f: (request: ChatRequest) => ChatRequest): Service => ({
  chat: (request) => Effect.suspend(() => self.chat(f(request))),
  stream: (request) => Stream.suspend(() => self.stream(f(request)))
}))

/** Runs `f` with the final route of every answered call: a chat's, or a stream's `Done`. */
export const tap: {
  (f: (route: RouteInfo) => Effect.Effect<unknown>): (self: Service) => Service
  (self: Service, f: (route: RouteInfo) => Effect.Effect<unknown>): Service
} = dual(2, (self: Service, f: (route: RouteInfo) => Effect.Effect<unknown>): Service => ({
  chat: (request) => Effect.tap(self.chat(request), (completion) => f(completion.route)),
  stream: (request) => Stream.tap(self.stream(request), (part) => (part._tag === "Done" ? f(part.route) : Effect.void))
}))

/** Runs `f` with the error of every failed call. */
export const tapError: {
  (f: (error: LlmError) => Effect.Effect<unknown>): (self: Service) => Service
  (self: Service, f: (error: LlmError) => Effect.Effect<unknown>): Service
} = dual(2, (self: Service, f: (error: LlmError) => Effect.Effect<unknown>): Service => ({
  chat: (request) => Effect.tapError(self.chat(request), f),
  stream: (request) => Stream.tapError(self.stream(request), f)
}))

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

/**
 * A routed model group as an `effect/ai` `LanguageModel`: `LanguageModel.generateText`,
 * `streamText`, `generateObject` and toolkits with handlers run over the app's `LlmClient` (the
 * router), with all its retries, cooldowns and fallbacks. `model(group)` is the same as an
 * `effect/ai` `Model`, to provide where a model is expected or to use in an `ExecutionPlan`.
 *
 * The route travels in the parts' metadata, under `llm-router`: `routeOf(response)` reads it.
 * Failures are `AiError`s whose reason is the `effect/ai` kind (`RateLimitError`,
 * `QuotaExhaustedError`, `AuthenticationError`, …), their metadata naming the deployment.
 */
import { type Chat, LlmClient, LlmError, type RouteInfo } from "@llm-router/core"
import { Context, Effect, Layer, Option, Stream } from "effect"
import { dual } from "effect/Function"
import { type AiError, LanguageModel, Model, type Response, Telemetry, Tool } from "effect/ai"
import type { Span } from "effect/Tracer"
import * as AiErrors from "./internal/AiErrors.ts"
import * as AnswerParts from "./internal/AnswerParts.ts"
import * as PromptRequest from "./internal/PromptRequest.ts"
import * as RouteMetadata from "./internal/RouteMetadata.ts"
import * as StreamParts from "./internal/StreamParts.ts"

/** The `Model`'s provider name, and the key of the router's metadata on parts and errors. */
export const PROVIDER = RouteMetadata.KEY

/**
 * Request fields to send with every call (`temperature`, `max_tokens`, `reasoning_effort`,
 * `user`, LiteLLM's `metadata.tags`…): any chat-completions field but those the `effect/ai`
 * call decides (model, messages, tools, tool choice, response format, stream).
 */
export type RequestConfig = Omit<
  Partial<Chat.ChatRequest>,
  "model" | "messages" | "tools" | "tool_choice" | "response_format" | "stream" | "stream_options"
>

/** Request fields for the calls inside an effect, over the model's own (`withConfigOverride`). */
export class Config extends Context.Service<Config, RequestConfig>()("@llm-router/ai/RouterLanguageModel/Config") {}

export interface Options {
  /** The model group (or alias) of the router's config that answers. */
  readonly model: string
  readonly config?: RequestConfig | undefined
}

/**
 * The OpenTelemetry GenAI attributes of `effect/ai`'s span for the call: what was asked, and
 * what served (the provider and model the router chose, as the route says) with the usage.
 */
const annotateRequest = (span: Span, request: Chat.ChatRequest) =>
  Telemetry.addGenAIAnnotations(span, {
    operation: { name: "chat" },
    request: {
      model: request.model,
      temperature: request.temperature,
      topP: request.top_p,
      maxTokens: request.max_completion_tokens ?? request.max_tokens
    }
  })

const annotateResponse = (span: Span, route: RouteInfo.RouteInfo, id: string | undefined, finishReason: string | null | undefined) =>
  Telemetry.addGenAIAnnotations(span, {
    provider: { name: route.provider },
    response: { id, model: route.model, finishReasons: finishReason == null ? undefined : [finishReason] },
    usage: { inputTokens: route.usage?.prompt_tokens, outputTokens: route.usage?.completion_tokens }
  })

/** The `LanguageModel` over the `LlmClient` in context, for one model group. */
export const make = (options: Options): Effect.Effect<LanguageModel.LanguageModel, never, LlmClient.LlmClient> =>
  Effect.gen(function*() {
    const llm = yield* LlmClient.LlmClient
    const requestFor = (provider: LanguageModel.ProviderOptions) =>
      Effect.flatMap(Effect.serviceOption(Config), (override) =>
        Effect.tap(
          PromptRequest.make(options.model, { ...options.config, ...Option.getOrUndefined(override) }, provider),
          (request) => Effect.sync(() => annotateRequest(provider.span, request))
        ))
    return yield* LanguageModel.make({
      generateText: (provider) =>
        requestFor(provider).pipe(
          Effect.flatMap((request) => Effect.mapError(llm.chat(request), AiErrors.fromLlmError("generateText"))),
          Effect.tap(({ response, route }) => Effect.sync(() => annotateResponse(provider.span, route, response.id, response.choices[0]?.finish_reason))),
          Effect.flatMap((completion) => AnswerParts.fromCompletion(completion, new Tool.NameMapper(provider.tools)))
        ),
      streamText: (provider) =>
        Stream.unwrap(Effect.map(requestFor(provider), (request) =>
          StreamParts.fromStream(
            llm.stream(request).pipe(
              Stream.mapError(AiErrors.fromLlmError("streamText")),
              Stream.tap((part) => part._tag === "Done" ? Effect.sync(() => annotateResponse(provider.span, part.route, undefined, undefined)) : Effect.void)
            ),
            new Tool.NameMapper(provider.tools)
          ).pipe(Stream.tap((part) =>
            part.type === "finish"
              ? Effect.sync(() => Telemetry.addGenAIAnnotations(provider.span, { response: { finishReasons: [part.reason] } }))
              : Effect.void
          ))))
    })
  })

/** `make` as a layer. */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel, never, LlmClient.LlmClient> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

/**
 * A model group as an `effect/ai` `Model` (provider `llm-router`, name the group): provide it
 * to a program that asks for a `LanguageModel`, or use it as a step of an `ExecutionPlan`.
 */
export const model = (
  group: string,
  config?: RequestConfig
): Model.Model<typeof PROVIDER, LanguageModel.LanguageModel, LlmClient.LlmClient> =>
  Model.make(PROVIDER, group, layer({ model: group, config }))

/** Sends `overrides` with every call in `self`, over the model's config and any outer override. */
export const withConfigOverride: {
  (overrides: RequestConfig): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, Exclude<R, Config>>
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: RequestConfig): Effect.Effect<A, E, Exclude<R, Config>>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, overrides: RequestConfig) =>
  Effect.flatMap(Effect.serviceOption(Config), (outer) =>
    Effect.provideService(self, Config, { ...Option.getOrUndefined(outer), ...overrides })))

/**
 * The route of an answer: which deployment served, attempts, fallbacks, latency, usage and
 * cost. From a `generateText`/`generateObject` response, or the parts of a `streamText`
 * (the final route once its `finish` part came, the starting one before). `undefined` for an
 * answer that did not come through this model.
 */
export const routeOf = (
  response: { readonly content: ReadonlyArray<Response.AnyPart> } | ReadonlyArray<Response.AnyPart>
): RouteInfo.RouteInfo | undefined => {
  const parts = "content" in response ? response.content : response
  let route: unknown
  for (const part of parts) {
    if (part.type === "finish" || part.type === "response-metadata") route = RouteMetadata.read(part.metadata)?.route ?? route
  }
  return route as RouteInfo.RouteInfo | undefined
}

/**
 * Where a failure happened, from an `AiError` this model failed with: the router's error tag
 * (`RateLimited`, `NoDeploymentAvailable`, …), provider, deployment, HTTP status, group, and
 * the message with secrets scrubbed.
 */
export const failureOf = (error: AiError.AiError): Failure | undefined => {
  const reason = error.reason
  if (reason._tag === "NetworkError") {
    const cause = reason.cause
    return LlmError.isLlmError(cause) ? RouteMetadata.read(RouteMetadata.ofError(cause)) as Failure | undefined : undefined
  }
  return "metadata" in reason ? RouteMetadata.read(reason.metadata as Response.ProviderMetadata) as Failure | undefined : undefined
}

/** What `failureOf` reads: the router's own account of a failure. */
export interface Failure {
  readonly error: LlmError.Tag
  readonly provider: string
  readonly deployment?: string
  readonly status?: number
  /** The model group, when the router itself failed the call (`NoDeploymentAvailable`). */
  readonly group?: string
  /** The request field at fault, for `BadRequest`. */
  readonly param?: string
  /** Which clock ran out, for `Timeout`. */
  readonly phase?: "request" | "first-chunk" | "idle"
  readonly quotaExhausted?: boolean
  /** The error's message, with anything shaped like a key scrubbed. */
  readonly message: string
}

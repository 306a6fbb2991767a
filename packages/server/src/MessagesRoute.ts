/**
 * `POST /v1/messages` and `POST /v1/messages/count_tokens`: Anthropic's Messages API in, through
 * the router, so an Anthropic client (the official SDK, Claude Code with `ANTHROPIC_BASE_URL`) is
 * served by any provider and fails over to GPT or Gemini. The request becomes a chat request
 * (`InboundRequest` in `@llm-router/anthropic`) that the Anthropic adapter turns back into nearly
 * the same Messages request, so Claude deployments get thinking, cache marks and tool use as
 * sent, with the client's `anthropic-beta` betas; the answer comes back as a `Message` or
 * Anthropic's named SSE events. Errors are Anthropic's shape, and the master key is taken from
 * `x-api-key` as from `Authorization`.
 */
import { Clock, Effect, Result } from "effect"
import type { HttpRouter } from "effect/http"
import { InboundRequest, InboundResponse, InboundStream } from "@llm-router/anthropic"
import { type LlmClient, type LlmError, TokenEstimate } from "@llm-router/core"
import * as ApiError from "./ApiError.ts"
import * as RequestBody from "./RequestBody.ts"
import * as RouteHeaders from "./RouteHeaders.ts"
import * as RouteKit from "./RouteKit.ts"

/** Anthropic's: errors as `{"type": "error", "error": {…}}`, the key as `x-api-key` (or a bearer token). */
export const dialect: RouteKit.Dialect = {
  errorBody: (error) => InboundResponse.errorBody(error.status, error.message),
  authorization: (request) => {
    const key = request.headers["x-api-key"]
    return key !== undefined ? `Bearer ${key}` : request.headers["authorization"]
  }
}

const { json } = RouteKit

/** Parses and checks a body; a refusal names the field at fault. */
const parseMessages = RequestBody.decoder(InboundRequest.MessagesRequest, "Messages API request")
const parseCountTokens = RequestBody.decoder(InboundRequest.CountTokensRequest, "Messages API request")

const translated = (request: InboundRequest.MessagesRequest, betas?: string) => {
  const chat = InboundRequest.toChat(request, { betas })
  return Result.isFailure(chat) ? Result.fail(ApiError.invalidRequest(chat.failure.message, chat.failure.param)) : chat
}

/** Registers the Messages routes on `router`. */
export const register = (router: HttpRouter.HttpRouter, kit: RouteKit.RouteKit) =>
  Effect.gen(function*() {
    /** The answer to a call that failed: Anthropic's error body, with the route's error headers. */
    const failedAnswer = (model: string, started: number, requestId: string) => (error: LlmError.LlmError) =>
      Effect.map(Clock.currentTimeMillis, (at) => {
        const apiError = ApiError.fromLlmError(error, kit.scrub)
        return json(dialect.errorBody(apiError), apiError.status, RouteHeaders.ofError(apiError, model, at - started, requestId))
      })

    const create: RouteKit.Handler = (request, requestId, started) =>
      Effect.flatMap(kit.readBody(request), (bytes) => {
        const parsed = parseMessages(bytes)
        if (Result.isFailure(parsed)) return Effect.fail(parsed.failure)
        const chat = translated(parsed.success, request.headers["anthropic-beta"])
        if (Result.isFailure(chat)) return Effect.fail(chat.failure)
        const model = parsed.success.model
        const names = InboundRequest.toolNames(parsed.success)
        const session = kit.sessionOf(request)
        const failed = failedAnswer(model, started, requestId)
        if (parsed.success.stream === true) {
          return RouteKit.sse({
            apiBaseOf: kit.apiBaseOf,
            stream: kit.client.stream(chat.success),
            session,
            requestId,
            onFailure: failed,
            makeEncoder: () => encoder(new InboundStream.Translator(model, names), kit.scrub)
          })
        }
        return Effect.matchEffect(RouteKit.inSession(kit.client.chat(chat.success), session), {
          onFailure: failed,
          onSuccess: (completion) =>
            Effect.succeed(json(InboundResponse.fromChat(completion.response, names), 200, RouteHeaders.ofRoute(completion.route, requestId, kit.apiBaseOf(completion.route.deployment))))
        })
      })

    // Counted by the router as a side call, not a completion (see core's `LlmClient.count`): a
    // deployment that counts exactly (Claude's) is asked, else the answer is the estimate the
    // router's context-window check uses (about four characters a token). Nothing is recorded
    // against the deployments, so a client that counts often does not steer routing.
    const countTokens: RouteKit.Handler = (request, requestId, started) =>
      Effect.flatMap(kit.readBody(request), (bytes) => {
        const parsed = parseCountTokens(bytes)
        if (Result.isFailure(parsed)) return Effect.fail(parsed.failure)
        const chat = translated({ ...parsed.success, max_tokens: 1 }, request.headers["anthropic-beta"])
        if (Result.isFailure(chat)) return Effect.fail(chat.failure)
        const counted = kit.client.count === undefined
          ? Effect.succeed({ inputTokens: TokenEstimate.ofRequest(chat.success), route: undefined })
          : kit.client.count(chat.success)
        return Effect.matchEffect(counted, {
          onFailure: failedAnswer(parsed.success.model, started, requestId),
          onSuccess: ({ inputTokens, route }) =>
            Effect.succeed(json(
              { input_tokens: inputTokens },
              200,
              route === undefined ? { [RouteHeaders.names.requestId]: requestId } : RouteHeaders.ofRoute(route, requestId, kit.apiBaseOf(route.deployment))
            ))
        })
      })

    yield* router.add("POST", "/v1/messages", kit.handle("/v1/messages", dialect, create))
    yield* router.add("POST", "/v1/messages/count_tokens", kit.handle("/v1/messages/count_tokens", dialect, countTokens))
  })

/** The SSE text of a Messages stream, from the router's parts. */
const encoder = (translator: InboundStream.Translator, scrub: (text: string) => string): RouteKit.SseEncoder => {
  let started = false
  let stopped = false
  const all = (events: ReadonlyArray<InboundStream.Event>) => events.map(InboundStream.sse).join("")
  const failure = (error: LlmError.LlmError) => {
    const apiError = ApiError.fromLlmError(error, scrub)
    return InboundStream.errorEvent(apiError.status, apiError.message)
  }
  return {
    parts: (batch: ReadonlyArray<LlmClient.StreamPart>) => {
      let out = ""
      for (const part of batch) {
        if (stopped) break
        if (part._tag === "Chunk") {
          // `message_start` names the message: it waits for the first chunk's id and model.
          if (!started) {
            started = true
            out += all(translator.start(part.chunk))
          }
          out += all(translator.push(part.chunk))
        } else if (part._tag === "Restarted") {
          // Anthropic's stream has no way to take back what was sent: it ends as a failure.
          stopped = true
          out += failure(part.reason)
        }
      }
      return out
    },
    end: Effect.sync(() => (stopped ? "" : (started ? "" : all(translator.start(undefined))) + all(translator.end()))),
    fail: failure,
    stopped: () => stopped
  }
}

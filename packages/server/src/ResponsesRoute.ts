/**
 * `POST /v1/responses` (and `/responses`): OpenAI's Responses API, plain and streamed, through the
 * router. The request is translated into a chat request (`ResponsesRequest` in
 * `@llm-router/openai`), so every provider can serve it and it fails over like any chat; the
 * answer is translated back (`ResponsesResponse`, `ResponsesStream`). A plain call is routed
 * through the router's `operate` seam, so an attempt on an OpenAI deployment sends the request
 * natively instead (streams are translated for every deployment). Answers are kept in the
 * gateway's `ResponseStore` unless `store: false`, so `previous_response_id` and
 * `item_reference` continue a conversation whichever deployment served it (and, with shared
 * state, whichever replica), and `GET`/`DELETE /v1/responses/{id}` read and forget one. Errors
 * are OpenAI's shape; a store that cannot be reached is a 503 to retry.
 */
import { Clock, Effect, Random, Result } from "effect"
import type { HttpRouter } from "effect/http"
import { HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { type LlmClient, Overrides, WireJson } from "@llm-router/core"
import { ResponsesRequest, ResponsesResponse, ResponsesStream } from "@llm-router/openai"
import * as ApiError from "./ApiError.ts"
import * as RequestBody from "./RequestBody.ts"
import * as ResponseStore from "./ResponseStore.ts"
import * as RouteHeaders from "./RouteHeaders.ts"
import * as RouteKit from "./RouteKit.ts"

const dialect = RouteKit.openAiDialect
/** Fields the router takes off a request (LiteLLM's), never sent to a provider. */
const CONSUMED = Object.keys(Overrides.BodyFields.fields)
const json = (body: object, status: number, headers: Record<string, string>) =>
  HttpServerResponse.text(WireJson.stringify(body), { status, contentType: "application/json", headers })

/** Parses and checks a Responses body; a refusal names the field at fault. */
export const parse = (bytes: Buffer): Result.Result<ResponsesRequest.ResponsesRequest, ApiError.ApiError> => {
  const json = RequestBody.jsonObject(bytes)
  if (Result.isFailure(json)) return Result.fail(json.failure)
  const decoded = ResponsesRequest.decode(json.success, { errors: "all" })
  if (Result.isFailure(decoded)) return Result.fail(RequestBody.invalidBody("Responses API request", decoded.failure.issue))
  const unsupported = ResponsesRequest.unsupported(decoded.success)
  return unsupported === undefined ? Result.succeed(decoded.success) : Result.fail(ApiError.invalidRequest(unsupported.message, unsupported.param))
}

const notFound = (what: string, param: string | null, code: string, status = 400) =>
  new ApiError.ApiError({ status, type: "invalid_request_error", message: what, code, param })

/** The store (Redis) cannot be reached: a 503 to send again shortly, not a "not found" that may be untrue. */
const storeUnavailable = (error: ResponseStore.Unavailable) =>
  new ApiError.ApiError({
    status: 503,
    type: "server_error",
    message: `${error.message}; stored responses cannot be read now, retry shortly`,
    code: "response_store_unavailable",
    param: null,
    retryAfterSeconds: 1
  })

/** Registers the Responses routes on `router`. */
export const register = (router: HttpRouter.HttpRouter, kit: RouteKit.RouteKit) =>
  Effect.gen(function*() {
    const store = yield* ResponseStore.ResponseStore
    // Response ids: a per-process random prefix and a counter, as request ids are made.
    const prefix = (yield* Effect.all([Random.nextInt, Random.nextInt])).map((n) => (n >>> 0).toString(16).padStart(8, "0")).join("")
    let counter = 0
    const nextId = () => {
      counter = (counter + 1) % 0x100000000
      return `resp_${prefix}${counter.toString(16).padStart(8, "0")}`
    }

    /** This turn's input with item references resolved, and the conversation it continues. */
    const conversationOf = (request: ResponsesRequest.ResponsesRequest) =>
      Effect.gen(function*() {
        let earlier: Array<ResponsesRequest.Item> = []
        let root: string | undefined
        let ancestors: ReadonlyArray<string> = []
        if (typeof request.previous_response_id === "string") {
          const found = yield* store.conversation(request.previous_response_id)
          if (found === undefined) {
            return yield* Effect.fail(notFound(
              `Previous response with id '${request.previous_response_id}' not found: it was never stored here (store: false, or another gateway without shared state), has been evicted or expired, or its conversation is longer than the store reads back`,
              "previous_response_id",
              "previous_response_not_found"
            ))
          }
          earlier = found.items
          root = found.entry.conversation
          ancestors = found.ancestors
        }
        // The responses item references point into, each read once.
        const owners = new Map<string, ResponseStore.Entry | undefined>()
        const input: Array<ResponsesRequest.Item> = []
        for (const [i, item] of ResponsesRequest.inputItems(request).entries()) {
          if (item.type !== "item_reference") {
            input.push(item)
            continue
          }
          const id = (item as typeof ResponsesRequest.ItemReference.Type).id
          const owner = ResponsesResponse.responseOfItem(id)
          if (owner !== undefined && !owners.has(owner)) owners.set(owner, yield* store.get(owner))
          const entry = owner === undefined ? undefined : owners.get(owner)
          const found = entry === undefined ? undefined : ResponseStore.itemOf(entry, id)
          if (found === undefined) return yield* Effect.fail(notFound(`Item with id '${id}' not found`, `input[${i}]`, "item_not_found"))
          input.push(found)
        }
        return { earlier, input, root, ancestors }
      }).pipe(Effect.catchTag("ResponseStoreUnavailable", (error) => Effect.fail(storeUnavailable(error))))

    /** The request, checked, with the conversation it continues. */
    const prepare = (bytes: Buffer) => {
      const parsed = parse(bytes)
      return Result.isFailure(parsed)
        ? Effect.fail(parsed.failure)
        : Effect.map(conversationOf(parsed.success), (turn) => ({ body: parsed.success, ...turn }))
    }

    const create: RouteKit.Handler = (request, requestId, started) =>
      Effect.flatMap(kit.readBody(request), (bytes) =>
        Effect.flatMap(Effect.zip(Clock.currentTimeMillis, prepare(bytes)), ([now, { ancestors, body, earlier, input, root }]) => {
          const offset = earlier.length
          const chat = ResponsesRequest.toChat(body, [...earlier, ...input], (i) => i < offset ? "previous_response_id" : `input[${i - offset}]`)
          if (Result.isFailure(chat)) return Effect.fail(ApiError.invalidRequest(chat.failure.message, chat.failure.param))
          const ids = ResponsesResponse.idsFor(nextId())
          const createdAt = Math.floor(now / 1000)
          const session = kit.sessionOf(request) ?? root
          const remember = (response: ResponsesResponse.ResponseObject) =>
            body.store === false ? Effect.void : store.put({
              id: ids.response,
              conversation: root ?? ids.response,
              previous: body.previous_response_id ?? undefined,
              ancestors,
              input,
              output: response.output,
              response
            })
          const failed = (error: Parameters<typeof ApiError.fromLlmError>[0]) =>
            Effect.map(Clock.currentTimeMillis, (at) => {
              const apiError = ApiError.fromLlmError(error, kit.scrub)
              return json(ApiError.body(apiError), apiError.status, RouteHeaders.ofError(apiError, body.model, at - started, requestId))
            })
          if (body.stream === true) {
            return RouteKit.sse({
              stream: kit.client.stream(chat.success),
              session,
              requestId,
              onFailure: failed,
              makeEncoder: () => encoder(new ResponsesStream.Translator(body, ids, createdAt), remember, kit.scrub)
            })
          }
          const translated = (completion: LlmClient.Completion) =>
            Effect.map(Clock.currentTimeMillis, (at) => ({
              value: ResponsesResponse.fromChat(body, completion.response, ids, createdAt, Math.floor(at / 1000)),
              usage: completion.response.usage,
              contentFiltered: completion.response.choices.some((c) => c.finish_reason === "content_filter"),
              route: completion.route
            }))
          // Through the router's operation seam: each attempt on a deployment whose client speaks
          // the Responses API (OpenAI) sends the request natively, any other gets the chat call.
          const native = ResponsesRequest.toNative(body, [...earlier, ...input], CONSUMED)
          const served = kit.client.operate === undefined
            ? Effect.flatMap(kit.client.chat(chat.success), translated)
            : kit.client.operate(chat.success, (_, client, routing) =>
              client.responses === undefined
                ? Effect.flatMap(client.chat(routing), translated)
                : Effect.map(client.responses(native), (answer) => ({ ...answer, value: ResponsesResponse.fromNative(body, answer.value, ids) })))
          return Effect.matchEffect(RouteKit.inSession(served, session), {
            onFailure: failed,
            onSuccess: ({ route, value }) => Effect.as(remember(value), json(value, 200, RouteHeaders.ofRoute(route, requestId)))
          })
        }))

    const idOf = (request: HttpServerRequest.HttpServerRequest) => decodeURIComponent(request.url.split("?")[0]!.split("/").at(-1) ?? "")
    const stored = (id: string) => notFound(`Response with id '${id}' not found`, null, "response_not_found", 404)

    const retrieve: RouteKit.Handler = (request, requestId) => {
      const id = idOf(request)
      return Effect.flatMap(Effect.mapError(store.get(id), storeUnavailable), (entry) =>
        entry === undefined
          ? Effect.fail(stored(id))
          : Effect.succeed(json(entry.response, 200, { [RouteHeaders.names.requestId]: requestId })))
    }

    const remove: RouteKit.Handler = (request, requestId) => {
      const id = idOf(request)
      return Effect.flatMap(Effect.mapError(store.delete(id), storeUnavailable), (deleted) =>
        deleted
          ? Effect.succeed(json({ id, object: "response", deleted: true }, 200, { [RouteHeaders.names.requestId]: requestId }))
          : Effect.fail(stored(id)))
    }

    const createHandler = kit.handle("/v1/responses", dialect, create)
    const retrieveHandler = kit.handle("/v1/responses/{id}", dialect, retrieve)
    const removeHandler = kit.handle("/v1/responses/{id}", dialect, remove)
    for (const base of ["/v1/responses", "/responses"] as const) {
      yield* router.add("POST", base, createHandler)
      yield* router.add("GET", `${base}/:id` as const, retrieveHandler)
      yield* router.add("DELETE", `${base}/:id` as const, removeHandler)
    }
  })

/** The SSE text of a Responses stream, from the router's parts. */
const encoder = (
  translator: ResponsesStream.Translator,
  remember: (response: ResponsesResponse.ResponseObject) => Effect.Effect<void>,
  scrub: (text: string) => string
): RouteKit.SseEncoder => {
  let started = false
  let restarted = false
  const all = (events: ReadonlyArray<ResponsesStream.Event>) => events.map(ResponsesStream.sse).join("")
  return {
    parts: (batch: ReadonlyArray<LlmClient.StreamPart>) => {
      let out = ""
      for (const part of batch) {
        if (restarted) break
        if (part._tag === "Start" && !started) {
          started = true
          out += all(translator.start())
        } else if (part._tag === "Chunk") out += all(translator.push(part.chunk))
        else if (part._tag === "Restarted") {
          // The Responses stream has no way to take back what was sent: it ends as a failure.
          restarted = true
          out += all(translator.failed(ApiError.body(ApiError.fromLlmError(part.reason, scrub)).error))
        }
      }
      return out
    },
    end: Effect.suspend(() => {
      if (restarted) return Effect.succeed("")
      return Effect.flatMap(Clock.currentTimeMillis, (at) => {
        const { events, response } = translator.end(Math.floor(at / 1000))
        return Effect.as(remember(response), all(events))
      })
    }),
    fail: (error) => all(translator.failed(ApiError.body(ApiError.fromLlmError(error, scrub)).error)),
    stopped: () => restarted
  }
}

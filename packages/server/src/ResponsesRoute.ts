/**
 * `POST /v1/responses` (and `/responses`): OpenAI's Responses API, plain and streamed, through the
 * router. The request is translated into a chat request (`ResponsesRequest` in
 * `@llm-router/openai`), so every provider can serve it and it fails over like any chat; the
 * answer is translated back (`ResponsesResponse`, `ResponsesStream`). A call is routed through
 * the router's `operate` seam (a stream through `operateStream`), so an attempt on an OpenAI
 * deployment sends the request natively instead, plain or streamed. Answers are kept in the
 * gateway's `ResponseStore` unless `store: false`, so `previous_response_id` and
 * `item_reference` continue a conversation whichever deployment served it (and, with shared
 * state, whichever replica), and `GET`/`DELETE /v1/responses/{id}` read and forget one. Errors
 * are OpenAI's shape; a store that cannot be reached is a 503 to retry.
 */
import { Clock, Effect, Random, Result, Stream } from "effect"
import type { HttpRouter } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { type Deployment, type LlmClient, type LlmError, Overrides, ProviderError } from "@llm-router/core"
import { ResponsesRequest, ResponsesResponse, ResponsesStream } from "@llm-router/openai"
import * as ApiError from "./ApiError.ts"
import * as RequestBody from "./RequestBody.ts"
import * as ResponseStore from "./ResponseStore.ts"
import * as RouteHeaders from "./RouteHeaders.ts"
import * as RouteKit from "./RouteKit.ts"

const dialect = RouteKit.openAiDialect
/** Fields the router takes off a request (LiteLLM's), never sent to a provider. */
const CONSUMED = Object.keys(Overrides.BodyFields.fields)
const { json } = RouteKit

/** Parses and checks a Responses body; a refusal names the field at fault. */
export const parse = (bytes: Buffer): Result.Result<ResponsesRequest.ResponsesRequest, ApiError.ApiError> => {
  const json = RequestBody.jsonObject(bytes)
  if (Result.isFailure(json)) return Result.fail(json.failure)
  const decoded = ResponsesRequest.decode(json.success, { errors: "all" })
  if (Result.isFailure(decoded)) return Result.fail(RequestBody.invalidBody("Responses API request", decoded.failure.issue))
  const unsupported = ResponsesRequest.unsupported(decoded.success)
  return unsupported === undefined ? Result.succeed(decoded.success) : Result.fail(ApiError.invalidRequest(unsupported.message, unsupported.param))
}

/** A request the store cannot serve as asked (not found, or more than it reads): OpenAI's shape. */
const refusal = (what: string, param: string | null, code: string, status = 400) =>
  new ApiError.ApiError({ status, type: "invalid_request_error", message: what, code, param })

/** Reading what a request continues would take more than the store reads for one request. */
const tooLarge = (message: string, param: string) => refusal(message, param, "stored_responses_too_large")

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

/**
 * A server behind `openai/` that does not serve the Responses API (many OpenAI-compatible servers
 * are configured so, as LiteLLM allows) answers `/responses` with a 404 or 405: it gets the chat
 * call instead, in the same attempt.
 */
const hasNoResponsesApi = (error: LlmError.LlmError) => error.status === 404 || error.status === 405

/** The time in microseconds since the epoch: what a reasoning item's issue time and a refusal are compared in. */
const nowMicros = Effect.map(Clock.currentTimeNanos, (nanos) => Number(nanos / 1000n))

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
        let reasoningRefusedAt: ResponseStore.ReasoningMarks = {}
        if (typeof request.previous_response_id === "string") {
          const found = yield* Effect.catchTag(
            store.conversation(request.previous_response_id),
            "ResponseStoreTooLarge",
            (error) => Effect.fail(tooLarge(`The conversation of response '${request.previous_response_id}' is too large: ${error.message}`, "previous_response_id"))
          )
          if (found === undefined) {
            return yield* Effect.fail(refusal(
              `Previous response with id '${request.previous_response_id}' not found (it, or a response before it in its conversation): it was never stored here (store: false, larger than the store keeps, or served by another gateway without shared state), has been evicted or has expired, or its conversation is longer than the store reads back`,
              "previous_response_id",
              "previous_response_not_found"
            ))
          }
          earlier = found.items
          root = found.entry.conversation
          ancestors = found.ancestors
          reasoningRefusedAt = found.reasoningRefusedAt
        }
        const items = ResponsesRequest.inputItems(request)
        const referenced = (item: ResponsesRequest.Item) =>
          item.type === "item_reference" ? (item as typeof ResponsesRequest.ItemReference.Type).id : undefined
        // The responses item references point into, read together.
        const ownerIds = [...new Set(items.flatMap((item) => {
          const id = referenced(item)
          const owner = id === undefined ? undefined : ResponsesResponse.responseOfItem(id)
          return owner === undefined ? [] : [owner]
        }))]
        if (ownerIds.length > ResponseStore.MAX_REFERENCED_RESPONSES) {
          return yield* Effect.fail(refusal(
            `Invalid 'input': item references point into ${ownerIds.length} different stored responses; at most ${ResponseStore.MAX_REFERENCED_RESPONSES} may be referenced in one request`,
            "input",
            "too_many_referenced_responses"
          ))
        }
        const read = yield* Effect.catchTag(
          store.getMany(ownerIds),
          "ResponseStoreTooLarge",
          (error) => Effect.fail(tooLarge(`The responses this request's item references point into are too large together: ${error.message}`, "input"))
        )
        const owners = new Map(read.map((entry, i) => [ownerIds[i]!, entry]))
        const input: Array<ResponsesRequest.Item> = []
        for (const [i, item] of items.entries()) {
          const id = referenced(item)
          if (id === undefined) {
            input.push(item)
            continue
          }
          const owner = ResponsesResponse.responseOfItem(id)
          const entry = owner === undefined ? undefined : owners.get(owner)
          const found = entry === undefined ? undefined : ResponseStore.itemOf(entry, id)
          if (found === undefined) return yield* Effect.fail(refusal(`Item with id '${id}' not found`, `input[${i}]`, "item_not_found"))
          input.push(found)
        }
        return { earlier, input, root, ancestors, reasoningRefusedAt }
      }).pipe(Effect.catchTag("ResponseStoreUnavailable", (error) => Effect.fail(storeUnavailable(error))))

    const create: RouteKit.Handler = (request, requestId, started) =>
      Effect.gen(function*() {
        const bytes = yield* kit.readBody(request)
        const now = yield* Clock.currentTimeMillis
        const body = yield* Effect.fromResult(parse(bytes))
        const { ancestors, earlier, input, reasoningRefusedAt, root } = yield* conversationOf(body)
      const offset = earlier.length
      const conversation = [...earlier, ...input]
      const chat = yield* Effect.mapError(
        Effect.fromResult(ResponsesRequest.toChat(body, conversation, (i) => i < offset ? "previous_response_id" : `input[${i - offset}]`)),
        (invalid) => ApiError.invalidRequest(invalid.message, invalid.param)
      )
      const ids = ResponsesResponse.idsFor(nextId())
      const createdAt = Math.floor(now / 1000)
      const session = kit.sessionOf(request) ?? root
      /**
       * The conversation's reasoning refusal marks (`ResponseStore.ReasoningMarks`): those of
       * the turns before, and any refusal of this turn's, kept with this turn's entry.
       */
      const marks = new Map(Object.entries(reasoningRefusedAt))
      const remember = (response: ResponsesResponse.ResponseObject) =>
        body.store === false ? Effect.void : store.put({
          id: ids.response,
          conversation: root ?? ids.response,
          previous: body.previous_response_id ?? undefined,
          ancestors,
          input,
          output: response.output,
          response,
          ...(marks.size > 0 ? { reasoningRefusedAt: ResponseStore.mergeMarks(Object.fromEntries(marks)) } : {})
        })
      const failed = (error: Parameters<typeof ApiError.fromLlmError>[0]) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          const apiError = ApiError.fromLlmError(error, kit.scrub)
          return json(ApiError.body(apiError), apiError.status, RouteHeaders.ofError(apiError, body.model, at - started, requestId))
        })
      // The request as an OpenAI deployment takes it natively (see `ResponsesRequest.toNative`):
      // unstored upstream, its reasoning items only where they can be read.
      const targetOf = (d: Deployment.Deployment): ResponsesRequest.NativeTarget => ({
        deployment: d.id,
        model: d.model,
        baseModel: d.baseModel,
        supportsReasoning: d.supportsReasoning,
        reasoningRefusedAt: marks.get(d.id),
        now: now * 1000
      })
      const native = (d: Deployment.Deployment) => ResponsesRequest.toNative(body, conversation, CONSUMED, targetOf(d))
      /**
       * A native call whose reasoning items OpenAI cannot read (its key or org changed since,
       * say) is sent once more without them, in the same attempt: the conversation goes on
       * without its earlier reasoning, rather than failing. The refusal is marked in the
       * conversation (this turn's entry), so its later turns send that deployment only the
       * reasoning it issued since (`toNative`); unless the call carried reasoning of the
       * client's own, which may be what was refused. A client with no stored conversation
       * (`store: false`) gets no such memory: it sends its own items each turn.
       */
      const clientsReasoning = ResponsesRequest.sendsClientsReasoning(conversation)
      const unreadable = (d: Deployment.Deployment, sent: Readonly<Record<string, unknown>>, error: LlmError.LlmError) => {
        const retry = ResponsesRequest.isUnreadableReasoning(error) ? ResponsesRequest.withoutReasoning(sent) : undefined
        if (retry === undefined) return undefined
        const remembered = clientsReasoning ? Effect.void : Effect.sync(() => {
          const mark = ResponsesRequest.refusalMark(conversation, targetOf(d))
          marks.set(d.id, Math.max(mark, marks.get(d.id) ?? mark))
        })
        return Effect.as(
          Effect.andThen(
            remembered,
            Effect.logWarning(`deployment ${d.id} could not read the encrypted reasoning it was sent; sending the call again without it${clientsReasoning || body.store === false ? "" : ", and from now on in this conversation only the reasoning it issues from now"}`)
          ),
          retry
        )
      }
      /** Where and when a native call's answer is issued: its reasoning items are stamped with it. */
      const originOf = (d: Deployment.Deployment) => Effect.map(nowMicros, (issuedAt) => ({ deployment: d.id, issuedAt }))
      if (body.stream === true) {
        // Through the router's streamed operation seam: each attempt on a deployment that speaks
        // the Responses API streams it natively (its events relayed with our ids), any other
        // streams the chat request, translated into events. Either way the router fails over
        // until the first event with output, then ends the stream with the error.
        const translated = (parts: Stream.Stream<LlmClient.StreamPart, LlmError.LlmError>, d?: Deployment.Deployment) =>
          ResponsesStream.fromChatParts(
            parts,
            body,
            ids,
            createdAt,
            // A deployment's stream that said nothing is its failure, as a chat stream's is.
            d === undefined ? undefined : () => ProviderError.emptyAnswer(d.provider, d.id, "the stream ended without content, a tool call or a finish reason")
          )
        const stream = kit.client.operateStream === undefined
          ? translated(kit.client.stream(chat))
          : kit.client.operateStream(chat, {
            open: (d, client, routing) => {
              const viaChat = () => translated(client.stream(routing), d)
              if (client.responsesStream === undefined) return viaChat()
              return Stream.suspend(() => {
                let relayedAny = false
                const sent = native(d)
                const open = (request: Readonly<Record<string, unknown>>) =>
                  Stream.unwrap(Effect.map(originOf(d), (origin) =>
                    ResponsesStream.relayed(
                      Stream.map(client.responsesStream!(request), (event) => {
                        relayedAny = true
                        return event
                      }),
                      body,
                      ids,
                      origin
                    )))
                const events = Stream.catch(open(sent), (error) => {
                  const retry = relayedAny ? undefined : unreadable(d, sent, error)
                  return retry === undefined ? Stream.fail(error) : Stream.unwrap(Effect.map(retry, open))
                })
                return Stream.catchIf(events, (error) => !relayedAny && hasNoResponsesApi(error), viaChat)
              })
            },
            isContent: ResponsesStream.isContent,
            usageOf: ResponsesStream.usageOf,
            describe: ResponsesStream.describe
          })
        const opening = ResponsesResponse.envelope(body, ids, createdAt, body.model)
        return yield* RouteKit.sse({
          apiBaseOf: kit.apiBaseOf,
          stream,
          session,
          requestId,
          onFailure: failed,
          makeEncoder: () => encoder(opening, remember, kit.scrub, (event) => ResponsesResponse.eventForClient(event, body.include))
        })
      }
      const translated = (completion: LlmClient.Completion) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          const value = ResponsesResponse.fromChat(body, completion.response, ids, createdAt, Math.floor(at / 1000))
          return {
            value,
            usage: completion.response.usage,
            contentFiltered: completion.response.choices.some((c) => c.finish_reason === "content_filter"),
            // For the request's span: the chat's id and model, how the answer ended.
            ...ResponsesResponse.described(value, completion.response),
            route: completion.route
          }
        })
      // Through the router's operation seam: each attempt on a deployment whose client speaks
      // the Responses API (OpenAI) sends the request natively, any other gets the chat call.
      const served = kit.client.operate === undefined
        ? Effect.flatMap(kit.client.chat(chat), translated)
        : kit.client.operate(chat, (d, client, routing) => {
          const viaChat = () =>
            Effect.flatMap(client.chat(routing), (completion) =>
              // An answer with no choice is the deployment's failure, as for a chat.
              completion.response.choices.length === 0 ? Effect.fail(ProviderError.emptyAnswer(d.provider, d.id, "no choices")) : translated(completion))
          const responses = client.responses
          if (responses === undefined) return viaChat()
          const sent = native(d)
          const call = (request: Readonly<Record<string, unknown>>) =>
            Effect.flatMap(originOf(d), (origin) =>
              Effect.map(responses(request), (answer) => ({ ...answer, value: ResponsesResponse.fromNative(body, answer.value, ids, origin) })))
          const answered = Effect.catch(call(sent), (error) => {
            const retry = unreadable(d, sent, error)
            return retry === undefined ? Effect.fail(error) : Effect.flatMap(retry, call)
          })
          return Effect.catchIf(answered, hasNoResponsesApi, viaChat)
        })
      return yield* Effect.matchEffect(RouteKit.inSession(served, session), {
        onFailure: failed,
        // Stored whole (encrypted reasoning and all), shown as the client asked (`include`).
        onSuccess: ({ route, value }) =>
          Effect.as(remember(value), json(ResponsesResponse.forClient(value, body.include), 200, RouteHeaders.ofRoute(route, requestId, kit.apiBaseOf(route.deployment))))
      })
      })

    const idOf = (request: HttpServerRequest.HttpServerRequest) => decodeURIComponent(request.url.split("?")[0]!.split("/").at(-1) ?? "")
    /** The `include` query of a retrieve (`include[]=…` as the SDKs send it, or `include=…`), as OpenAI's GET takes it. */
    const includeOf = (request: HttpServerRequest.HttpServerRequest) => {
      const query = new URLSearchParams(request.url.split("?")[1] ?? "")
      return [...query.getAll("include[]"), ...query.getAll("include")]
    }
    const stored = (id: string) => refusal(`Response with id '${id}' not found`, null, "response_not_found", 404)

    const retrieve: RouteKit.Handler = (request, requestId) => {
      const id = idOf(request)
      return Effect.flatMap(Effect.mapError(store.get(id), storeUnavailable), (entry) =>
        entry === undefined
          ? Effect.fail(stored(id))
          : Effect.succeed(json(ResponsesResponse.forClient(entry.response, includeOf(request)), 200, { [RouteHeaders.names.requestId]: requestId })))
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

/**
 * The SSE text of a Responses stream, from the router's parts (events, relayed or translated):
 * each event as the client sees it (`view`), but the last, which is sent once its `Response` is stored (a client that
 * reads it may ask for the response at once, on any replica). A failure after the
 * first event ends the stream with `error` and `response.failed`, numbered on from the last
 * event, carrying the response as it stood (`opening` until an event carried one).
 */
/**
 * Keeps a finished output item where the upstream's `output_index` puts it, as far as that is
 * the next place or an earlier one; any other index (a gap, a huge or broken number) appends it,
 * so an upstream cannot make the array the failure events serialize sparse and huge.
 */
export const keepOutput = (output: Array<unknown>, index: unknown, item: unknown): void => {
  if (typeof index === "number" && Number.isInteger(index) && index >= 0 && index <= output.length) output[index] = item
  else output.push(item)
}

const encoder = (
  opening: ReturnType<typeof ResponsesResponse.envelope>,
  remember: (response: ResponsesResponse.ResponseObject) => Effect.Effect<void>,
  scrub: (text: string) => string,
  view: (event: ResponsesStream.Event) => Readonly<Record<string, unknown>>
): RouteKit.SseEncoder<ResponsesStream.Event> => {
  const sse = (event: ResponsesStream.Event) => ResponsesStream.sse(view(event) as ResponsesStream.Event)
  let latest: ResponsesResponse.ResponseObject | undefined
  let last: { readonly response: ResponsesResponse.ResponseObject; readonly text: string } | undefined
  let next = 0
  const output: Array<unknown> = []
  let ended = false
  const failure = (error: LlmError.LlmError) => {
    ended = true
    const response = latest ?? ResponsesStream.inProgress(opening)
    return ResponsesStream.failedEvents(response, next, output, ApiError.body(ApiError.fromLlmError(error, scrub)).error).map(sse).join("")
  }
  return {
    parts: (batch) => {
      let out = ""
      for (const part of batch) {
        if (ended) break
        if (part._tag === "Chunk") {
          const event = part.chunk
          if (typeof event["sequence_number"] === "number") next = event["sequence_number"] + 1
          const response = event["response"] as ResponsesResponse.ResponseObject | undefined
          if (response !== undefined) latest = response
          if (event.type === "response.output_item.done") keepOutput(output, event["output_index"], event["item"])
          if (ResponsesStream.isLast(event) && response !== undefined) last = { response, text: sse(event) }
          else out += sse(event)
        } else if (part._tag === "Restarted") {
          // The Responses stream has no way to take back what was sent: it ends as a failure.
          out += failure(part.reason)
        }
      }
      return out
    },
    end: Effect.suspend(() => (last === undefined || ended ? Effect.succeed("") : Effect.as(remember(last.response), last.text))),
    fail: failure,
    stopped: () => ended
  }
}

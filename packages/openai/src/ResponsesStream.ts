/**
 * A streamed chat-completions answer as the Responses API's typed event stream:
 * `response.created` and `response.in_progress`, then per output item
 * `response.output_item.added`, its parts and deltas (`response.reasoning_summary_text.delta`,
 * `response.output_text.delta`, `response.function_call_arguments.delta`), their `.done` events
 * and `response.output_item.done`, and last `response.completed` (or `response.incomplete`) with
 * the whole `Response`, which is what a non-streamed call returns. Each event carries its
 * `sequence_number`; on the wire each is an SSE event named after its `type`.
 *
 * A stream routed to an OpenAI deployment is not translated but relayed (`relayed`): its own
 * events under our ids. Either way a routed attempt yields events (`fromChatParts` for a
 * translated one), and `isContent` / `usageOf` tell the router what it needs of them.
 */
import { Chat, type LlmClient, type LlmError } from "@llm-router/core"
import { Clock, Effect, Stream } from "effect"
import * as ResponsesRequest from "./ResponsesRequest.ts"
import * as ResponsesResponse from "./ResponsesResponse.ts"

export type Event = { readonly type: string } & Record<string, unknown>

type OpenItem =
  | { readonly kind: "reasoning"; readonly id: string; readonly index: number; text: string; thinking: Array<unknown> }
  | { readonly kind: "message"; readonly id: string; readonly index: number; text: string }
  | {
    readonly kind: "function"
    readonly id: string
    readonly index: number
    readonly callId: string
    readonly name: string
    args: string
  }

/** The state of one stream's translation: push chunks in order, then `finish`. */
export class Translator {
  private sequence = 0
  private readonly output: Array<ResponsesResponse.OutputItem> = []
  private current: OpenItem | undefined
  /** Function-call items by the chat delta's tool index. */
  private readonly calls = new Map<number, OpenItem & { readonly kind: "function" }>()
  private finish: Chat.FinishReason | null = null
  private ending = false
  private usage: Chat.Usage | undefined
  private model: string
  private readonly base: ReturnType<typeof ResponsesResponse.envelope>
  private readonly ids: ResponsesResponse.Ids

  constructor(request: ResponsesRequest.ResponsesRequest, ids: ResponsesResponse.Ids, createdAt: number) {
    this.ids = ids
    this.model = request.model
    this.base = ResponsesResponse.envelope(request, ids, createdAt, request.model)
  }

  private event(type: string, fields: Record<string, unknown>): Event {
    return { type, sequence_number: this.sequence++, ...fields }
  }

  private inProgress(): ResponsesResponse.ResponseObject {
    return inProgress({ ...this.base, model: this.model })
  }

  /** The opening events. */
  start(): Array<Event> {
    return [this.event("response.created", { response: this.inProgress() }), this.event("response.in_progress", { response: this.inProgress() })]
  }

  private close(out: Array<Event>): void {
    const item = this.current
    if (item === undefined) return
    this.current = undefined
    if (item.kind === "function") return // closed at the end: their deltas may interleave
    if (item.kind === "reasoning") {
      const done = ResponsesResponse.reasoningItem(item.id, item.text, item.thinking)
      if (item.text.length > 0) {
        const part = { type: "summary_text", text: item.text }
        out.push(this.event("response.reasoning_summary_text.done", { item_id: item.id, output_index: item.index, summary_index: 0, text: item.text }))
        out.push(this.event("response.reasoning_summary_part.done", { item_id: item.id, output_index: item.index, summary_index: 0, part }))
      }
      this.output[item.index] = done
      out.push(this.event("response.output_item.done", { output_index: item.index, item: done }))
      return
    }
    const part = ResponsesResponse.outputText(item.text)
    // Only the last item can be cut short (see `ResponsesResponse.outputOf`).
    const status = this.ending && ResponsesResponse.incompleteReason(this.finish) !== undefined && this.calls.size === 0 ? "incomplete" : "completed"
    const done: ResponsesResponse.MessageItem = { type: "message", id: item.id, status, role: "assistant", content: [part] }
    out.push(this.event("response.output_text.done", { item_id: item.id, output_index: item.index, content_index: 0, text: item.text, logprobs: [] }))
    out.push(this.event("response.content_part.done", { item_id: item.id, output_index: item.index, content_index: 0, part }))
    this.output[item.index] = done
    out.push(this.event("response.output_item.done", { output_index: item.index, item: done }))
  }

  private closeCall(call: OpenItem & { readonly kind: "function" }, out: Array<Event>): void {
    const done: ResponsesResponse.FunctionCallItem = {
      type: "function_call",
      id: call.id,
      call_id: call.callId,
      name: call.name,
      arguments: call.args,
      status: "completed"
    }
    out.push(this.event("response.function_call_arguments.done", { item_id: call.id, output_index: call.index, name: call.name, arguments: call.args }))
    this.output[call.index] = done
    out.push(this.event("response.output_item.done", { output_index: call.index, item: done }))
  }

  private reasoning(out: Array<Event>): OpenItem & { readonly kind: "reasoning" } {
    if (this.current?.kind === "reasoning") return this.current
    this.close(out)
    const index = this.output.length
    const item = { kind: "reasoning" as const, id: this.ids.item("rs", index), index, text: "", thinking: [] }
    this.current = item
    this.output.push(ResponsesResponse.reasoningItem(item.id, "", []))
    out.push(this.event("response.output_item.added", { output_index: index, item: { type: "reasoning", id: item.id, summary: [] } }))
    return item
  }

  private message(out: Array<Event>): OpenItem & { readonly kind: "message" } {
    if (this.current?.kind === "message") return this.current
    this.close(out)
    const index = this.output.length
    const item = { kind: "message" as const, id: this.ids.item("msg", index), index, text: "" }
    this.current = item
    const added: ResponsesResponse.MessageItem = { type: "message", id: item.id, status: "in_progress", role: "assistant", content: [] }
    this.output.push(added)
    out.push(this.event("response.output_item.added", { output_index: index, item: added }))
    out.push(this.event("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part: ResponsesResponse.outputText("") }))
    return item
  }

  /** The events for one chunk (its first choice). */
  push(chunk: Chat.ChatChunk): Array<Event> {
    const out: Array<Event> = []
    if (chunk.model.length > 0) this.model = chunk.model
    if (chunk.usage) this.usage = chunk.usage
    const choice = chunk.choices.find((c) => c.index === 0)
    if (choice === undefined) return out
    const delta = choice.delta
    if (typeof delta.reasoning_content === "string" && delta.reasoning_content.length > 0) {
      const item = this.reasoning(out)
      if (item.text.length === 0) {
        out.push(this.event("response.reasoning_summary_part.added", { item_id: item.id, output_index: item.index, summary_index: 0, part: { type: "summary_text", text: "" } }))
      }
      item.text += delta.reasoning_content
      out.push(this.event("response.reasoning_summary_text.delta", { item_id: item.id, output_index: item.index, summary_index: 0, delta: delta.reasoning_content }))
    }
    if (delta.thinking_blocks !== undefined && delta.thinking_blocks.length > 0) this.reasoning(out).thinking.push(...delta.thinking_blocks)
    const text = (delta.content ?? "") + (delta.refusal ?? "")
    if (text.length > 0) {
      const item = this.message(out)
      item.text += text
      out.push(this.event("response.output_text.delta", { item_id: item.id, output_index: item.index, content_index: 0, delta: text, logprobs: [] }))
    }
    for (const call of delta.tool_calls ?? []) {
      let item = this.calls.get(call.index)
      if (item === undefined) {
        this.close(out)
        const index = this.output.length
        item = { kind: "function", id: this.ids.item("fc", index), index, callId: call.id ?? `call_${index}`, name: call.function?.name ?? "", args: "" }
        this.calls.set(call.index, item)
        this.current = item
        const added: ResponsesResponse.FunctionCallItem = {
          type: "function_call",
          id: item.id,
          call_id: item.callId,
          name: item.name,
          arguments: "",
          status: "in_progress"
        }
        this.output.push(added)
        out.push(this.event("response.output_item.added", { output_index: index, item: added }))
      }
      const args = call.function?.arguments ?? ""
      if (args.length > 0) {
        item.args += args
        out.push(this.event("response.function_call_arguments.delta", { item_id: item.id, output_index: item.index, delta: args }))
      }
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) this.finish = choice.finish_reason
    return out
  }

  /** The closing events, and the whole `Response` they carry. */
  end(completedAt: number): { readonly events: Array<Event>; readonly response: ResponsesResponse.ResponseObject } {
    const out: Array<Event> = []
    this.ending = true
    this.close(out)
    for (const call of this.calls.values()) this.closeCall(call, out)
    this.calls.clear()
    const response = ResponsesResponse.complete({ ...this.base, model: this.model }, this.output, this.finish, this.usage, completedAt)
    out.push(this.event(response.status === "completed" ? "response.completed" : "response.incomplete", { response }))
    return { events: out, response }
  }
}

/** The `Response` of an answer under way, before any output: what `response.created` carries. */
export const inProgress = (base: ReturnType<typeof ResponsesResponse.envelope>): ResponsesResponse.ResponseObject => ({
  ...base,
  status: "in_progress",
  completed_at: null,
  error: null,
  incomplete_details: null,
  output: [],
  output_text: "",
  usage: null
})

/** What a failed stream's `error` event says (the gateway's error body). */
export interface FailedWith {
  readonly code: string | null
  readonly message: string
  readonly param: string | null
}

/**
 * The events that end a stream that failed, numbered from `sequence`: `error`, then
 * `response.failed` with `response` as it stood and the output items finished so far.
 */
export const failedEvents = (
  response: ResponsesResponse.ResponseObject,
  sequence: number,
  output: ReadonlyArray<unknown>,
  error: FailedWith
): Array<Event> => [
  { type: "error", sequence_number: sequence, code: error.code, message: error.message, param: error.param },
  {
    type: "response.failed",
    sequence_number: sequence + 1,
    response: { ...response, status: "failed", completed_at: null, error: { code: error.code ?? "server_error", message: error.message }, output }
  }
]

/** The events that carry no output yet: held by the router, so a failure until the first other event fails over unseen. */
const PREAMBLE = new Set([
  "response.created",
  "response.in_progress",
  "response.queued",
  "response.output_item.added",
  "response.content_part.added",
  "response.reasoning_summary_part.added"
])

/** Whether an event is content (see `PREAMBLE`). */
export const isContent = (event: Event): boolean => !PREAMBLE.has(event.type)

/** Whether an event ends the answer, carrying the whole `Response`. */
export const isLast = (event: Event): boolean => event.type === "response.completed" || event.type === "response.incomplete"

/** The usage the last event reports (in the router's names), else `undefined`. */
export const usageOf = (event: Event): Chat.Usage | undefined =>
  isLast(event) && typeof event["response"] === "object" && event["response"] !== null
    ? ResponsesResponse.chatUsage((event["response"] as Record<string, unknown>)["usage"])
    : undefined

const chunkOf = (event: Event): LlmClient.Part<Event> => ({ _tag: "Chunk", chunk: event })

/**
 * A chat stream's parts as the Responses events of one attempt (a fresh `Translator` per run):
 * the opening events before the first chunk, each chunk's events, and the closing events once
 * the chat stream ends. `Start` and `Restarted` pass through (a router drops the former; a
 * caller without one reads its route from it), `Done` is dropped. A chat stream that ends with
 * no content fails with `empty` when given (a deployment's empty answer, for the router to fail
 * over, as it does a chat's), rather than completing a response with nothing in it.
 */
export const fromChatParts = (
  parts: Stream.Stream<LlmClient.StreamPart, LlmError.LlmError>,
  request: ResponsesRequest.ResponsesRequest,
  ids: ResponsesResponse.Ids,
  createdAt: number,
  empty?: () => LlmError.LlmError
): Stream.Stream<LlmClient.Part<Event>, LlmError.LlmError> =>
  Stream.suspend(() => {
    const translator = new Translator(request, ids, createdAt)
    let started = false
    let content = false
    /** The chat's own id and model (its first chunk's), for the request's span (`describe`). */
    let upstream: { readonly id: string; readonly model: string } | undefined
    const opening = (): Array<LlmClient.Part<Event>> => {
      if (started) return []
      started = true
      return translator.start().map(chunkOf)
    }
    const body = Stream.flattenIterable(Stream.map(parts, (part): Array<LlmClient.Part<Event>> => {
      switch (part._tag) {
        case "Start":
          return [part, ...opening()]
        case "Chunk":
          upstream ??= part.chunk
          content ||= Chat.chunkHasContent(part.chunk)
          return [...opening(), ...translator.push(part.chunk).map(chunkOf)]
        case "Restarted":
          return [part]
        case "Done":
          return []
      }
    }))
    const end = Stream.fromIterableEffect(Effect.suspend(() =>
      !content && empty !== undefined ? Effect.fail(empty()) : Effect.map(Clock.currentTimeMillis, (now) => {
        const { events, response } = translator.end(Math.floor(now / 1000))
        // The last event carries the whole `Response`: what it says, with the chat's id and model.
        upstreamOf.set(events.at(-1)!, ResponsesResponse.described(response, upstream ?? {}))
        return [...opening(), ...events.map(chunkOf)]
      })
    ))
    return Stream.concat(body, end)
  })

/**
 * An OpenAI deployment's own events (a native stream) as the gateway sends them: its response
 * and item ids replaced by ours (`ResponsesResponse.idsFor`), so the store and `item_reference`
 * work whichever deployment served the turn, its encrypted reasoning marked as `origin`'s
 * (`ResponsesResponse.withOurId`), and its `Response` objects carrying the
 * conversation's `previous_response_id` and `store` (`ResponsesResponse.fromNative`). Its
 * sequence numbers are kept: only one attempt's events reach the client.
 */
export const relayed = (
  events: Stream.Stream<Readonly<Record<string, unknown>>, LlmError.LlmError>,
  request: ResponsesRequest.ResponsesRequest,
  ids: ResponsesResponse.Ids,
  origin: ResponsesResponse.NativeOrigin
): Stream.Stream<LlmClient.Part<Event>, LlmError.LlmError> =>
  Stream.suspend(() => {
    /** Each output index's id kind, from its `response.output_item.added`. */
    const kinds = new Map<number, "msg" | "fc" | "rs">()
    return Stream.map(events, (native): LlmClient.Part<Event> => {
      const event: Record<string, unknown> = { ...native }
      const index = native["output_index"]
      if (typeof index === "number") {
        const item = native["item"]
        if (typeof item === "object" && item !== null) {
          const kind = ResponsesResponse.kindOfItem(item as Record<string, unknown>)
          if (kind !== undefined) kinds.set(index, kind)
          event["item"] = ResponsesResponse.withOurId(item as Record<string, unknown>, index, ids, origin)
        }
        const kind = kinds.get(index)
        if (typeof native["item_id"] === "string" && kind !== undefined) event["item_id"] = ids.item(kind, index)
      }
      const response = native["response"]
      if (typeof response === "object" && response !== null) {
        event["response"] = ResponsesResponse.fromNative(request, response as Record<string, unknown>, ids, origin)
      }
      if (typeof event["type"] !== "string") event["type"] = "unknown"
      if (typeof response === "object" && response !== null) upstreamOf.set(event as Event, ResponsesResponse.described(response as Record<string, unknown>))
      return chunkOf(event as Event)
    })
  })

/**
 * What the events of a routed attempt say of the answer, for the request's span: the upstream's
 * response id and model, which our ids replaced in the events themselves (`relayed`), or a
 * translated stream's chat id and model. Keyed weakly by the event, set only on the few events
 * that carry a whole `Response`.
 */
const upstreamOf = new WeakMap<Event, LlmClient.Described>()

/** What an event of a routed attempt says of the answer (the `StreamOperation`'s `describe`), if anything. */
export const describe = (event: Event): LlmClient.Described | undefined => upstreamOf.get(event)

/** An event as SSE, named after its type as OpenAI's stream does. */
export const sse = (event: Event): string => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`

/**
 * A streamed chat-completions answer as the Responses API's typed event stream:
 * `response.created` and `response.in_progress`, then per output item
 * `response.output_item.added`, its parts and deltas (`response.reasoning_summary_text.delta`,
 * `response.output_text.delta`, `response.function_call_arguments.delta`), their `.done` events
 * and `response.output_item.done`, and last `response.completed` (or `response.incomplete`) with
 * the whole `Response`, which is what a non-streamed call returns. Each event carries its
 * `sequence_number`; on the wire each is an SSE event named after its `type`.
 */
import type { Chat } from "@llm-router/core"
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
    return { ...this.base, model: this.model, status: "in_progress", completed_at: null, error: null, incomplete_details: null, output: [], output_text: "", usage: null }
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

  /** The events that end a stream that failed: `error`, then `response.failed`. */
  failed(error: { readonly code: string | null; readonly message: string; readonly param: string | null }): Array<Event> {
    const response: ResponsesResponse.ResponseObject = {
      ...this.inProgress(),
      status: "failed",
      error: { code: error.code ?? "server_error", message: error.message },
      output: this.output
    }
    return [
      this.event("error", { code: error.code, message: error.message, param: error.param }),
      this.event("response.failed", { response })
    ]
  }
}

/** An event as SSE, named after its type as OpenAI's stream does. */
export const sse = (event: Event): string => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`

/**
 * A streamed chat-completions answer as Anthropic's named SSE events, for a client of the
 * gateway's Messages API: the inverse of `AnthropicStream`. `message_start` and a `ping`, then
 * one content block at a time (`content_block_start`, its deltas, `content_block_stop`):
 * reasoning as a `thinking` block whose signature (Claude's, from the adapter's
 * `thinking_blocks`) arrives as a `signature_delta`, text as a `text` block, each tool call as a
 * `tool_use` block whose arguments stream as `input_json_delta`s; last `message_delta` with the
 * stop reason (and the stop sequence, when the provider named one) and the whole usage, and
 * `message_stop`.
 */
import type { Chat } from "@llm-router/core"
import * as InboundResponse from "./InboundResponse.ts"
import * as ToolNames from "./internal/ToolNames.ts"

export type Event = { readonly type: string } & Record<string, unknown>

type Open =
  | { readonly kind: "thinking"; readonly index: number }
  | { readonly kind: "text"; readonly index: number }
  | { readonly kind: "tool"; readonly index: number; readonly toolIndex: number }

/** The state of one stream's translation: `start`, push chunks in order, then `end`. */
export class Translator {
  private next = 0
  private current: Open | undefined
  private finish: Chat.FinishReason | null = null
  private stopSequence: string | null = null
  private usage: Chat.Usage | undefined
  private readonly model: string
  private readonly names: ReadonlyMap<string, string>

  /** `names` gives shortened tool names back (`InboundRequest.toolNames`). */
  constructor(model: string, names: ReadonlyMap<string, string> = new Map()) {
    this.model = model
    this.names = names
  }

  /** `message_start` (with the id and model of the first chunk) and a `ping`. */
  start(chunk: Chat.ChatChunk | undefined): Array<Event> {
    return [
      {
        type: "message_start",
        message: {
          id: InboundResponse.messageId(chunk?.id ?? "gateway"),
          type: "message",
          role: "assistant",
          model: chunk?.model || this.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
        }
      },
      { type: "ping" }
    ]
  }

  private close(out: Array<Event>): void {
    if (this.current === undefined) return
    out.push({ type: "content_block_stop", index: this.current.index })
    this.current = undefined
  }

  private open(block: Open["kind"], contentBlock: Record<string, unknown>, out: Array<Event>, toolIndex = -1): number {
    this.close(out)
    const index = this.next++
    this.current = block === "tool" ? { kind: "tool", index, toolIndex } : { kind: block, index }
    out.push({ type: "content_block_start", index, content_block: contentBlock })
    return index
  }

  push(chunk: Chat.ChatChunk): Array<Event> {
    const out: Array<Event> = []
    if (chunk.usage) this.usage = chunk.usage
    const choice = chunk.choices.find((c) => c.index === 0)
    if (choice === undefined) return out
    const delta = choice.delta
    if (typeof delta.reasoning_content === "string" && delta.reasoning_content.length > 0) {
      const index = this.current?.kind === "thinking" ? this.current.index : this.open("thinking", { type: "thinking", thinking: "", signature: "" }, out)
      out.push({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: delta.reasoning_content } })
    }
    for (const block of delta.thinking_blocks ?? []) {
      // The adapter hands over each signed block whole as it ends: its thinking was streamed already.
      if (block["type"] === "thinking" && typeof block["signature"] === "string") {
        const index = this.current?.kind === "thinking"
          ? this.current.index
          : this.open("thinking", { type: "thinking", thinking: "", signature: "" }, out)
        out.push({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: block["signature"] } })
        this.close(out)
      } else if (block["type"] === "redacted_thinking") {
        this.open("thinking", { type: "redacted_thinking", data: block["data"] }, out)
        this.close(out)
      }
    }
    const text = (delta.content ?? "") + (delta.refusal ?? "")
    if (text.length > 0) {
      const index = this.current?.kind === "text" ? this.current.index : this.open("text", { type: "text", text: "" }, out)
      out.push({ type: "content_block_delta", index, delta: { type: "text_delta", text } })
    }
    for (const call of delta.tool_calls ?? []) {
      const index = this.current?.kind === "tool" && this.current.toolIndex === call.index
        ? this.current.index
        : this.open("tool", { type: "tool_use", id: call.id ?? `toolu_${this.next}`, name: ToolNames.restore(this.names, call.function?.name ?? ""), input: {} }, out, call.index)
      const args = call.function?.arguments ?? ""
      if (args.length > 0) out.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: args } })
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) this.finish = choice.finish_reason
    if (typeof choice.stop_sequence === "string") this.stopSequence = choice.stop_sequence
    return out
  }

  /** `message_delta` with the stop reason and the usage, then `message_stop`. */
  end(): Array<Event> {
    const out: Array<Event> = []
    this.close(out)
    out.push({
      type: "message_delta",
      delta: {
        stop_reason: InboundResponse.stopReason(this.finish, this.stopSequence),
        stop_sequence: InboundResponse.stopSequenceOf(this.finish, this.stopSequence)
      },
      usage: InboundResponse.usageOf(this.usage)
    })
    out.push({ type: "message_stop" })
    return out
  }
}

/** An event as SSE, named after its type as Anthropic's stream does. */
export const sse = (event: Event): string => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`

/** The event that ends a stream that failed after it began. */
export const errorEvent = (status: number, message: string): string =>
  sse(InboundResponse.errorBody(status, message) as unknown as Event)

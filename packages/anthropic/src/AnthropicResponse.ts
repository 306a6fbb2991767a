/**
 * Anthropic's Message (the body of a non-streamed 200) as a Schema, and its translation into an
 * OpenAI-shape `ChatResponse`: text blocks joined into `content`, thinking into
 * `reasoning_content` (and kept whole in `thinking_blocks`), `tool_use` blocks as `tool_calls`
 * (the JSON tool's as `content`: see `StructuredOutput`), `stop_reason` as `finish_reason` (and
 * the `stop_sequence` that ended it), cache-aware usage. The stream translation
 * (`AnthropicStream`) shares `finishReason` and `toUsage`.
 */
import type { Chat } from "@llm-router/core"
import { Schema } from "effect"
import { JSON_TOOL_NAME } from "./StructuredOutput.ts"

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const OptionalCount = Schema.optionalKey(Schema.NullOr(Count))

/** Usage as Anthropic reports it; `input_tokens` excludes the cached parts of the prompt. */
export const Usage = Schema.Struct({
  input_tokens: Count,
  output_tokens: Count,
  cache_creation_input_tokens: OptionalCount,
  cache_read_input_tokens: OptionalCount
})
export type Usage = typeof Usage.Type

export const TextBlock = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
export const ToolUseBlock = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: Schema.Unknown
})
/** Extended thinking (`reasoning_effort`): its text becomes `reasoning_content`. */
export const ThinkingBlock = Schema.Struct({
  type: Schema.Literal("thinking"),
  thinking: Schema.String,
  signature: Schema.optionalKey(Schema.String)
})
/** Thinking the safety system encrypted: nothing to show, but Claude needs it back in a tool loop. */
export const RedactedThinkingBlock = Schema.Struct({ type: Schema.Literal("redacted_thinking"), data: Schema.String })
const KNOWN_BLOCKS = new Set(["text", "tool_use", "thinking", "redacted_thinking"])
/** Server-tool and other blocks: tolerated and left out of the OpenAI answer. */
export const OtherBlock = Schema.Struct({
  type: Schema.String.check(Schema.makeFilter((type: string) => !KNOWN_BLOCKS.has(type)))
})
export const ContentBlock = Schema.Union([TextBlock, ToolUseBlock, ThinkingBlock, RedactedThinkingBlock, OtherBlock])
export type ContentBlock = typeof ContentBlock.Type

export const Message = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("message"),
  role: Schema.Literal("assistant"),
  model: Schema.String,
  content: Schema.Array(ContentBlock),
  stop_reason: Schema.optionalKey(Schema.NullOr(Schema.String)),
  stop_sequence: Schema.optionalKey(Schema.NullOr(Schema.String)),
  usage: Usage
})
export type Message = typeof Message.Type

/**
 * `stop_reason` → `finish_reason`. `refusal` is a content filter; `pause_turn` (a server tool
 * paused the turn) ends this answer normally; unknown future reasons read as `stop`.
 */
export const finishReason = (reason: string | null | undefined): Chat.FinishReason | null => {
  switch (reason) {
    case null:
    case undefined:
      return null
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      return "stop"
  }
}

export interface UsageCounts {
  readonly input_tokens?: number | null | undefined
  readonly output_tokens?: number | null | undefined
  readonly cache_creation_input_tokens?: number | null | undefined
  readonly cache_read_input_tokens?: number | null | undefined
}

/** OpenAI usage: the prompt counts cached reads and cache writes too, as OpenAI's does. */
export const toUsage = (usage: UsageCounts): Chat.Usage => {
  const cacheRead = usage.cache_read_input_tokens ?? 0
  const cacheWrite = usage.cache_creation_input_tokens ?? 0
  const prompt = (usage.input_tokens ?? 0) + cacheRead + cacheWrite
  const completion = usage.output_tokens ?? 0
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite }
  }
}

/** A JSON answer wrapped in one Markdown fence, unwrapped (a `json_object` answer is only asked for in the prompt). */
export const stripJsonFence = (text: string): string => {
  const match = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text)
  return match !== null ? (match[1] ?? text) : text
}

export interface Options {
  /** Epoch seconds for `created` (Anthropic's Message has no timestamp). */
  readonly created: number
  /** The request asked for JSON: unwrap a fenced answer. */
  readonly json?: boolean | undefined
  /** The request answers through `StructuredOutput`'s JSON tool: its input is the content. */
  readonly jsonTool?: boolean | undefined
}

export const toChatResponse = (message: Message, options: Options): Chat.ChatResponse => {
  let text = ""
  let reasoning = ""
  // Kept whole and in order, to be sent back as they came (see `AnthropicRequest`).
  const thinkingBlocks: Array<typeof ThinkingBlock.Type | typeof RedactedThinkingBlock.Type> = []
  const toolCalls: Array<Chat.ToolCall> = []
  let answeredByTool = false
  for (const block of message.content) {
    if (block.type === "text") text += (block as typeof TextBlock.Type).text
    else if (block.type === "thinking") {
      const thinking = block as typeof ThinkingBlock.Type
      reasoning += thinking.thinking
      thinkingBlocks.push(thinking)
    } else if (block.type === "redacted_thinking") thinkingBlocks.push(block as typeof RedactedThinkingBlock.Type)
    else if (block.type === "tool_use") {
      const call = block as typeof ToolUseBlock.Type
      if (options.jsonTool === true && call.name === JSON_TOOL_NAME) {
        answeredByTool = true
        text += JSON.stringify(call.input ?? {})
        continue
      }
      toolCalls.push({
        id: call.id,
        type: "function",
        function: { name: call.name, arguments: JSON.stringify(call.input ?? {}) }
      })
    }
  }
  if (options.json === true) text = stripJsonFence(text)
  return {
    id: message.id,
    object: "chat.completion",
    created: options.created,
    model: message.model,
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: text.length > 0 || toolCalls.length === 0 ? text : null,
        ...(reasoning.length > 0 ? { reasoning_content: reasoning } : {}),
        ...(thinkingBlocks.length > 0 ? { thinking_blocks: thinkingBlocks } : {}),
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {})
      },
      // The JSON tool's call is the answer itself, which ended as any answer does.
      finish_reason: answeredByTool && toolCalls.length === 0 && message.stop_reason === "tool_use"
        ? "stop"
        : finishReason(message.stop_reason),
      ...(message.stop_reason === "stop_sequence" && typeof message.stop_sequence === "string"
        ? { stop_sequence: message.stop_sequence }
        : {})
    }],
    usage: toUsage(message.usage)
  }
}

/**
 * A chat-completions answer as Anthropic's `Message`, for a client of the gateway's Messages API:
 * the inverse of `AnthropicResponse.toChatResponse`. Signed thinking comes back as the blocks
 * Claude wrote (other providers' reasoning as unsigned `thinking`), then the text, then tool uses;
 * `finish_reason` becomes `stop_reason`, and usage is split back into uncached input, cache reads
 * and cache writes. Errors take Anthropic's shape too.
 */
import type { Chat } from "@llm-router/core"
import type * as AnthropicResponse from "./AnthropicResponse.ts"
import * as ToolNames from "./internal/ToolNames.ts"

/**
 * `finish_reason` → `stop_reason` (the inverse of `AnthropicResponse.finishReason`). A stop
 * is `stop_sequence` only when the provider named the sequence (`stop_sequence`, Claude's):
 * OpenAI and Gemini say `stop` for a sequence and a natural end alike, which reads as `end_turn`.
 */
export const stopReason = (finish: Chat.FinishReason | null | undefined, stopSequence?: string | null): string => {
  if (finish === "stop" && typeof stopSequence === "string") return "stop_sequence"
  switch (finish) {
    case "length":
      return "max_tokens"
    case "tool_calls":
    case "function_call":
      return "tool_use"
    case "content_filter":
      return "refusal"
    default:
      return "end_turn"
  }
}

/** The `stop_sequence` to report: the one that ended the answer, or `null`. */
export const stopSequenceOf = (finish: Chat.FinishReason | null | undefined, stopSequence: string | null | undefined): string | null =>
  finish === "stop" && typeof stopSequence === "string" ? stopSequence : null

/** Anthropic usage from chat usage: `input_tokens` counts only the prompt that was neither read from nor written to a cache. */
export const usageOf = (usage: Chat.Usage | null | undefined): AnthropicResponse.Usage & {
  readonly cache_creation_input_tokens: number
  readonly cache_read_input_tokens: number
} => {
  const read = usage?.prompt_tokens_details?.cached_tokens ?? 0
  const written = usage?.prompt_tokens_details?.cache_write_tokens ?? 0
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - read - written),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: written,
    cache_read_input_tokens: read
  }
}

/** A message id in Anthropic's form: Claude's own, else the upstream's behind `msg_`. */
export const messageId = (id: string): string => (id.startsWith("msg_") ? id : `msg_${id.replace(/[^a-zA-Z0-9_-]/g, "")}`)

/** Tool arguments as `input`: the JSON object they hold, or `{}` when they are not one. */
const toolInput = (args: string): Record<string, unknown> => {
  try {
    const parsed: unknown = JSON.parse(args)
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : {}
  } catch {
    return {}
  }
}

/** `names` gives shortened tool names back (`InboundRequest.toolNames`). */
export const fromChat = (response: Chat.ChatResponse, names: ReadonlyMap<string, string> = new Map()): AnthropicResponse.Message => {
  const choice = response.choices[0]
  const message = choice?.message
  const content: Array<AnthropicResponse.ContentBlock> = []
  if (message !== undefined) {
    const blocks = message.thinking_blocks ?? []
    for (const block of blocks) content.push(block as AnthropicResponse.ContentBlock)
    if (blocks.length === 0 && typeof message.reasoning_content === "string" && message.reasoning_content.length > 0) {
      content.push({ type: "thinking", thinking: message.reasoning_content, signature: "" })
    }
    if (typeof message.content === "string" && message.content.length > 0) content.push({ type: "text", text: message.content })
    for (const call of message.tool_calls ?? []) {
      content.push({ type: "tool_use", id: call.id, name: ToolNames.restore(names, call.function.name), input: toolInput(call.function.arguments) })
    }
  }
  return {
    id: messageId(response.id),
    type: "message",
    role: "assistant",
    model: response.model,
    content,
    stop_reason: stopReason(choice?.finish_reason, choice?.stop_sequence),
    stop_sequence: stopSequenceOf(choice?.finish_reason, choice?.stop_sequence),
    usage: usageOf(response.usage)
  }
}

/** Anthropic's error `type` for an HTTP status. */
const errorType = (status: number): string => {
  switch (status) {
    case 400:
    case 408:
      return "invalid_request_error"
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 503:
    case 529:
      return "overloaded_error"
    case 504:
      return "timeout_error"
    default:
      return "api_error"
  }
}

/** Anthropic's error body: `{"type": "error", "error": {"type", "message"}}`. */
export const errorBody = (status: number, message: string) => ({ type: "error", error: { type: errorType(status), message } })

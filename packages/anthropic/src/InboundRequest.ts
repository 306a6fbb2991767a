/**
 * Anthropic's Messages API request as a client sends it to the gateway (`POST /v1/messages`), as
 * a Schema, and its translation into a `ChatRequest`: the inverse of `AnthropicRequest`, written
 * so that the Anthropic adapter turns the chat request back into what the client sent (system
 * blocks and `cache_control` marks kept, signed thinking blocks as `thinking_blocks`, `thinking`
 * carried as it is, tool uses and results as tool calls and tool messages, a failed result's
 * `is_error` kept on its tool message, names longer than chat completions take shortened),
 * while any other
 * provider gets an ordinary chat request. What chat completions cannot carry (server tools,
 * documents by URL) is refused with the field at fault.
 */
import { Result, Schema } from "effect"
import { type Chat, Untranslatable } from "@llm-router/core"
import * as ToolNames from "./internal/ToolNames.ts"

const Rest = [Schema.Record(Schema.String, Schema.Unknown)] as const
const open = <F extends Schema.Struct.Fields>(fields: F) => Schema.StructWithRest(Schema.Struct(fields), Rest)

export const CacheControl = Schema.Struct({ type: Schema.Literal("ephemeral"), ttl: Schema.optionalKey(Schema.Literals(["5m", "1h"])) })
const Cache = Schema.optionalKey(Schema.NullOr(CacheControl))

export const TextBlock = open({ type: Schema.Literal("text"), text: Schema.String, cache_control: Cache })
const Base64Source = open({ type: Schema.Literal("base64"), media_type: Schema.String, data: Schema.String })
const UrlSource = open({ type: Schema.Literal("url"), url: Schema.String })
export const ImageBlock = open({ type: Schema.Literal("image"), source: Schema.Union([Base64Source, UrlSource]), cache_control: Cache })
export const DocumentBlock = open({
  type: Schema.Literal("document"),
  source: Schema.Union([Base64Source, UrlSource, open({ type: Schema.String })]),
  cache_control: Cache
})
export const ToolUseBlock = open({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: Schema.Unknown,
  cache_control: Cache
})
export const ToolResultBlock = open({
  type: Schema.Literal("tool_result"),
  tool_use_id: Schema.String,
  content: Schema.optionalKey(Schema.Union([Schema.String, Schema.Array(Schema.Union([TextBlock, ImageBlock, DocumentBlock]))])),
  is_error: Schema.optionalKey(Schema.Boolean),
  cache_control: Cache
})
export const ThinkingBlock = open({ type: Schema.Literal("thinking"), thinking: Schema.String, signature: Schema.String })
export const RedactedThinkingBlock = open({ type: Schema.Literal("redacted_thinking"), data: Schema.String })
export const Block = Schema.Union([TextBlock, ImageBlock, DocumentBlock, ToolUseBlock, ToolResultBlock, ThinkingBlock, RedactedThinkingBlock])
export type Block = typeof Block.Type

export const MessageParam = open({
  role: Schema.Literals(["user", "assistant"]),
  content: Schema.Union([Schema.String, Schema.Array(Block)])
})

/** A client tool (`custom`); server tools (web search, code execution, …) decode and are refused. */
export const CustomTool = open({
  type: Schema.optionalKey(Schema.NullOr(Schema.Literal("custom"))),
  name: Schema.String,
  description: Schema.optionalKey(Schema.String),
  input_schema: Schema.Record(Schema.String, Schema.Unknown),
  cache_control: Cache
})
export const ServerTool = open({ type: Schema.String, name: Schema.String })
export const Tool = Schema.Union([CustomTool, ServerTool])

export const ToolChoice = Schema.Union([
  open({ type: Schema.Literals(["auto", "any", "none"]), disable_parallel_tool_use: Schema.optionalKey(Schema.Boolean) }),
  open({ type: Schema.Literal("tool"), name: Schema.String, disable_parallel_tool_use: Schema.optionalKey(Schema.Boolean) })
])

export const Thinking = Schema.Union([
  Schema.Struct({ type: Schema.Literal("enabled"), budget_tokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1024)) }),
  Schema.Struct({ type: Schema.Literals(["disabled", "adaptive"]) })
])

/** Structured output (`format`, a JSON schema) and effort; only `format` is carried (as `response_format`). */
export const OutputConfig = open({
  effort: Schema.optionalKey(Schema.NullOr(Schema.String)),
  format: Schema.optionalKey(Schema.NullOr(open({ type: Schema.Literal("json_schema"), schema: Schema.Record(Schema.String, Schema.Unknown) })))
})

const countTokensFields = {
  model: Schema.String,
  messages: Schema.Array(MessageParam),
  system: Schema.optionalKey(Schema.Union([Schema.String, Schema.Array(TextBlock)])),
  stop_sequences: Schema.optionalKey(Schema.Array(Schema.String)),
  temperature: Schema.optionalKey(Schema.Finite),
  top_p: Schema.optionalKey(Schema.Finite),
  top_k: Schema.optionalKey(Schema.Int),
  tools: Schema.optionalKey(Schema.Array(Tool)),
  tool_choice: Schema.optionalKey(ToolChoice),
  thinking: Schema.optionalKey(Thinking),
  metadata: Schema.optionalKey(open({ user_id: Schema.optionalKey(Schema.NullOr(Schema.String)) })),
  /** Automatic caching: a breakpoint on the request's last cacheable block. */
  cache_control: Cache,
  output_config: Schema.optionalKey(OutputConfig)
}

/** `POST /v1/messages/count_tokens`: a request without `max_tokens` and `stream`. */
export const CountTokensRequest = open(countTokensFields)
export type CountTokensRequest = typeof CountTokensRequest.Type

export const MessagesRequest = open({
  ...countTokensFields,
  max_tokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  stream: Schema.optionalKey(Schema.Boolean)
})
export type MessagesRequest = typeof MessagesRequest.Type

export const decode = Schema.decodeUnknownResult(MessagesRequest)

/** Why a request cannot be translated, and the field at fault. */
export const Invalid = Untranslatable.Untranslatable
export type Invalid = Untranslatable.Untranslatable

/** `cache_control` kept on a chat part, where the Anthropic adapter reads it back. */
const withCache = <T extends object>(part: T, cache: typeof CacheControl.Type | null | undefined): T =>
  cache === undefined || cache === null ? part : { ...part, cache_control: cache }

const imagePart = (block: typeof ImageBlock.Type): Chat.ContentPart => {
  const source = block.source
  const url = source.type === "base64"
    ? `data:${(source as typeof Base64Source.Type).media_type};base64,${(source as typeof Base64Source.Type).data}`
    : (source as typeof UrlSource.Type).url
  return withCache({ type: "image_url" as const, image_url: { url } }, block.cache_control)
}

const userPart = (block: Block, param: string): Chat.ContentPart => {
  switch (block.type) {
    case "text":
      return withCache({ type: "text" as const, text: (block as typeof TextBlock.Type).text }, (block as typeof TextBlock.Type).cache_control)
    case "image":
      return imagePart(block as typeof ImageBlock.Type)
    case "document": {
      const document = block as typeof DocumentBlock.Type
      const source = document.source as Record<string, unknown>
      if (source["type"] !== "base64" || source["media_type"] !== "application/pdf") {
        throw new Invalid("documents must be PDFs given inline as base64", `${param}.source`)
      }
      return withCache({ type: "file", file: { file_data: `data:application/pdf;base64,${String(source["data"])}` } }, document.cache_control)
    }
    default:
      throw new Invalid(`a ${block.type} block cannot appear in a user turn`, param)
  }
}

const toolResult = (block: typeof ToolResultBlock.Type, param: string): Chat.Message => {
  const content = block.content === undefined
    ? ""
    : typeof block.content === "string"
    ? block.content
    : block.content.map((part, j) => userPart(part, `${param}.content[${j}]`))
  return withCache({
    role: "tool" as const,
    tool_call_id: block.tool_use_id,
    content,
    ...(block.is_error === true ? { is_error: true } : {})
  }, block.cache_control)
}

const assistantMessage = (content: string | ReadonlyArray<Block>, param: string): Chat.Message => {
  if (typeof content === "string") return { role: "assistant", content }
  const parts: Array<Chat.TextPart> = []
  const thinking: Array<Record<string, unknown>> = []
  const calls: Array<Chat.ToolCall> = []
  content.forEach((block, j) => {
    switch (block.type) {
      case "text": {
        const text = block as typeof TextBlock.Type
        parts.push(withCache({ type: "text" as const, text: text.text }, text.cache_control))
        return
      }
      case "thinking": {
        const t = block as typeof ThinkingBlock.Type
        // Unsigned thinking (another provider's, as this gateway returned it) cannot go back to Claude.
        if (t.signature.length > 0) thinking.push({ type: "thinking", thinking: t.thinking, signature: t.signature })
        return
      }
      case "redacted_thinking":
        thinking.push({ type: "redacted_thinking", data: (block as typeof RedactedThinkingBlock.Type).data })
        return
      case "tool_use": {
        const use = block as typeof ToolUseBlock.Type
        calls.push({ id: use.id, type: "function", function: { name: ToolNames.shorten(use.name), arguments: JSON.stringify(use.input ?? {}) } })
        return
      }
      default:
        throw new Invalid(`a ${block.type} block cannot appear in an assistant turn`, `${param}[${j}]`)
    }
  })
  const cached = parts.some((part) => part["cache_control"] !== undefined)
  return {
    role: "assistant",
    content: cached ? parts : parts.length === 0 ? null : parts.map((part) => part.text).join(""),
    ...(thinking.length > 0 ? { thinking_blocks: thinking } : {}),
    ...(calls.length > 0 ? { tool_calls: calls } : {})
  }
}

/** The conversation as chat messages: tool results first in a user turn, as Anthropic has them. */
const toMessages = (request: Pick<MessagesRequest, "system" | "messages">): Array<Chat.Message> => {
  const messages: Array<Chat.Message> = []
  if (typeof request.system === "string") {
    if (request.system.length > 0) messages.push({ role: "system", content: request.system })
  } else if (request.system !== undefined && request.system.length > 0) {
    messages.push({ role: "system", content: request.system.map((block) => withCache({ type: "text" as const, text: block.text }, block.cache_control)) })
  }
  request.messages.forEach((message, i) => {
    const param = `messages[${i}].content`
    if (message.role === "assistant") return messages.push(assistantMessage(message.content, param))
    if (typeof message.content === "string") return messages.push({ role: "user", content: message.content })
    const parts: Array<Chat.ContentPart> = []
    message.content.forEach((block, j) => {
      if (block.type === "tool_result") messages.push(toolResult(block as typeof ToolResultBlock.Type, `${param}[${j}]`))
      else parts.push(userPart(block, `${param}[${j}]`))
    })
    if (parts.length > 0) messages.push({ role: "user", content: parts })
  })
  return messages
}

/**
 * A top-level `cache_control` (automatic caching: a breakpoint on the last cacheable block) as
 * the mark on the last message, LiteLLM's shorthand, which the Anthropic adapter puts on that
 * message's last block.
 */
const withAutomaticCache = (messages: Array<Chat.Message>, cache: typeof CacheControl.Type | null | undefined): Array<Chat.Message> => {
  const last = messages.at(-1)
  if (cache === undefined || cache === null || last === undefined) return messages
  return [...messages.slice(0, -1), { ...last, cache_control: cache } as Chat.Message]
}

const toolsOf = (tools: MessagesRequest["tools"]): Array<Chat.FunctionTool> | undefined =>
  tools === undefined || tools.length === 0 ? undefined : tools.map((tool, i) => {
    if (tool.type !== undefined && tool.type !== null && tool.type !== "custom") {
      throw new Invalid(`server tool "${tool.type}" is not supported by this gateway (client tools only)`, `tools[${i}].type`)
    }
    const custom = tool as typeof CustomTool.Type
    return withCache({
      type: "function" as const,
      function: {
        name: ToolNames.shorten(custom.name),
        ...(custom.description !== undefined ? { description: custom.description } : {}),
        parameters: custom.input_schema
      }
    }, custom.cache_control)
  })

const toolChoiceOf = (choice: typeof ToolChoice.Type): Chat.ToolChoice => {
  switch (choice.type) {
    case "any":
      return "required"
    case "tool":
      return { type: "function", function: { name: ToolNames.shorten((choice as { readonly name: string }).name) } }
    default:
      return choice.type
  }
}

/**
 * Short tool name → the client's, for the tools whose names are longer than chat completions
 * take (see `ToolNames`): `InboundResponse` and `InboundStream` give the answer's tool uses
 * their names back with it.
 */
export const toolNames = (request: Pick<MessagesRequest, "tools">): ReadonlyMap<string, string> =>
  ToolNames.restorer((request.tools ?? []).map((tool) => tool.name))

/**
 * The beta features a client asked for (its `anthropic-beta` header, as Claude Code sends
 * `claude-code-20250219,interleaved-thinking-2025-05-14,…`), as the chat request's
 * `extra_headers` (LiteLLM's per-request headers), which the Anthropic adapter sends on to
 * Claude and every other adapter leaves out; at most 16 well-formed names are taken. Two stay
 * behind: `oauth-*` goes with an OAuth token Claude Code holds, not with a deployment's API
 * key; and `interleaved-thinking-*` would have Claude think between its tool calls, an order
 * the chat model (thinking blocks apart from the tool calls) cannot give back to it in the
 * next turn.
 */
const betaHeaders = (header: string | undefined): { readonly "anthropic-beta": string } | undefined => {
  const betas = (header ?? "").split(",").map((beta) => beta.trim())
    .filter((beta) =>
      /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/.test(beta) && !beta.startsWith("oauth-") && !beta.startsWith("interleaved-thinking-")
    )
    .slice(0, 16)
  return betas.length === 0 ? undefined : { "anthropic-beta": betas.join(",") }
}

export interface Options {
  /** The client's `anthropic-beta` header. */
  readonly betas?: string | undefined
}

/** The chat request for a Messages API request. */
export const toChat = (request: MessagesRequest, options: Options = {}): Result.Result<Chat.ChatRequest, Invalid> => {
  try {
    if (request.messages.length === 0) throw new Invalid("messages: at least one message is required", "messages")
    const messages = withAutomaticCache(toMessages(request), request.cache_control)
    const format = request.output_config?.format
    const tools = toolsOf(request.tools)
    const choice = request.tool_choice
    const user = request.metadata?.user_id
    const headers = betaHeaders(options.betas)
    return Result.succeed({
      model: request.model,
      messages,
      max_tokens: request.max_tokens,
      ...(request.stop_sequences !== undefined && request.stop_sequences.length > 0 ? { stop: request.stop_sequences } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.top_p !== undefined ? { top_p: request.top_p } : {}),
      // Not an OpenAI field, but LiteLLM's: Claude and Gemini take it, OpenAI's adapter leaves it out.
      ...(request.top_k !== undefined ? { top_k: request.top_k } : {}),
      ...(tools !== undefined ? { tools } : {}),
      ...(tools !== undefined && choice !== undefined ? { tool_choice: toolChoiceOf(choice) } : {}),
      ...(choice?.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {}),
      // Carried as it is: the Anthropic adapter sends it natively, the others map it (see their requests).
      ...(request.thinking !== undefined ? { thinking: request.thinking } : {}),
      // The Anthropic adapter turns it back into `output_config.format` where the model has it.
      ...(format !== undefined && format !== null
        ? { response_format: { type: "json_schema" as const, json_schema: { name: "output", schema: format.schema } } }
        : {}),
      ...(typeof user === "string" && user.length > 0 ? { user } : {}),
      ...(headers !== undefined ? { extra_headers: headers } : {}),
      ...(request.stream === true ? { stream: true } : {})
    })
  } catch (error) {
    if (error instanceof Invalid) return Result.fail(error)
    throw error
  }
}

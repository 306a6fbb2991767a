/**
 * Translates an OpenAI-shape `ChatRequest` into the body of Anthropic's `POST /v1/messages`
 * (API version 2023-06-01): system messages move to the top-level `system`, turns are merged
 * until user and assistant alternate, tool calls and results become `tool_use`/`tool_result`
 * blocks, images become `image` blocks. Only fields Anthropic knows are sent, because it
 * rejects unknown ones. Prompt caching is LiteLLM's: `cache_control` on a content part, a
 * message (its last block) or a tool is carried to the matching Anthropic block, and a cached
 * system prompt is sent as text blocks. Pure: a request it cannot translate is a typed
 * `BadRequest`.
 */
import { type Deployment, LlmError, ModelCatalog, ReasoningEffort, type Chat, Untranslatable } from "@llm-router/core"
import { Result } from "effect"
import * as StructuredOutput from "./StructuredOutput.ts"

/** A prompt-cache breakpoint: everything up to and including the block is cached. */
export interface CacheControl {
  readonly type: "ephemeral"
  readonly ttl?: "5m" | "1h"
}
/** Blocks that can carry a cache breakpoint. */
interface Cacheable {
  readonly cache_control?: CacheControl
}
export interface TextBlock extends Cacheable {
  readonly type: "text"
  readonly text: string
}
export interface ImageBlock extends Cacheable {
  readonly type: "image"
  readonly source:
    | { readonly type: "base64"; readonly media_type: string; readonly data: string }
    | { readonly type: "url"; readonly url: string }
}
export interface DocumentBlock extends Cacheable {
  readonly type: "document"
  readonly source:
    | { readonly type: "base64"; readonly media_type: "application/pdf"; readonly data: string }
    | { readonly type: "url"; readonly url: string }
}
export interface ToolUseBlock extends Cacheable {
  readonly type: "tool_use"
  readonly id: string
  readonly name: string
  readonly input: Readonly<Record<string, unknown>>
}
export interface ToolResultBlock extends Cacheable {
  readonly type: "tool_result"
  readonly tool_use_id: string
  readonly content?: string | ReadonlyArray<TextBlock | ImageBlock | DocumentBlock>
  /** The tool failed (the chat tool message's `is_error`). */
  readonly is_error?: boolean
}
/** A thinking block Claude sent, handed back unchanged (signed, so it must be exact). */
export type ThinkingBlockParam =
  | { readonly type: "thinking"; readonly thinking: string; readonly signature: string }
  | { readonly type: "redacted_thinking"; readonly data: string }
export type ContentBlock = TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlockParam

export interface MessageParam {
  readonly role: "user" | "assistant"
  readonly content: string | ReadonlyArray<ContentBlock>
}

export interface Tool extends Cacheable {
  readonly name: string
  readonly description?: string
  readonly input_schema: Readonly<Record<string, unknown>>
}

export type ToolChoice =
  | { readonly type: "auto" | "any"; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "tool"; readonly name: string; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "none" }

/** The body of `POST /v1/messages`, limited to what this adapter sends. */
export interface MessagesRequest {
  readonly model: string
  readonly max_tokens: number
  readonly messages: ReadonlyArray<MessageParam>
  readonly system?: string | ReadonlyArray<TextBlock>
  readonly stop_sequences?: ReadonlyArray<string>
  readonly temperature?: number
  readonly top_p?: number
  readonly top_k?: number
  readonly tools?: ReadonlyArray<Tool>
  readonly tool_choice?: ToolChoice
  readonly metadata?: { readonly user_id: string }
  readonly thinking?: Thinking
  readonly output_config?: StructuredOutput.OutputConfig
  readonly stream?: boolean
}

export type Thinking =
  | { readonly type: "enabled"; readonly budget_tokens: number }
  | { readonly type: "adaptive" }
  | { readonly type: "disabled" }

/** Anthropic refuses a smaller `budget_tokens`. */
const MIN_THINKING_BUDGET = 1024

/**
 * Thinking budgets for OpenAI's `reasoning_effort`: LiteLLM's (see `ReasoningEffort`), so a
 * LiteLLM user's requests think as much here, raised to Anthropic's floor (`minimal` becomes
 * 1024). `none` sends no `thinking`.
 */
export const THINKING_BUDGETS: Readonly<Record<string, number>> = Object.fromEntries(
  ReasoningEffort.levels.filter((level) => level !== "none").map((level) => [
    level,
    Math.max(MIN_THINKING_BUDGET, ReasoningEffort.budgets[level])
  ])
)
const EFFORTS = ReasoningEffort.levels.join(", ")

/**
 * `max_tokens` when the caller gave none. Anthropic requires it; OpenAI clients often omit it.
 * The model's own maximum (from the catalog) would let a long answer finish, but Anthropic
 * reserves output-token rate limit (OTPM) up front from `max_tokens`, and a non-streamed call
 * allowed 64k tokens can run past the ten minutes the official SDK accepts for one. So:
 * `litellm_params.max_tokens` when configured, else the model's maximum capped at 8192, else 4096
 * (which every Claude model supports).
 */
export const DEFAULT_MAX_TOKENS = 4096
export const DEFAULT_MAX_TOKENS_CAP = 8192

export const defaultMaxTokens = (deployment: Deployment.Deployment): number => {
  const configured = deployment.params["max_tokens"]
  if (typeof configured === "number" && Number.isInteger(configured) && configured > 0) return configured
  const known = ModelCatalog.lookup(deployment.model)?.maxOutputTokens
  return known !== undefined ? Math.min(known, DEFAULT_MAX_TOKENS_CAP) : DEFAULT_MAX_TOKENS
}

/**
 * Whether the request asked for JSON: a `json_object` answer (an instruction) may come back in
 * a Markdown fence, which `AnthropicResponse` strips.
 */
export const wantsJson = (request: Chat.ChatRequest): boolean =>
  request.response_format !== undefined && request.response_format.type !== "text"

/** Thrown inside the translation and caught by `fromChat`, so helpers stay plain functions. */
const Invalid = Untranslatable.Untranslatable

const isCount = (u: unknown): u is number => typeof u === "number" && Number.isInteger(u)

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"])

const parseDataUri = (uri: string): { readonly mediaType: string; readonly data: string } | undefined => {
  const match = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s.exec(uri)
  if (match === null || !/;base64$/i.test(match[2] ?? "")) return undefined
  return { mediaType: (match[1] ?? "").toLowerCase(), data: match[3] ?? "" }
}

const imageBlock = (url: string, param: string): ImageBlock => {
  if (url.startsWith("data:")) {
    const parsed = parseDataUri(url)
    if (parsed === undefined) throw new Invalid("image data URIs must be base64-encoded", param)
    if (!IMAGE_TYPES.has(parsed.mediaType)) {
      throw new Invalid(`image type ${parsed.mediaType} is not supported by Anthropic (jpeg, png, gif, webp)`, param)
    }
    return { type: "image", source: { type: "base64", media_type: parsed.mediaType, data: parsed.data } }
  }
  if (/^https?:\/\//i.test(url)) return { type: "image", source: { type: "url", url } }
  throw new Invalid("image_url must be an http(s) URL or a base64 data URI", param)
}

/** OpenAI's `file` part carrying a PDF as a data URI becomes a `document` block. */
const documentBlock = (part: { readonly [key: string]: unknown }, param: string): DocumentBlock => {
  const file = part["file"]
  const data = typeof file === "object" && file !== null ? (file as Record<string, unknown>)["file_data"] : undefined
  const parsed = typeof data === "string" ? parseDataUri(data) : undefined
  if (parsed === undefined || parsed.mediaType !== "application/pdf") {
    throw new Invalid("only PDF files given inline as base64 data URIs can be sent to Anthropic", param)
  }
  return { type: "document", source: { type: "base64", media_type: "application/pdf", data: parsed.data } }
}

/** A `cache_control` as LiteLLM and Anthropic write it, or `undefined` when there is none. */
const cacheControlOf = (value: unknown, param: string): CacheControl | undefined => {
  if (value === undefined || value === null) return undefined
  const c = typeof value === "object" ? value as Record<string, unknown> : {}
  const ttl = c["ttl"]
  if (c["type"] !== "ephemeral" || (ttl !== undefined && ttl !== "5m" && ttl !== "1h") || Object.keys(c).some((k) => k !== "type" && k !== "ttl")) {
    throw new Invalid("cache_control must be {\"type\": \"ephemeral\"}, optionally with \"ttl\": \"5m\" or \"1h\"", param)
  }
  return ttl === undefined ? { type: "ephemeral" } : { type: "ephemeral", ttl }
}

/** `block` with the breakpoint `cache` (when there is one). */
const cached = <B extends ContentBlock | Tool>(block: B, cache: CacheControl | undefined): B =>
  cache === undefined ? block : { ...block, cache_control: cache }

/** A message-level `cache_control` (LiteLLM's shorthand) marks the message's last block. */
const cacheLast = (blocks: Array<ContentBlock>, message: Chat.Message, i: number): Array<ContentBlock> => {
  const cache = cacheControlOf((message as Record<string, unknown>)["cache_control"], `messages[${i}].cache_control`)
  const last = blocks[blocks.length - 1]
  if (cache !== undefined && last !== undefined && !isThinkingBlock(last)) blocks[blocks.length - 1] = cached(last, cache)
  return blocks
}

/** Content parts of a user (or tool) message; empty text parts are dropped (Anthropic rejects them). */
const userBlocks = (content: Chat.Content, param: string): Array<TextBlock | ImageBlock | DocumentBlock> => {
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : []
  const blocks: Array<TextBlock | ImageBlock | DocumentBlock> = []
  content.forEach((part, j) => {
    const at = `${param}[${j}]`
    const cache = cacheControlOf((part as Record<string, unknown>)["cache_control"], `${at}.cache_control`)
    if (part.type === "text") {
      const text = (part as Chat.TextPart).text
      if (text.length > 0) blocks.push(cached({ type: "text", text }, cache))
    } else if (part.type === "image_url") {
      blocks.push(cached(imageBlock((part as Chat.ImagePart).image_url.url, at), cache))
    } else if (part.type === "file") {
      blocks.push(cached(documentBlock(part as { readonly [key: string]: unknown }, at), cache))
    } else {
      throw new Invalid(`content part type "${part.type}" is not supported by Anthropic`, at)
    }
  })
  return blocks
}

/** Text of an assistant message: text parts only (refusal parts are the model's own, not resent). */
const assistantText = (content: Chat.Content | null | undefined, param: string): Array<TextBlock> => {
  if (content === null || content === undefined) return []
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : []
  const blocks: Array<TextBlock> = []
  content.forEach((part, j) => {
    if (part.type === "text" && typeof part.text === "string" && part.text.length > 0) {
      const cache = cacheControlOf((part as Record<string, unknown>)["cache_control"], `${param}[${j}].cache_control`)
      blocks.push(cached({ type: "text", text: part.text }, cache))
    }
  })
  return blocks
}

/**
 * An assistant message's `thinking_blocks` (LiteLLM's field, as this adapter returns them),
 * which go first in the turn, as Claude wrote them.
 */
const thinkingBlocks = (value: unknown, param: string): Array<ThinkingBlockParam> => {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new Invalid("thinking_blocks must be a list", param)
  return value.map((block: unknown, j): ThinkingBlockParam => {
    const b = typeof block === "object" && block !== null ? block as Record<string, unknown> : {}
    if (b["type"] === "thinking" && typeof b["thinking"] === "string" && typeof b["signature"] === "string") {
      return { type: "thinking", thinking: b["thinking"], signature: b["signature"] }
    }
    if (b["type"] === "redacted_thinking" && typeof b["data"] === "string") return { type: "redacted_thinking", data: b["data"] }
    throw new Invalid(
      "each thinking block must be {type: \"thinking\", thinking, signature} or {type: \"redacted_thinking\", data}, as it came back",
      `${param}[${j}]`
    )
  })
}

const isThinkingBlock = (block: ContentBlock | undefined): boolean =>
  block?.type === "thinking" || block?.type === "redacted_thinking"

/** Anthropic tool ids must match `^[a-zA-Z0-9_-]+$`; both sides of a call are mapped the same way. */
export const toolUseId = (id: string): string => {
  const safe = id.replace(/[^a-zA-Z0-9_-]/g, "_")
  return safe.length > 0 ? safe : "toolu_empty"
}

const parseArguments = (raw: string, param: string): Readonly<Record<string, unknown>> => {
  if (raw.trim() === "") return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new Invalid("tool call arguments are not valid JSON", param)
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Invalid("tool call arguments must be a JSON object", param)
  }
  return parsed as Readonly<Record<string, unknown>>
}

/** A system message as text blocks: its text parts, or its string (empty ones dropped). */
const systemBlocks = (content: Chat.Content, param: string): Array<TextBlock> => {
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : []
  const blocks: Array<TextBlock> = []
  content.forEach((part, j) => {
    if (part.type !== "text") throw new Invalid("system messages may only contain text", `${param}[${j}]`)
    const text = (part as Chat.TextPart).text
    const cache = cacheControlOf((part as Record<string, unknown>)["cache_control"], `${param}[${j}].cache_control`)
    if (text.length > 0) blocks.push(cached({ type: "text", text }, cache))
  })
  return blocks
}

interface Turn {
  role: "user" | "assistant"
  blocks: Array<ContentBlock>
}

const translateMessages = (
  messages: ReadonlyArray<Chat.Message>
): { readonly system: Array<Array<TextBlock>>; readonly turns: Array<Turn> } => {
  // The system prompt, a list of blocks per system message.
  const system: Array<Array<TextBlock>> = []
  const turns: Array<Turn> = []
  const push = (role: "user" | "assistant", blocks: Array<ContentBlock>) => {
    if (blocks.length === 0) return
    const last = turns[turns.length - 1]
    // Anthropic needs strict alternation: consecutive same-role messages become one turn.
    if (last !== undefined && last.role === role) last.blocks.push(...blocks)
    else turns.push({ role, blocks })
  }
  messages.forEach((message, i) => {
    const param = `messages[${i}].content`
    switch (message.role) {
      case "system":
      case "developer": {
        const blocks = cacheLast(systemBlocks(message.content, param), message, i) as Array<TextBlock>
        if (blocks.length > 0) system.push(blocks)
        return
      }
      case "user":
        return push("user", cacheLast(userBlocks(message.content, param), message, i))
      case "assistant": {
        const blocks: Array<ContentBlock> = [
          ...thinkingBlocks((message as Record<string, unknown>)["thinking_blocks"], `messages[${i}].thinking_blocks`),
          ...assistantText(message.content, param)
        ]
        message.tool_calls?.forEach((call, j) => {
          blocks.push({
            type: "tool_use",
            id: toolUseId(call.id),
            name: call.function.name,
            input: parseArguments(call.function.arguments, `messages[${i}].tool_calls[${j}].function.arguments`)
          })
        })
        return push("assistant", cacheLast(blocks, message, i))
      }
      case "tool": {
        // Text, images and documents (a PDF a tool read): what Anthropic takes in a tool result.
        const parts = userBlocks(message.content, param)
        const content = parts.length === 1 && parts[0]?.type === "text" ? parts[0].text : parts
        return push(
          "user",
          cacheLast([{
            type: "tool_result",
            tool_use_id: toolUseId(message.tool_call_id),
            ...(content.length > 0 ? { content } : {}),
            ...(message.is_error === true ? { is_error: true } : {})
          }], message, i)
        )
      }
    }
  })
  return { system, turns }
}

const finishTurns = (turns: Array<Turn>): Array<MessageParam> => {
  // Conversations that open with the assistant (a greeting) are common with OpenAI clients;
  // Anthropic wants a user turn first, so a minimal one is put in front.
  if (turns[0]?.role === "assistant") turns.unshift({ role: "user", blocks: [{ type: "text", text: "." }] })
  // A final (prefill) assistant turn may not end in whitespace.
  const last = turns[turns.length - 1]
  if (last !== undefined && last.role === "assistant") {
    const tail = last.blocks[last.blocks.length - 1]
    if (tail?.type === "text") {
      const trimmed = tail.text.trimEnd()
      if (trimmed.length > 0) last.blocks[last.blocks.length - 1] = { ...tail, text: trimmed }
      else last.blocks.pop()
      if (last.blocks.length === 0) turns.pop()
    }
  }
  return turns.map((turn) => {
    // In a user turn, tool results must come before any other block.
    const blocks = turn.role === "user"
      ? [...turn.blocks.filter((b) => b.type === "tool_result"), ...turn.blocks.filter((b) => b.type !== "tool_result")]
      : turn.blocks
    const only = blocks[0]
    // A lone text block goes as a string, unless it carries a cache breakpoint.
    return {
      role: turn.role,
      content: blocks.length === 1 && only?.type === "text" && only.cache_control === undefined ? only.text : blocks
    }
  })
}

const inputSchema = (parameters: Readonly<Record<string, unknown>> | undefined): Readonly<Record<string, unknown>> =>
  parameters === undefined
    ? { type: "object", properties: {} }
    : parameters["type"] === undefined
    ? { type: "object", ...parameters }
    : parameters

const toolChoice = (request: Chat.ChatRequest, jsonTool: boolean): ToolChoice | undefined => {
  const noParallel = request.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {}
  const choice = request.tool_choice
  if (jsonTool) {
    // The answer is the JSON tool's input: the model must call a tool, the JSON one unless the
    // caller named one of its own (or offered tools it may call first).
    const offered = request.tools !== undefined && request.tools.length > 0
    if (typeof choice === "object") return { type: "tool", name: choice.function.name, ...noParallel }
    if (!offered || choice === "none") return { type: "tool", name: StructuredOutput.JSON_TOOL_NAME }
    return { type: "any", ...noParallel }
  }
  if (choice === undefined) return request.parallel_tool_calls === false ? { type: "auto", ...noParallel } : undefined
  if (choice === "none") return { type: "none" }
  if (choice === "auto") return { type: "auto", ...noParallel }
  if (choice === "required") return { type: "any", ...noParallel }
  return { type: "tool", name: choice.function.name, ...noParallel }
}

/**
 * The `thinking` to send: from `reasoning_effort` (the OpenAI way, as LiteLLM maps it) or an
 * Anthropic-shape `thinking` object, from the request or else the deployment's
 * `litellm_params`. Left out where Anthropic would refuse it: with a forced tool choice, and
 * when the last assistant turn called tools without its `thinking_blocks` (Anthropic then
 * wants them back; a client that echoes the message as it came keeps them), so a tool loop
 * keeps working, unthinking.
 */
const thinkingFor = (
  request: Chat.ChatRequest,
  deployment: Deployment.Deployment,
  messages: ReadonlyArray<MessageParam>,
  choice: ToolChoice | undefined
): Thinking | undefined => {
  const given = request as Record<string, unknown>
  const from = given["reasoning_effort"] != null || given["thinking"] != null ? given : deployment.params
  let thinking: Thinking | undefined
  const effort = ReasoningEffort.parse(from["reasoning_effort"])
  if (Result.isFailure(effort)) throw new Invalid(`reasoning_effort must be one of ${EFFORTS}`, "reasoning_effort")
  if (effort.success !== undefined) {
    const budget = THINKING_BUDGETS[effort.success]
    thinking = budget === undefined ? undefined : { type: "enabled", budget_tokens: budget }
  } else if (from["thinking"] != null) {
    thinking = anthropicThinking(from["thinking"])
  }
  if (thinking === undefined || thinking.type === "disabled") return thinking
  if (choice !== undefined && (choice.type === "any" || choice.type === "tool")) return undefined
  const lastAssistant = messages.findLast((m) => m.role === "assistant")
  const content = lastAssistant?.content
  if (Array.isArray(content) && content.some((b: ContentBlock) => b.type === "tool_use") && !isThinkingBlock(content[0])) {
    return undefined
  }
  return thinking
}

const withoutThinking = (messages: ReadonlyArray<MessageParam>): Array<MessageParam> =>
  messages.map((m) =>
    typeof m.content !== "string" && m.content.some(isThinkingBlock)
      ? { ...m, content: m.content.filter((b) => !isThinkingBlock(b)) }
      : m
  )

const anthropicThinking = (value: unknown): Thinking => {
  const t = typeof value === "object" && value !== null ? value as Record<string, unknown> : {}
  if (t["type"] === "adaptive" || t["type"] === "disabled") return { type: t["type"] }
  const budget = t["budget_tokens"]
  if (t["type"] === "enabled" && typeof budget === "number" && Number.isInteger(budget) && budget >= MIN_THINKING_BUDGET) {
    return { type: "enabled", budget_tokens: budget }
  }
  throw new Invalid(
    "thinking must be {\"type\": \"enabled\", \"budget_tokens\": n} with n >= 1024, {\"type\": \"adaptive\"} or {\"type\": \"disabled\"}",
    "thinking"
  )
}

/** The Messages API body for `request` on `deployment`; `stream` selects SSE. */
export const fromChat = (
  request: Chat.ChatRequest,
  deployment: Deployment.Deployment,
  stream: boolean
): Result.Result<MessagesRequest, LlmError.BadRequest> => {
  try {
    if (request.n !== undefined && request.n !== null && request.n > 1) {
      throw new Invalid("Anthropic returns one choice per request: n > 1 is not supported", "n")
    }
    const { system, turns } = translateMessages(request.messages)
    let messages = finishTurns(turns)
    if (messages.length === 0) throw new Invalid("Anthropic needs at least one non-empty user or assistant message", "messages")
    const output = StructuredOutput.plan(request, deployment)
    if (output._tag === "Instruction") system.push([{ type: "text", text: output.text }])
    const given = request.tools !== undefined && request.tools.length > 0
      ? request.tools.map((tool, i): Tool =>
        cached({
          name: tool.function.name,
          ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
          input_schema: inputSchema(tool.function.parameters)
        }, cacheControlOf((tool as Record<string, unknown>)["cache_control"], `tools[${i}].cache_control`))
      )
      : undefined
    const jsonTool = output._tag === "Tool"
    const tools = jsonTool
      ? [...(request.tool_choice === "none" ? [] : given ?? []), { name: output.name, description: output.description, input_schema: output.inputSchema }]
      : given
    const choice = tools !== undefined ? toolChoice(request, jsonTool) : undefined
    const stop = request.stop === undefined || request.stop === null
      ? []
      : (typeof request.stop === "string" ? [request.stop] : request.stop).filter((s) => s.trim().length > 0)
    const requested = request.max_completion_tokens ?? request.max_tokens ?? defaultMaxTokens(deployment)
    const thinking = thinkingFor(request, deployment, messages, choice)
    const thinks = thinking !== undefined && thinking.type !== "disabled"
    // Thinking blocks handed back go only to a request that thinks.
    if (!thinks) messages = withoutThinking(messages)
    // Thinking counts against `max_tokens`, which must exceed its budget: the answer's allowance
    // comes on top of the budget rather than being eaten by it, within the model's output limit
    // (the budget we added must not turn a valid request into one Anthropic refuses).
    const outputLimit = ModelCatalog.lookup(deployment.model)?.maxOutputTokens
    const maxTokens = thinking?.type === "enabled" && requested <= thinking.budget_tokens
      ? Math.min(requested + thinking.budget_tokens, Math.max(outputLimit ?? Infinity, thinking.budget_tokens + 1))
      : requested
    const topK = (request as Record<string, unknown>)["top_k"]
    const body: MessagesRequest = {
      model: deployment.model,
      max_tokens: maxTokens,
      messages,
      // A cached system prompt must be blocks (the breakpoint is on one); otherwise one string:
      // a message's parts joined by a newline, messages by a blank line.
      ...(system.length === 0
        ? {}
        : {
          system: system.some((blocks) => blocks.some((b) => b.cache_control !== undefined))
            ? system.flat()
            : system.map((blocks) => blocks.map((b) => b.text).join("\n")).join("\n\n")
        }),
      ...(stop.length > 0 ? { stop_sequences: stop } : {}),
      // OpenAI's range is 0–2, Anthropic's 0–1; with thinking Anthropic accepts neither a
      // temperature nor a top_p under 0.95, so those are left out rather than refused.
      ...(request.temperature !== undefined && request.temperature !== null && !thinks
        ? { temperature: Math.min(1, Math.max(0, request.temperature)) }
        : {}),
      ...(request.top_p !== undefined && request.top_p !== null && (!thinks || request.top_p >= 0.95)
        ? { top_p: request.top_p }
        : {}),
      // LiteLLM's `top_k` (a Messages API client's): Anthropic refuses it with thinking.
      ...(isCount(topK) && topK > 0 && !thinks ? { top_k: topK } : {}),
      ...(tools !== undefined ? { tools } : {}),
      ...(choice !== undefined ? { tool_choice: choice } : {}),
      ...(thinking !== undefined ? { thinking } : {}),
      ...(output._tag === "Native" ? { output_config: output.outputConfig } : {}),
      ...(request.user !== undefined && request.user.length > 0 ? { metadata: { user_id: request.user } } : {}),
      ...(stream ? { stream: true } : {})
    }
    return Result.succeed(body)
  } catch (error) {
    if (error instanceof Invalid) {
      return Result.fail(
        new LlmError.BadRequest({
          provider: deployment.provider,
          deployment: deployment.id,
          message: `Cannot translate the request for Anthropic: ${error.message}`,
          ...(error.param !== null ? { param: error.param } : {})
        })
      )
    }
    throw error
  }
}

/** The fields of a Messages request that `POST /v1/messages/count_tokens` takes. */
const COUNTED_FIELDS = ["model", "messages", "system", "tools", "tool_choice", "thinking"] as const

/** The body of `POST /v1/messages/count_tokens` for `request`: what `fromChat` would send, minus what a count does not take. */
export const countTokensBody = (
  request: Chat.ChatRequest,
  deployment: Deployment.Deployment
): Result.Result<Partial<MessagesRequest>, LlmError.BadRequest> =>
  Result.map(fromChat(request, deployment, false), (body) => {
    const counted: Record<string, unknown> = {}
    for (const field of COUNTED_FIELDS) if (body[field] !== undefined) counted[field] = body[field]
    return counted as Partial<MessagesRequest>
  })

/**
 * A mock of Anthropic's Messages API (`POST /v1/messages`, API version 2023-06-01) on
 * 127.0.0.1, for provider, gateway and chaos tests and the no-keys demo. It answers in
 * Anthropic's real wire format, plain and streamed (every event kind, `ping` included), calls a
 * tool when the request offers tools (its input made to match the tool's `input_schema`, see
 * `Synthesize`), answers `output_config.format` json_schema with a matching JSON value, and produces every fault of the `MockUpstream` contract
 * with Anthropic's real error bodies and headers. It validates requests the way Anthropic does
 * where that is cheap (missing `max_tokens`, a `system` role in `messages`, turns that do not
 * alternate, unknown top-level fields, tool results without their tool use, ...) and answers
 * 400 `invalid_request_error`, so translation bugs surface in tests. Prompt caching is
 * simulated: a `cache_control` mark (at most four, `ephemeral`) caches the prompt up to it
 * once it is at least `MIN_CACHEABLE_TOKENS` long; the first such request reports
 * `cache_creation_input_tokens`, later ones with the same prefix `cache_read_input_tokens`.
 * `POST /v1/messages/count_tokens` counts a request (without `max_tokens` and sampling, which
 * it refuses, as Anthropic does) by `countTokens`, under the same key check and faults.
 *
 * Faults: a base URL of `${baseUrl}/fault/<name>` or `setFault(name)`. What each one sends:
 * - `rate-limit`: 429 `rate_limit_error`, `retry-after: <retryAfterSeconds>` (default 1)
 * - `quota`: 429 `rate_limit_error` with `details.error_code: "enforced_spend_limit_reached"`
 * - `auth`: 401 `authentication_error` "invalid x-api-key"; `permission`: 403 `permission_error`
 * - `not-found`: 404 `not_found_error` "model: <model>"; `bad-request`: 400 `invalid_request_error`
 * - `context-window`: 400 "prompt is too long: N tokens > 200000 maximum"
 * - `content-policy`: 400 "Output blocked by content filtering policy"
 * - `overloaded`: 529 `overloaded_error` (`x-should-retry: true`); `server-error`: 500 `api_error`
 * - `malformed-json`: 200 whose JSON is cut off (streamed: an event whose data is cut off)
 * - `wrong-shape`: 200 JSON that is not a Message (streamed: a `message_start` without one)
 * - `reset-mid-body`: headers and half the body (streamed: a few events), then the socket is destroyed
 * - `error-after-200`: streamed: some deltas, then `event: error` `overloaded_error`, then the end;
 *   not streamed: the 529 Anthropic would send instead
 * - `slow-headers`: nothing for `slowMs` (default 5000), then the normal answer
 * - `connection-refused`: the socket is destroyed at once
 */
import type {
  ContentBlock,
  Message,
  MessageDeltaUsage,
  RawMessageStreamEvent,
  StopReason,
  Usage
} from "@anthropic-ai/sdk/resources/messages"
import type { ErrorResponse } from "@anthropic-ai/sdk/resources/shared"
import { Effect, type Scope } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { type Fault, faults, type MockUpstream, type Options as BaseOptions, type RecordedRequest } from "./MockUpstream.ts"
import * as Synthesize from "./Synthesize.ts"

export interface Options extends BaseOptions {
  /** When set, requests with another `x-api-key` get 401 `authentication_error`. */
  readonly apiKey?: string | undefined
  /** Delay between streamed events, in ms (default 0: the whole answer at once). */
  readonly chunkDelayMs?: number | undefined
  /** `retry-after` seconds sent with the `rate-limit` fault (default 1). */
  readonly retryAfterSeconds?: number | undefined
  /** Overrides of the usage reported (defaults: input ≈ request chars / 4, output = pieces of text, cache as simulated). */
  readonly usage?: {
    readonly input_tokens?: number
    readonly output_tokens?: number
    readonly cache_read_input_tokens?: number
    readonly cache_creation_input_tokens?: number
  } | undefined
  /** `stop_reason` of a text answer (default `end_turn`, or `max_tokens`/`stop_sequence` when they apply). */
  readonly stopReason?: StopReason | undefined
  /** `input` of the tool call the mock makes (default: a sample value for each required property). */
  readonly toolInput?: Record<string, unknown> | undefined
}

export interface AnthropicUpstream extends MockUpstream {
  /** Requests whose client went away (socket closed) before the mock had finished answering. */
  readonly disconnects: number
}

const DEFAULT_TEXT = "Hello from the mock."
/** What the mock "thinks" when a request enables extended thinking. */
export const THINKING_TEXT = "The user wants a short answer. I will give one."

// ---------------------------------------------------------------------------------------------
// Request validation (the cheap part of what Anthropic checks)
// ---------------------------------------------------------------------------------------------

const TOP_LEVEL_FIELDS = new Set([
  "model", "messages", "max_tokens", "system", "stop_sequences", "temperature", "top_p", "top_k", "stream",
  "tools", "tool_choice", "metadata", "thinking", "service_tier", "container", "mcp_servers", "output_config",
  "context_management", "inference_geo"
])
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"])

type Json = Record<string, unknown>
const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const validateBlock = (block: unknown, role: string, at: string): string | undefined => {
  if (!isObject(block) || typeof block["type"] !== "string") return `${at}.type: Field required`
  switch (block["type"]) {
    case "text":
      if (typeof block["text"] !== "string") return `${at}.text: Field required`
      if (block["text"].length === 0) return "messages: text content blocks must be non-empty"
      return undefined
    case "image": {
      const source = block["source"]
      if (role !== "user") return `${at}: image blocks are only allowed in user messages`
      if (!isObject(source)) return `${at}.source: Field required`
      if (source["type"] === "base64") {
        if (!IMAGE_TYPES.has(String(source["media_type"]))) return `${at}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`
        if (typeof source["data"] !== "string" || source["data"].length === 0) return `${at}.source.base64.data: Field required`
        return undefined
      }
      if (source["type"] === "url") return typeof source["url"] === "string" ? undefined : `${at}.source.url.url: Field required`
      return `${at}.source: Input tag '${String(source["type"])}' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'`
    }
    case "document":
      return role === "user" ? undefined : `${at}: document blocks are only allowed in user messages`
    case "tool_use":
      if (role !== "assistant") return `${at}: tool_use blocks are only allowed in assistant messages`
      if (typeof block["id"] !== "string" || !/^[a-zA-Z0-9_-]+$/.test(block["id"])) return `${at}.id: String should match pattern '^[a-zA-Z0-9_-]+$'`
      if (typeof block["name"] !== "string") return `${at}.name: Field required`
      if (!isObject(block["input"])) return `${at}.input: Input should be a valid dictionary`
      return undefined
    case "tool_result":
      if (role !== "user") return `${at}: tool_result blocks are only allowed in user messages`
      if (typeof block["tool_use_id"] !== "string") return `${at}.tool_use_id: Field required`
      return undefined
    case "thinking":
      if (role !== "assistant") return `${at}: thinking blocks are only allowed in assistant messages`
      if (typeof block["thinking"] !== "string") return `${at}.thinking: Field required`
      if (typeof block["signature"] !== "string") return `${at}.signature: Field required`
      return undefined
    case "redacted_thinking":
      if (role !== "assistant") return `${at}: redacted_thinking blocks are only allowed in assistant messages`
      return typeof block["data"] === "string" ? undefined : `${at}.data: Field required`
    default:
      return `${at}: Input tag '${block["type"]}' found using 'type' does not match any of the expected tags`
  }
}

/**
 * Prompt-cache breakpoints (`cache_control`) in tools, system blocks and message blocks: each
 * must be `{type: "ephemeral"}` with an optional `ttl`, and there may be at most four.
 */
const validateCacheControl = (body: Json): string | undefined => {
  const marked: Array<[string, unknown]> = []
  const scan = (blocks: unknown, at: string) => {
    if (!Array.isArray(blocks)) return
    blocks.forEach((block, i) => {
      if (!isObject(block)) return
      if (block["cache_control"] !== undefined) marked.push([`${at}.${i}.cache_control`, block["cache_control"]])
      scan(block["content"], `${at}.${i}.content`)
    })
  }
  scan(body["tools"], "tools")
  scan(body["system"], "system")
  if (Array.isArray(body["messages"])) {
    body["messages"].forEach((m, i) => isObject(m) && scan(m["content"], `messages.${i}.content`))
  }
  for (const [at, c] of marked) {
    if (!isObject(c) || c["type"] !== "ephemeral") return `${at}.type: Input should be 'ephemeral'`
    if (c["ttl"] !== undefined && c["ttl"] !== "5m" && c["ttl"] !== "1h") return `${at}.ttl: Input should be '5m' or '1h'`
  }
  if (marked.length > 4) return `A maximum of 4 blocks with cache_control may be provided. Found ${marked.length}.`
  return undefined
}

/** Anthropic's 400 message for an invalid request, or `undefined` when the mock accepts it. */
export const validate = (body: unknown): string | undefined => {
  if (!isObject(body)) return "Request body must be a JSON object"
  for (const key of Object.keys(body)) if (!TOP_LEVEL_FIELDS.has(key)) return `${key}: Extra inputs are not permitted`
  const cacheProblem = validateCacheControl(body)
  if (cacheProblem !== undefined) return cacheProblem
  if (typeof body["model"] !== "string" || body["model"].length === 0) return "model: Field required"
  const maxTokens = body["max_tokens"]
  if (maxTokens === undefined) return "max_tokens: Field required"
  if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 0) return "max_tokens: Input should be a valid integer"
  const temperature = body["temperature"]
  if (temperature !== undefined && (typeof temperature !== "number" || temperature < 0 || temperature > 1)) {
    return "temperature: Input should be less than or equal to 1"
  }
  const system = body["system"]
  if (system !== undefined && typeof system !== "string") {
    if (!Array.isArray(system)) return "system: Input should be a valid string or list of text blocks"
    for (const [i, block] of system.entries()) {
      if (!isObject(block) || block["type"] !== "text" || typeof block["text"] !== "string") return `system.${i}: Input should be a text block`
    }
  }
  const stops = body["stop_sequences"]
  if (stops !== undefined && (!Array.isArray(stops) || stops.some((s) => typeof s !== "string" || s.trim().length === 0))) {
    return "stop_sequences: each stop sequence must contain non-whitespace"
  }
  const metadata = body["metadata"]
  if (metadata !== undefined) {
    if (!isObject(metadata)) return "metadata: Input should be a valid dictionary"
    for (const key of Object.keys(metadata)) if (key !== "user_id") return `metadata.${key}: Extra inputs are not permitted`
  }
  const tools = body["tools"]
  const toolNames = new Set<string>()
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return "tools: Input should be a valid list"
    for (const [i, tool] of tools.entries()) {
      if (!isObject(tool) || typeof tool["name"] !== "string" || !/^[a-zA-Z0-9_-]{1,128}$/.test(tool["name"])) {
        return `tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`
      }
      const schema = tool["input_schema"]
      if (!isObject(schema) || schema["type"] !== "object") return `tools.${i}.custom.input_schema.type: Field required`
      for (const key of Object.keys(tool)) {
        if (!["name", "description", "input_schema", "cache_control", "type", "strict"].includes(key)) {
          return `tools.${i}.custom.${key}: Extra inputs are not permitted`
        }
      }
      toolNames.add(tool["name"])
    }
  }
  const choice = body["tool_choice"]
  if (choice !== undefined) {
    if (!isObject(choice) || !["auto", "any", "tool", "none"].includes(String(choice["type"]))) {
      return "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
    }
    if (choice["type"] === "tool" && (typeof choice["name"] !== "string" || !toolNames.has(choice["name"]))) {
      return "tool_choice.tool.name: Tool not found in tools"
    }
  }
  const messages = body["messages"]
  if (!Array.isArray(messages)) return "messages: Field required"
  if (messages.length === 0) return "messages: at least one message is required"
  let previousRole: string | undefined
  let pendingToolUses: Array<string> = []
  for (const [i, message] of messages.entries()) {
    if (!isObject(message)) return `messages.${i}: Input should be a valid dictionary`
    const role = message["role"]
    if (role === "system") {
      return `messages.${i}.role: Unexpected role "system". The Messages API accepts a top-level \`system\` parameter, not "system" as an input message role.`
    }
    if (role !== "user" && role !== "assistant") return `messages.${i}.role: Input should be 'user' or 'assistant'`
    if (i === 0 && role !== "user") return "messages: first message must use the \"user\" role"
    if (role === previousRole) {
      return `messages: roles must alternate between "user" and "assistant", but found multiple "${role}" roles in a row`
    }
    const content = message["content"]
    const blocks: Array<unknown> = typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content : []
    if (typeof content !== "string" && !Array.isArray(content)) return `messages.${i}.content: Field required`
    if (blocks.length === 0 && !(role === "assistant" && i === messages.length - 1)) {
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`
    }
    for (const [j, block] of blocks.entries()) {
      const error = validateBlock(block, role, `messages.${i}.content.${j}`)
      if (error !== undefined) return error
    }
    const typed = blocks as Array<Json>
    if (role === "user") {
      const results = typed.filter((b) => b["type"] === "tool_result").map((b) => String(b["tool_use_id"]))
      const firstOther = typed.findIndex((b) => b["type"] !== "tool_result")
      if (results.length > 0 && firstOther !== -1 && typed.slice(firstOther).some((b) => b["type"] === "tool_result")) {
        return `messages.${i}: tool_result blocks must come first in the content of a user message`
      }
      for (const id of results) {
        if (!pendingToolUses.includes(id)) {
          return `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`
        }
      }
      const missing = pendingToolUses.filter((id) => !results.includes(id))
      if (missing.length > 0) {
        return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
      }
      pendingToolUses = []
    } else {
      pendingToolUses = typed.filter((b) => b["type"] === "tool_use").map((b) => String(b["id"]))
      if (pendingToolUses.length > 0 && tools === undefined) {
        return "Requests which include `tool_use` or `tool_result` blocks must define tools."
      }
    }
    if (typeof content === "string" && role === "assistant" && i === messages.length - 1 && /\s$/.test(content)) {
      return "messages: final assistant content cannot end with trailing whitespace"
    }
    previousRole = role
  }
  return validateOutputConfig(body["output_config"]) ?? validateThinking(body, maxTokens, messages)
}

/** `output_config.format`: a JSON schema whose every object is closed, as Anthropic's grammar requires. */
const validateOutputConfig = (config: unknown): string | undefined => {
  if (config === undefined) return undefined
  if (!isObject(config)) return "output_config: Input should be a valid dictionary"
  const format = config["format"]
  if (format === undefined) return undefined
  if (!isObject(format) || format["type"] !== "json_schema") return "output_config.format.type: Input should be 'json_schema'"
  if (!isObject(format["schema"])) return "output_config.format.schema: Field required"
  const open = (node: unknown): boolean => {
    if (Array.isArray(node)) return node.some(open)
    if (!isObject(node)) return false
    if ((node["type"] === "object" || isObject(node["properties"])) && node["additionalProperties"] !== false) return true
    return Object.values(node).some(open)
  }
  return open(format["schema"])
    ? "output_config.format.schema: For 'object' type, 'additionalProperties' must be explicitly set to false"
    : undefined
}

/** Anthropic's rules for extended thinking, with its messages (2026-11). */
const validateThinking = (body: Json, maxTokens: number, messages: Array<unknown>): string | undefined => {
  const thinking = body["thinking"]
  if (thinking === undefined) return undefined
  if (!isObject(thinking) || !["enabled", "adaptive", "disabled"].includes(String(thinking["type"]))) {
    return "thinking: Input tag does not match any of the expected tags: 'enabled', 'adaptive', 'disabled'"
  }
  if (thinking["type"] === "disabled") return undefined
  if (thinking["type"] === "enabled") {
    const budget = thinking["budget_tokens"]
    if (typeof budget !== "number" || !Number.isInteger(budget)) return "thinking.enabled.budget_tokens: Field required"
    if (budget < 1024) return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    if (maxTokens <= budget) return "`max_tokens` must be greater than `thinking.budget_tokens`"
  }
  const temperature = body["temperature"]
  if (temperature !== undefined && temperature !== 1) {
    return "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode."
  }
  const topP = body["top_p"]
  if (typeof topP === "number" && topP < 0.95) {
    return "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled or in adaptive mode."
  }
  if (isObject(body["tool_choice"]) && ["any", "tool"].includes(String(body["tool_choice"]["type"]))) {
    return "Thinking may not be enabled when tool_choice forces tool use."
  }
  const lastAssistant = (messages as Array<Json>).findLast((m) => m["role"] === "assistant")
  const blocks = Array.isArray(lastAssistant?.["content"]) ? lastAssistant["content"] as Array<Json> : []
  if (blocks.some((b) => b["type"] === "tool_use") && !["thinking", "redacted_thinking"].includes(String(blocks[0]?.["type"]))) {
    return "messages: Expected `thinking` or `redacted_thinking`, but found `" + String(blocks[0]?.["type"]) +
      "`. When `thinking` is enabled, a final `assistant` message must start with a thinking block."
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

type ErrorBody = ErrorResponse & { readonly error: { readonly details?: { readonly error_code: string } } }

const errorBody = (type: ErrorResponse["error"]["type"], message: string, requestId: string, errorCode?: string): ErrorBody => ({
  type: "error",
  error: { type, message, ...(errorCode !== undefined ? { details: { error_code: errorCode } } : {}) } as ErrorBody["error"],
  request_id: requestId
})

/** Splits `text` into `count` pieces (default: one per word, spaces kept). */
const pieces = (text: string, count: number | undefined): Array<string> => {
  if (text.length === 0) return []
  if (count === undefined) return text.match(/\S+\s*|\s+/g) ?? [text]
  const n = Math.max(1, Math.min(count, text.length))
  const size = Math.ceil(text.length / n)
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

interface Answer {
  readonly message: Message
  /** The text block's pieces, in stream order. */
  readonly textPieces: ReadonlyArray<string>
}

/** Anthropic caches nothing shorter than this (Sonnet and Opus; Haiku's floor is higher). */
export const MIN_CACHEABLE_TOKENS = 1024

/**
 * The prompt prefixes a request marks for caching, shortest first: the prompt up to each
 * `cache_control` mark, in the order Anthropic builds it (tools, system, messages).
 */
const cachePrefixes = (body: Json): Array<string> => {
  let running = ""
  const prefixes: Array<string> = []
  const visit = (blocks: unknown, role: string) => {
    // A string is one text block without a mark: part of the prefix all the same.
    if (typeof blocks === "string") running += `${role}:${JSON.stringify({ type: "text", text: blocks })}\n`
    if (!Array.isArray(blocks)) return
    for (const block of blocks) {
      if (!isObject(block)) continue
      const { cache_control, ...rest } = block
      running += `${role}:${JSON.stringify(rest)}\n`
      if (cache_control !== undefined) prefixes.push(running)
    }
  }
  visit(body["tools"], "tool")
  visit(body["system"], "system")
  for (const message of Array.isArray(body["messages"]) ? body["messages"] : []) {
    if (isObject(message)) visit(message["content"], String(message["role"]))
  }
  return prefixes
}

/** The fields `POST /v1/messages/count_tokens` takes. */
const COUNT_FIELDS = new Set(["model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "output_config", "context_management"])

/** Anthropic's 400 message for an invalid count request (a Messages request without `max_tokens` and sampling). */
export const validateCount = (body: unknown): string | undefined => {
  if (!isObject(body)) return "Request body must be a JSON object"
  for (const key of Object.keys(body)) if (!COUNT_FIELDS.has(key)) return `${key}: Extra inputs are not permitted`
  return validate({ ...body, max_tokens: 1 })
}

/**
 * The mock's exact count for a valid count request: a quarter of the characters of its
 * messages, system prompt and tools, plus one per message (deterministic, and unlike the
 * gateway's own estimate, which leaves the JSON out).
 */
export const countTokens = (body: Json): number => {
  const messages = Array.isArray(body["messages"]) ? body["messages"] : []
  const text = JSON.stringify(messages) + JSON.stringify(body["system"] ?? "") + JSON.stringify(body["tools"] ?? [])
  return Math.ceil(text.length / 4) + messages.length
}

/** The Message the mock answers `body` (already validated) with; `cache` holds the prefixes cached so far. */
const answer = (body: Json, options: Options, serial: number, cache: Set<string>): Answer => {
  const model = String(body["model"])
  const messages = body["messages"] as Array<Json>
  const last = messages[messages.length - 1]
  const lastBlocks = Array.isArray(last?.["content"]) ? (last["content"] as Array<Json>) : []
  const answersToolResult = last?.["role"] === "user" && lastBlocks.some((b) => b["type"] === "tool_result")
  const tools = Array.isArray(body["tools"]) ? (body["tools"] as Array<Json>) : []
  const choice = isObject(body["tool_choice"]) ? body["tool_choice"] : { type: "auto" }
  const callsTool = tools.length > 0 && choice["type"] !== "none" && (!answersToolResult || choice["type"] !== "auto")
  const promptTokens = Math.max(1, Math.ceil((JSON.stringify(body["messages"]).length + JSON.stringify(body["system"] ?? "").length) / 4))
  // Prompt caching: the longest marked prefix cached before is read; the rest, up to the last
  // mark, is written. Prefixes shorter than Anthropic's minimum are not cached at all.
  const tokensOf = (prefix: string) => Math.ceil(prefix.length / 4)
  const cacheable = cachePrefixes(body).filter((prefix) => tokensOf(prefix) >= MIN_CACHEABLE_TOKENS)
  const hit = cacheable.findLast((prefix) => cache.has(prefix))
  const cacheRead = hit === undefined ? 0 : tokensOf(hit)
  const longest = cacheable.at(-1)
  const cacheWrite = longest === undefined ? 0 : tokensOf(longest) - cacheRead
  for (const prefix of cacheable) cache.add(prefix)
  const inputTokens = options.usage?.input_tokens ?? Math.max(1, promptTokens - cacheRead - cacheWrite)

  let text = options.text ?? DEFAULT_TEXT
  // Structured output (`output_config.format`): a JSON value matching the schema, its strings the mock's text.
  const format = isObject(body["output_config"]) ? body["output_config"]["format"] : undefined
  if (isObject(format) && format["type"] === "json_schema") text = JSON.stringify(Synthesize.valueOf(format["schema"], { string: () => text }))
  let stopReason: StopReason = options.stopReason ?? "end_turn"
  let stopSequence: string | null = null
  const stops = Array.isArray(body["stop_sequences"]) ? (body["stop_sequences"] as Array<string>) : []
  for (const stop of stops) {
    const at = text.indexOf(stop)
    if (at !== -1) {
      text = text.slice(0, at)
      stopReason = "stop_sequence"
      stopSequence = stop
    }
  }
  let textPieces = pieces(text, options.streamChunks)
  const maxTokens = Number(body["max_tokens"])
  if (textPieces.length > maxTokens) {
    textPieces = textPieces.slice(0, maxTokens)
    text = textPieces.join("")
    stopReason = "max_tokens"
  }

  const content: Array<ContentBlock> = []
  const thinks = isObject(body["thinking"]) && body["thinking"]["type"] !== "disabled"
  if (thinks) content.push({ type: "thinking", thinking: THINKING_TEXT, signature: `sig_mock_${serial}` })
  if (callsTool) {
    const tool = choice["type"] === "tool" ? tools.find((t) => t["name"] === choice["name"]) ?? tools[0]! : tools[0]!
    // With `any`/`tool` Anthropic prefills the tool call, so no text comes before it.
    if (choice["type"] === "auto" && textPieces.length > 0) content.push({ type: "text", text, citations: null })
    else textPieces = []
    content.push({
      type: "tool_use",
      id: `toolu_mock_${serial}`,
      name: String(tool["name"]),
      input: options.toolInput ?? Synthesize.argumentsOf(tool["input_schema"], { string: (name) => `${name}-value` }),
      caller: { type: "direct" }
    })
    stopReason = "tool_use"
    stopSequence = null
  } else if (textPieces.length > 0) {
    content.push({ type: "text", text, citations: null })
  }

  const usage: Usage = {
    input_tokens: inputTokens,
    output_tokens: options.usage?.output_tokens ?? Math.max(1, textPieces.length + (callsTool ? 10 : 0)),
    cache_creation_input_tokens: options.usage?.cache_creation_input_tokens ?? cacheWrite,
    cache_read_input_tokens: options.usage?.cache_read_input_tokens ?? cacheRead,
    cache_creation: null,
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: "standard",
    speed: null
  }
  return {
    message: {
      id: `msg_mock_${serial}`,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: stopReason,
      stop_sequence: stopSequence,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage
    },
    textPieces
  }
}

/** The SSE events Anthropic streams for `answer`, in order. */
const streamEvents = ({ message, textPieces }: Answer): Array<RawMessageStreamEvent | { readonly type: "ping" }> => {
  const events: Array<RawMessageStreamEvent | { readonly type: "ping" }> = [{
    type: "message_start",
    message: {
      ...message,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...message.usage, output_tokens: 1 }
    }
  }]
  message.content.forEach((block, index) => {
    if (block.type === "text") {
      events.push({ type: "content_block_start", index, content_block: { type: "text", text: "", citations: null } })
      if (index === 0) events.push({ type: "ping" })
      for (const text of textPieces) events.push({ type: "content_block_delta", index, delta: { type: "text_delta", text } })
    } else if (block.type === "thinking") {
      events.push({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } })
      for (const thinking of pieces(block.thinking, 3)) {
        events.push({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking } })
      }
      events.push({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: block.signature } })
    } else if (block.type === "tool_use") {
      events.push({ type: "content_block_start", index, content_block: { ...block, input: {} } })
      if (index === 0) events.push({ type: "ping" })
      // Anthropic opens with an empty fragment, then sends the JSON in pieces.
      const json = JSON.stringify(block.input)
      events.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: "" } })
      for (const part of pieces(json, 3)) {
        events.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: part } })
      }
    }
    events.push({ type: "content_block_stop", index })
  })
  const usage: MessageDeltaUsage = {
    input_tokens: message.usage.input_tokens,
    output_tokens: message.usage.output_tokens,
    cache_creation_input_tokens: message.usage.cache_creation_input_tokens,
    cache_read_input_tokens: message.usage.cache_read_input_tokens,
    output_tokens_details: null,
    server_tool_use: null
  }
  events.push({
    type: "message_delta",
    delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence, stop_details: null, container: null },
    usage
  })
  events.push({ type: "message_stop" })
  return events
}

const sse = (event: { readonly type: string }): string => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`

/** Waits `ms`, or less when the client goes away (so a closed mock leaves no timers behind). */
const pause = (ms: number, res: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      res.off("close", done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    res.on("close", done)
  })

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const headersOf = (req: IncomingMessage): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(", ") : value
  return out
}

/** Starts the mock; it is closed (all connections dropped) when the scope closes. */
export const make = (options: Options = {}): Effect.Effect<AnthropicUpstream, never, Scope.Scope> =>
  Effect.gen(function*() {
    const requests: Array<RecordedRequest> = []
    // Prompt prefixes cached so far (they never expire here).
    const cache = new Set<string>()
    let currentFault: Fault | undefined
    let disconnects = 0
    let serial = 0

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const id = ++serial
      const requestId = `req_mock_${id}`
      let destroyedByMock = false
      res.on("close", () => {
        if (!res.writableFinished && !destroyedByMock) disconnects++
      })
      const destroy = () => {
        destroyedByMock = true
        req.socket.destroy()
      }
      const raw = await readBody(req)
      let body: unknown
      try {
        body = raw.length > 0 ? JSON.parse(raw) : undefined
      } catch {
        body = undefined
      }
      let path = (req.url ?? "/").split("?")[0] ?? "/"
      requests.push({ method: req.method ?? "GET", path, headers: headersOf(req), body })

      let fault = currentFault
      const prefix = /^\/fault\/([a-z0-9-]+)(\/.*)?$/.exec(path)
      if (prefix !== null) {
        fault = (faults as ReadonlyArray<string>).includes(prefix[1]!) ? (prefix[1] as Fault) : fault
        path = prefix[2] ?? "/"
      }
      const common = { "request-id": requestId, "anthropic-organization-id": "org_mock" }
      const sendJson = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        if (res.destroyed) return
        const text = JSON.stringify(payload)
        res.writeHead(status, { ...common, "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
        res.end(text)
      }
      const fail = (status: number, type: ErrorResponse["error"]["type"], message: string, headers?: Record<string, string>, code?: string) =>
        sendJson(status, errorBody(type, message, requestId, code), headers)

      if (fault === "connection-refused") return destroy()
      if (fault === "slow-headers") {
        await pause(options.slowMs ?? 5000, res)
        if (res.destroyed) return
      }
      const counting = path === "/v1/messages/count_tokens"
      if (req.method !== "POST" || (path !== "/v1/messages" && !counting)) {
        return fail(404, "not_found_error", `${req.method} ${path}: not found`)
      }
      const key = req.headers["x-api-key"]
      if (typeof key !== "string" || key.length === 0) return fail(401, "authentication_error", "x-api-key header is required")
      if (options.apiKey !== undefined && key !== options.apiKey) return fail(401, "authentication_error", "invalid x-api-key")
      if (req.headers["anthropic-version"] === undefined) {
        return fail(400, "invalid_request_error", "anthropic-version: header is required")
      }
      const model = isObject(body) && typeof body["model"] === "string" ? body["model"] : "unknown"
      const streamed = isObject(body) && body["stream"] === true

      switch (fault) {
        case "rate-limit":
          return fail(429, "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.",
            {
              "retry-after": String(options.retryAfterSeconds ?? 1),
              "anthropic-ratelimit-requests-limit": "50",
              "anthropic-ratelimit-requests-remaining": "0",
              "anthropic-ratelimit-requests-reset": new Date(Date.now() + 1000 * (options.retryAfterSeconds ?? 1)).toISOString(),
              "x-should-retry": "true"
            })
        case "quota":
          return fail(429, "rate_limit_error",
            "You have reached your specified workspace API usage limits. You will regain access on 2026-12-01 at 00:00 UTC.",
            { "x-should-retry": "false" }, "enforced_spend_limit_reached")
        case "auth":
          return fail(401, "authentication_error", "invalid x-api-key")
        case "permission":
          return fail(403, "permission_error", "Your API key does not have permission to use the specified resource.")
        case "not-found":
          return fail(404, "not_found_error", `model: ${model}`)
        case "bad-request":
          return fail(400, "invalid_request_error", "messages.0.content.0.text: Input should be a valid string")
        case "context-window":
          return fail(400, "invalid_request_error", "prompt is too long: 208656 tokens > 200000 maximum")
        case "content-policy":
          return fail(400, "invalid_request_error", "Output blocked by content filtering policy")
        case "overloaded":
          return fail(529, "overloaded_error", "Overloaded", { "x-should-retry": "true" })
        case "server-error":
          return fail(500, "api_error", "Internal server error", { "x-should-retry": "true" })
        case "error-after-200":
          if (!streamed) return fail(529, "overloaded_error", "Overloaded", { "x-should-retry": "true" })
          break
      }

      if (counting) {
        const invalid = validateCount(body)
        return invalid !== undefined ? fail(400, "invalid_request_error", invalid) : sendJson(200, { input_tokens: countTokens(body as Json) })
      }
      const invalid = validate(body)
      if (invalid !== undefined) return fail(400, "invalid_request_error", invalid)
      const result = answer(body as Json, options, id, cache)

      if (!streamed) {
        const text = JSON.stringify(result.message)
        if (fault === "malformed-json") {
          res.writeHead(200, { ...common, "content-type": "application/json" })
          return void res.end(text.slice(0, Math.floor(text.length / 2)))
        }
        if (fault === "wrong-shape") {
          return sendJson(200, { type: "message", id: result.message.id, role: "assistant", model, content: "not a list of blocks" })
        }
        if (fault === "reset-mid-body") {
          res.writeHead(200, { ...common, "content-type": "application/json", "content-length": Buffer.byteLength(text) })
          res.write(text.slice(0, Math.floor(text.length / 2)))
          return void setTimeout(destroy, 10)
        }
        return sendJson(200, result.message, {
          "anthropic-ratelimit-requests-limit": "50",
          "anthropic-ratelimit-requests-remaining": "49"
        })
      }

      res.writeHead(200, { ...common, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" })
      const frames = streamEvents(result).map(sse)
      const write = async (frame: string) => {
        if (res.destroyed) return false
        res.write(frame)
        if (options.chunkDelayMs !== undefined && options.chunkDelayMs > 0) await pause(options.chunkDelayMs, res)
        return !res.destroyed
      }
      // How many frames go out before a mid-stream fault: message_start, the first block's start, some deltas.
      const cut = Math.min(frames.length - 2, 4)
      switch (fault) {
        case "malformed-json": {
          await write(frames[0]!)
          res.write(`event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_del\n\n`)
          return void res.end()
        }
        case "wrong-shape":
          res.write(sse({ type: "message_start", message: { id: 42 } } as never))
          res.write(sse({ type: "message_stop" }))
          return void res.end()
        case "reset-mid-body":
          for (const frame of frames.slice(0, cut)) if (!(await write(frame))) return
          return void setTimeout(destroy, 10)
        case "error-after-200":
          for (const frame of frames.slice(0, cut)) if (!(await write(frame))) return
          res.write(`event: error\ndata: ${JSON.stringify(errorBody("overloaded_error", "Overloaded", requestId))}\n\n`)
          return void res.end()
      }
      for (const frame of frames) if (!(await write(frame))) return
      res.end()
    }

    const server = createServer((req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { "content-type": "application/json" })
          res.end(JSON.stringify(errorBody("api_error", "mock failure", "req_mock_error")))
        } else res.destroy()
      })
    })
    const port = yield* Effect.acquireRelease(
      Effect.callback<number>((resume) => {
        server.listen(options.port ?? 0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
        // A port in use fails the acquisition rather than crashing the process.
        server.once("error", (error) => resume(Effect.die(error)))
      }),
      () =>
        Effect.callback<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const baseUrl = `http://127.0.0.1:${port}`
    return {
      baseUrl,
      port,
      faultUrl: (fault: Fault) => `${baseUrl}/fault/${fault}`,
      setFault: (fault: Fault | undefined) => {
        currentFault = fault
      },
      get requests() {
        return requests
      },
      get disconnects() {
        return disconnects
      }
    }
  })

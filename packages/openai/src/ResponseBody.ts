/**
 * Reading a successful answer: a `chat.completion` body or one `chat.completion.chunk` event.
 * OpenAI-compatible servers drift from OpenAI in small ways (no `created`, a missing
 * `content`, Mistral's `model_length` finish reason, Azure's filter-only chunks), so the JSON
 * is first brought to OpenAI's shape where the meaning is unambiguous, then decoded with the
 * core schema; anything else is reported as not the documented shape.
 */
import { Chat, WireJson } from "@llm-router/core"
import { Result, Schema } from "effect"
import * as ErrorBody from "./ErrorBody.ts"

export type Read<A> =
  | { readonly _tag: "Ok"; readonly value: A }
  /** An error object where an answer was expected (a 2xx body, or a `data:` event). */
  | { readonly _tag: "Error"; readonly error: ErrorBody.Extracted }
  /** A chunk that carries nothing for the caller (Azure's prompt-filter results). */
  | { readonly _tag: "Skip" }
  | { readonly _tag: "Invalid"; readonly detail: string }

const decodeResponse = Schema.decodeUnknownResult(Chat.ChatResponse)
const decodeChunk = Schema.decodeUnknownResult(Chat.ChatChunk)

const finishReasons: ReadonlySet<string> = new Set(Chat.FinishReason.literals)

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** `null` stays (still generating); known reasons stay; the rest map to the nearest one. */
const finishReason = (value: unknown): unknown => {
  if (typeof value !== "string" || finishReasons.has(value)) return value
  if (/length|max_tokens/i.test(value)) return "length"
  if (/tool/i.test(value)) return "tool_calls"
  if (/filter|safety/i.test(value)) return "content_filter"
  // "error" (Mistral) means generation failed: leave it for the schema to reject.
  return value === "error" ? value : "stop"
}

const header = (json: Record<string, unknown>, object: string, model: string) => {
  if (typeof json["id"] !== "string") json["id"] = ""
  if (json["object"] !== object) json["object"] = object
  if (typeof json["created"] !== "number") json["created"] = 0
  else if (!Number.isInteger(json["created"])) json["created"] = Math.floor(json["created"] as number)
  if (typeof json["model"] !== "string" || json["model"] === "") json["model"] = model
  const usage = json["usage"]
  if (usage !== undefined && usage !== null) {
    if (!isRecord(usage) || typeof usage["prompt_tokens"] !== "number" || typeof usage["completion_tokens"] !== "number") {
      delete json["usage"]
    } else if (typeof usage["total_tokens"] !== "number") {
      usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    }
  }
}

const toolCalls = (calls: unknown, delta: boolean) => {
  if (!Array.isArray(calls)) return
  calls.forEach((call, position) => {
    if (!isRecord(call)) return
    if (delta && typeof call["index"] !== "number") call["index"] = position
    if (call["type"] === undefined || call["type"] === null) {
      if (delta) delete call["type"]
      else call["type"] = "function"
    }
    if (!delta && typeof call["id"] !== "string") call["id"] = ""
  })
}

const describe = (error: Schema.SchemaError) => error.message.slice(0, 300)

// A chunk is decoded for every token, and the schema walk costs a few µs each: these checks
// accept exactly the common shapes the schema accepts (rest fields are free-form there), so
// a chunk that passes them needs no decoding; anything else still goes through the schema.
// Every field the schema names must be checked here: `FastPathFuzz.test.ts` holds them to it.
const isCount = (u: unknown) => typeof u === "number" && Number.isSafeInteger(u) && u >= 0
const isOptional = (u: unknown, check: (u: unknown) => boolean) => u === undefined || check(u)
const isText = (u: unknown) => typeof u === "string"
const isNullableText = (u: unknown) => u === null || typeof u === "string"
const isDetails = (keys: ReadonlyArray<string>) => (u: unknown) =>
  u === null || (isRecord(u) && keys.every((key) => isOptional(u[key], isCount)))
const isUsage = (u: unknown) =>
  isRecord(u) && isCount(u["prompt_tokens"]) && isCount(u["completion_tokens"]) && isCount(u["total_tokens"]) &&
  isOptional(u["prompt_tokens_details"], isDetails(["cached_tokens", "cache_write_tokens"])) &&
  isOptional(u["completion_tokens_details"], isDetails(["reasoning_tokens"]))
const isToolCallDelta = (u: unknown) =>
  isRecord(u) && isCount(u["index"]) && isOptional(u["id"], isText) && isOptional(u["type"], (t) => t === "function") &&
  isOptional(u["function"], (f) => isRecord(f) && isOptional(f["name"], isText) && isOptional(f["arguments"], isText))
const isThinkingBlocks = (u: unknown) => Array.isArray(u) && u.every(isRecord)
const isDelta = (u: unknown) =>
  isRecord(u) && isOptional(u["role"], (r) => r === "assistant") && isOptional(u["content"], isNullableText) &&
  isOptional(u["refusal"], isNullableText) && isOptional(u["reasoning_content"], isNullableText) &&
  isOptional(u["thinking_blocks"], isThinkingBlocks) &&
  isOptional(u["tool_calls"], (t) => Array.isArray(t) && t.every(isToolCallDelta))
const isChunkChoice = (u: unknown) =>
  isRecord(u) && isCount(u["index"]) && isDelta(u["delta"]) &&
  isOptional(u["finish_reason"], (f) => f === null || (typeof f === "string" && finishReasons.has(f))) &&
  isOptional(u["stop_sequence"], isNullableText)
export const isPlainChunk = (u: Record<string, unknown>): boolean =>
  typeof u["id"] === "string" && u["object"] === "chat.completion.chunk" && isCount(u["created"]) &&
  typeof u["model"] === "string" && Array.isArray(u["choices"]) && u["choices"].every(isChunkChoice) &&
  isOptional(u["usage"], (usage) => usage === null || isUsage(usage))

const isToolCall = (u: unknown) =>
  isRecord(u) && isText(u["id"]) && u["type"] === "function" && isRecord(u["function"]) &&
  isText(u["function"]["name"]) && isText(u["function"]["arguments"])
const isChoice = (u: unknown) =>
  isRecord(u) && isCount(u["index"]) && (u["finish_reason"] === null || (typeof u["finish_reason"] === "string" && finishReasons.has(u["finish_reason"]))) &&
  isOptional(u["stop_sequence"], isNullableText) && isRecord(u["message"]) && u["message"]["role"] === "assistant" && isNullableText(u["message"]["content"]) &&
  isOptional(u["message"]["refusal"], isNullableText) && isOptional(u["message"]["reasoning_content"], isNullableText) &&
  isOptional(u["message"]["thinking_blocks"], isThinkingBlocks) &&
  isOptional(u["message"]["tool_calls"], (t) => Array.isArray(t) && t.every(isToolCall))
/** The same shortcut for a whole response (see `isPlainChunk`). */
export const isPlainResponse = (u: Record<string, unknown>): boolean =>
  typeof u["id"] === "string" && u["object"] === "chat.completion" && isCount(u["created"]) &&
  typeof u["model"] === "string" && Array.isArray(u["choices"]) && u["choices"].every(isChoice) &&
  isOptional(u["usage"], (usage) => usage === null || isUsage(usage))

/** Parses a 2xx body of a non-streamed call. */
export const response = (body: string, model: string): Read<Chat.ChatResponse> => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return { _tag: "Invalid", detail: "the body is not JSON" }
  }
  if (!isRecord(json)) return { _tag: "Invalid", detail: "the body is not a JSON object" }
  if (!Array.isArray(json["choices"])) {
    const error = json["error"] !== undefined ? ErrorBody.extract(json) : undefined
    return error ? { _tag: "Error", error } : { _tag: "Invalid", detail: "the body has no `choices`" }
  }
  // Already OpenAI's shape (the repairs below would change nothing): the body is its own wire form.
  if (isPlainResponse(json) && json["model"] !== "") {
    return { _tag: "Ok", value: WireJson.remember(json as Chat.ChatResponse, body) }
  }
  header(json, "chat.completion", model)
  json["choices"].forEach((choice: unknown, position: number) => {
    if (!isRecord(choice)) return
    if (typeof choice["index"] !== "number") choice["index"] = position
    if (choice["finish_reason"] === undefined) choice["finish_reason"] = null
    else choice["finish_reason"] = finishReason(choice["finish_reason"])
    const message = choice["message"]
    if (!isRecord(message)) return
    if (message["role"] === undefined || message["role"] === null) message["role"] = "assistant"
    if (message["content"] === undefined) message["content"] = null
    if (message["tool_calls"] === null) delete message["tool_calls"]
    toolCalls(message["tool_calls"], false)
  })
  if (isPlainResponse(json)) return { _tag: "Ok", value: json as Chat.ChatResponse }
  const decoded = decodeResponse(json)
  return Result.isSuccess(decoded)
    ? { _tag: "Ok", value: decoded.success }
    : { _tag: "Invalid", detail: describe(decoded.failure) }
}

/** Parses the `data` of one stream event (not `[DONE]`). */
export const chunk = (data: string, model: string): Read<Chat.ChatChunk> => {
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    return { _tag: "Invalid", detail: "an event's data is not JSON" }
  }
  if (!isRecord(json)) return { _tag: "Invalid", detail: "an event's data is not a JSON object" }
  const choices = json["choices"]
  if (!Array.isArray(choices)) {
    const error = json["error"] !== undefined ? ErrorBody.extract(json) : undefined
    return error ? { _tag: "Error", error } : { _tag: "Invalid", detail: "a chunk has no `choices`" }
  }
  // Azure sends chunks with only content-filter results (and an empty `object`): nothing to pass on.
  if (choices.length === 0 && (json["usage"] === undefined || json["usage"] === null)) return { _tag: "Skip" }
  // As for a whole response; an event's data joined from several lines is not one SSE line.
  if (isPlainChunk(json) && json["model"] !== "" && !/[\r\n]/.test(data)) {
    return { _tag: "Ok", value: WireJson.remember(json as Chat.ChatChunk, data) }
  }
  header(json, "chat.completion.chunk", model)
  choices.forEach((choice: unknown, position: number) => {
    if (!isRecord(choice)) return
    if (typeof choice["index"] !== "number") choice["index"] = position
    if (choice["finish_reason"] !== undefined) choice["finish_reason"] = finishReason(choice["finish_reason"])
    if (!isRecord(choice["delta"])) choice["delta"] = {}
    const delta = choice["delta"] as Record<string, unknown>
    if (delta["role"] !== undefined && delta["role"] !== "assistant") delete delta["role"]
    if (delta["tool_calls"] === null) delete delta["tool_calls"]
    toolCalls(delta["tool_calls"], true)
  })
  if (isPlainChunk(json)) return { _tag: "Ok", value: json as Chat.ChatChunk }
  const decoded = decodeChunk(json)
  return Result.isSuccess(decoded)
    ? { _tag: "Ok", value: decoded.success }
    : { _tag: "Invalid", detail: describe(decoded.failure) }
}

/** A complete answer as stream chunks, for a server that ignored `stream: true`. */
export const asChunks = (response: Chat.ChatResponse): ReadonlyArray<Chat.ChatChunk> => {
  const head = { id: response.id, object: "chat.completion.chunk" as const, created: response.created, model: response.model }
  const content: Chat.ChatChunk = {
    ...head,
    choices: response.choices.map((choice) => ({
      index: choice.index,
      delta: {
        role: "assistant" as const,
        content: choice.message.content,
        ...(choice.message.tool_calls
          ? {
            tool_calls: choice.message.tool_calls.map((call, index) => ({
              index,
              id: call.id,
              type: "function" as const,
              function: call.function
            }))
          }
          : {})
      },
      finish_reason: choice.finish_reason
    }))
  }
  return response.usage ? [content, { ...head, choices: [], usage: response.usage }] : [content]
}

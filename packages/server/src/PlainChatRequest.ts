/**
 * The chat request decoded without the Schema walk, for the shapes nearly every request has:
 * a model, string or text/image/other content parts, and the common scalar options. Walking
 * `Chat.ChatRequest` (unions of rest-structs) costs several microseconds on every request;
 * these checks cost a fraction of that. `decode` answers only when the Schema would accept
 * the body, and builds exactly what the Schema would return (known keys first in the
 * schema's order, then the other keys as sent; keys of closed structs not named by the
 * schema dropped). For anything else it answers `undefined` and the caller runs the Schema,
 * which also words the refusal. `PlainChatRequest.test.ts` holds it to that.
 */
import type { Chat } from "@llm-router/core"

type Json = Record<string, unknown>

const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** `Schema.Int` ≥ 0 (the Schema's `Count`). */
const isCount = (u: unknown) => typeof u === "number" && Number.isSafeInteger(u) && u >= 0

/** A value the caller sends for a `NullOr(Count)` field. */
const nullableCount = (u: unknown) => u === null || isCount(u)
const nullableFinite = (u: unknown) => u === null || (typeof u === "number" && Number.isFinite(u))
const isString = (u: unknown) => typeof u === "string"
const isBoolean = (u: unknown) => typeof u === "boolean"
const nullableBoolean = (u: unknown) => u === null || typeof u === "boolean"
const isStringArray = (u: unknown) => {
  if (!Array.isArray(u)) return false
  for (const item of u) if (typeof item !== "string") return false
  return true
}

/**
 * Copies `source` into `out` in the Schema's output order: `known` keys first (those present),
 * then every other key as sent. A key the prototype setter would swallow (`__proto__`) is
 * left to the Schema.
 */
const ordered = (source: Json, known: ReadonlyArray<string>, knownSet: ReadonlySet<string>, out: Json): Json | undefined => {
  for (const key of known) if (key in source) out[key] = source[key]
  for (const key in source) {
    if (key === "__proto__") return undefined
    if (!knownSet.has(key)) out[key] = source[key]
  }
  return out
}

// -- content -----------------------------------------------------------------------------

const textPartKeys = ["type", "text"]
const textPartSet = new Set(textPartKeys)
const imagePartKeys = ["type", "image_url"]
const imagePartSet = new Set(imagePartKeys)
const otherPartKeys = ["type"]
const otherPartSet = new Set(otherPartKeys)
const imageDetails: ReadonlySet<unknown> = new Set(["auto", "low", "high"])

const part = (u: unknown): Json | undefined => {
  if (!isRecord(u) || typeof u["type"] !== "string") return undefined
  const type = u["type"]
  if (type === "text") {
    // A text part whose `text` is not a string would pass as another part: the Schema's case.
    return typeof u["text"] === "string" ? ordered(u, textPartKeys, textPartSet, {}) : undefined
  }
  if (type === "image_url") {
    const image = u["image_url"]
    if (!isRecord(image) || typeof image["url"] !== "string") return undefined
    const hasDetail = "detail" in image
    if (hasDetail && !imageDetails.has(image["detail"])) return undefined
    const out = ordered(u, imagePartKeys, imagePartSet, {})
    if (out === undefined) return undefined
    // A closed struct: only its named keys survive, in the schema's order.
    out["image_url"] = hasDetail ? { url: image["url"], detail: image["detail"] } : { url: image["url"] }
    return out
  }
  return ordered(u, otherPartKeys, otherPartSet, {})
}

const content = (u: unknown): unknown => {
  if (typeof u === "string") return u
  if (!Array.isArray(u)) return undefined
  const out: Array<Json> = new Array(u.length)
  for (let i = 0; i < u.length; i++) {
    const p = part(u[i])
    if (p === undefined) return undefined
    out[i] = p
  }
  return out
}

// -- messages ----------------------------------------------------------------------------

const systemKeys = ["role", "content", "name"]
const systemSet = new Set(systemKeys)
const toolKeys = ["role", "content", "tool_call_id", "is_error"]
const toolSet = new Set(toolKeys)
const assistantKeys = ["role", "content", "name", "refusal", "tool_calls"]
const assistantSet = new Set(assistantKeys)

const toolCall = (u: unknown): Json | undefined => {
  if (!isRecord(u) || typeof u["id"] !== "string" || u["type"] !== "function") return undefined
  const f = u["function"]
  if (!isRecord(f) || typeof f["name"] !== "string" || typeof f["arguments"] !== "string") return undefined
  // Closed structs: only the named keys survive, in the schema's order.
  return { id: u["id"], type: "function", function: { name: f["name"], arguments: f["arguments"] } }
}

const message = (u: unknown): Json | undefined => {
  if (!isRecord(u)) return undefined
  const role = u["role"]
  if (role === "user" || role === "system" || role === "developer") {
    if ("name" in u && typeof u["name"] !== "string") return undefined
    const c = content(u["content"])
    if (c === undefined) return undefined
    const out = ordered(u, systemKeys, systemSet, {})
    if (out !== undefined) out["content"] = c
    return out
  }
  if (role === "assistant") {
    if ("name" in u && typeof u["name"] !== "string") return undefined
    if ("refusal" in u && u["refusal"] !== null && typeof u["refusal"] !== "string") return undefined
    let c: unknown = null
    if ("content" in u && u["content"] !== null) {
      c = content(u["content"])
      if (c === undefined) return undefined
    }
    let calls: Array<Json> | undefined
    if ("tool_calls" in u) {
      const given = u["tool_calls"]
      if (!Array.isArray(given)) return undefined
      calls = new Array(given.length)
      for (let i = 0; i < given.length; i++) {
        const call = toolCall(given[i])
        if (call === undefined) return undefined
        calls[i] = call
      }
    }
    const out = ordered(u, assistantKeys, assistantSet, {})
    if (out === undefined) return undefined
    if ("content" in u) out["content"] = c
    if (calls !== undefined) out["tool_calls"] = calls
    return out
  }
  if (role === "tool") {
    if (typeof u["tool_call_id"] !== "string") return undefined
    if ("is_error" in u && typeof u["is_error"] !== "boolean") return undefined
    const c = content(u["content"])
    if (c === undefined) return undefined
    const out = ordered(u, toolKeys, toolSet, {})
    if (out !== undefined) out["content"] = c
    return out
  }
  return undefined
}

// -- the request -------------------------------------------------------------------------

/** `Chat.ChatRequest`'s fields, in its order. */
const requestKeys = [
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "n",
  "stop",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "response_format",
  "user",
  "metadata"
]
const requestSet = new Set(requestKeys)

/** Scalar fields: checked as they are and passed through. */
const scalarChecks: ReadonlyArray<readonly [string, (u: unknown) => boolean]> = [
  ["stream", nullableBoolean],
  ["max_tokens", nullableCount],
  ["max_completion_tokens", nullableCount],
  ["temperature", nullableFinite],
  ["top_p", nullableFinite],
  ["n", nullableCount],
  ["stop", (u) => u === null || typeof u === "string" || isStringArray(u)],
  ["parallel_tool_calls", isBoolean],
  ["user", isString]
]

const metadataKeys = ["tags"]
const metadataSet = new Set(metadataKeys)

/**
 * The chat request the Schema would decode from `json`, when `json` has one of the common
 * shapes; `undefined` otherwise (the Schema then decides, and explains a refusal).
 */
export const decode = (json: Json): Chat.ChatRequest | undefined => {
  // Tools, tool choice and response formats are left to the Schema (closed unions of structs).
  if ("tools" in json || "tool_choice" in json || "response_format" in json) return undefined
  if (typeof json["model"] !== "string") return undefined
  const given = json["messages"]
  if (!Array.isArray(given) || given.length === 0) return undefined
  const messages: Array<Json> = new Array(given.length)
  for (let i = 0; i < given.length; i++) {
    const m = message(given[i])
    if (m === undefined) return undefined
    messages[i] = m
  }
  for (const [key, check] of scalarChecks) if (key in json && !check(json[key])) return undefined
  let streamOptions: Json | null | undefined
  if ("stream_options" in json) {
    const options = json["stream_options"]
    if (options === null) streamOptions = null
    else {
      if (!isRecord(options)) return undefined
      const include = options["include_usage"]
      if ("include_usage" in options && !isBoolean(include)) return undefined
      // A closed struct: only `include_usage` survives.
      streamOptions = "include_usage" in options ? { include_usage: include } : {}
    }
  }
  let metadata: Json | undefined
  if ("metadata" in json) {
    const given = json["metadata"]
    if (!isRecord(given) || ("tags" in given && !isStringArray(given["tags"]))) return undefined
    metadata = ordered(given, metadataKeys, metadataSet, {})
    if (metadata === undefined) return undefined
  }
  const out = ordered(json, requestKeys, requestSet, {})
  if (out === undefined) return undefined
  out["messages"] = messages
  if (streamOptions !== undefined) out["stream_options"] = streamOptions
  if (metadata !== undefined) out["metadata"] = metadata
  return out as Chat.ChatRequest
}

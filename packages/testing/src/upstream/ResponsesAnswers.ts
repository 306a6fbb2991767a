/**
 * The OpenAI mock's answers on `POST /v1/responses` (OpenAI's Responses API): the `Response`
 * object of a plain call and the typed events of a streamed one (`response.created`,
 * `response.in_progress`, `response.output_item.added`, `response.content_part.added`,
 * `response.output_text.delta` … `.done`, `response.function_call_arguments.delta` … `.done`,
 * `response.output_item.done`, `response.completed`), typed with the `openai` SDK's own types so
 * a drift in OpenAI's shapes is a type error here. The same rules as the chat answers: the text,
 * then " You said: <last user text>" unless `echo: false`; function tools (and `tool_choice`
 * not "none"), or a model containing "tool-call", get a function call whose arguments match the
 * tool's parameters; `text.format` json_schema gets a JSON value matching the schema. A model
 * containing "content-filter" is cut by OpenAI's content filter after its first word: status
 * `incomplete`, `incomplete_details.reason: "content_filter"` (streamed: `response.incomplete`).
 * Usage is deterministic: input = ceil(chars / 4), output = words (arguments: ceil(chars / 4)).
 *
 * A reasoning model (o-series, gpt-5, or "reasoning" in its name: `reasons`) answers a reasoning item first
 * (`rs_mock_<n>`), with an opaque `encrypted_content` when `include` asks for
 * `reasoning.encrypted_content`: sealed with the mock's key and bound to the item's id, as
 * OpenAI's is; any other model asked for it is a 400. Reasoning input items are checked as
 * strictly as OpenAI checks them (`refusal`). Given `max_output_tokens` under `REASONING_TOKENS`,
 * a reasoning model is cut off while reasoning: `incomplete`, only its reasoning item.
 */
import { createHmac } from "node:crypto"
import type {
  FunctionTool,
  Response,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseReasoningItem,
  ResponseStreamEvent,
  ResponseUsage
} from "openai/resources/responses/responses"
import type { ErrorObject } from "openai/resources/shared"
import * as Synthesize from "./Synthesize.ts"

export interface AnswerOptions {
  readonly text?: string | undefined
  readonly echo?: boolean | undefined
  readonly streamChunks?: number | undefined
  /** The key reasoning content is sealed with (default the mock's own; see `seal`). */
  readonly reasoningKey?: string | undefined
}

type Body = Record<string, unknown>
const isObj = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
    ? content.map((part) => (isObj(part) && typeof part["text"] === "string" ? part["text"] : "")).join("")
    : ""

const inputItems = (body: Body): ReadonlyArray<Record<string, unknown>> =>
  typeof body["input"] === "string"
    ? [{ role: "user", content: body["input"] }]
    : Array.isArray(body["input"])
    ? body["input"].filter(isObj)
    : []

const lastUserText = (body: Body): string => textOf(inputItems(body).findLast((item) => item["role"] === "user")?.["content"])

const inputTokens = (body: Body): number =>
  Math.max(1, Math.ceil((textOf(body["instructions"]).length + inputItems(body).reduce((n, i) => n + textOf(i["content"] ?? i["output"]).length, 0)) / 4))

const countWords = (text: string) => text.split(/\s+/).filter((w) => w.length > 0).length

/** `undefined` when the request is missing what OpenAI requires (then the caller answers a 400). */
export const missing = (body: Body): { readonly message: string; readonly param: string } | undefined =>
  typeof body["model"] !== "string" || body["model"] === ""
    ? { message: "Missing required parameter: 'model'.", param: "model" }
    : body["input"] === undefined && body["previous_response_id"] === undefined
    ? { message: "Missing required parameter: 'input'.", param: "input" }
    : undefined

/**
 * Whether `model` reasons: OpenAI's o-series and gpt-5 family (not `gpt-5-chat`), or, by the
 * mock's convention, a name containing "reasoning" (an Azure deployment's name, say).
 */
export const reasons = (model: string) => /^(o\d|gpt-5(?!-chat|[^-]*-chat))/.test(model) || model.includes("reasoning")

const ENCRYPTED = "reasoning.encrypted_content"
/**
 * The mock's sealing key: only the mock makes content that verifies, and only while it keeps its
 * key (a mock that rotates it stands for OpenAI under another org's key).
 */
export const KEY = "openai-mock-reasoning-key"
const mac = (itemId: string, key: string) => createHmac("sha256", key).update(itemId).digest("base64url").slice(0, 22)

/** An opaque `encrypted_content` for reasoning item `itemId` (OpenAI's starts `gAAAA` too). */
export const seal = (itemId: string, key = KEY) => `gAAAAB${Buffer.from(itemId, "utf8").toString("base64url")}.${mac(itemId, key)}`

/** The item id an `encrypted_content` of `seal` is bound to; `undefined` for content not sealed with `key`. */
export const unseal = (content: string, key = KEY): string | undefined => {
  const match = /^gAAAAB([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(content)
  if (match === null) return undefined
  const itemId = Buffer.from(match[1]!, "base64url").toString("utf8")
  return mac(itemId, key) === match[2] ? itemId : undefined
}

/** The reasoning item a reasoning model's answer `sequence` starts with. */
export const reasoningOf = (body: Body, sequence: number, key = KEY): ResponseReasoningItem => {
  const id = `rs_mock_${sequence}`
  const include = Array.isArray(body["include"]) ? body["include"] : []
  return { type: "reasoning", id, summary: [], ...(include.includes(ENCRYPTED) ? { encrypted_content: seal(id, key) } : {}) }
}

/**
 * Output tokens the mock's reasoning takes: a reasoning model given a smaller `max_output_tokens`
 * is cut off while reasoning (status `incomplete`, output only its reasoning item), as OpenAI's is.
 */
export const REASONING_TOKENS = 32

const cutWhileReasoning = (body: Body, model: string) =>
  reasons(model) && typeof body["max_output_tokens"] === "number" && body["max_output_tokens"] < REASONING_TOKENS

/** An item a model answered with (a function call, an assistant message): what a reasoning item must precede. */
const isOutput = (item: Record<string, unknown> | undefined) =>
  item !== undefined && (item["type"] === "function_call" || (item["type"] !== "reasoning" && item["role"] === "assistant"))

/** An error OpenAI answers a request with: its status and body. */
export interface Refusal {
  readonly status: number
  readonly error: ErrorObject
}

/**
 * How OpenAI refuses a request's encrypted reasoning (2026-11): asked for (`include`) of a model
 * that does not reason, a 400 "Encrypted content is not supported with this model". A reasoning
 * input item is read from
 * its `encrypted_content`, which must be one OpenAI issued (sealed with `key`; else a 400 "could
 * not be verified … could not be decrypted or parsed") for that very item id when the item has
 * one (else a 400 "… item_id did not match the target item id"); without content it is looked up
 * by id among stored items: with `store: false` a 404 "Items are not persisted when `store` is set
 * to false", else a 404 "not found" for an id OpenAI did not store (`stored`). And a reasoning
 * item must be followed by the answer it led to (a function call or an assistant message), with
 * an id when it has one (OpenAI pairs them by id): else a 400 "… was provided without its required
 * following item" (vercel/ai#7099, langchainjs#9082).
 */
export const refusal = (body: Body, model: string, stored: (itemId: string) => boolean, key = KEY): Refusal | undefined => {
  if (Array.isArray(body["include"]) && body["include"].includes(ENCRYPTED) && !reasons(model)) {
    return {
      status: 400,
      error: { message: "Encrypted content is not supported with this model.", type: "invalid_request_error", param: "include", code: null }
    }
  }
  const items = inputItems(body)
  for (const [i, item] of items.entries()) {
    if (item["type"] !== "reasoning") continue
    const id = typeof item["id"] === "string" ? item["id"] : undefined
    const following = items[i + 1]
    if (!isOutput(following) || (id !== undefined && typeof following?.["id"] !== "string")) {
      return {
        status: 400,
        error: {
          message: `Item '${id ?? `input[${i}]`}' of type 'reasoning' was provided without its required following item.`,
          type: "invalid_request_error",
          param: "input",
          code: null
        }
      }
    }
    const content = item["encrypted_content"]
    if (typeof content === "string") {
      const bound = unseal(content, key)
      if (bound === undefined) {
        const shown = content.length > 12 ? `${content.slice(0, 4)}...${content.slice(-4)}` : content
        return {
          status: 400,
          error: {
            message: `The encrypted content ${shown} could not be verified. Reason: Encrypted content could not be decrypted or parsed.`,
            type: "invalid_request_error",
            param: null,
            code: "invalid_encrypted_content"
          }
        }
      }
      if (id !== undefined && bound !== id) {
        return {
          status: 400,
          error: {
            message: `The encrypted content for item ${id} could not be verified. Reason: Encrypted content item_id did not match the target item id.`,
            type: "invalid_request_error",
            param: null,
            code: "invalid_encrypted_content"
          }
        }
      }
      continue
    }
    if (body["store"] === false) {
      return {
        status: 404,
        error: {
          message:
            `Item with id '${id}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`,
          type: "invalid_request_error",
          param: "input",
          code: null
        }
      }
    }
    if (id === undefined || !stored(id)) return { status: 404, error: { message: `Item with id '${id ?? ""}' not found.`, type: "invalid_request_error", param: "input", code: null } }
  }
  return undefined
}

const plannedCall = (body: Body, model: string, sequence: number): ResponseFunctionToolCall | undefined => {
  const tools = (Array.isArray(body["tools"]) ? body["tools"] : []).filter((t): t is FunctionTool => isObj(t) && t["type"] === "function")
  const choice = body["tool_choice"]
  if (!((tools.length > 0 && choice !== "none") || model.includes("tool-call"))) return undefined
  const name = (isObj(choice) && typeof choice["name"] === "string" ? choice["name"] : tools[0]?.name) ?? "get_weather"
  const parameters = tools.find((t) => t.name === name)?.parameters
  const query = lastUserText(body)
  return {
    type: "function_call",
    id: `fc_mock_${sequence}`,
    call_id: `call_mock_${sequence}_0`,
    name,
    arguments: JSON.stringify(parameters == null ? { query } : Synthesize.argumentsOf(parameters, { string: () => query })),
    status: "completed"
  }
}

const answerText = (body: Body, options: AnswerOptions): string => {
  const text = options.text ?? "Hello from the mock."
  const format = isObj(body["text"]) ? body["text"]["format"] : undefined
  if (isObj(format) && format["type"] === "json_schema") return JSON.stringify(Synthesize.valueOf(format["schema"] ?? { type: "object" }, { string: () => text }))
  if (isObj(format) && format["type"] === "json_object") return JSON.stringify({ answer: text })
  return options.echo === false ? text : `${text} You said: ${lastUserText(body)}`
}

/** Splits text into `n` pieces (default: one per word, spaces kept with the following word). */
const pieces = (text: string, n: number | undefined): ReadonlyArray<string> => {
  if (n === undefined) return text.split(/(?=\s)/).filter((p) => p.length > 0)
  const count = Math.max(1, Math.min(n, text.length))
  const size = text.length / count
  return Array.from({ length: count }, (_, i) => text.slice(Math.round(i * size), Math.round((i + 1) * size)))
}

const usageOf = (body: Body, output: number): ResponseUsage => {
  const input = inputTokens(body)
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output
  }
}

const shell = (body: Body, model: string, sequence: number, createdAt: number): Response => ({
  id: `resp_mock_${sequence}`,
  object: "response",
  created_at: createdAt,
  status: "in_progress",
  access_programs: null,
  error: null,
  incomplete_details: null,
  instructions: typeof body["instructions"] === "string" ? body["instructions"] : null,
  metadata: isObj(body["metadata"]) ? body["metadata"] as Record<string, string> : null,
  model,
  output: [],
  output_text: "",
  parallel_tool_calls: body["parallel_tool_calls"] !== false,
  previous_response_id: typeof body["previous_response_id"] === "string" ? body["previous_response_id"] : null,
  temperature: typeof body["temperature"] === "number" ? body["temperature"] : 1,
  top_p: typeof body["top_p"] === "number" ? body["top_p"] : 1,
  tool_choice: (body["tool_choice"] ?? "auto") as Response["tool_choice"],
  tools: (Array.isArray(body["tools"]) ? body["tools"] : []) as Response["tools"]
})

/** The finished answer: the `Response` a plain call gets (and `response.completed` carries). */
export const responseOf = (body: Body, model: string, options: AnswerOptions, sequence: number, createdAt: number): Response => {
  if (cutWhileReasoning(body, model)) {
    return {
      ...shell(body, model, sequence, createdAt),
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      output: [reasoningOf(body, sequence, options.reasoningKey)],
      usage: usageOf(body, body["max_output_tokens"] as number)
    }
  }
  const call = plannedCall(body, model, sequence)
  const filtered = call === undefined && model.includes("content-filter")
  const whole = call === undefined ? answerText(body, options) : ""
  const text = filtered ? pieces(whole, undefined)[0] ?? "" : whole
  const item: ResponseOutputItem = call ?? message(sequence, text, filtered ? "incomplete" : "completed")
  return {
    ...shell(body, model, sequence, createdAt),
    status: filtered ? "incomplete" : "completed",
    ...(filtered ? { incomplete_details: { reason: "content_filter" as const } } : { completed_at: createdAt }),
    output: reasons(model) ? [reasoningOf(body, sequence, options.reasoningKey), item] : [item],
    output_text: text,
    usage: usageOf(body, call === undefined ? countWords(text) : Math.ceil(call.arguments.length / 4))
  }
}

const message = (sequence: number, text: string, status: ResponseOutputMessage["status"]): ResponseOutputMessage => ({
  type: "message",
  id: `msg_mock_${sequence}`,
  role: "assistant",
  status,
  content: status === "in_progress" ? [] : [{ type: "output_text", text, annotations: [], logprobs: [] }]
})

/** A stream event before its number: each event's own fields are checked against the SDK's. */
type Unnumbered = ResponseStreamEvent extends infer E ? E extends unknown ? Omit<E, "sequence_number"> : never : never

/** The events of a streamed answer, numbered from 0, ending in `response.completed` (or `response.incomplete`). */
export const eventsOf = (body: Body, model: string, options: AnswerOptions, sequence: number, createdAt: number): ReadonlyArray<ResponseStreamEvent> => {
  const done = responseOf(body, model, options, sequence, createdAt)
  const start = shell(body, model, sequence, createdAt)
  const events: Array<ResponseStreamEvent> = []
  const add = (event: Unnumbered) => events.push({ ...event, sequence_number: events.length } as ResponseStreamEvent)
  add({ type: "response.created", response: start })
  add({ type: "response.in_progress", response: start })
  const first = done.output[0]!
  if (first.type === "reasoning") {
    // Its content comes whole with `.done` (OpenAI's `.added` may carry it incomplete).
    const { encrypted_content: _content, ...opening } = first
    add({ type: "response.output_item.added", output_index: 0, item: opening })
    add({ type: "response.output_item.done", output_index: 0, item: first })
  }
  const index = done.output.length - 1
  const item = done.output[index]!
  if (item.type === "reasoning") {
    // Cut off while reasoning: nothing after it.
  } else if (item.type === "function_call") {
    const itemId = item.id ?? ""
    add({ type: "response.output_item.added", output_index: index, item: { ...item, arguments: "", status: "in_progress" } })
    for (const delta of pieces(item.arguments, 3)) add({ type: "response.function_call_arguments.delta", item_id: itemId, output_index: index, delta })
    add({ type: "response.function_call_arguments.done", item_id: itemId, output_index: index, arguments: item.arguments })
  } else if (item.type === "message") {
    const text = done.output_text
    const at = { item_id: item.id, output_index: index, content_index: 0 }
    add({ type: "response.output_item.added", output_index: index, item: message(sequence, "", "in_progress") })
    add({ type: "response.content_part.added", ...at, part: { type: "output_text", text: "", annotations: [], logprobs: [] } })
    for (const delta of pieces(text, options.streamChunks)) add({ type: "response.output_text.delta", ...at, delta, logprobs: [] })
    add({ type: "response.output_text.done", ...at, text, logprobs: [] })
    add({ type: "response.content_part.done", ...at, part: { type: "output_text", text, annotations: [], logprobs: [] } })
  }
  if (item.type !== "reasoning") add({ type: "response.output_item.done", output_index: index, item })
  add(done.status === "incomplete" ? { type: "response.incomplete", response: done } : { type: "response.completed", response: done })
  return events
}

/** One event as an SSE frame (`event:` names the type, as OpenAI sends them). */
export const frame = (event: ResponseStreamEvent) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`

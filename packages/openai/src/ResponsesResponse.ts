/**
 * A chat-completions answer as an OpenAI Responses API `Response` object: reasoning as a
 * `reasoning` item (Claude's signed thinking kept in its `encrypted_content`), text and refusals as
 * a `message` item, tool calls as `function_call` items; `finish_reason` as the status
 * (`length` and `content_filter` make it `incomplete`, with the reason) and usage in the
 * Responses API's names. The envelope echoes the request, as OpenAI's does. The stream
 * translation (`ResponsesStream`) builds its items and final object with the same functions.
 */
import type { Chat, LlmClient } from "@llm-router/core"
import * as ResponsesRequest from "./ResponsesRequest.ts"
import * as EncryptedReasoning from "./internal/EncryptedReasoning.ts"
import * as GatewayIds from "./internal/GatewayIds.ts"

export interface OutputText {
  readonly type: "output_text"
  readonly text: string
  readonly annotations: ReadonlyArray<never>
  readonly logprobs: ReadonlyArray<never>
}
export interface OutputRefusal {
  readonly type: "refusal"
  readonly refusal: string
}
export interface MessageItem {
  readonly type: "message"
  readonly id: string
  readonly status: "in_progress" | "completed" | "incomplete"
  readonly role: "assistant"
  readonly content: ReadonlyArray<OutputText | OutputRefusal>
}
export interface FunctionCallItem {
  readonly type: "function_call"
  readonly id: string
  readonly call_id: string
  readonly name: string
  readonly arguments: string
  readonly status: "in_progress" | "completed" | "incomplete"
}
export interface ReasoningItem {
  readonly type: "reasoning"
  readonly id: string
  readonly summary: ReadonlyArray<{ readonly type: "summary_text"; readonly text: string }>
  readonly encrypted_content?: string
}
export type OutputItem = MessageItem | FunctionCallItem | ReasoningItem

export interface Usage {
  readonly input_tokens: number
  readonly input_tokens_details: { readonly cached_tokens: number }
  readonly output_tokens: number
  readonly output_tokens_details: { readonly reasoning_tokens: number }
  readonly total_tokens: number
}

export type Status = "in_progress" | "completed" | "incomplete" | "failed"

/** The fields of a `Response` object; `output_text` is the SDKs' convenience, filled in too. */
export interface ResponseObject {
  readonly id: string
  readonly object: "response"
  readonly created_at: number
  readonly status: Status
  readonly completed_at: number | null
  readonly error: { readonly code: string; readonly message: string } | null
  readonly incomplete_details: { readonly reason: "max_output_tokens" | "content_filter" } | null
  readonly instructions: string | null
  readonly max_output_tokens: number | null
  readonly model: string
  readonly output: ReadonlyArray<OutputItem>
  readonly output_text: string
  readonly parallel_tool_calls: boolean
  readonly previous_response_id: string | null
  readonly reasoning: { readonly effort: string | null; readonly summary: string | null }
  readonly store: boolean
  readonly temperature: number | null
  readonly text: { readonly format: unknown }
  readonly tool_choice: unknown
  readonly tools: ReadonlyArray<unknown>
  readonly top_p: number | null
  readonly truncation: "disabled"
  readonly usage: Usage | null
  readonly user: string | null
  readonly metadata: Readonly<Record<string, string>>
}

/** Ids for one response and its items; item ids name their response, so an item reference finds it. */
export interface Ids {
  readonly response: string
  readonly item: (kind: "msg" | "fc" | "rs", index: number) => string
}

export const idsFor = (responseId: string): Ids => {
  const suffix = responseId.startsWith("resp_") ? responseId.slice(5) : responseId
  return { response: responseId, item: (kind, index) => `${kind}_${suffix}_${index}` }
}

/** The id kind of each output item type the gateway renames. */
const itemKinds: Readonly<Record<string, "msg" | "fc" | "rs">> = { message: "msg", function_call: "fc", reasoning: "rs" }

/** The id kind of an output item (`undefined` for a type the gateway does not rename). */
export const kindOfItem = (item: Readonly<Record<string, unknown>>) => itemKinds[String(item["type"])]

/** Where a native answer came from: the deployment, and when its call was sent (microseconds since the epoch, `Clock`). */
export interface NativeOrigin {
  readonly deployment: string
  readonly issuedAt: number
}

/**
 * An upstream's output item at `index` under our id (see `fromNative`), from an answer of
 * `origin`: a reasoning item's encrypted content says where and when it came from and the
 * upstream's item id it is bound to (`EncryptedReasoning`), so it can go back to that deployment
 * only, and not once it has refused reasoning issued before then.
 */
export const withOurId = (
  item: Readonly<Record<string, unknown>>,
  index: number,
  ids: Ids,
  origin: NativeOrigin
): Readonly<Record<string, unknown>> => {
  const kind = kindOfItem(item)
  if (kind === undefined) return item
  const content = item["encrypted_content"]
  const upstreamId = item["id"]
  const sealed = kind === "rs" && typeof content === "string" && content.length > 0 && typeof upstreamId === "string"
    ? { encrypted_content: EncryptedReasoning.encodeNative({ ...origin, itemId: upstreamId, content }) }
    : {}
  return { ...item, id: ids.item(kind, index), ...sealed }
}

/**
 * An item as the client sees it: OpenAI's encrypted reasoning only when the client asked for it
 * in `include`, as OpenAI shows it (the gateway asks for it always, to keep it in its store).
 * Claude's signed thinking is shown as before: a client's tool loop through Claude needs it back.
 */
export const itemForClient = (item: unknown, include: ReadonlyArray<string> | null | undefined): unknown => {
  if (typeof item !== "object" || item === null || !EncryptedReasoning.isNative((item as Record<string, unknown>)["encrypted_content"])) return item
  if (ResponsesRequest.includesEncryptedReasoning(include)) return item
  const { encrypted_content: _hidden, ...rest } = item as Record<string, unknown>
  return rest
}

/** A `Response` as the client sees it (see `itemForClient`). */
export const forClient = <R extends { readonly output?: unknown }>(response: R, include: ReadonlyArray<string> | null | undefined): R => {
  const output = response.output
  if (!Array.isArray(output) || ResponsesRequest.includesEncryptedReasoning(include)) return response
  return { ...response, output: output.map((item) => itemForClient(item, include)) }
}

/** A stream event as the client sees it: the item or response it carries, as `itemForClient`. */
export const eventForClient = (event: Readonly<Record<string, unknown>>, include: ReadonlyArray<string> | null | undefined) => {
  if (ResponsesRequest.includesEncryptedReasoning(include)) return event
  const item = event["item"]
  const response = event["response"]
  if (item === undefined && response === undefined) return event
  return {
    ...event,
    ...(item !== undefined ? { item: itemForClient(item, include) } : {}),
    ...(typeof response === "object" && response !== null ? { response: forClient(response, include) } : {})
  }
}

/** The response an item id of ours belongs to (see `idsFor`), or `undefined`. */
export const responseOfItem = GatewayIds.responseOfItem

export const usageOf = (usage: Chat.Usage | null | undefined): Usage | null =>
  usage === null || usage === undefined ? null : {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens
  }

/** A Responses API `usage` (an upstream's, or one of ours) as the router counts usage; `undefined` when it is not one. */
export const chatUsage = (usage: unknown): Chat.Usage | undefined => {
  if (typeof usage !== "object" || usage === null) return undefined
  const u = usage as {
    input_tokens?: unknown
    output_tokens?: unknown
    total_tokens?: unknown
    input_tokens_details?: { cached_tokens?: unknown } | null
    output_tokens_details?: { reasoning_tokens?: unknown } | null
  }
  if (typeof u.input_tokens !== "number" || typeof u.output_tokens !== "number") return undefined
  const cached = u.input_tokens_details?.cached_tokens
  const reasoning = u.output_tokens_details?.reasoning_tokens
  return {
    prompt_tokens: u.input_tokens,
    completion_tokens: u.output_tokens,
    total_tokens: typeof u.total_tokens === "number" ? u.total_tokens : u.input_tokens + u.output_tokens,
    ...(typeof cached === "number" && cached > 0 ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
    ...(typeof reasoning === "number" && reasoning > 0 ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {})
  }
}

/** Whether a `Response` object (an upstream's) was cut by a content filter. */
export const contentFiltered = (response: Readonly<Record<string, unknown>>): boolean => {
  const details = response["incomplete_details"]
  return typeof details === "object" && details !== null && (details as { reason?: unknown }).reason === "content_filter"
}

/**
 * What a `Response` says of itself for the request's span (`LlmClient.Described`): the upstream's
 * id and model (`upstream`: a translated answer's chat completion; else the response's own, an
 * upstream's `Response`), and how it ended in the Responses API's own terms: its `status`
 * (`completed`), or for an `incomplete` one its reason (`max_output_tokens`, `content_filter`).
 * Nothing for one still under way.
 */
export const described = (
  response: {
    readonly id?: unknown
    readonly model?: unknown
    readonly status?: unknown
    readonly incomplete_details?: unknown
    readonly output?: unknown
  },
  upstream: { readonly id?: unknown; readonly model?: unknown } = response
): LlmClient.Described => {
  const ended = finishReasonOf(response)
  return {
    ...(typeof upstream.id === "string" ? { responseId: upstream.id } : {}),
    ...(typeof upstream.model === "string" ? { responseModel: upstream.model } : {}),
    ...(ended !== undefined ? { finishReasons: [ended] } : {})
  }
}

/**
 * How a Responses API answer ended, in the words chat spans use (and OTel's GenAI conventions
 * name), so one dashboard reads both APIs: `stop`, `tool_calls` when it ends in a function
 * call, `length` for `max_output_tokens`, `content_filter`, `error` for a failed response.
 */
const finishReasonOf = (response: { readonly status?: unknown; readonly incomplete_details?: unknown; readonly output?: unknown }) => {
  switch (response.status) {
    case "completed": {
      const output = Array.isArray(response.output) ? response.output : []
      const last = output.at(-1) as { readonly type?: unknown } | undefined
      return last?.type === "function_call" ? "tool_calls" : "stop"
    }
    case "incomplete": {
      const details = response.incomplete_details
      const reason = typeof details === "object" && details !== null ? (details as { reason?: unknown }).reason : undefined
      return reason === "max_output_tokens" ? "length" : reason === "content_filter" ? "content_filter" : "incomplete"
    }
    case "failed":
      return "error"
    case "cancelled":
      return "cancelled"
    default:
      return undefined
  }
}

export const incompleteReason = (finish: Chat.FinishReason | null | undefined) =>
  finish === "length" ? "max_output_tokens" as const : finish === "content_filter" ? "content_filter" as const : undefined

export const outputText = (text: string): OutputText => ({ type: "output_text", text, annotations: [], logprobs: [] })

export const reasoningItem = (id: string, text: string, thinkingBlocks: ReadonlyArray<unknown>): ReasoningItem => ({
  type: "reasoning",
  id,
  summary: text.length > 0 ? [{ type: "summary_text", text }] : [],
  ...(thinkingBlocks.length > 0 ? { encrypted_content: ResponsesRequest.encodeThinking(thinkingBlocks) } : {})
})

/** The request's settings as a `Response` echoes them, around `output`. */
export const envelope = (
  request: ResponsesRequest.ResponsesRequest,
  ids: Ids,
  createdAt: number,
  model: string
): Omit<ResponseObject, "status" | "completed_at" | "output" | "output_text" | "usage" | "incomplete_details" | "error"> => ({
  id: ids.response,
  object: "response",
  created_at: createdAt,
  instructions: request.instructions ?? null,
  max_output_tokens: request.max_output_tokens ?? null,
  model,
  parallel_tool_calls: request.parallel_tool_calls ?? true,
  previous_response_id: request.previous_response_id ?? null,
  reasoning: { effort: request.reasoning?.effort ?? null, summary: null },
  store: request.store !== false,
  temperature: request.temperature ?? null,
  text: { format: request.text?.format ?? { type: "text" } },
  tool_choice: request.tool_choice ?? "auto",
  tools: request.tools ?? [],
  top_p: request.top_p ?? null,
  truncation: "disabled",
  user: request.user ?? null,
  metadata: request.metadata ?? {}
})

/** The whole `Response` once its output is known. */
export const complete = (
  base: ReturnType<typeof envelope>,
  output: ReadonlyArray<OutputItem>,
  finish: Chat.FinishReason | null | undefined,
  usage: Chat.Usage | null | undefined,
  completedAt: number
): ResponseObject => {
  const reason = incompleteReason(finish)
  let text = ""
  for (const item of output) {
    if (item.type === "message") for (const part of item.content) if (part.type === "output_text") text += part.text
  }
  return {
    ...base,
    status: reason === undefined ? "completed" : "incomplete",
    completed_at: reason === undefined ? completedAt : null,
    error: null,
    incomplete_details: reason === undefined ? null : { reason },
    output,
    output_text: text,
    usage: usageOf(usage)
  }
}

/** A chat answer's first choice as output items. */
export const outputOf = (message: Chat.ResponseMessage, ids: Ids, status: "completed" | "incomplete"): Array<OutputItem> => {
  const output: Array<OutputItem> = []
  const reasoning = message.reasoning_content ?? ""
  const thinking = message.thinking_blocks ?? []
  if (reasoning.length > 0 || thinking.length > 0) output.push(reasoningItem(ids.item("rs", output.length), reasoning, thinking))
  const content: Array<OutputText | OutputRefusal> = []
  if (typeof message.content === "string" && (message.content.length > 0 || (message.tool_calls ?? []).length === 0)) {
    content.push(outputText(message.content))
  }
  if (typeof message.refusal === "string" && message.refusal.length > 0) content.push({ type: "refusal", refusal: message.refusal })
  // Only the last item can be cut short: text followed by tool calls was whole.
  const messageStatus = (message.tool_calls ?? []).length > 0 ? "completed" : status
  if (content.length > 0) output.push({ type: "message", id: ids.item("msg", output.length), status: messageStatus, role: "assistant", content })
  for (const call of message.tool_calls ?? []) {
    output.push({
      type: "function_call",
      id: ids.item("fc", output.length),
      call_id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
      status: "completed"
    })
  }
  return output
}

/** The `Response` for a chat answer (its first choice: the Responses API has one output). */
/**
 * OpenAI's own answer to a native call (of `origin`), as the gateway keeps it: its ids ours (so
 * the store and `item_reference` work whichever deployment served a turn), its encrypted reasoning
 * marked as that deployment's (see `withOurId`), with the conversation's `previous_response_id`
 * and `store`. What the client sees of it is `forClient`'s.
 */
export const fromNative = (
  request: ResponsesRequest.ResponsesRequest,
  native: Readonly<Record<string, unknown>>,
  ids: Ids,
  origin: NativeOrigin
): ResponseObject => {
  const items = Array.isArray(native["output"]) ? native["output"] as ReadonlyArray<Record<string, unknown>> : []
  const output = items.map((item, i) => withOurId(item, i, ids, origin))
  return {
    ...native,
    id: ids.response,
    output,
    previous_response_id: request.previous_response_id ?? null,
    store: request.store !== false
  } as unknown as ResponseObject
}

export const fromChat = (
  request: ResponsesRequest.ResponsesRequest,
  response: Chat.ChatResponse,
  ids: Ids,
  createdAt: number,
  completedAt: number
): ResponseObject => {
  const choice = response.choices[0]
  const finish = choice?.finish_reason
  const output = choice === undefined ? [] : outputOf(choice.message, ids, incompleteReason(finish) === undefined ? "completed" : "incomplete")
  return complete(envelope(request, ids, createdAt, response.model), output, finish, response.usage, completedAt)
}

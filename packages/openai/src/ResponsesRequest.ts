/**
 * OpenAI's Responses API request (`POST /v1/responses`) as a Schema, and its translation into a
 * chat-completions `ChatRequest`, so a Responses call goes through the router like any chat and
 * can be served by any provider: `instructions` become a system message, input items become
 * messages (function calls join their assistant turn, their outputs become tool messages),
 * function tools become chat tools, `text.format` becomes `response_format`, `reasoning.effort`
 * becomes `reasoning_effort` and `max_output_tokens` becomes `max_completion_tokens`. What chat
 * completions cannot say (hosted tools, files by id, …) is refused with the field at fault.
 */
import { Result, Schema } from "effect"
import { type Chat, type LlmError, Untranslatable } from "@llm-router/core"
import * as ErrorBody from "./ErrorBody.ts"
import * as EncryptedReasoning from "./internal/EncryptedReasoning.ts"
import * as GatewayIds from "./internal/GatewayIds.ts"
import { isReasoningModel } from "./RequestBody.ts"

const Rest = [Schema.Record(Schema.String, Schema.Unknown)] as const
const open = <F extends Schema.Struct.Fields>(fields: F) => Schema.StructWithRest(Schema.Struct(fields), Rest)
const OptionalString = Schema.optionalKey(Schema.NullOr(Schema.String))

export const InputText = open({ type: Schema.Literal("input_text"), text: Schema.String })
export const InputImage = open({
  type: Schema.Literal("input_image"),
  image_url: OptionalString,
  file_id: OptionalString,
  detail: Schema.optionalKey(Schema.NullOr(Schema.String))
})
export const InputFile = open({
  type: Schema.Literal("input_file"),
  file_data: OptionalString,
  file_id: OptionalString,
  file_url: OptionalString,
  filename: OptionalString
})
export const OutputText = open({ type: Schema.Literal("output_text"), text: Schema.String })
export const Refusal = open({ type: Schema.Literal("refusal"), refusal: Schema.String })
export const ContentPart = Schema.Union([InputText, InputImage, InputFile, OutputText, Refusal])
export type ContentPart = typeof ContentPart.Type

export const MessageItem = open({
  type: Schema.optionalKey(Schema.Literal("message")),
  id: Schema.optionalKey(Schema.String),
  role: Schema.Literals(["user", "assistant", "system", "developer"]),
  content: Schema.Union([Schema.String, Schema.Array(ContentPart)])
})
export const FunctionCallItem = open({
  type: Schema.Literal("function_call"),
  id: Schema.optionalKey(Schema.String),
  call_id: Schema.String,
  name: Schema.String,
  arguments: Schema.String
})
export const FunctionCallOutputItem = open({
  type: Schema.Literal("function_call_output"),
  id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  call_id: Schema.String,
  output: Schema.Union([Schema.String, Schema.Array(ContentPart)])
})
export const ReasoningItem = open({
  type: Schema.Literal("reasoning"),
  id: Schema.optionalKey(Schema.String),
  summary: Schema.Array(open({ type: Schema.String, text: Schema.String })),
  encrypted_content: OptionalString
})
export const ItemReference = open({ type: Schema.Literal("item_reference"), id: Schema.String })
export const Item = Schema.Union([MessageItem, FunctionCallItem, FunctionCallOutputItem, ReasoningItem, ItemReference])
export type Item = typeof Item.Type

/** A function tool; other tool types (hosted tools) decode too, and are refused by name. */
export const FunctionTool = open({
  type: Schema.Literal("function"),
  name: Schema.String,
  description: OptionalString,
  parameters: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown))),
  strict: Schema.optionalKey(Schema.NullOr(Schema.Boolean))
})
export const OtherTool = open({
  type: Schema.String.check(Schema.makeFilter((type: string) => type !== "function"))
})
export const Tool = Schema.Union([FunctionTool, OtherTool])

export const ToolChoice = Schema.Union([
  Schema.Literals(["none", "auto", "required"]),
  open({ type: Schema.Literal("function"), name: Schema.String }),
  open({ type: Schema.String })
])

export const TextFormat = Schema.Union([
  open({ type: Schema.Literals(["text", "json_object"]) }),
  open({
    type: Schema.Literal("json_schema"),
    name: Schema.String,
    schema: Schema.Record(Schema.String, Schema.Unknown),
    description: OptionalString,
    strict: Schema.optionalKey(Schema.NullOr(Schema.Boolean))
  })
])

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const ResponsesRequest = open({
  model: Schema.String,
  input: Schema.optionalKey(Schema.Union([Schema.String, Schema.Array(Item)])),
  instructions: OptionalString,
  tools: Schema.optionalKey(Schema.NullOr(Schema.Array(Tool))),
  tool_choice: Schema.optionalKey(Schema.NullOr(ToolChoice)),
  parallel_tool_calls: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
  text: Schema.optionalKey(Schema.NullOr(open({ format: Schema.optionalKey(Schema.NullOr(TextFormat)) }))),
  reasoning: Schema.optionalKey(Schema.NullOr(open({ effort: OptionalString }))),
  max_output_tokens: Schema.optionalKey(Schema.NullOr(Count)),
  temperature: Schema.optionalKey(Schema.NullOr(Schema.Finite)),
  top_p: Schema.optionalKey(Schema.NullOr(Schema.Finite)),
  stream: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
  store: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
  previous_response_id: OptionalString,
  include: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.String))),
  metadata: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.String))),
  user: OptionalString,
  safety_identifier: OptionalString,
  prompt_cache_key: OptionalString,
  background: Schema.optionalKey(Schema.NullOr(Schema.Boolean))
})
export type ResponsesRequest = typeof ResponsesRequest.Type

export const decode = Schema.decodeUnknownResult(ResponsesRequest)

/** Why a request cannot be translated, and the field at fault. */
export const Invalid = Untranslatable.Untranslatable
export type Invalid = Untranslatable.Untranslatable

/** Fields of the Responses API this gateway does not serve: asked for, they are a 400 saying so. */
export const unsupported = (request: ResponsesRequest): Invalid | undefined => {
  const r = request as Record<string, unknown>
  if (request.background === true) return new Invalid("background responses are not supported by this gateway", "background")
  for (const key of ["conversation", "prompt"] as const) {
    if (r[key] !== undefined && r[key] !== null) return new Invalid(`"${key}" is not supported by this gateway`, key)
  }
  return undefined
}

/**
 * Claude's signed thinking (`thinking_blocks`), carried in a reasoning item's `encrypted_content`
 * so a client that sends the item back keeps Claude thinking through a tool loop (see
 * `EncryptedReasoning`, which also says where OpenAI's own encrypted reasoning may go).
 */
export const encodeThinking = EncryptedReasoning.encodeThinking
const decodeThinking = EncryptedReasoning.decodeThinking

const userPart = (part: ContentPart, param: string): Chat.ContentPart => {
  switch (part.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: (part as { readonly text: string }).text }
    case "input_image": {
      const image = part as typeof InputImage.Type
      if (typeof image.image_url !== "string") throw new Invalid("images must be given by image_url (file_id is not supported)", param)
      const detail = image.detail === "low" || image.detail === "high" || image.detail === "auto" ? { detail: image.detail } : {}
      return { type: "image_url", image_url: { url: image.image_url, ...detail } }
    }
    case "input_file": {
      const file = part as typeof InputFile.Type
      if (typeof file.file_data !== "string") throw new Invalid("files must be given inline as file_data (file_id and file_url are not supported)", param)
      return { type: "file", file: { file_data: file.file_data, ...(typeof file.filename === "string" ? { filename: file.filename } : {}) } }
    }
    case "refusal":
      return { type: "text", text: (part as { readonly refusal: string }).refusal }
  }
}

const textOf = (content: string | ReadonlyArray<ContentPart>): string =>
  typeof content === "string"
    ? content
    : content.map((part) => part.type === "refusal" ? (part as { readonly refusal: string }).refusal : "text" in part ? String(part.text) : "").join("")

/**
 * The conversation as chat messages. `items` are the input items in order (those of earlier
 * responses first, when continuing one); item references are already resolved.
 */
export const toMessages = (
  instructions: string | null | undefined,
  items: ReadonlyArray<Item>,
  param: (i: number) => string
): Array<Chat.Message> => {
  const messages: Array<Chat.Message> = []
  if (typeof instructions === "string" && instructions.length > 0) messages.push({ role: "system", content: instructions })
  // Thinking handed back in a reasoning item goes with the assistant turn that follows it.
  let thinking: ReadonlyArray<Record<string, unknown>> | undefined
  /** The assistant message that function calls join, while nothing else has come since. */
  let assistant: { role: "assistant"; content: string | null; tool_calls?: Array<Chat.ToolCall>; thinking_blocks?: ReadonlyArray<Record<string, unknown>> } | undefined
  const openAssistant = (content: string | null) => {
    assistant = { role: "assistant", content, ...(thinking !== undefined ? { thinking_blocks: thinking } : {}) }
    thinking = undefined
    messages.push(assistant)
    return assistant
  }
  items.forEach((item, i) => {
    const at = param(i)
    switch (item.type) {
      case "reasoning":
        thinking = decodeThinking((item as typeof ReasoningItem.Type).encrypted_content) ?? thinking
        return
      case "function_call": {
        const call = item as typeof FunctionCallItem.Type
        const target = assistant ?? openAssistant(null)
        target.tool_calls = [...(target.tool_calls ?? []), { id: call.call_id, type: "function", function: { name: call.name, arguments: call.arguments } }]
        return
      }
      case "function_call_output": {
        const output = item as typeof FunctionCallOutputItem.Type
        assistant = undefined
        messages.push({
          role: "tool",
          tool_call_id: output.call_id,
          content: typeof output.output === "string" ? output.output : output.output.map((part, j) => userPart(part, `${at}.output[${j}]`))
        })
        return
      }
      case "item_reference":
        throw new Invalid(`item ${(item as typeof ItemReference.Type).id} was not found`, at)
      default: {
        const message = item as typeof MessageItem.Type
        if (message.role === "assistant") {
          openAssistant(textOf(message.content))
          return
        }
        assistant = undefined
        const content = typeof message.content === "string"
          ? message.content
          : message.content.map((part, j) => userPart(part, `${at}.content[${j}]`))
        messages.push(message.role === "user" ? { role: "user", content } : { role: message.role, content })
      }
    }
  })
  return messages
}

const toolsOf = (request: ResponsesRequest): Array<Chat.FunctionTool> | undefined => {
  if (request.tools === undefined || request.tools === null || request.tools.length === 0) return undefined
  return request.tools.map((tool, i): Chat.FunctionTool => {
    if (tool.type !== "function") {
      throw new Invalid(`tool type "${tool.type}" is not supported by this gateway (function tools only)`, `tools[${i}].type`)
    }
    const fn = tool as typeof FunctionTool.Type
    return {
      type: "function",
      function: {
        name: fn.name,
        ...(typeof fn.description === "string" ? { description: fn.description } : {}),
        ...(fn.parameters !== undefined && fn.parameters !== null ? { parameters: fn.parameters } : {}),
        ...(fn.strict !== undefined ? { strict: fn.strict } : {})
      }
    }
  })
}

const toolChoiceOf = (choice: ResponsesRequest["tool_choice"]): Chat.ToolChoice | undefined => {
  if (choice === undefined || choice === null) return undefined
  if (typeof choice === "string") return choice
  if (choice.type === "function" && typeof choice["name"] === "string") return { type: "function", function: { name: choice["name"] } }
  throw new Invalid(`tool_choice of type "${choice.type}" is not supported by this gateway`, "tool_choice")
}

const responseFormatOf = (request: ResponsesRequest): Chat.ResponseFormat | undefined => {
  const format = request.text?.format
  if (format === undefined || format === null || format.type === "text") return undefined
  if (format.type === "json_object") return { type: "json_object" }
  const schema = format as typeof TextFormat.members[1]["Type"]
  return {
    type: "json_schema",
    json_schema: {
      name: schema.name,
      schema: schema.schema,
      ...(typeof schema.description === "string" ? { description: schema.description } : {}),
      ...(schema.strict !== undefined ? { strict: schema.strict } : {})
    }
  }
}

/** The input as items: a string is one user message. */
export const inputItems = (request: ResponsesRequest): ReadonlyArray<Item> =>
  request.input === undefined ? [] : typeof request.input === "string" ? [{ role: "user", content: request.input }] : request.input

/** What a native call to a reasoning model asks for: reasoning items that can be sent back without OpenAI storing them. */
export const ENCRYPTED_REASONING = "reasoning.encrypted_content"

/**
 * Whether OpenAI's `model` reasons, so takes `include: ["reasoning.encrypted_content"]` and
 * reasoning input items: the o-series and gpt-5 family, but not `gpt-5-chat` (OpenAI answers any
 * other model that asks with a 400 "Encrypted content is not supported with this model").
 */
export const takesEncryptedReasoning = (model: string): boolean =>
  isReasoningModel(model) && !/^gpt-5[^/]*-chat/.test(model.slice(model.lastIndexOf("/") + 1).toLowerCase())

/** The deployment a native call goes to: its id (`model_info.id`), its model, and what its config says of it. */
export interface NativeTarget {
  readonly deployment: string
  readonly model: string
  /** LiteLLM's `model_info.base_model`: the model behind an Azure deployment named otherwise. */
  readonly baseModel?: string | undefined
  /** LiteLLM's `model_info.supports_reasoning`, which wins over any name. */
  readonly supportsReasoning?: boolean | undefined
  /**
   * The conversation's mark for this deployment, when it refused the reasoning the conversation
   * sent it: the latest issue time (microseconds since the epoch, as
   * `ResponsesResponse.NativeOrigin.issuedAt`) of what it was sent then (`refusalMark`). What it
   * issued at or before the mark (or at a time not known) is not sent it again; what it issued
   * after, it can read.
   */
  readonly reasoningRefusedAt?: number | undefined
  /**
   * The time of the call (microseconds since the epoch): reasoning that says it was issued more
   * than `FUTURE_SKEW` after it is no wrapping of the gateway's (a forgery) and is dropped.
   */
  readonly now?: number | undefined
}

/** How far past the call's time (microseconds) a wrapping's issue time may be (clocks of replicas differ). */
export const FUTURE_SKEW = 5 * 60 * 1_000_000

/**
 * Whether `target` reasons: as its config says (`supports_reasoning`), else by its base model's
 * name, else by its own. A deployment taken as not reasoning gets no reasoning back, which costs
 * it only its earlier reasoning.
 */
export const reasons = (target: NativeTarget): boolean =>
  target.supportsReasoning ?? takesEncryptedReasoning(target.baseModel ?? target.model)

/**
 * An input item as a native call sends it, or `undefined` when OpenAI could not read it. Items go
 * without `id`, as OpenAI's own stateless client (Codex) sends them: the gateway's ids mean nothing
 * upstream (`store: false`: OpenAI looks an id up, "Item with id '…' not found"), and OpenAI pairs
 * a reasoning item having an id with a following item having one, so ids on some items only break
 * the pairing (a 400 "… was provided without its required following item"). A reasoning item goes
 * as its summary and content: OpenAI's encrypted reasoning only to the deployment that issued it
 * (another org's key cannot read it); a client's own content (not the gateway's wrapping) as it
 * is, unless the item carries a gateway id (raw content stored before the gateway wrapped it:
 * bound to an upstream id nobody knows any more); any other (Claude's signed thinking, a summary
 * without content, another deployment's, the deployment's own issued at or before the
 * conversation's refusal mark, or one said to be issued in the future) is dropped, and a model
 * that does not reason gets none.
 */
const nativeItem = (item: Item, target: NativeTarget, reasons: boolean): Item | undefined => {
  switch (item.type) {
    case "reasoning": {
      if (!reasons) return undefined
      const { id: _id, ...reasoning } = item as typeof ReasoningItem.Type
      const native = sendable(item, target)
      if (native !== undefined) return { ...reasoning, encrypted_content: native.content }
      return isClientsReasoning(item) ? reasoning : undefined
    }
    case "item_reference":
      return item
    case "function_call":
    case "function_call_output": {
      const { id: _id, ...rest } = item as typeof FunctionCallItem.Type
      return rest as Item
    }
    default: {
      // An output message's `status` goes too: a message without an id is an input message.
      const { id: _id, status: _status, ...rest } = item as typeof MessageItem.Type
      return rest as Item
    }
  }
}

/**
 * Whether `item` is reasoning whose content is the client's own (not the gateway's wrapping), sent
 * as it is: unless it carries a gateway id (raw content stored before the gateway wrapped it).
 */
const isClientsReasoning = (item: Item): boolean => {
  if (item.type !== "reasoning") return false
  const { encrypted_content: content, id } = item as typeof ReasoningItem.Type
  return typeof content === "string" && !EncryptedReasoning.isOurs(content) && (id === undefined || !GatewayIds.isGatewayItemId(id))
}

/**
 * Whether a native call of `items` would send reasoning of the client's own: a refusal of it may
 * be of that, so says nothing of what the gateway's deployment issued (and a client must not be
 * able to make a deployment forget everyone's reasoning by sending it content it cannot read).
 */
export const sendsClientsReasoning = (items: ReadonlyArray<Item>): boolean => items.some(isClientsReasoning)

/**
 * Whether reasoning issued at `issuedAt` (`undefined`: before the wrapping said when) may still be
 * read by a deployment the conversation marked at `mark` (`undefined`: never refused): only what
 * was issued after what it refused.
 */
const issuedSinceRefusal = (issuedAt: number | undefined, mark: number | undefined): boolean =>
  mark === undefined || (issuedAt !== undefined && issuedAt > mark)

/**
 * The gateway's wrapping of `target`'s own reasoning that `item` carries, when a native call to
 * `target` sends it: issued after the conversation's mark, and not in the future.
 */
const sendable = (item: Item, target: NativeTarget): EncryptedReasoning.Native | undefined => {
  if (item.type !== "reasoning") return undefined
  const native = EncryptedReasoning.decodeNative((item as typeof ReasoningItem.Type).encrypted_content)
  if (native === undefined || native.deployment !== target.deployment) return undefined
  const future = native.issuedAt !== undefined && target.now !== undefined && native.issuedAt > target.now + FUTURE_SKEW
  return !future && issuedSinceRefusal(native.issuedAt, target.reasoningRefusedAt) ? native : undefined
}

/**
 * The mark a conversation keeps for `target` once it refused the reasoning a native call of
 * `items` sent it: the latest issue time of the gateway's wrappings sent (0 when none said when),
 * so everything sent then is dropped later, and what the call sent again issues, kept.
 */
export const refusalMark = (items: ReadonlyArray<Item>, target: NativeTarget): number =>
  items.reduce((mark, item) => Math.max(mark, sendable(item, target)?.issuedAt ?? 0), 0)

/** An item a model answered with, which a reasoning item before it goes with. */
const isOutput = (item: Item | undefined): boolean =>
  item !== undefined && (item.type === "function_call" || (item.type !== "reasoning" && "role" in item && item.role === "assistant"))

/**
 * Reasoning items that an answer of the same turn follows (OpenAI refuses one without: "Item
 * 'rs_…' of type 'reasoning' was provided without its required following item"). A response cut
 * off while reasoning (`max_output_tokens`) left only its reasoning item: dropped, or every later
 * turn would fail.
 */
const paired = (items: ReadonlyArray<Item>): ReadonlyArray<Item> =>
  items.filter((item, i) => item.type !== "reasoning" || isOutput(items[i + 1]))

/**
 * The body of a native call to `target` (an OpenAI deployment): the request as the client wrote
 * it, minus what the gateway consumes (`previous_response_id`: the conversation is resolved into
 * `items`; `stream`; the `consumed` routing fields), with `store: false` (the gateway keeps the
 * conversation: OpenAI keeps no copy, whatever the client's `store`) and, for a reasoning model,
 * `include` asking for encrypted reasoning (so reasoning items come back and can be sent again;
 * any other model is never asked for it, which OpenAI would refuse). The adapter sets `model`.
 */
export const toNative = (
  request: ResponsesRequest,
  items: ReadonlyArray<Item>,
  consumed: ReadonlyArray<string>,
  target: NativeTarget
): Record<string, unknown> => {
  const { include, previous_response_id: _previous, store: _store, stream: _stream, ...rest } = request as ResponsesRequest
  for (const field of consumed) delete (rest as Record<string, unknown>)[field]
  const reasoning = reasons(target)
  const others = (include ?? []).filter((field) => field !== ENCRYPTED_REASONING)
  const asked = reasoning ? [...others, ENCRYPTED_REASONING] : others
  return {
    ...rest,
    store: false,
    ...(asked.length > 0 ? { include: asked } : {}),
    input: paired(items.flatMap((item) => nativeItem(item, target, reasoning) ?? []))
  }
}

/** A native body (of `toNative`) without its reasoning items, or `undefined` when it had none. */
export const withoutReasoning = (native: Readonly<Record<string, unknown>>): Record<string, unknown> | undefined => {
  const input = native["input"] as ReadonlyArray<Item>
  const kept = input.filter((item) => item.type !== "reasoning")
  return kept.length === input.length ? undefined : { ...native, input: kept }
}

/**
 * Whether OpenAI refused the reasoning items it was sent ("The encrypted content … could not be
 * verified", code `invalid_encrypted_content`; "… was not issued to this caller"): the deployment's
 * key or org changed since, or its id now names another. The call is worth one more try without them.
 */
export const isUnreadableReasoning = (error: LlmError.LlmError): boolean =>
  error._tag === "BadRequest" &&
  (ErrorBody.parse(error.body ?? "")?.code === "invalid_encrypted_content" ||
    /^The encrypted content\b.*\b(could not be verified|not issued to this caller)/i.test(error.message))

/** Whether the client asked to see encrypted reasoning (`include`), as OpenAI shows it only then. */
export const includesEncryptedReasoning = (include: ReadonlyArray<string> | null | undefined): boolean =>
  include?.includes(ENCRYPTED_REASONING) === true

/**
 * The chat request for `request`, whose conversation is `items` (earlier turns first, references
 * resolved). `paramOf` names an item in errors.
 */
export const toChat = (
  request: ResponsesRequest,
  items: ReadonlyArray<Item>,
  paramOf: (i: number) => string
): Result.Result<Chat.ChatRequest, Invalid> => {
  try {
    const messages = toMessages(request.instructions, items, paramOf)
    if (messages.length === 0) throw new Invalid("input is empty: send at least one input item", "input")
    const tools = toolsOf(request)
    const toolChoice = tools !== undefined ? toolChoiceOf(request.tool_choice) : undefined
    const format = responseFormatOf(request)
    const effort = request.reasoning?.effort
    const user = request.user ?? request.safety_identifier
    return Result.succeed({
      model: request.model,
      messages,
      ...(tools !== undefined ? { tools } : {}),
      ...(toolChoice !== undefined ? { tool_choice: toolChoice } : {}),
      ...(tools !== undefined && typeof request.parallel_tool_calls === "boolean" ? { parallel_tool_calls: request.parallel_tool_calls } : {}),
      ...(format !== undefined ? { response_format: format } : {}),
      ...(typeof effort === "string" ? { reasoning_effort: effort } : {}),
      ...(typeof request.max_output_tokens === "number" ? { max_completion_tokens: request.max_output_tokens } : {}),
      ...(typeof request.temperature === "number" ? { temperature: request.temperature } : {}),
      ...(typeof request.top_p === "number" ? { top_p: request.top_p } : {}),
      ...(typeof user === "string" && user.length > 0 ? { user } : {}),
      ...(typeof request.prompt_cache_key === "string" ? { prompt_cache_key: request.prompt_cache_key } : {}),
      ...(request.stream === true ? { stream: true } : {})
    })
  } catch (error) {
    if (error instanceof Invalid) return Result.fail(error)
    throw error
  }
}

/**
 * The chat-completions wire shape (OpenAI's), which every part of the engine speaks.
 * Provider adapters translate to and from it; nothing else knows a provider's format.
 * Requests keep fields this schema does not name, so new OpenAI parameters pass through.
 */
import { Schema } from "effect"

const Passthrough = [Schema.Record(Schema.String, Schema.Unknown)] as const

// Parts and messages keep fields this schema does not name (Anthropic's `cache_control`, …).
export const TextPart = Schema.StructWithRest(Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String
}), Passthrough)
export type TextPart = typeof TextPart.Type

export const ImagePart = Schema.StructWithRest(Schema.Struct({
  type: Schema.Literal("image_url"),
  image_url: Schema.Struct({
    url: Schema.String,
    detail: Schema.optionalKey(Schema.Literals(["auto", "low", "high"]))
  })
}), Passthrough)
export type ImagePart = typeof ImagePart.Type

/**
 * Parts other than text and images (audio, files, refusals) are carried as they came. A text
 * or image part must have its own shape: one that does not is refused, never forwarded as
 * "another" part.
 */
export const OtherPart = Schema.StructWithRest(
  Schema.Struct({
    type: Schema.String.check(Schema.makeFilter((type: string) =>
      type === "text" || type === "image_url"
        ? `a part of type "${type}" needs ${type === "text" ? "a string \`text\`" : "an \`image_url\` with a string \`url\`"}`
        : undefined
    ))
  }),
  Passthrough
)

export const ContentPart = Schema.Union([TextPart, ImagePart, OtherPart])
export type ContentPart = typeof ContentPart.Type

export const Content = Schema.Union([Schema.String, Schema.Array(ContentPart)])
export type Content = typeof Content.Type

export const ToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})
export type ToolCall = typeof ToolCall.Type

export const SystemMessage = Schema.StructWithRest(Schema.Struct({
  role: Schema.Literals(["system", "developer"]),
  content: Content,
  name: Schema.optionalKey(Schema.String)
}), Passthrough)
export const UserMessage = Schema.StructWithRest(Schema.Struct({
  role: Schema.Literal("user"),
  content: Content,
  name: Schema.optionalKey(Schema.String)
}), Passthrough)
export const AssistantMessage = Schema.StructWithRest(Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.optionalKey(Schema.NullOr(Content)),
  name: Schema.optionalKey(Schema.String),
  refusal: Schema.optionalKey(Schema.NullOr(Schema.String)),
  tool_calls: Schema.optionalKey(Schema.Array(ToolCall))
}), Passthrough)
export const ToolMessage = Schema.StructWithRest(Schema.Struct({
  role: Schema.Literal("tool"),
  content: Content,
  tool_call_id: Schema.String,
  /**
   * The tool failed and `content` says how (Anthropic's `is_error`, not an OpenAI field). Each
   * adapter carries it so the model sees it: Anthropic natively on the `tool_result`, Gemini
   * as the `error` key of the function response, OpenAI-format providers (which have no such
   * field) as an `Error: ` lead on the content.
   */
  is_error: Schema.optionalKey(Schema.Boolean)
}), Passthrough)
export const Message = Schema.Union([SystemMessage, UserMessage, AssistantMessage, ToolMessage])
export type Message = typeof Message.Type

// Tools keep fields this schema does not name too (LiteLLM's `cache_control` for Anthropic).
export const FunctionTool = Schema.StructWithRest(Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optionalKey(Schema.String),
    parameters: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
    strict: Schema.optionalKey(Schema.NullOr(Schema.Boolean))
  })
}), Passthrough)
export type FunctionTool = typeof FunctionTool.Type

export const ToolChoice = Schema.Union([
  Schema.Literals(["none", "auto", "required"]),
  Schema.Struct({ type: Schema.Literal("function"), function: Schema.Struct({ name: Schema.String }) })
])
export type ToolChoice = typeof ToolChoice.Type

export const ResponseFormat = Schema.Union([
  Schema.Struct({ type: Schema.Literals(["text", "json_object"]) }),
  Schema.Struct({
    type: Schema.Literal("json_schema"),
    json_schema: Schema.Struct({
      name: Schema.String,
      description: Schema.optionalKey(Schema.String),
      schema: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
      strict: Schema.optionalKey(Schema.NullOr(Schema.Boolean))
    })
  })
])
export type ResponseFormat = typeof ResponseFormat.Type

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const ChatRequest = Schema.StructWithRest(
  Schema.Struct({
    model: Schema.String,
    messages: Schema.Array(Message).check(Schema.isMinLength(1)),
    stream: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
    stream_options: Schema.optionalKey(Schema.NullOr(Schema.Struct({ include_usage: Schema.optionalKey(Schema.Boolean) }))),
    max_tokens: Schema.optionalKey(Schema.NullOr(Count)),
    max_completion_tokens: Schema.optionalKey(Schema.NullOr(Count)),
    temperature: Schema.optionalKey(Schema.NullOr(Schema.Finite)),
    top_p: Schema.optionalKey(Schema.NullOr(Schema.Finite)),
    n: Schema.optionalKey(Schema.NullOr(Count)),
    stop: Schema.optionalKey(Schema.NullOr(Schema.Union([Schema.String, Schema.Array(Schema.String)]))),
    tools: Schema.optionalKey(Schema.Array(FunctionTool)),
    tool_choice: Schema.optionalKey(ToolChoice),
    parallel_tool_calls: Schema.optionalKey(Schema.Boolean),
    response_format: Schema.optionalKey(ResponseFormat),
    user: Schema.optionalKey(Schema.String),
    /** LiteLLM's routing metadata: `tags` select deployments by their `tags`. */
    metadata: Schema.optionalKey(
      Schema.StructWithRest(Schema.Struct({ tags: Schema.optionalKey(Schema.Array(Schema.String)) }), Passthrough)
    )
  }),
  Passthrough
)
export type ChatRequest = typeof ChatRequest.Type

export const Usage = Schema.StructWithRest(
  Schema.Struct({
    prompt_tokens: Count,
    completion_tokens: Count,
    total_tokens: Count,
    prompt_tokens_details: Schema.optionalKey(Schema.NullOr(Schema.StructWithRest(
      Schema.Struct({
        cached_tokens: Schema.optionalKey(Count),
        /** Tokens written to a prompt cache (Anthropic's cache_creation_input_tokens). */
        cache_write_tokens: Schema.optionalKey(Count)
      }),
      Passthrough
    ))),
    completion_tokens_details: Schema.optionalKey(Schema.NullOr(Schema.StructWithRest(
      Schema.Struct({ reasoning_tokens: Schema.optionalKey(Count) }),
      Passthrough
    )))
  }),
  Passthrough
)
export type Usage = typeof Usage.Type

export const FinishReason = Schema.Literals(["stop", "length", "tool_calls", "content_filter", "function_call"])
export type FinishReason = typeof FinishReason.Type

/**
 * The model's reasoning text, where the provider shows it: DeepSeek's and LiteLLM's name for
 * it, which the Anthropic (thinking) and Gemini (thought) adapters fill in too. Never part of
 * `content`.
 */
const ReasoningContent = Schema.optionalKey(Schema.NullOr(Schema.String))
/**
 * The provider's own record of that reasoning, to send back unchanged in the next turn
 * (LiteLLM's `thinking_blocks`: Anthropic's signed `thinking` and `redacted_thinking` blocks,
 * which Claude needs back to keep thinking through a tool loop).
 */
const ThinkingBlocks = Schema.optionalKey(Schema.Array(Schema.Record(Schema.String, Schema.Unknown)))

export const ResponseMessage = Schema.StructWithRest(
  Schema.Struct({
    role: Schema.Literal("assistant"),
    content: Schema.NullOr(Schema.String),
    refusal: Schema.optionalKey(Schema.NullOr(Schema.String)),
    reasoning_content: ReasoningContent,
    thinking_blocks: ThinkingBlocks,
    tool_calls: Schema.optionalKey(Schema.Array(ToolCall))
  }),
  Passthrough
)
export type ResponseMessage = typeof ResponseMessage.Type

/**
 * Which of the request's `stop` sequences ended the answer (`finish_reason: "stop"`), where
 * the provider says so: Anthropic's `stop_sequence`. Absent where the provider does not tell a
 * stop sequence from a natural end (OpenAI, Gemini).
 */
const StopSequence = Schema.optionalKey(Schema.NullOr(Schema.String))

export const Choice = Schema.StructWithRest(
  Schema.Struct({
    index: Count,
    message: ResponseMessage,
    finish_reason: Schema.NullOr(FinishReason),
    stop_sequence: StopSequence
  }),
  Passthrough
)
export type Choice = typeof Choice.Type

export const ChatResponse = Schema.StructWithRest(
  Schema.Struct({
    id: Schema.String,
    object: Schema.Literal("chat.completion"),
    created: Count,
    model: Schema.String,
    choices: Schema.Array(Choice),
    usage: Schema.optionalKey(Schema.NullOr(Usage))
  }),
  Passthrough
)
export type ChatResponse = typeof ChatResponse.Type

export const ToolCallDelta = Schema.Struct({
  index: Count,
  id: Schema.optionalKey(Schema.String),
  type: Schema.optionalKey(Schema.Literal("function")),
  function: Schema.optionalKey(Schema.Struct({
    name: Schema.optionalKey(Schema.String),
    arguments: Schema.optionalKey(Schema.String)
  }))
})
export type ToolCallDelta = typeof ToolCallDelta.Type

export const Delta = Schema.StructWithRest(
  Schema.Struct({
    role: Schema.optionalKey(Schema.Literal("assistant")),
    content: Schema.optionalKey(Schema.NullOr(Schema.String)),
    refusal: Schema.optionalKey(Schema.NullOr(Schema.String)),
    reasoning_content: ReasoningContent,
    thinking_blocks: ThinkingBlocks,
    tool_calls: Schema.optionalKey(Schema.Array(ToolCallDelta))
  }),
  Passthrough
)
export type Delta = typeof Delta.Type

export const ChunkChoice = Schema.StructWithRest(
  Schema.Struct({
    index: Count,
    delta: Delta,
    finish_reason: Schema.optionalKey(Schema.NullOr(FinishReason)),
    stop_sequence: StopSequence
  }),
  Passthrough
)
export type ChunkChoice = typeof ChunkChoice.Type

export const ChatChunk = Schema.StructWithRest(
  Schema.Struct({
    id: Schema.String,
    object: Schema.Literal("chat.completion.chunk"),
    created: Count,
    model: Schema.String,
    choices: Schema.Array(ChunkChoice),
    usage: Schema.optionalKey(Schema.NullOr(Usage))
  }),
  Passthrough
)
export type ChatChunk = typeof ChatChunk.Type

/**
 * Whether a chunk promises anything to the caller. Role-only and empty preamble chunks
 * do not, so a router may still switch deployments before the first chunk that does.
 * Reasoning does: a model may think for a minute before its first word, and the caller
 * should see that thinking as it comes, not after a first-chunk timeout.
 */
export const chunkHasContent = (chunk: ChatChunk): boolean =>
  chunk.choices.some((choice) => {
    const delta = choice.delta
    return (typeof delta.content === "string" && delta.content.length > 0) ||
      (typeof delta.reasoning_content === "string" && delta.reasoning_content.length > 0) ||
      (typeof delta.refusal === "string" && delta.refusal.length > 0) ||
      (delta.tool_calls !== undefined && delta.tool_calls.length > 0) ||
      (choice.finish_reason !== undefined && choice.finish_reason !== null)
  })

/** The text a request sends, for token estimates and routing heuristics. */
export const requestText = (request: ChatRequest): string => {
  let text = ""
  for (const message of request.messages) {
    const content = message.content
    if (typeof content === "string") text += content + "\n"
    else if (content) {
      for (const part of content) if (part.type === "text" && typeof part.text === "string") text += part.text + "\n"
    }
  }
  return text
}

/** Marks where a stream's answer started again (`LlmClient`'s `Restarted` part). */
export interface Restart {
  readonly _tag: "Restarted"
}

const isRestart = (item: ChatChunk | Restart): item is Restart => (item as Partial<Restart>)._tag === "Restarted"

/**
 * Joins a stream's chunks into the response a non-streamed call would have returned. Chunks
 * before a restart (as `LlmClient.chunks` keeps them) belong to an abandoned answer: only
 * those after the last one count.
 */
export const collectChunks = (items: ReadonlyArray<ChatChunk | Restart>): ChatResponse => {
  const chunks = items.slice(items.findLastIndex(isRestart) + 1) as ReadonlyArray<ChatChunk>
  const first = chunks[0]
  const byIndex = new Map<
    number,
    {
      content: string
      reasoning: string
      thinkingBlocks: Array<{ readonly [key: string]: unknown }>
      finish: FinishReason | null
      stopSequence: string | null
      tools: Map<number, { id: string; name: string; arguments: string }>
    }
  >()
  let usage: Usage | null = null
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage
    for (const choice of chunk.choices) {
      let acc = byIndex.get(choice.index)
      if (!acc) byIndex.set(choice.index, acc = { content: "", reasoning: "", thinkingBlocks: [], finish: null, stopSequence: null, tools: new Map() })
      if (typeof choice.delta.content === "string") acc.content += choice.delta.content
      if (typeof choice.delta.reasoning_content === "string") acc.reasoning += choice.delta.reasoning_content
      if (choice.delta.thinking_blocks !== undefined) acc.thinkingBlocks.push(...choice.delta.thinking_blocks)
      if (choice.finish_reason) acc.finish = choice.finish_reason
      if (typeof choice.stop_sequence === "string") acc.stopSequence = choice.stop_sequence
      for (const call of choice.delta.tool_calls ?? []) {
        let tool = acc.tools.get(call.index)
        if (!tool) acc.tools.set(call.index, tool = { id: "", name: "", arguments: "" })
        if (call.id) tool.id = call.id
        if (call.function?.name) tool.name += call.function.name
        if (call.function?.arguments) tool.arguments += call.function.arguments
      }
    }
  }
  const choices: Array<Choice> = [...byIndex.entries()].sort(([a], [b]) => a - b).map(([index, acc]) => {
    const toolCalls = [...acc.tools.entries()].sort(([a], [b]) => a - b).map(([, t]): ToolCall => ({
      id: t.id,
      type: "function",
      function: { name: t.name, arguments: t.arguments }
    }))
    return {
      index,
      message: {
        role: "assistant",
        content: acc.content.length > 0 || toolCalls.length === 0 ? acc.content : null,
        ...(acc.reasoning.length > 0 ? { reasoning_content: acc.reasoning } : {}),
        ...(acc.thinkingBlocks.length > 0 ? { thinking_blocks: acc.thinkingBlocks } : {}),
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {})
      },
      finish_reason: acc.finish,
      ...(acc.stopSequence !== null ? { stop_sequence: acc.stopSequence } : {})
    }
  })
  return {
    id: first?.id ?? "",
    object: "chat.completion",
    created: first?.created ?? 0,
    model: first?.model ?? "",
    choices,
    ...(usage ? { usage } : {})
  }
}

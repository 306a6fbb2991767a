/**
 * Anthropic's streamed answer (SSE with named events: `message_start`, `content_block_start`,
 * `content_block_delta`, `content_block_stop`, `message_delta`, `message_stop`, `ping`,
 * `error`) translated into OpenAI-shape `ChatChunk`s: a first chunk with the assistant role,
 * text as `content` deltas, tool calls as `tool_calls` deltas keyed by index, a chunk with
 * `finish_reason`, and a usage chunk (`choices: []`) last. The JSON tool's input (see
 * `StructuredOutput`) streams as `content`; the finish chunk names the `stop_sequence` that
 * ended the answer, when one did. The usage chunk is always sent,
 * whatever `stream_options` says: the router reads usage and cost from it.
 * An `event: error` fails the stream with the matching `LlmError`; a stream that ends before
 * `message_stop` fails as a malformed (truncated) response.
 */
import { type Chat, type Deployment, type LlmError, ProviderError, StreamingHttp } from "@llm-router/core"
import { Cause, Effect, Pull, Result, Schema, Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { Sse } from "effect/encoding"
import * as AnthropicError from "./AnthropicError.ts"
import { finishReason, toUsage, type UsageCounts } from "./AnthropicResponse.ts"
import { JSON_TOOL_NAME } from "./StructuredOutput.ts"

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const OptionalCount = Schema.optionalKey(Schema.NullOr(Count))

/** Usage in `message_start` and (cumulative) in `message_delta`; any field may be missing. */
const StreamUsage = Schema.Struct({
  input_tokens: OptionalCount,
  output_tokens: OptionalCount,
  cache_creation_input_tokens: OptionalCount,
  cache_read_input_tokens: OptionalCount
})

export const MessageStart = Schema.Struct({
  type: Schema.Literal("message_start"),
  message: Schema.Struct({ id: Schema.String, model: Schema.String, usage: Schema.optionalKey(StreamUsage) })
})
export const ContentBlockStart = Schema.Struct({
  type: Schema.Literal("content_block_start"),
  index: Count,
  content_block: Schema.Union([
    Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
    Schema.Struct({ type: Schema.Literal("tool_use"), id: Schema.String, name: Schema.String, input: Schema.optionalKey(Schema.Unknown) }),
    Schema.Struct({ type: Schema.Literal("redacted_thinking"), data: Schema.String }),
    Schema.Struct({
      type: Schema.String.check(Schema.makeFilter((t: string) => t !== "text" && t !== "tool_use" && t !== "redacted_thinking"))
    })
  ])
})
export const ContentBlockDelta = Schema.Struct({
  type: Schema.Literal("content_block_delta"),
  index: Count,
  delta: Schema.Union([
    Schema.Struct({ type: Schema.Literal("text_delta"), text: Schema.String }),
    Schema.Struct({ type: Schema.Literal("input_json_delta"), partial_json: Schema.String }),
    Schema.Struct({ type: Schema.Literal("thinking_delta"), thinking: Schema.String }),
    Schema.Struct({ type: Schema.Literal("signature_delta"), signature: Schema.String }),
    Schema.Struct({
      type: Schema.String.check(
        Schema.makeFilter((t: string) => !["text_delta", "input_json_delta", "thinking_delta", "signature_delta"].includes(t))
      )
    })
  ])
})
export const ContentBlockStop = Schema.Struct({ type: Schema.Literal("content_block_stop"), index: Count })
export const MessageDelta = Schema.Struct({
  type: Schema.Literal("message_delta"),
  delta: Schema.Struct({
    stop_reason: Schema.optionalKey(Schema.NullOr(Schema.String)),
    stop_sequence: Schema.optionalKey(Schema.NullOr(Schema.String))
  }),
  usage: Schema.optionalKey(Schema.NullOr(StreamUsage))
})

const decoders = {
  message_start: Schema.decodeUnknownResult(MessageStart),
  content_block_start: Schema.decodeUnknownResult(ContentBlockStart),
  content_block_delta: Schema.decodeUnknownResult(ContentBlockDelta),
  content_block_stop: Schema.decodeUnknownResult(ContentBlockStop),
  message_delta: Schema.decodeUnknownResult(MessageDelta)
} as const

/** A text or tool-argument delta in exactly the documented shape. */
const isPlainDelta = (json: unknown): json is {
  readonly index: number
  readonly delta: { readonly type: "text_delta"; readonly text: string } | {
    readonly type: "input_json_delta"
    readonly partial_json: string
  }
} => {
  if (typeof json !== "object" || json === null) return false
  const { index, delta } = json as { index?: unknown; delta?: unknown }
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || typeof delta !== "object" || delta === null) {
    return false
  }
  const d = delta as { type?: unknown; text?: unknown; partial_json?: unknown }
  return (d.type === "text_delta" && typeof d.text === "string") ||
    (d.type === "input_json_delta" && typeof d.partial_json === "string")
}

type Block =
  | { readonly kind: "text" }
  /** The JSON tool's call: its input is the answer's content. */
  | { readonly kind: "json"; readonly input: unknown; contentSent: boolean }
  | { readonly kind: "tool"; readonly toolIndex: number; readonly input: unknown; argumentsSent: boolean }
  /** Collected whole, to hand over as a `thinking_blocks` entry when the block ends. */
  | { readonly kind: "thinking"; thinking: string; signature: string }
  | { readonly kind: "other" }

export interface Options {
  readonly deployment: Deployment.Deployment
  /** Epoch seconds for every chunk's `created`. */
  readonly created: number
  /** The request answers through `StructuredOutput`'s JSON tool. */
  readonly jsonTool?: boolean | undefined
}

/** The state of one stream's translation; push SSE events in order, read `finished` at the end. */
export class Translator {
  readonly deployment: Deployment.Deployment
  readonly created: number
  readonly jsonTool: boolean
  id = ""
  model = ""
  started = false
  finished = false
  private readonly usage: { -readonly [K in keyof UsageCounts]: number | null | undefined } = {}
  private readonly blocks = new Map<number, Block>()
  private nextTool = 0
  private finishSent = false

  constructor(options: Options) {
    this.deployment = options.deployment
    this.created = options.created
    this.jsonTool = options.jsonTool === true
  }

  private chunk(choices: ReadonlyArray<Chat.ChunkChoice>, usage?: Chat.Usage): Chat.ChatChunk {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      choices,
      ...(usage !== undefined ? { usage } : {})
    }
  }

  private delta(delta: Chat.Delta): Chat.ChatChunk {
    return this.chunk([{ index: 0, delta, finish_reason: null }])
  }

  private malformed(detail: string, data?: string): LlmError.LlmError {
    return ProviderError.malformedResponse(this.deployment.provider, this.deployment.id, 200, detail, data)
  }

  private mergeUsage(usage: UsageCounts | null | undefined): void {
    if (!usage) return
    for (const key of ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"] as const) {
      const value = usage[key]
      if (value !== undefined && value !== null) this.usage[key] = value
    }
  }

  /** Translates one SSE event; returns the chunks it produces, or the error that ends the stream. */
  push(event: Sse.Event): ReadonlyArray<Chat.ChatChunk> | LlmError.LlmError {
    if (this.finished) return []
    let json: unknown
    try {
      json = JSON.parse(event.data)
    } catch {
      return this.malformed(`event "${event.event}" carries data that is not JSON`, event.data)
    }
    // Events normally name themselves (`event: message_start`); fall back on the data's `type`.
    const name = event.event !== "message" ? event.event :
      typeof json === "object" && json !== null && typeof (json as { type?: unknown }).type === "string"
      ? (json as { type: string }).type
      : "message"
    if (name === "error") return AnthropicError.classifyStreamError(this.deployment, event.data)
    if (name === "ping") return []
    if (name !== "message_stop" && !(name in decoders)) return [] // unknown events are tolerated
    if (name !== "message_start" && !this.started) return this.malformed(`"${name}" arrived before message_start`, event.data)
    switch (name) {
      case "message_start": {
        const decoded = decoders.message_start(json)
        if (Result.isFailure(decoded)) return this.malformed(`bad message_start: ${decoded.failure.message}`, event.data)
        if (this.started) return []
        const message = decoded.success.message
        this.id = message.id
        this.model = message.model
        this.started = true
        this.mergeUsage(message.usage)
        return [this.delta({ role: "assistant", content: "" })]
      }
      case "content_block_start": {
        const decoded = decoders.content_block_start(json)
        if (Result.isFailure(decoded)) return this.malformed(`bad content_block_start: ${decoded.failure.message}`, event.data)
        const { index, content_block: block } = decoded.success
        if (block.type === "text") {
          this.blocks.set(index, { kind: "text" })
          const text = (block as { readonly text: string }).text
          return text.length > 0 ? [this.delta({ content: text })] : []
        }
        if (block.type === "tool_use") {
          const tool = block as { readonly id: string; readonly name: string; readonly input?: unknown }
          if (this.jsonTool && tool.name === JSON_TOOL_NAME) {
            this.blocks.set(index, { kind: "json", input: tool.input, contentSent: false })
            return []
          }
          const toolIndex = this.nextTool++
          this.blocks.set(index, { kind: "tool", toolIndex, input: tool.input, argumentsSent: false })
          return [this.delta({
            tool_calls: [{ index: toolIndex, id: tool.id, type: "function", function: { name: tool.name, arguments: "" } }]
          })]
        }
        if (block.type === "thinking") {
          this.blocks.set(index, { kind: "thinking", thinking: "", signature: "" })
          return []
        }
        this.blocks.set(index, { kind: "other" })
        if (block.type === "redacted_thinking") {
          return [this.delta({ thinking_blocks: [{ type: "redacted_thinking", data: (block as { readonly data: string }).data }] })]
        }
        return []
      }
      case "content_block_delta": {
        let index: number
        let delta: typeof ContentBlockDelta.Type["delta"]
        if (isPlainDelta(json)) {
          // The hot path (one event per token): checked by hand, same rules as the schema.
          index = json.index
          delta = json.delta
        } else {
          const decoded = decoders.content_block_delta(json)
          if (Result.isFailure(decoded)) return this.malformed(`bad content_block_delta: ${decoded.failure.message}`, event.data)
          index = decoded.success.index
          delta = decoded.success.delta
        }
        if (delta.type === "text_delta") {
          const text = (delta as { readonly text: string }).text
          return text.length > 0 ? [this.delta({ content: text })] : []
        }
        if (delta.type === "input_json_delta") {
          const block = this.blocks.get(index)
          if (block?.kind === "json") {
            const partial = (delta as { readonly partial_json: string }).partial_json
            if (partial.length === 0) return []
            block.contentSent = true
            return [this.delta({ content: partial })]
          }
          if (block === undefined || block.kind !== "tool") {
            return this.malformed(`input_json_delta for content block ${index}, which is not a tool_use`, event.data)
          }
          const partial = (delta as { readonly partial_json: string }).partial_json
          if (partial.length === 0) return []
          block.argumentsSent = true
          return [this.delta({ tool_calls: [{ index: block.toolIndex, function: { arguments: partial } }] })]
        }
        if (delta.type === "thinking_delta") {
          // Extended thinking (`reasoning_effort`): shown as `reasoning_content`, never as content.
          const thinking = (delta as { readonly thinking: string }).thinking
          const block = this.blocks.get(index)
          if (block?.kind === "thinking") block.thinking += thinking
          return thinking.length > 0 ? [this.delta({ reasoning_content: thinking })] : []
        }
        if (delta.type === "signature_delta") {
          const block = this.blocks.get(index)
          if (block?.kind === "thinking") block.signature += (delta as { readonly signature: string }).signature
          return []
        }
        return [] // citation deltas have no OpenAI counterpart
      }
      case "content_block_stop": {
        const decoded = decoders.content_block_stop(json)
        if (Result.isFailure(decoded)) return this.malformed(`bad content_block_stop: ${decoded.failure.message}`, event.data)
        const block = this.blocks.get(decoded.success.index)
        // The whole signed block, which Claude needs back to keep thinking through a tool loop.
        if (block?.kind === "thinking") {
          return [this.delta({ thinking_blocks: [{ type: "thinking", thinking: block.thinking, signature: block.signature }] })]
        }
        if (block?.kind === "json" && !block.contentSent) {
          block.contentSent = true
          return [this.delta({ content: JSON.stringify(block.input ?? {}) })]
        }
        // A tool called without arguments streams no input_json_delta: OpenAI clients still expect a JSON object.
        if (block?.kind === "tool" && !block.argumentsSent) {
          block.argumentsSent = true
          return [this.delta({
            tool_calls: [{ index: block.toolIndex, function: { arguments: JSON.stringify(block.input ?? {}) } }]
          })]
        }
        return []
      }
      case "message_delta": {
        const decoded = decoders.message_delta(json)
        if (Result.isFailure(decoded)) return this.malformed(`bad message_delta: ${decoded.failure.message}`, event.data)
        this.mergeUsage(decoded.success.usage)
        const stop = decoded.success.delta.stop_reason
        // The JSON tool's call is the answer itself, which ended as any answer does.
        const reason = stop === "tool_use" && this.nextTool === 0 && this.jsonTool ? "stop" : finishReason(stop)
        if (reason === null || this.finishSent) return []
        this.finishSent = true
        const sequence = decoded.success.delta.stop_sequence
        return [this.chunk([{
          index: 0,
          delta: {},
          finish_reason: reason,
          ...(stop === "stop_sequence" && typeof sequence === "string" ? { stop_sequence: sequence } : {})
        }])]
      }
      case "message_stop": {
        this.finished = true
        const out: Array<Chat.ChatChunk> = []
        if (!this.finishSent) {
          this.finishSent = true
          out.push(this.chunk([{ index: 0, delta: {}, finish_reason: "stop" }]))
        }
        out.push(this.chunk([], toUsage(this.usage)))
        return out
      }
    }
    return []
  }

  /** Why a stream that ended here is incomplete, or `undefined` when it completed. */
  /** `head` is the start of the body, kept for the error when not even `message_start` came. */
  truncation(head?: string): LlmError.LlmError | undefined {
    if (this.finished) return undefined
    return this.started
      ? this.malformed("the stream ended before message_stop (truncated)")
      : this.malformed("the stream ended before message_start", head)
  }
}

/** How much of a body to keep for an error that has nothing better to show. */
const HEAD = 512

const isError = (out: ReadonlyArray<Chat.ChatChunk> | LlmError.LlmError): out is LlmError.LlmError => !Array.isArray(out)

/**
 * Turns a 200's SSE body into chunks. `onBodyError` maps a failure to read the body (a reset
 * connection) into an `LlmError`. The answer ends at `message_stop`; the rest of the body is
 * then drained, briefly, when the stream closes (`StreamingHttp.drainRest`).
 */
export const translate = <E>(
  body: Stream.Stream<Uint8Array, E>,
  options: Options & { readonly onBodyError: (error: E) => LlmError.LlmError }
): Stream.Stream<Chat.ChatChunk, LlmError.LlmError> =>
  Stream.transformPull(Stream.decodeText(body), (pull, scope) =>
    Effect.suspend(() => {
      const translator = new Translator(options)
      const events: Array<Sse.Event> = []
      let head = ""
      const parser = Sse.makeParser((event) => {
        // `retry:` directives are for browsers reconnecting; nothing to do here.
        if (event._tag === "Event") events.push(event)
      })
      // An error met after some chunks of the same read waits until those chunks are out.
      let pending: LlmError.LlmError | undefined
      const emitThenFail = (out: Array<Chat.ChatChunk>, error: LlmError.LlmError) => {
        if (out.length === 0) return Effect.fail(error)
        pending = error
        return Effect.succeed(out as unknown as NonEmptyReadonlyArray<Chat.ChatChunk>)
      }
      const next: Pull.Pull<NonEmptyReadonlyArray<Chat.ChatChunk>, LlmError.LlmError> = Effect.suspend(() => {
        if (pending !== undefined) return Effect.fail(pending)
        if (translator.finished) return Cause.done()
        return Pull.catchDone(pull, () => Effect.succeed(undefined)).pipe(
          Effect.mapError(options.onBodyError),
          Effect.flatMap((texts): Effect.Effect<NonEmptyReadonlyArray<Chat.ChatChunk>, LlmError.LlmError | Cause.Done> => {
            if (texts === undefined) {
              const truncated = translator.truncation(head)
              return truncated !== undefined ? Effect.fail(truncated) : Cause.done()
            }
            const out: Array<Chat.ChatChunk> = []
            for (const text of texts) {
              if (head.length < HEAD) head += text.slice(0, HEAD - head.length)
              const tooLarge = parser.feed(text)
              for (let i = 0; i < events.length; i++) {
                const result = translator.push(events[i]!)
                if (isError(result)) return emitThenFail(out, result)
                for (const chunk of result) out.push(chunk)
              }
              events.length = 0
              if (tooLarge !== undefined) {
                const { provider, id } = options.deployment
                return emitThenFail(out, ProviderError.malformedResponse(provider, id, 200, tooLarge.message))
              }
              if (translator.finished) break
            }
            return out.length > 0 ? Effect.succeed(out as unknown as NonEmptyReadonlyArray<Chat.ChatChunk>) : next
          })
        )
      })
      // After `message_stop` the rest of the body is read (briefly) so the connection is kept.
      const drainAfterStop = Effect.suspend(() => (translator.finished ? StreamingHttp.drainRest(pull) : Effect.void))
      return Effect.as(Scope.addFinalizer(scope, drainAfterStop), next)
    }))

/**
 * Gemini `GenerateContentResponse` → OpenAI shape: a whole answer → `ChatResponse`, and a
 * stream of chunks → `ChatChunk`s (role first, then text, reasoning and tool-call deltas, a
 * finish chunk per candidate, a usage chunk with `choices: []` last). Thought summaries
 * (`thought: true` parts, asked for by `reasoning_effort`) become `reasoning_content`.
 * Gemini has no tool call ids, counts thinking tokens apart from output tokens, and reports a
 * blocked prompt as a 200 without candidates: those differences are settled here.
 */
import { Result } from "effect"
import type { Chat } from "@llm-router/core"
import { LlmError, ProviderError } from "@llm-router/core"
import * as GeminiError from "./GeminiError.ts"
import type * as GeminiWire from "./GeminiWire.ts"
import * as ToolCallId from "./ToolCallId.ts"

export type Origin = GeminiError.Origin

/** What a response does not say about itself. */
export interface Meta {
  /** Unix seconds, for `created`. */
  readonly created: number
  /** The deployment's model, when the response has no `modelVersion`. */
  readonly model: string
}

const contentFilterReasons = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION"
])

/** Gemini's `finishReason` → OpenAI's; `undefined` while the candidate is still going. */
export const finishReason = (reason: string | undefined, hasToolCalls: boolean): Chat.FinishReason | undefined => {
  if (reason === undefined || reason === "FINISH_REASON_UNSPECIFIED") return undefined
  if (reason === "MAX_TOKENS") return "length"
  if (contentFilterReasons.has(reason)) return "content_filter"
  // STOP, and the rest (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL…): the answer ended.
  return hasToolCalls ? "tool_calls" : "stop"
}

/**
 * `usageMetadata` → OpenAI usage. Thinking tokens are billed as output, and Gemini does not
 * count them in `candidatesTokenCount`: completion = candidates + thoughts, with the thoughts
 * also under `reasoning_tokens`. Tool-use prompt tokens are input, so prompt + completion
 * stays equal to Gemini's total.
 */
export const usage = (m: GeminiWire.UsageMetadata | undefined): Chat.Usage | undefined => {
  if (m === undefined) return undefined
  const prompt = (m.promptTokenCount ?? 0) + (m.toolUsePromptTokenCount ?? 0)
  const completion = (m.candidatesTokenCount ?? 0) + (m.thoughtsTokenCount ?? 0)
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: m.totalTokenCount ?? prompt + completion,
    ...(m.cachedContentTokenCount !== undefined ? { prompt_tokens_details: { cached_tokens: m.cachedContentTokenCount } } : {}),
    ...(m.thoughtsTokenCount !== undefined ? { completion_tokens_details: { reasoning_tokens: m.thoughtsTokenCount } } : {})
  }
}

const blocked = (origin: Origin, feedback: NonNullable<GeminiWire.GenerateContentResponse["promptFeedback"]>, body: string | undefined) =>
  new LlmError.ContentPolicyViolation({
    provider: origin.provider,
    deployment: origin.deployment,
    status: 200,
    message: `Gemini blocked the prompt (blockReason ${feedback.blockReason})` +
      (feedback.blockReasonMessage ? `: ${GeminiError.redact(origin, feedback.blockReasonMessage)}` : ""),
    ...(ProviderError.excerpt(GeminiError.redact(origin, body)) !== undefined ? { body: ProviderError.excerpt(GeminiError.redact(origin, body))! } : {})
  })

const inBandError = (origin: Origin, status: GeminiWire.Status, body: string | undefined) =>
  GeminiError.fromStatus(origin, status.code !== undefined && status.code >= 400 ? status.code : 500, status, body)

interface Parts {
  readonly text: string
  readonly reasoning: string
  readonly calls: Array<Chat.ToolCall>
}

/**
 * A candidate's parts; tool call ids continue from `callsSoFar` (streams number across chunks).
 * Thought summaries are the model's reasoning, not its answer: they never join `text`.
 */
const readParts = (parts: ReadonlyArray<GeminiWire.ResponsePart> | undefined, callsSoFar: number): Parts => {
  let text = ""
  let reasoning = ""
  const calls: Array<Chat.ToolCall> = []
  for (const part of parts ?? []) {
    if (part.functionCall !== undefined) {
      calls.push({
        id: ToolCallId.encode(callsSoFar + calls.length, part.thoughtSignature, part.functionCall.id),
        type: "function",
        function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) }
      })
    } else if (typeof part.text === "string") {
      if (part.thought === true) reasoning += part.text
      else text += part.text
    }
  }
  return { text, reasoning, calls }
}

const responseId = (r: GeminiWire.GenerateContentResponse, meta: Meta) =>
  r.responseId !== undefined ? `chatcmpl-${r.responseId}` : `chatcmpl-gemini-${meta.created}`

/** A whole `generateContent` answer. `body` (the raw text) only feeds error excerpts. */
export const toChatResponse = (
  r: GeminiWire.GenerateContentResponse,
  origin: Origin,
  meta: Meta,
  body?: string
): Result.Result<Chat.ChatResponse, LlmError.LlmError> => {
  if (r.error !== undefined) return Result.fail(inBandError(origin, r.error, body))
  const candidates = r.candidates ?? []
  if (candidates.length === 0) {
    if (r.promptFeedback?.blockReason !== undefined) return Result.fail(blocked(origin, r.promptFeedback, body))
    return Result.fail(
      ProviderError.malformedResponse(origin.provider, origin.deployment, 200, "no candidates and no promptFeedback.blockReason", GeminiError.redact(origin, body))
    )
  }
  const choices = candidates.map((c, i): Chat.Choice => {
    const { text, reasoning, calls } = readParts(c.content?.parts, 0)
    return {
      index: c.index ?? i,
      message: {
        role: "assistant",
        content: text.length > 0 || calls.length === 0 ? text : null,
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
        ...(reasoning.length > 0 ? { reasoning_content: reasoning } : {})
      },
      finish_reason: finishReason(c.finishReason, calls.length > 0) ?? "stop"
    }
  })
  const u = usage(r.usageMetadata)
  return Result.succeed({
    id: responseId(r, meta),
    object: "chat.completion",
    created: meta.created,
    model: r.modelVersion ?? meta.model,
    choices,
    ...(u !== undefined ? { usage: u } : {})
  })
}

interface CandidateState {
  calls: number
  finished: boolean
}

/**
 * Turns stream chunks into OpenAI chunks, one Gemini chunk at a time, and checks at the end
 * that the stream really finished (every candidate got a `finishReason`): Gemini sends no
 * `[DONE]`, so a cut connection and a finished answer differ only by that.
 */
export class StreamTranslator {
  readonly origin: Origin
  readonly meta: Meta
  private id: string | undefined
  private model: string
  private readonly candidates = new Map<number, CandidateState>()
  private lastUsage: GeminiWire.UsageMetadata | undefined

  constructor(origin: Origin, meta: Meta) {
    this.origin = origin
    this.meta = meta
    this.model = meta.model
  }

  /** Usage so far (the last `usageMetadata` seen). */
  get usage(): Chat.Usage | undefined {
    return usage(this.lastUsage)
  }

  private chunk(choices: ReadonlyArray<Chat.ChunkChoice>, extra?: { readonly usage: Chat.Usage }): Chat.ChatChunk {
    return {
      id: this.id ?? `chatcmpl-gemini-${this.meta.created}`,
      object: "chat.completion.chunk",
      created: this.meta.created,
      model: this.model,
      choices,
      ...extra
    }
  }

  /** One decoded SSE `data:` payload → chunks to emit (maybe none), or the error it carries. */
  push(r: GeminiWire.GenerateContentResponse, body?: string): Array<Chat.ChatChunk> | LlmError.LlmError {
    if (r.error !== undefined) return inBandError(this.origin, r.error, body)
    if (this.id === undefined && r.responseId !== undefined) this.id = `chatcmpl-${r.responseId}`
    if (r.modelVersion !== undefined) this.model = r.modelVersion
    if (r.usageMetadata !== undefined) this.lastUsage = r.usageMetadata
    const candidates = r.candidates ?? []
    if (candidates.length === 0 && r.promptFeedback?.blockReason !== undefined) return blocked(this.origin, r.promptFeedback, body)
    const out: Array<Chat.ChatChunk> = []
    candidates.forEach((c, position) => {
      const index = c.index ?? position
      let state = this.candidates.get(index)
      if (state === undefined) {
        this.candidates.set(index, state = { calls: 0, finished: false })
        out.push(this.chunk([{ index, delta: { role: "assistant", content: "" }, finish_reason: null }]))
      }
      const { text, reasoning, calls } = readParts(c.content?.parts, state.calls)
      if (text.length > 0 || reasoning.length > 0 || calls.length > 0) {
        const delta: Record<string, unknown> = {}
        if (text.length > 0) delta.content = text
        if (reasoning.length > 0) delta.reasoning_content = reasoning
        if (calls.length > 0) {
          delta.tool_calls = calls.map((call, k): Chat.ToolCallDelta => ({ index: state.calls + k, ...call }))
        }
        state.calls += calls.length
        out.push(this.chunk([{ index, delta: delta as Chat.Delta, finish_reason: null }]))
      }
      const finish = finishReason(c.finishReason, state.calls > 0)
      if (finish !== undefined && !state.finished) {
        state.finished = true
        out.push(this.chunk([{ index, delta: {}, finish_reason: finish }]))
      }
    })
    return out
  }

  /** The stream ended cleanly: the usage chunk, or an error when the answer was cut short. */
  end(): Array<Chat.ChatChunk> | LlmError.LlmError {
    if (this.candidates.size === 0) {
      return ProviderError.malformedResponse(this.origin.provider, this.origin.deployment, 200, "the stream ended without any candidate")
    }
    for (const [index, state] of this.candidates) {
      if (!state.finished) {
        return ProviderError.malformedResponse(
          this.origin.provider,
          this.origin.deployment,
          200,
          `the stream ended before candidate ${index} finished (no finishReason)`
        )
      }
    }
    const u = this.usage
    return u !== undefined ? [this.chunk([], { usage: u })] : []
  }
}

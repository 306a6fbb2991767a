/**
 * Gemini's own wire shapes (`generateContent`, `streamGenerateContent`, errors): the request
 * body as plain types we build, the response as schemas we decode. Only the fields the
 * adapter reads are named; the rest of a response is ignored, so new Gemini fields pass.
 */
import { Schema } from "effect"

// ---------------------------------------------------------------------------
// Request (built by GeminiRequest, never decoded)
// ---------------------------------------------------------------------------

export interface Part {
  readonly text?: string
  readonly inlineData?: { readonly mimeType: string; readonly data: string }
  readonly fileData?: { readonly fileUri: string; readonly mimeType?: string }
  readonly functionCall?: { readonly name: string; readonly args: Readonly<Record<string, unknown>> }
  readonly functionResponse?: { readonly name: string; readonly response: Readonly<Record<string, unknown>> }
  /** Gemini 2.5+/3 sign their function calls; the signature must come back with the call. */
  readonly thoughtSignature?: string
}

export type Role = "user" | "model"

export interface Content {
  readonly role: Role
  readonly parts: ReadonlyArray<Part>
}

export interface FunctionDeclaration {
  readonly name: string
  readonly description?: string
  readonly parameters?: Readonly<Record<string, unknown>>
}

export type FunctionCallingMode = "AUTO" | "ANY" | "NONE"

/** How much a thinking model may think: `thinkingBudget` 0 turns thinking off where allowed. */
export interface ThinkingConfig {
  readonly thinkingBudget?: number
  /** Ask for thought summaries: parts with `thought: true` in the answer. */
  readonly includeThoughts?: boolean
}

export interface GenerationConfig {
  readonly temperature?: number
  readonly topP?: number
  readonly topK?: number
  readonly maxOutputTokens?: number
  readonly stopSequences?: ReadonlyArray<string>
  readonly candidateCount?: number
  readonly seed?: number
  readonly presencePenalty?: number
  readonly frequencyPenalty?: number
  readonly responseMimeType?: string
  readonly responseJsonSchema?: unknown
  /** The OpenAPI-subset schema, for models before Gemini 2.5. */
  readonly responseSchema?: unknown
  readonly thinkingConfig?: ThinkingConfig
}

export interface GenerateContentRequest {
  readonly contents: ReadonlyArray<Content>
  readonly systemInstruction?: { readonly parts: ReadonlyArray<{ readonly text: string }> }
  readonly tools?: ReadonlyArray<{ readonly functionDeclarations: ReadonlyArray<FunctionDeclaration> }>
  readonly toolConfig?: {
    readonly functionCallingConfig: {
      readonly mode: FunctionCallingMode
      readonly allowedFunctionNames?: ReadonlyArray<string>
    }
  }
  readonly generationConfig?: GenerationConfig
  readonly safetySettings?: ReadonlyArray<unknown>
}

// ---------------------------------------------------------------------------
// Response (decoded)
// ---------------------------------------------------------------------------

const Count = Schema.Finite

export const FunctionCall = Schema.Struct({
  name: Schema.String,
  args: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown))),
  id: Schema.optionalKey(Schema.String)
})

export const ResponsePart = Schema.Struct({
  text: Schema.optionalKey(Schema.String),
  /** A thought summary (only with `thinkingConfig.includeThoughts`). */
  thought: Schema.optionalKey(Schema.Boolean),
  thoughtSignature: Schema.optionalKey(Schema.String),
  functionCall: Schema.optionalKey(FunctionCall)
})
export type ResponsePart = typeof ResponsePart.Type

export const ResponseContent = Schema.Struct({
  role: Schema.optionalKey(Schema.String),
  parts: Schema.optionalKey(Schema.Array(ResponsePart))
})

export const Candidate = Schema.Struct({
  content: Schema.optionalKey(ResponseContent),
  finishReason: Schema.optionalKey(Schema.String),
  finishMessage: Schema.optionalKey(Schema.String),
  index: Schema.optionalKey(Count)
})
export type Candidate = typeof Candidate.Type

export const UsageMetadata = Schema.Struct({
  promptTokenCount: Schema.optionalKey(Count),
  candidatesTokenCount: Schema.optionalKey(Count),
  totalTokenCount: Schema.optionalKey(Count),
  thoughtsTokenCount: Schema.optionalKey(Count),
  cachedContentTokenCount: Schema.optionalKey(Count),
  toolUsePromptTokenCount: Schema.optionalKey(Count)
})
export type UsageMetadata = typeof UsageMetadata.Type

export const PromptFeedback = Schema.Struct({
  blockReason: Schema.optionalKey(Schema.String),
  blockReasonMessage: Schema.optionalKey(Schema.String)
})

/** `google.rpc.Status`, the body of every Gemini error (`{"error": Status}`). */
export const Status = Schema.Struct({
  code: Schema.optionalKey(Count),
  message: Schema.optionalKey(Schema.String),
  status: Schema.optionalKey(Schema.String),
  details: Schema.optionalKey(Schema.Array(Schema.Unknown))
})
export type Status = typeof Status.Type

/**
 * One `generateContent` answer, or one `streamGenerateContent` chunk. `error` is how a
 * stream reports a failure after its 200 (the SDK's `throwIfStreamErrorChunk`).
 */
export const GenerateContentResponse = Schema.Struct({
  candidates: Schema.optionalKey(Schema.Array(Candidate)),
  promptFeedback: Schema.optionalKey(PromptFeedback),
  usageMetadata: Schema.optionalKey(UsageMetadata),
  modelVersion: Schema.optionalKey(Schema.String),
  responseId: Schema.optionalKey(Schema.String),
  error: Schema.optionalKey(Status)
})
export type GenerateContentResponse = typeof GenerateContentResponse.Type

export const decodeResponseJson = Schema.decodeUnknownResult(Schema.fromJsonString(GenerateContentResponse))

/**
 * The mock upstreams' embeddings: OpenAI's `POST /v1/embeddings` (and Azure's) and Gemini's
 * `:batchEmbedContents`, typed with the official SDKs' types (`openai`, `@google/genai`), so a
 * drift in their shapes is a type error here. Vectors are deterministic (the same text always
 * gets the same unit vector) and float32-exact, so a float answer and a base64 one decode to
 * the same numbers. Requests are checked as the real APIs check them, with their messages.
 */
import type { EmbedContentResponse } from "@google/genai"
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from "openai/resources/embeddings"

type Json = Record<string, unknown>
const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** A unit vector of `dimensions` float32 values, the same for the same text. */
export const vectorOf = (text: string, dimensions: number): Array<number> => {
  // FNV-1a, then a linear congruential walk: cheap, deterministic, spread over (-1, 1).
  let seed = 0x811c9dc5
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 0x01000193) >>> 0
  const raw = new Array<number>(dimensions)
  let norm = 0
  for (let i = 0; i < dimensions; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
    raw[i] = seed / 0x80000000 - 1
    norm += raw[i]! * raw[i]!
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0
  return raw.map((v) => Math.fround(v * scale))
}

/** OpenAI's native sizes; other models (Ollama's, vLLM's) get 768. */
const defaultDimensions = (model: string): number =>
  /text-embedding-3-large/.test(model) ? 3072 : /text-embedding-(3-small|ada-002)/.test(model) ? 1536 : 768

const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4))

const base64Of = (values: ReadonlyArray<number>): string => {
  const bytes = Buffer.alloc(values.length * 4)
  values.forEach((v, i) => bytes.writeFloatLE(v, i * 4))
  return bytes.toString("base64")
}

export type OpenAiAnswer =
  | { readonly _tag: "Ok"; readonly body: CreateEmbeddingResponse | Base64Response }
  | { readonly _tag: "Invalid"; readonly message: string; readonly param: string | null }

type Base64Response = Omit<CreateEmbeddingResponse, "data"> & {
  readonly data: Array<{ readonly object: "embedding"; readonly index: number; readonly embedding: string }>
}

/** What OpenAI answers an embeddings request with, or the 400 it refuses it with. */
export const openAiAnswer = (body: Json, model: string): OpenAiAnswer => {
  const input = body["input"] as EmbeddingCreateParams["input"] | undefined
  if (input === undefined) return { _tag: "Invalid", message: "'input' is a required property", param: "input" }
  const items: Array<string | ReadonlyArray<number>> = typeof input === "string"
    ? [input]
    : Array.isArray(input) && input.length > 0 && input.every((i) => typeof i === "number")
    ? [input as Array<number>]
    : Array.isArray(input)
    ? input as Array<string | Array<number>>
    : []
  const valid = items.length > 0 && items.length <= 2048 && items.every((item) =>
    typeof item === "string" ? item.length > 0 : Array.isArray(item) && item.length > 0 && item.every((t) => Number.isInteger(t))
  )
  if (!valid) return { _tag: "Invalid", message: "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", param: null }
  const format = body["encoding_format"] ?? "float"
  if (format !== "float" && format !== "base64") {
    return { _tag: "Invalid", message: `'${String(format)}' is not one of ['float', 'base64'] - 'encoding_format'`, param: "encoding_format" }
  }
  const asked = body["dimensions"]
  if (asked !== undefined) {
    if (!/text-embedding-3/.test(model)) return { _tag: "Invalid", message: "This model does not support specifying dimensions.", param: "dimensions" }
    if (typeof asked !== "number" || !Number.isInteger(asked) || asked < 1) {
      return { _tag: "Invalid", message: `Invalid 'dimensions': integer below minimum value. Expected a value >= 1, but got ${String(asked)} instead.`, param: "dimensions" }
    }
  }
  const dimensions = typeof asked === "number" ? asked : defaultDimensions(model)
  const texts = items.map((item) => (typeof item === "string" ? item : item.join(" ")))
  const tokens = texts.reduce((n, text) => n + tokensOf(text), 0)
  const usage = { prompt_tokens: tokens, total_tokens: tokens }
  if (format === "base64") {
    return {
      _tag: "Ok",
      body: {
        object: "list",
        data: texts.map((text, index) => ({ object: "embedding", index, embedding: base64Of(vectorOf(text, dimensions)) })),
        model,
        usage
      }
    }
  }
  return {
    _tag: "Ok",
    body: {
      object: "list",
      data: texts.map((text, index) => ({ object: "embedding", index, embedding: vectorOf(text, dimensions) })),
      model,
      usage
    }
  }
}

export type GeminiAnswer =
  | { readonly _tag: "Ok"; readonly body: Pick<EmbedContentResponse, "embeddings"> }
  | { readonly _tag: "Invalid"; readonly message: string }

/** What Gemini's `batchEmbedContents` answers (3072 values by default, as gemini-embedding-001), or its 400. */
export const geminiAnswer = (body: unknown, model: string): GeminiAnswer => {
  const requests = isObject(body) ? body["requests"] : undefined
  if (!Array.isArray(requests) || requests.length === 0) {
    return { _tag: "Invalid", message: "* BatchEmbedContentsRequest.requests: requests is not specified\n" }
  }
  if (requests.length > 100) return { _tag: "Invalid", message: "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n" }
  const embeddings: Array<{ values: Array<number> }> = []
  for (const [i, request] of requests.entries()) {
    if (!isObject(request)) return { _tag: "Invalid", message: `Invalid value at 'requests[${i}]'` }
    if (request["model"] !== `models/${model}`) {
      return {
        _tag: "Invalid",
        message: `* BatchEmbedContentsRequest.requests[${i}].model: model must be the same as the batch model (models/${model}), got ${String(request["model"])}\n`
      }
    }
    const content = request["content"]
    const parts = isObject(content) && Array.isArray(content["parts"]) ? content["parts"] : []
    const text = parts.map((p) => (isObject(p) && typeof p["text"] === "string" ? p["text"] : "")).join("")
    if (text.length === 0) return { _tag: "Invalid", message: `* BatchEmbedContentsRequest.requests[${i}].content.parts: contents.parts must not be empty.\n` }
    const size = request["outputDimensionality"]
    if (size !== undefined && (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > 3072)) {
      return { _tag: "Invalid", message: `* BatchEmbedContentsRequest.requests[${i}].output_dimensionality: must be between 1 and 3072\n` }
    }
    embeddings.push({ values: vectorOf(text, typeof size === "number" ? size : 3072) })
  }
  return { _tag: "Ok", body: { embeddings } }
}

/**
 * The embeddings wire shape (OpenAI's `POST /v1/embeddings`), which the embedding adapters
 * translate to and from as the chat adapters do with `Chat`: the request (one input or a
 * batch, `encoding_format`, `dimensions`), the response (vectors as floats or as base64 of
 * little-endian float32, as OpenAI sends them), and the conversions between the two
 * encodings. Requests keep fields this schema does not name, so new OpenAI parameters pass.
 */
import { Result, Schema } from "effect"
import { Base64 } from "effect/encoding"

const Passthrough = [Schema.Record(Schema.String, Schema.Unknown)] as const
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const TokenIds = Schema.Array(Count).check(Schema.isMinLength(1))
const Text = Schema.String.check(Schema.isMinLength(1))

/** OpenAI's limit on the inputs of one request. */
export const MAX_INPUTS = 2048

/**
 * One text, a batch of texts, or (OpenAI's other forms) one or many arrays of token ids. Empty
 * texts and empty batches are refused, as OpenAI refuses them.
 */
export const Input = Schema.Union([
  Text,
  Schema.Array(Text).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_INPUTS)),
  TokenIds,
  Schema.Array(TokenIds).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_INPUTS))
])
export type Input = typeof Input.Type

export const EncodingFormat = Schema.Literals(["float", "base64"])
export type EncodingFormat = typeof EncodingFormat.Type

export const EmbeddingRequest = Schema.StructWithRest(
  Schema.Struct({
    model: Schema.String,
    input: Input,
    encoding_format: Schema.optionalKey(EncodingFormat),
    dimensions: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
    user: Schema.optionalKey(Schema.String),
    /** LiteLLM's routing metadata, as on chat: `tags` select deployments by their `tags`. */
    metadata: Schema.optionalKey(
      Schema.StructWithRest(Schema.Struct({ tags: Schema.optionalKey(Schema.Array(Schema.String)) }), Passthrough)
    )
  }),
  Passthrough
)
export type EmbeddingRequest = typeof EmbeddingRequest.Type

export const Embedding = Schema.StructWithRest(
  Schema.Struct({
    object: Schema.Literal("embedding"),
    index: Count,
    /** Floats, or base64 of little-endian float32 when `encoding_format: "base64"` was asked for. */
    embedding: Schema.Union([Schema.Array(Schema.Finite), Schema.String])
  }),
  Passthrough
)
export type Embedding = typeof Embedding.Type

export const EmbeddingUsage = Schema.StructWithRest(
  Schema.Struct({ prompt_tokens: Count, total_tokens: Count }),
  Passthrough
)
export type EmbeddingUsage = typeof EmbeddingUsage.Type

export const EmbeddingResponse = Schema.StructWithRest(
  Schema.Struct({
    object: Schema.Literal("list"),
    data: Schema.Array(Embedding),
    model: Schema.String,
    usage: EmbeddingUsage
  }),
  Passthrough
)
export type EmbeddingResponse = typeof EmbeddingResponse.Type

/** The inputs of a request as a list (one text or one token array is a batch of one). */
export const inputsOf = (input: Input): ReadonlyArray<string | ReadonlyArray<number>> => {
  if (typeof input === "string") return [input]
  const first = input[0]
  return typeof first === "number" ? [input as ReadonlyArray<number>] : input as ReadonlyArray<string | ReadonlyArray<number>>
}

/** The text a request embeds, for token estimates (token-id inputs count as their length). */
export const inputText = (input: Input): string =>
  inputsOf(input).map((item) => (typeof item === "string" ? item : " x".repeat(item.length))).join("\n")

/** Floats as OpenAI's base64: the bytes of little-endian float32s. */
export const toBase64 = (values: ReadonlyArray<number>): string => {
  const bytes = new Uint8Array(values.length * 4)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true)
  return Base64.encode(bytes)
}

/** OpenAI's base64 back into floats; `undefined` when it is not base64 of whole float32s. */
export const fromBase64 = (text: string): ReadonlyArray<number> | undefined => {
  const decoded = Base64.decode(text)
  if (Result.isFailure(decoded) || decoded.success.length % 4 !== 0) return undefined
  const bytes = decoded.success
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const values = new Array<number>(bytes.length / 4)
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true)
  return values
}

/**
 * A response's vectors in the encoding the caller asked for (float by default), whatever the
 * upstream sent: an OpenAI-compatible server may ignore `encoding_format`. `undefined` when a
 * vector is base64 that does not decode.
 */
export const encoded = (response: EmbeddingResponse, format: EncodingFormat | undefined): EmbeddingResponse | undefined => {
  const wanted = format ?? "float"
  if (response.data.every((d) => (typeof d.embedding === "string") === (wanted === "base64"))) return response
  const data: Array<Embedding> = []
  for (const item of response.data) {
    if (wanted === "base64") {
      data.push(typeof item.embedding === "string" ? item : { ...item, embedding: toBase64(item.embedding) })
    } else if (typeof item.embedding === "string") {
      const values = fromBase64(item.embedding)
      if (values === undefined) return undefined
      data.push({ ...item, embedding: values })
    } else data.push(item)
  }
  return { ...response, data }
}

/**
 * A mock of Google's Gemini API (generativelanguage.googleapis.com) on 127.0.0.1, for tests,
 * chaos runs and the no-keys demo. It keeps the `MockUpstream` contract (faults by path
 * prefix `/fault/<name>` or `setFault`, recorded requests) and speaks Gemini's real wire
 * format, typed against `@google/genai`:
 *
 * - `POST /v1beta/models/{model}:generateContent` → a `GenerateContentResponse`;
 *   `:streamGenerateContent?alt=sse` → `data: <chunk>\r\n\r\n` events, no `[DONE]`, the last
 *   chunk carrying `finishReason` and full `usageMetadata` (without `alt=sse`: one JSON array).
 *   `/v1/` works too. `:batchEmbedContents` → deterministic `embeddings[].values` (see
 *   `EmbeddingAnswers`), with Gemini's checks and faults.
 * - With `tools` in the request (and `functionCallingConfig.mode` not `NONE`), the answer is
 *   a `functionCall` of the first allowed function, with arguments made up from its schema,
 *   unless the conversation's last turn already carries the function results.
 * - `generationConfig.maxOutputTokens` below the answer's word count cuts it (`MAX_TOKENS`);
 *   `candidateCount` gives that many candidates; `responseMimeType: "application/json"` answers
 *   a value matching `responseJsonSchema` / `responseSchema` (`Synthesize`), or `{"text": …}`;
 *   `responseSchema` is checked like function `parameters`, and models before Gemini 2.5 refuse
 *   `responseJsonSchema`, as Gemini 2.0 does.
 * - Requests are checked where the real API is strict, with its error bodies: no key → 403
 *   `PERMISSION_DENIED`; a key other than `options.apiKey` → 400 `API_KEY_INVALID`; a role
 *   other than `user`/`model` (e.g. `system` in `contents`) → 400; empty `contents` or
 *   `parts`, a part without data, unknown fields (top level, `generationConfig`, and OpenAPI
 *   schema keywords such as `additionalProperties` or `$schema` in function `parameters`), a
 *   function name over 64 characters,
 *   non-object `functionCall.args` / `functionResponse.response`, and a function-response
 *   turn whose count differs from the calls it answers → 400 `INVALID_ARGUMENT`.
 *
 * Faults, with Gemini's own bodies: `rate-limit` 429 `RESOURCE_EXHAUSTED` with a per-minute
 * `QuotaFailure` and `RetryInfo.retryDelay` (`options.retryDelay`); `quota` 429 with a per-day
 * quota; `auth` 400 `API_KEY_INVALID`; `permission` 403; `not-found` 404; `bad-request` 400;
 * `context-window` 400 "The input token count … exceeds the maximum number of tokens
 * allowed …"; `content-policy` 200 with no candidates and `promptFeedback.blockReason`
 * `SAFETY`; `overloaded` 503 `UNAVAILABLE`; `server-error` 500 `INTERNAL`; `malformed-json`,
 * `wrong-shape`, `reset-mid-body` (half the body or the first stream chunk, then the socket
 * is destroyed); `error-after-200` (streams: two chunks then a `data: {"error":…}` event;
 * `generateContent`: a 500); `slow-headers` (waits `slowMs`, then answers normally);
 * `connection-refused` (socket destroyed on arrival).
 */
import type {
  BlockedReason,
  Candidate,
  FinishReason,
  GenerateContentResponse,
  GenerateContentResponsePromptFeedback,
  GenerateContentResponseUsageMetadata,
  Part
} from "@google/genai"
import { Effect } from "effect"
import type { Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { Fault, MockUpstream, Options as BaseOptions, RecordedRequest } from "./MockUpstream.ts"
import { faults } from "./MockUpstream.ts"
import * as EmbeddingAnswers from "./EmbeddingAnswers.ts"
import * as Synthesize from "./Synthesize.ts"

export interface Options extends BaseOptions {
  /** The only key accepted; others get `API_KEY_INVALID`. Default: any non-empty key. */
  readonly apiKey?: string | undefined
  /** `RetryInfo.retryDelay` of the `rate-limit` and `quota` faults (protobuf Duration, default "1s"). */
  readonly retryDelay?: string | undefined
  /** Delay between stream events, in ms (default 0). */
  readonly streamDelayMs?: number | undefined
  /** Adds `thoughtsTokenCount` to usage, as thinking models (2.5 Flash/Pro) report it. */
  readonly thoughtsTokenCount?: number | undefined
  /** Adds a `thoughtSignature` to the first function call part, as Gemini 2.5+/3 do. */
  readonly thoughtSignature?: string | undefined
  /** When given, other model names get 404 `NOT_FOUND`. */
  readonly models?: ReadonlyArray<string> | undefined
}

export interface GeminiUpstream extends MockUpstream {
  /** Requests whose client went away before the response was complete (aborted, interrupted). */
  readonly aborted: ReadonlyArray<RecordedRequest>
}

// Response types as the SDK declares them, with its string enums as their wire strings.
type Wire<E extends string> = `${E}`
type MockCandidate = Omit<Candidate, "finishReason" | "safetyRatings"> & { finishReason?: Wire<FinishReason> }
type MockFeedback = Omit<GenerateContentResponsePromptFeedback, "blockReason" | "safetyRatings"> & {
  blockReason?: Wire<BlockedReason>
  safetyRatings?: ReadonlyArray<{ category: string; probability: string; blocked?: boolean }>
}
type MockUsage = Pick<
  GenerateContentResponseUsageMetadata,
  "promptTokenCount" | "candidatesTokenCount" | "totalTokenCount" | "thoughtsTokenCount" | "cachedContentTokenCount"
> & { promptTokensDetails?: ReadonlyArray<{ modality: string; tokenCount: number }> }
type MockResponse = Pick<GenerateContentResponse, "modelVersion" | "responseId"> & {
  candidates?: Array<MockCandidate>
  promptFeedback?: MockFeedback
  usageMetadata?: MockUsage
}

interface RpcStatus {
  readonly code: number
  readonly message: string
  readonly status: string
  readonly details?: ReadonlyArray<Record<string, unknown>>
}

const rpc = (type: string, fields: Record<string, unknown>) => ({ "@type": `type.googleapis.com/google.rpc.${type}`, ...fields })

/** The error bodies Gemini sends, by fault. */
const faultStatus = (fault: Fault, model: string, retryDelay: string): RpcStatus | undefined => {
  switch (fault) {
    case "rate-limit":
      return {
        code: 429,
        message: "You exceeded your current quota, please check your plan and billing details. For more information on this error, " +
          "head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: " +
          `generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: ${model}\nPlease retry in ${retryDelay}.`,
        status: "RESOURCE_EXHAUSTED",
        details: [
          rpc("QuotaFailure", {
            violations: [{
              quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
              quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
              quotaDimensions: { location: "global", model },
              quotaValue: "10"
            }]
          }),
          rpc("Help", { links: [{ description: "Learn more about Gemini API quotas", url: "https://ai.google.dev/gemini-api/docs/rate-limits" }] }),
          rpc("RetryInfo", { retryDelay })
        ]
      }
    case "quota":
      return {
        code: 429,
        message: "You exceeded your current quota, please check your plan and billing details. For more information on this error, " +
          "head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: " +
          `generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 250, model: ${model}\nPlease retry in ${retryDelay}.`,
        status: "RESOURCE_EXHAUSTED",
        details: [
          rpc("QuotaFailure", {
            violations: [{
              quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
              quotaId: "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
              quotaDimensions: { location: "global", model },
              quotaValue: "250"
            }]
          }),
          rpc("RetryInfo", { retryDelay })
        ]
      }
    case "auth":
      return apiKeyInvalid
    case "permission":
      return { code: 403, message: "The caller does not have permission", status: "PERMISSION_DENIED" }
    case "not-found":
      return notFound(model)
    case "bad-request":
      return {
        code: 400,
        message: "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.",
        status: "INVALID_ARGUMENT",
        details: [rpc("BadRequest", { fieldViolations: [{ description: "Invalid JSON payload received. Unknown name \"foo\": Cannot find field." }] })]
      }
    case "context-window":
      return {
        code: 400,
        message: "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).",
        status: "INVALID_ARGUMENT"
      }
    case "overloaded":
      return { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" }
    case "server-error":
    case "error-after-200":
      return internal
    default:
      return undefined
  }
}

const apiKeyInvalid: RpcStatus = {
  code: 400,
  message: "API key not valid. Please pass a valid API key.",
  status: "INVALID_ARGUMENT",
  details: [
    rpc("ErrorInfo", { reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } }),
    rpc("LocalizedMessage", { locale: "en-US", message: "API key not valid. Please pass a valid API key." })
  ]
}
const internal: RpcStatus = {
  code: 500,
  message: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
  status: "INTERNAL"
}
const notFound = (model: string): RpcStatus => ({
  code: 404,
  message: `models/${model} is not found for API version v1beta, or is not supported for generateContent. ` +
    "Call ListModels to see the list of available models and their supported methods.",
  status: "NOT_FOUND"
})
const unregistered: RpcStatus = {
  code: 403,
  message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
  status: "PERMISSION_DENIED"
}
const invalid = (message: string): RpcStatus => ({ code: 400, message, status: "INVALID_ARGUMENT" })

// ---------------------------------------------------------------------------
// Request validation (the strict parts of the real API)
// ---------------------------------------------------------------------------

type Obj = Record<string, unknown>
const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

const topLevel = new Set([
  "contents", "systemInstruction", "system_instruction", "tools", "toolConfig", "tool_config", "generationConfig",
  "generation_config", "safetySettings", "safety_settings", "cachedContent", "cached_content", "labels", "model"
])
const generationKeys = new Set([
  "temperature", "topP", "top_p", "topK", "top_k", "candidateCount", "candidate_count", "maxOutputTokens", "max_output_tokens",
  "stopSequences", "stop_sequences", "presencePenalty", "presence_penalty", "frequencyPenalty", "frequency_penalty", "seed",
  "responseMimeType", "response_mime_type", "responseSchema", "response_schema", "responseJsonSchema", "response_json_schema",
  "responseModalities", "response_modalities", "thinkingConfig", "thinking_config", "responseLogprobs", "response_logprobs",
  "logprobs", "mediaResolution", "media_resolution", "speechConfig", "speech_config", "enableEnhancedCivicAnswers"
])
/** Gemini's `Schema` message: any other keyword in function `parameters` is an unknown field. */
const schemaKeys = new Set([
  "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required",
  "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering",
  "default", "items", "minimum", "maximum"
])
const dataFields = ["text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"]

const unknownName = (name: string, at?: string) =>
  invalid(`Invalid JSON payload received. Unknown name "${name}"${at ? ` at '${at}'` : ""}: Cannot find field.`)

const checkSchema = (schema: unknown, at: string): RpcStatus | undefined => {
  if (!isObj(schema)) return undefined
  for (const [key, value] of Object.entries(schema)) {
    if (!schemaKeys.has(key)) return unknownName(key, at)
    if (key === "properties" && isObj(value)) {
      for (const [name, sub] of Object.entries(value)) {
        const error = checkSchema(sub, `${at}.properties[${name}].value`)
        if (error) return error
      }
    }
    if (key === "items") {
      const error = checkSchema(value, `${at}.items`)
      if (error) return error
    }
    if (key === "anyOf" && Array.isArray(value)) {
      for (const [i, sub] of value.entries()) {
        const error = checkSchema(sub, `${at}.any_of[${i}]`)
        if (error) return error
      }
    }
  }
  return undefined
}

const validate = (body: unknown): RpcStatus | undefined => {
  if (!isObj(body)) return invalid("Invalid JSON payload received. Expected an object.")
  for (const key of Object.keys(body)) if (!topLevel.has(key)) return unknownName(key)
  const contents = body.contents
  if (!Array.isArray(contents) || contents.length === 0) {
    return invalid("* GenerateContentRequest.contents: contents is not specified\n")
  }
  let pendingCalls = 0
  for (const [i, content] of contents.entries()) {
    if (!isObj(content)) return invalid(`Invalid value at 'contents[${i}]': expected a Content object`)
    if (content.role !== undefined && content.role !== "user" && content.role !== "model") {
      return invalid("Please use a valid role: user, model.")
    }
    const parts = content.parts
    if (!Array.isArray(parts) || parts.length === 0) {
      return invalid(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`)
    }
    let calls = 0
    let responses = 0
    for (const [j, part] of parts.entries()) {
      const set = isObj(part) ? dataFields.filter((f) => part[f] !== undefined) : []
      if (!isObj(part) || set.length !== 1) {
        return invalid(`* GenerateContentRequest.contents[${i}].parts[${j}].data: required oneof field 'data' must have one initialized field\n`)
      }
      if (part.inlineData !== undefined) {
        const data = part.inlineData
        if (!isObj(data) || typeof data.mimeType !== "string" || typeof data.data !== "string") {
          return invalid(`* GenerateContentRequest.contents[${i}].parts[${j}].inline_data: mime_type and data are required\n`)
        }
      }
      if (part.functionCall !== undefined) {
        calls++
        const call = part.functionCall
        if (!isObj(call) || typeof call.name !== "string" || (call.args !== undefined && !isObj(call.args))) {
          return invalid(`Invalid value at 'contents[${i}].parts[${j}].function_call.args' (type.googleapis.com/google.protobuf.Struct)`)
        }
      }
      if (part.functionResponse !== undefined) {
        responses++
        const response = part.functionResponse
        if (!isObj(response) || typeof response.name !== "string" || !isObj(response.response)) {
          return invalid(`Invalid value at 'contents[${i}].parts[${j}].function_response.response' (type.googleapis.com/google.protobuf.Struct)`)
        }
      }
    }
    if (pendingCalls > 0 && responses > 0 && responses !== pendingCalls) {
      return invalid(
        "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
      )
    }
    pendingCalls = content.role === "model" ? calls : 0
  }
  const generation = body.generationConfig ?? body.generation_config
  if (generation !== undefined) {
    if (!isObj(generation)) return invalid("Invalid value at 'generation_config'")
    for (const key of Object.keys(generation)) if (!generationKeys.has(key)) return unknownName(key, "generation_config")
    if (generation.responseSchema !== undefined && generation.responseJsonSchema !== undefined) {
      return invalid("responseSchema and responseJsonSchema cannot both be set.")
    }
    if ((generation.responseSchema ?? generation.responseJsonSchema) !== undefined && generation.responseMimeType !== "application/json") {
      return invalid("response_mime_type must be application/json when a response schema is set.")
    }
    const error = checkSchema(generation.responseSchema, "generation_config.response_schema")
    if (error) return error
  }
  const tools = body.tools
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return invalid("Invalid value at 'tools'")
    for (const [i, tool] of tools.entries()) {
      const declarations = isObj(tool) ? tool.functionDeclarations ?? tool.function_declarations : undefined
      if (!Array.isArray(declarations)) continue
      for (const [j, declaration] of declarations.entries()) {
        if (!isObj(declaration) || typeof declaration.name !== "string" || declaration.name.length === 0) {
          return invalid(`* GenerateContentRequest.tools[${i}].function_declarations[${j}].name: Name cannot be empty.\n`)
        }
        if (declaration.name.length > 64) {
          return invalid(`* GenerateContentRequest.tools[${i}].function_declarations[${j}].name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:) or dashes (-), with a maximum length of 64.\n`)
        }
        const error = checkSchema(declaration.parameters, `tools[${i}].function_declarations[${j}].parameters`)
        if (error) return error
      }
    }
  }
  return undefined
}

/** Models before Gemini 2.5 take only the OpenAPI `responseSchema`, not `responseJsonSchema`. */
const jsonSchemaProblem = (body: unknown, model: string): RpcStatus | undefined => {
  const generation = isObj(body) && isObj(body.generationConfig) ? body.generationConfig : {}
  return generation.responseJsonSchema !== undefined && /gemini-(1\.|2\.0)/.test(model)
    ? invalid(`JSON schema (response_json_schema) is not supported for ${model}; use response_schema.`)
    : undefined
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

const words = (text: string) => text.split(/\s+/).filter((w) => w.length > 0).length

/** Roughly what Gemini would count: a token per word of every text part sent. */
const promptTokens = (body: Obj): number => {
  let n = 0
  const count = (content: unknown) => {
    if (!isObj(content) || !Array.isArray(content.parts)) return
    for (const part of content.parts) {
      if (isObj(part) && typeof part.text === "string") n += words(part.text)
      else n += 1
    }
  }
  if (Array.isArray(body.contents)) body.contents.forEach(count)
  count(body.systemInstruction ?? body.system_instruction)
  return Math.max(n, 1)
}

/** The function to call, when the request has tools and the last turn is not their results. */
const functionToCall = (body: Obj): { name: string; parameters: unknown } | undefined => {
  const declarations = (Array.isArray(body.tools) ? body.tools : []).flatMap((tool) =>
    isObj(tool) && Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations.filter(isObj) : []
  )
  if (declarations.length === 0) return undefined
  const toolConfig = body.toolConfig ?? body.tool_config
  const calling = isObj(toolConfig) ? toolConfig.functionCallingConfig ?? toolConfig.function_calling_config : undefined
  const mode = isObj(calling) ? calling.mode : undefined
  if (mode === "NONE") return undefined
  const contents = Array.isArray(body.contents) ? body.contents : []
  const last = contents[contents.length - 1]
  const answered = isObj(last) && Array.isArray(last.parts) && last.parts.some((p) => isObj(p) && p.functionResponse !== undefined)
  if (answered && mode !== "ANY") return undefined
  const allowed = isObj(calling) && Array.isArray(calling.allowedFunctionNames) ? calling.allowedFunctionNames : undefined
  const chosen = declarations.find((d) => allowed === undefined || allowed.includes(d.name)) ?? declarations[0]!
  return { name: String(chosen.name), parameters: chosen.parameters ?? chosen.parametersJsonSchema }
}

interface Answer {
  readonly pieces: ReadonlyArray<string>
  readonly call: { name: string; args: Record<string, unknown> } | undefined
  readonly finishReason: Wire<FinishReason>
  readonly candidates: number
  readonly outputTokens: number
  readonly promptTokens: number
}

const answerFor = (body: Obj, options: Options): Answer => {
  const generation = isObj(body.generationConfig) ? body.generationConfig : {}
  const candidates = typeof generation.candidateCount === "number" && generation.candidateCount > 1 ? generation.candidateCount : 1
  const prompt = promptTokens(body)
  const fn = functionToCall(body)
  if (fn !== undefined) {
    const args = Synthesize.argumentsOf(fn.parameters, { string: () => "mock" })
    return { pieces: [], call: { name: fn.name, args }, finishReason: "STOP", candidates, outputTokens: 8, promptTokens: prompt }
  }
  let text = options.text ?? "Hello from the mock."
  // JSON mode: a value matching `responseJsonSchema` / `responseSchema` when one is given.
  const schema = generation.responseJsonSchema ?? generation.responseSchema
  if (generation.responseMimeType === "application/json") {
    text = JSON.stringify(schema === undefined ? { text } : Synthesize.valueOf(schema, { string: () => text }))
  }
  let tokens = text.split(/(?<=\s)/)
  let finishReason: Wire<FinishReason> = "STOP"
  const max = generation.maxOutputTokens
  if (typeof max === "number" && max < tokens.length) {
    tokens = tokens.slice(0, Math.max(0, max))
    finishReason = "MAX_TOKENS"
  }
  const count = Math.max(1, Math.min(options.streamChunks ?? tokens.length, tokens.length))
  const pieces: Array<string> = []
  const per = Math.ceil(tokens.length / count)
  for (let i = 0; i < tokens.length; i += per) pieces.push(tokens.slice(i, i + per).join(""))
  return { pieces, call: undefined, finishReason, candidates, outputTokens: tokens.length, promptTokens: prompt }
}

const usageOf = (answer: Answer, options: Options, complete: boolean, outputSoFar: number): MockUsage => {
  const candidatesTokenCount = complete ? answer.outputTokens * answer.candidates : outputSoFar
  const thoughts = options.thoughtsTokenCount
  return {
    promptTokenCount: answer.promptTokens,
    ...(candidatesTokenCount > 0 ? { candidatesTokenCount } : {}),
    ...(thoughts !== undefined ? { thoughtsTokenCount: thoughts } : {}),
    totalTokenCount: answer.promptTokens + candidatesTokenCount + (thoughts ?? 0),
    promptTokensDetails: [{ modality: "TEXT", tokenCount: answer.promptTokens }]
  }
}

const callParts = (answer: Answer, options: Options): Array<Part> =>
  answer.call === undefined
    ? []
    : [{ functionCall: { name: answer.call.name, args: answer.call.args }, ...(options.thoughtSignature ? { thoughtSignature: options.thoughtSignature } : {}) }]

const candidatesOf = (answer: Answer, parts: Array<Part>, finish: boolean): Array<MockCandidate> =>
  Array.from({ length: answer.candidates }, (_, index) => ({
    content: { parts, role: "model" },
    ...(finish ? { finishReason: answer.finishReason } : {}),
    index
  }))

const wholeAnswer = (answer: Answer, options: Options, model: string, responseId: string): MockResponse => ({
  candidates: candidatesOf(answer, answer.call ? callParts(answer, options) : [{ text: answer.pieces.join("") }], true),
  usageMetadata: usageOf(answer, options, true, 0),
  modelVersion: model,
  responseId
})

/** The stream's chunks: text pieces (the last with `finishReason` and full usage), or one function call chunk. */
const streamAnswer = (answer: Answer, options: Options, model: string, responseId: string): Array<MockResponse> => {
  if (answer.call !== undefined) return [wholeAnswer(answer, options, model, responseId)]
  let sent = 0
  return answer.pieces.map((piece, i) => {
    const last = i === answer.pieces.length - 1
    sent += words(piece) * answer.candidates
    return {
      candidates: candidatesOf(answer, [{ text: piece }], last),
      usageMetadata: usageOf(answer, options, last, sent),
      modelVersion: model,
      responseId
    }
  })
}

const blockedAnswer = (body: Obj, model: string, responseId: string): MockResponse => {
  const prompt = promptTokens(body)
  return {
    promptFeedback: {
      blockReason: "SAFETY",
      safetyRatings: [
        { category: "HARM_CATEGORY_SEXUALLY_EXPLICIT", probability: "NEGLIGIBLE" },
        { category: "HARM_CATEGORY_HATE_SPEECH", probability: "NEGLIGIBLE" },
        { category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" },
        { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true }
      ]
    },
    usageMetadata: { promptTokenCount: prompt, totalTokenCount: prompt, promptTokensDetails: [{ modality: "TEXT", tokenCount: prompt }] },
    modelVersion: model,
    responseId
  }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

const route = /^\/(v1beta|v1)\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/
const faultPrefix = /^\/fault\/([a-z0-9-]+)(\/.*)?$/

export const make = (options: Options = {}): Effect.Effect<GeminiUpstream, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ server: Http.Server; upstream: GeminiUpstream }>((resume) => {
      const requests: Array<RecordedRequest> = []
      const aborted: Array<RecordedRequest> = []
      let currentFault: Fault | undefined
      let ids = 0
      const retryDelay = options.retryDelay ?? "1s"
      const slowMs = options.slowMs ?? 5000
      const streamDelayMs = options.streamDelayMs ?? 0

      const handle = async (req: Http.IncomingMessage, res: Http.ServerResponse, raw: string, record: RecordedRequest) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1")
        let path = url.pathname
        let fault = currentFault
        const prefixed = faultPrefix.exec(path)
        if (prefixed && (faults as ReadonlyArray<string>).includes(prefixed[1]!)) {
          fault = prefixed[1] as Fault
          path = prefixed[2] ?? "/"
        }
        let closed = false
        const wakeOnClose = new Set<() => void>()
        res.on("close", () => {
          closed = true
          if (!res.writableFinished && fault !== "connection-refused" && fault !== "reset-mid-body") aborted.push(record)
          for (const wake of wakeOnClose) wake()
        })
        /** Sleeps, but wakes at once when the client goes away (no timer outlives a request). */
        const wait = (ms: number) =>
          new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer)
              wakeOnClose.delete(done)
              resolve()
            }
            const timer = setTimeout(done, ms)
            wakeOnClose.add(done)
          })
        const sendJson = (status: number, value: unknown) => {
          if (closed) return
          const text = JSON.stringify(value, null, 2)
          res.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(text) })
          res.end(text)
        }
        const sendError = (status: RpcStatus) => sendJson(status.code, { error: status })

        if (fault === "connection-refused") {
          req.socket.destroy()
          return
        }
        if (fault === "slow-headers") {
          await wait(slowMs)
          if (closed) return
          fault = undefined
        }
        const match = route.exec(path)
        if (req.method !== "POST" || !match) {
          sendError({ code: 404, message: `Method not found: ${req.method} ${path}`, status: "NOT_FOUND" })
          return
        }
        const model = match[2]!
        const streaming = match[3] === "streamGenerateContent"
        const sse = url.searchParams.get("alt") === "sse"
        const responseId = `mock${(++ids).toString(36).padStart(6, "0")}`
        const body = record.body

        if (fault !== undefined) {
          const status = faultStatus(fault, model, retryDelay)
          if (status !== undefined && !(fault === "error-after-200" && streaming)) return sendError(status)
        }
        const key = req.headers["x-goog-api-key"] ?? url.searchParams.get("key") ?? undefined
        if (key === undefined || key === "") return sendError(unregistered)
        if (options.apiKey !== undefined && key !== options.apiKey) return sendError(apiKeyInvalid)
        if (options.models !== undefined && !options.models.includes(model)) return sendError(notFound(model))
        if (body === undefined) {
          return sendError(invalid(`Invalid JSON payload received. Unexpected token.\n${raw.slice(0, 40)}\n^`))
        }
        if (match[3] === "batchEmbedContents") {
          const answer = EmbeddingAnswers.geminiAnswer(body, model)
          return answer._tag === "Ok" ? sendJson(200, answer.body) : sendError(invalid(answer.message))
        }
        const problem = validate(body) ?? jsonSchemaProblem(body, model)
        if (problem !== undefined) return sendError(problem)
        const request = body as Obj

        // 200s from here.
        if (!streaming) {
          switch (fault) {
            case "content-policy":
              return sendJson(200, blockedAnswer(request, model, responseId))
            case "malformed-json": {
              res.writeHead(200, { "content-type": "application/json; charset=UTF-8" })
              res.end("<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>")
              return
            }
            case "wrong-shape":
              return sendJson(200, { result: { output: options.text ?? "Hello from the mock." }, status: "ok" })
            case "reset-mid-body": {
              const text = JSON.stringify(wholeAnswer(answerFor(request, options), options, model, responseId), null, 2)
              res.writeHead(200, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(text) })
              res.write(text.slice(0, Math.floor(text.length / 2)))
              await wait(10)
              res.destroy()
              return
            }
            default:
              return sendJson(200, wholeAnswer(answerFor(request, options), options, model, responseId))
          }
        }

        const answer = answerFor(request, options)
        let events: Array<string> = (fault === "content-policy"
          ? [blockedAnswer(request, model, responseId)]
          : streamAnswer(answer, options, model, responseId)).map((chunk) => JSON.stringify(chunk))
        if (fault === "malformed-json") events = ["{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel"]
        if (fault === "wrong-shape") events = [JSON.stringify({ result: { output: "Hello" } })]
        if (fault === "error-after-200") events = [...events.slice(0, 2), JSON.stringify({ error: internal })]
        if (!sse) {
          // Without alt=sse Gemini streams one JSON array, element by element.
          res.writeHead(200, { "content-type": "application/json; charset=UTF-8" })
          res.end(`[${events.join(",\r\n")}]`)
          return
        }
        res.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
          "server-timing": "gfet4t7; dur=1"
        })
        res.flushHeaders()
        for (const [i, event] of events.entries()) {
          if (closed) return
          if (i > 0 && streamDelayMs > 0) await wait(streamDelayMs)
          if (closed) return
          res.write(`data: ${event}\r\n\r\n`)
          if (fault === "reset-mid-body") {
            await wait(10)
            res.destroy()
            return
          }
        }
        res.end()
      }

      const server = Http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("error", () => {})
        req.on("end", () => {
          const raw = Buffer.concat(chunks).toString("utf8")
          let body: unknown
          try {
            body = raw.length > 0 ? JSON.parse(raw) : undefined
          } catch {
            body = undefined
          }
          const headers: Record<string, string | undefined> = {}
          for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(", ") : value
          const record: RecordedRequest = { method: req.method ?? "", path: req.url ?? "", headers, body }
          requests.push(record)
          handle(req, res, raw, record).catch(() => res.destroy())
        })
      })
      server.on("clientError", (_error, socket) => socket.destroy())
      // A port in use fails the acquisition rather than crashing the process.
      server.once("error", (error) => resume(Effect.die(error)))
      server.listen(options.port ?? 0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        const baseUrl = `http://127.0.0.1:${port}`
        resume(Effect.succeed({
          server,
          upstream: {
            baseUrl,
            port,
            faultUrl: (fault) => `${baseUrl}/fault/${fault}`,
            setFault: (fault) => {
              currentFault = fault
            },
            requests,
            aborted
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ upstream }) => upstream))

/**
 * A mock of OpenAI's HTTP API (and Azure OpenAI's), on `node:http` at 127.0.0.1, for the
 * adapter tests, the gateway tests, chaos runs and the no-keys demo. It keeps the contract of
 * `MockUpstream.ts` and speaks the real wire format; fixtures are typed with the `openai`
 * SDK's own types, so a drift in OpenAI's shapes shows up as a type error here.
 *
 * Routes (each may be prefixed by `/fault/<name>`, which fails every request with that fault):
 * - `POST /v1/chat/completions`: OpenAI (base URL `baseUrl`, as the SDK's `baseURL` takes it).
 * - `POST /openai/deployments/{deployment}/chat/completions?api-version=…`: Azure classic
 *   (`api_base` = `origin`); without `api-version` Azure's 404 "Resource not found".
 * - `POST /openai/v1/chat/completions`: Azure's v1 API (`api_base` = `azureV1BaseUrl`).
 * - `POST /v1/embeddings` (Azure: `/openai/deployments/{d}/embeddings`, `/openai/v1/embeddings`):
 *   deterministic unit vectors, float or base64, `dimensions` on text-embedding-3 models, usage
 *   (see `EmbeddingAnswers`); faults as for chat.
 * - `POST /v1/responses` (Azure's v1 API: `/openai/v1/responses`, keyed by `api-key`): OpenAI's
 *   Responses API, plain or streamed (`ResponsesAnswers.ts`: the same text, tool-call and
 *   json_schema rules, typed events; faults as on chat). A reasoning model (o-series, gpt-5, or
 *   "reasoning" in its name) answers a reasoning item too, with sealed `encrypted_content` when
 *   `include` asks (any other model asked for it is a 400, as OpenAI's);
 *   reasoning input items are checked as OpenAI checks them: content the mock did not issue (or
 *   issued before `rotateReasoningKey`), or issued for another item id, is a 400; an item without
 *   content is a 404 unless the mock stored it (`store` not false); a reasoning item not followed
 *   by its answer (a function call or assistant message, with an id if it has one) is a 400. A
 *   reasoning model given `max_output_tokens` under 32 is cut off while reasoning (`incomplete`,
 *   only its reasoning item).
 * - `GET /v1/models`: a model list.
 *
 * Answers: the text (`options.text`, default "Hello from the mock.") followed, unless
 * `echo: false`, by " You said: <last user message>"; `model` echoes the request's model
 * (Azure classic: the deployment). A request with `tools` (and `tool_choice` not "none"),
 * or whose model contains "tool-call", gets a tool call to the named or first tool (or
 * `get_weather`) whose arguments match the tool's `parameters` (`Synthesize`; strings are the
 * last user message), or `{"query": <last user message>}` without parameters; a model containing
 * "parallel" gets two calls. `response_format` (`json_schema`, `json_object`) gets a JSON value
 * that matches the schema; `n` gets that many choices (streamed one after the other). Streams send a role chunk, content (one chunk per word, or
 * `streamChunks` pieces) or tool-call deltas keyed by index with arguments split in three,
 * a finish chunk, the usage chunk (`choices: []`) when `stream_options.include_usage`, then
 * `data: [DONE]`. Usage is deterministic: prompt = ceil(chars / 4), completion = words.
 *
 * Requests are checked where OpenAI is strict, with its error bodies: a message property chat
 * completions do not define (Anthropic's `thinking_blocks`, a tool message's `is_error`), an
 * image in a message that is not the user's, a tool name or a `user` over 64 characters, a
 * `max_tokens` over gpt-4o's 16384 are a 400.
 *
 * Faults send OpenAI's real error bodies and headers (Azure's on the Azure routes): e.g.
 * `rate-limit` is a 429 `rate_limit_exceeded` with `retry-after` (Azure: `x-ms-retry-after-ms`
 * too) and "Please try again in 1s" in the text, `quota` a 429 `insufficient_quota`, `auth` a
 * 401 `invalid_api_key` with the key masked as OpenAI masks it, `overloaded` a 503
 * `server_is_overloaded`, `error-after-200` a few chunks then `data: {"error":{…}}` (a
 * non-streamed call gets that error object in a 200 body). `requests[].path` is the request
 * target, query included; `aborted` counts answers the client walked away from, which is how
 * tests prove that interrupting a call closes its socket.
 */
import { Effect, type Scope } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions"
import type { CompletionUsage } from "openai/resources/completions"
import type { Model } from "openai/resources/models"
import type { ResponseErrorEvent } from "openai/resources/responses/responses"
import type { ErrorObject } from "openai/resources/shared"
import * as EmbeddingAnswers from "./EmbeddingAnswers.ts"
import { type Fault, faults, type MockUpstream, type Options as ContractOptions, type RecordedRequest } from "./MockUpstream.ts"
import * as ResponsesAnswers from "./ResponsesAnswers.ts"
import * as Synthesize from "./Synthesize.ts"

export interface Options extends ContractOptions {
  /** Pause between streamed chunks, in ms (default 0: the whole stream at once). */
  readonly chunkDelayMs?: number | undefined
  /** Pause before every answer's headers, in ms (default 0). */
  readonly latencyMs?: number | undefined
  /** When set, a request must carry this key (`Authorization: Bearer` or Azure's `api-key`) or get the provider's 401. */
  readonly apiKey?: string | undefined
  /** Append " You said: <last user message>" to answers (default true). */
  readonly echo?: boolean | undefined
  /** Where the `rate-limit` fault puts its hint: `retry-after` headers (default) or only the message ("Please try again in 1s"). */
  readonly rateLimitHint?: "header" | "message" | undefined
  /** The wait the `rate-limit` fault asks for, in seconds (default 1; fractions allowed). */
  readonly retryAfterSeconds?: number | undefined
}

export interface OpenAiUpstream extends MockUpstream {
  /** `http://127.0.0.1:PORT`: the `api_base` of an Azure classic deployment. */
  readonly origin: string
  /** `${origin}/openai/v1`: the `api_base` of an Azure v1 deployment. */
  readonly azureV1BaseUrl: string
  /** `${origin}/fault/<name>`: prefix any of the bases' paths with it (e.g. an Azure `api_base`). */
  readonly faultOrigin: (fault: Fault) => string
  /** Requests whose client closed the connection before the answer was complete (timeouts, interruptions). */
  readonly aborted: number
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  readonly connections: number
  /** Waits until at least `count` requests were aborted by their client. */
  readonly awaitAborted: (count: number) => Effect.Effect<void>
  /** Forgets the recorded requests and the abort count. */
  readonly clear: () => void
  /**
   * Seals reasoning with a new key from now on: content issued before no longer verifies (a 400
   * `invalid_encrypted_content`), as when a deployment's key moves to another org.
   */
  readonly rotateReasoningKey: () => void
}

type Flavor = "openai" | "azure"

interface ChatInput {
  readonly flavor: Flavor
  readonly model: string
  readonly body: Record<string, unknown>
  readonly stream: boolean
}

const DEFAULT_TEXT = "Hello from the mock."
const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" }

// ---------------------------------------------------------------------------------------
// Fixtures: OpenAI's documented shapes, typed by the SDK.

const openAiError = (error: ErrorObject) => ({ error })

interface AzureError {
  readonly error: {
    readonly code: string
    readonly message: string
    readonly param?: string | null
    readonly type?: string | null
    readonly status?: number
    readonly innererror?: Record<string, unknown>
  }
}

const goDuration = (seconds: number) => (seconds < 1 ? `${Math.round(seconds * 1000)}ms` : `${seconds}s`)

/** OpenAI masks keys in its 401 message: first 3 and last 4 characters. */
const maskKey = (key: string) => (key.length <= 8 ? "*".repeat(key.length) : `${key.slice(0, 3)}${"*".repeat(key.length - 7)}${key.slice(-4)}`)

interface ErrorAnswer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

const errorAnswer = (fault: Fault, flavor: Flavor, model: string, key: string, options: Options): ErrorAnswer | undefined => {
  const seconds = options.retryAfterSeconds ?? 1
  const hintHeaders = (options.rateLimitHint ?? "header") === "header"
  switch (fault) {
    case "rate-limit":
      return flavor === "azure"
        ? {
          status: 429,
          headers: hintHeaders
            ? { "retry-after": String(Math.ceil(seconds)), "x-ms-retry-after-ms": String(Math.round(seconds * 1000)) }
            : {},
          body: {
            error: {
              code: "429",
              message:
                `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after ${
                  Math.ceil(seconds)
                } seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`
            }
          } satisfies AzureError
        }
        : {
          status: 429,
          headers: {
            ...(hintHeaders ? { "retry-after": String(Math.ceil(seconds)) } : {}),
            "x-ratelimit-limit-requests": "3",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": goDuration(seconds)
          },
          body: openAiError({
            message:
              `Rate limit reached for ${model} in organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${
                goDuration(seconds)
              }. Visit https://platform.openai.com/account/rate-limits to learn more. You can increase your rate limit by adding a payment method to your account at https://platform.openai.com/account/billing.`,
            type: "requests",
            param: null,
            code: "rate_limit_exceeded"
          })
        }
    case "quota":
      return {
        status: 429,
        body: openAiError({
          message:
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
          type: "insufficient_quota",
          param: null,
          code: "insufficient_quota"
        })
      }
    case "auth":
      return flavor === "azure"
        ? {
          status: 401,
          body: {
            error: {
              code: "401",
              message:
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."
            }
          } satisfies AzureError
        }
        : {
          status: 401,
          body: openAiError({
            message: `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
            type: "invalid_request_error",
            param: null,
            code: "invalid_api_key"
          })
        }
    case "permission":
      return {
        status: 403,
        body: openAiError({
          message: "Country, region, or territory not supported",
          type: "request_forbidden",
          param: null,
          code: "unsupported_country_region_territory"
        })
      }
    case "not-found":
      return flavor === "azure"
        ? {
          status: 404,
          body: {
            error: {
              code: "DeploymentNotFound",
              message:
                "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."
            }
          } satisfies AzureError
        }
        : {
          status: 404,
          body: openAiError({
            message: `The model \`${model}\` does not exist or you do not have access to it.`,
            type: "invalid_request_error",
            param: null,
            code: "model_not_found"
          })
        }
    case "bad-request":
      return {
        status: 400,
        body: openAiError({
          message: "Invalid type for 'temperature': expected a decimal, but got a string instead.",
          type: "invalid_request_error",
          param: "temperature",
          code: "invalid_type"
        })
      }
    case "context-window":
      return {
        status: 400,
        body: openAiError({
          message:
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 130415 tokens. Please reduce the length of the messages.",
          type: "invalid_request_error",
          param: "messages",
          code: "context_length_exceeded"
        })
      }
    case "content-policy":
      return flavor === "azure"
        ? {
          status: 400,
          body: {
            error: {
              message:
                "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
              type: null,
              param: "prompt",
              code: "content_filter",
              status: 400,
              innererror: {
                code: "ResponsibleAIPolicyViolation",
                content_filter_result: {
                  hate: { filtered: false, severity: "safe" },
                  self_harm: { filtered: false, severity: "safe" },
                  sexual: { filtered: false, severity: "safe" },
                  violence: { filtered: true, severity: "high" }
                }
              }
            }
          } satisfies AzureError
        }
        : {
          status: 400,
          body: openAiError({
            message:
              "Invalid prompt: your prompt was flagged as potentially violating our usage policy. Please try again with a different prompt: https://platform.openai.com/docs/guides/reasoning#advice-on-prompting",
            type: "invalid_request_error",
            param: null,
            code: "invalid_prompt"
          })
        }
    case "overloaded":
      return {
        status: 503,
        body: openAiError({
          message: "The server is overloaded or not ready yet.",
          type: "server_error",
          param: null,
          code: "server_is_overloaded"
        })
      }
    case "server-error":
      return { status: 500, body: serverError }
    default:
      return undefined
  }
}

/** The properties chat completions define for each message role: OpenAI refuses any other. */
const messageKeys: Readonly<Record<string, ReadonlySet<string>>> = {
  system: new Set(["role", "content", "name"]),
  developer: new Set(["role", "content", "name"]),
  user: new Set(["role", "content", "name"]),
  assistant: new Set(["role", "content", "name", "refusal", "tool_calls", "function_call", "audio"]),
  tool: new Set(["role", "content", "tool_call_id"]),
  function: new Set(["role", "content", "name"])
}

/**
 * Where OpenAI is strict about a chat request's shape, its refusal: a message property chat
 * completions do not define, an image outside a user message, a tool name or a `user` longer
 * than 64 characters, more output than gpt-4o gives.
 */
const strictnessError = (body: Record<string, unknown>): { message: string; param: string | null; code: string | null } | undefined => {
  const messages = messagesOf(body)
  for (let i = 0; i < messages.length; i++) {
    const role = String(messages[i]!["role"])
    const content = messages[i]!["content"]
    if (role !== "user" && Array.isArray(content) && content.some((part: unknown) => typeof part === "object" && part !== null && (part as { type?: unknown }).type === "image_url")) {
      return {
        message: `Invalid 'messages[${i}]'. Image URLs are only allowed for messages with role 'user', but this message with role '${role}' contains an image URL.`,
        param: `messages[${i}]`,
        code: "invalid_value"
      }
    }
    const allowed = messageKeys[role]
    const extra = allowed === undefined ? undefined : Object.keys(messages[i]!).find((key) => !allowed.has(key))
    if (extra !== undefined) {
      return { message: `Additional properties are not allowed ('${extra}' was unexpected) - 'messages.${i}'`, param: null, code: null }
    }
  }
  const tools = Array.isArray(body["tools"]) ? body["tools"] as ReadonlyArray<{ function?: { name?: unknown } }> : []
  for (const [i, tool] of tools.entries()) {
    const name = tool.function?.name
    if (typeof name === "string" && name.length > 64) {
      return {
        message: `Invalid 'tools[${i}].function.name': string too long. Expected a string with maximum length 64, but got a string with length ${name.length} instead.`,
        param: `tools[${i}].function.name`,
        code: "string_above_max_length"
      }
    }
  }
  const limit = /^gpt-4o/.test(String(body["model"] ?? "")) ? 16384 : undefined
  for (const key of ["max_tokens", "max_completion_tokens"]) {
    const asked = body[key]
    if (limit !== undefined && typeof asked === "number" && asked > limit) {
      return {
        message: `${key} is too large: ${asked}. This model supports at most ${limit} completion tokens, whereas you provided ${asked}.`,
        param: key,
        code: "invalid_value"
      }
    }
  }
  const user = body["user"]
  if (typeof user === "string" && user.length > 64) {
    return {
      message: `Invalid 'user': string too long. Expected a string with maximum length 64, but got a string with length ${user.length} instead.`,
      param: "user",
      code: "string_above_max_length"
    }
  }
  return undefined
}

const serverError = openAiError({
  message:
    "The server had an error while processing your request. Sorry about that! You can retry your request, or contact us through our help center at help.openai.com if the error persists.",
  type: "server_error",
  param: null,
  code: null
})

const unparsable = openAiError({
  message:
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
  type: "invalid_request_error",
  param: null,
  code: null
})

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
    ? content.map((part) => (typeof part === "object" && part !== null && part.type === "text" ? String(part.text) : "")).join("")
    : ""

const messagesOf = (body: Record<string, unknown>): ReadonlyArray<Record<string, unknown>> =>
  Array.isArray(body["messages"]) ? body["messages"].filter((m): m is Record<string, unknown> => typeof m === "object" && m !== null) : []

const lastUserText = (body: Record<string, unknown>): string => {
  const user = messagesOf(body).findLast((m) => m["role"] === "user")
  return user === undefined ? "" : textOf(user["content"])
}

const promptTokens = (body: Record<string, unknown>): number =>
  Math.max(1, Math.ceil(messagesOf(body).reduce((n, m) => n + textOf(m["content"]).length, 0) / 4))

const countWords = (text: string) => text.split(/\s+/).filter((w) => w.length > 0).length

const usageOf = (body: Record<string, unknown>, completion: number): CompletionUsage => {
  const prompt = promptTokens(body)
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 }
  }
}

interface PlannedCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

/** The canned tool calls a request asks for, or none. */
const plannedCalls = (input: ChatInput, sequence: number): ReadonlyArray<PlannedCall> => {
  const tools = Array.isArray(input.body["tools"]) ? input.body["tools"] as ReadonlyArray<{ function?: { name?: string; parameters?: unknown } }> : []
  const choice = input.body["tool_choice"]
  const wanted = (tools.length > 0 && choice !== "none") || input.model.includes("tool-call")
  if (!wanted) return []
  const named = typeof choice === "object" && choice !== null ? (choice as { function?: { name?: string } }).function?.name : undefined
  const names = named !== undefined ? [named] : tools.map((t) => t.function?.name).filter((n): n is string => typeof n === "string")
  const first = names[0] ?? "get_weather"
  const count = input.model.includes("parallel") ? 2 : 1
  const query = lastUserText(input.body)
  // Arguments that match the tool's parameters (its strings: the user's message); `{"query": …}` without parameters.
  const argumentsFor = (name: string) => {
    const parameters = tools.find((t) => t.function?.name === name)?.function?.parameters
    return JSON.stringify(parameters === undefined ? { query } : Synthesize.argumentsOf(parameters, { string: () => query }))
  }
  return Array.from({ length: count }, (_, i) => ({
    id: `call_mock_${sequence}_${i}`,
    name: names[i] ?? first,
    arguments: argumentsFor(names[i] ?? first)
  }))
}

const answerText = (input: ChatInput, options: Options) => {
  const text = options.text ?? DEFAULT_TEXT
  // `response_format`: a JSON value matching the schema (its strings: the mock's text).
  const json = Synthesize.openAiResponseSchema(input.body["response_format"])
  if (json !== undefined) return JSON.stringify(Synthesize.valueOf(json.schema, { string: () => text }))
  return options.echo === false ? text : `${text} You said: ${lastUserText(input.body)}`
}

/** `n`: how many choices the answer has (1 to 8 here; OpenAI allows up to 128). */
const choiceCount = (body: Record<string, unknown>): number =>
  typeof body["n"] === "number" && Number.isInteger(body["n"]) ? Math.min(Math.max(body["n"], 1), 8) : 1

/** Splits text into `n` pieces (default: one per word, spaces kept with the following word). */
const pieces = (text: string, n: number | undefined): ReadonlyArray<string> => {
  if (n === undefined) return text.split(/(?=\s)/).filter((p) => p.length > 0)
  const count = Math.max(1, Math.min(n, text.length))
  const size = text.length / count
  return Array.from({ length: count }, (_, i) => text.slice(Math.round(i * size), Math.round((i + 1) * size)))
}

const completionOf = (input: ChatInput, options: Options, sequence: number): ChatCompletion => {
  const calls = plannedCalls(input, sequence)
  const content = calls.length > 0 ? null : answerText(input, options)
  const n = choiceCount(input.body)
  return {
    id: `chatcmpl-mock-${sequence}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: input.model,
    system_fingerprint: "fp_mock",
    service_tier: "default",
    choices: Array.from({ length: n }, (_, index) => ({
      index,
      message: {
        role: "assistant",
        content,
        refusal: null,
        annotations: [],
        ...(calls.length > 0
          ? {
            tool_calls: calls.map((c) => ({
              id: c.id,
              type: "function" as const,
              function: { name: c.name, arguments: c.arguments }
            }))
          }
          : {})
      },
      logprobs: null,
      finish_reason: calls.length > 0 ? "tool_calls" as const : "stop" as const
    })),
    usage: usageOf(input.body, n * (content === null ? calls.length * Math.ceil(calls[0]!.arguments.length / 4) : countWords(content)))
  }
}

const chunksOf = (input: ChatInput, options: Options, sequence: number): ReadonlyArray<ChatCompletionChunk> => {
  const includeUsage = (input.body["stream_options"] as { include_usage?: unknown } | undefined)?.include_usage === true
  const head = {
    id: `chatcmpl-mock-${sequence}`,
    object: "chat.completion.chunk" as const,
    created: Math.floor(Date.now() / 1000),
    model: input.model,
    system_fingerprint: "fp_mock",
    service_tier: "default" as const,
    ...(includeUsage ? { usage: null } : {})
  }
  const calls = plannedCalls(input, sequence)
  const out: Array<ChatCompletionChunk> = []
  let completionTokens = 0
  // With `n`, each choice streams in turn under its own index.
  for (let choice = 0; choice < choiceCount(input.body); choice++) {
    const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice["finish_reason"] = null): ChatCompletionChunk => ({
      ...head,
      choices: [{ index: choice, delta, logprobs: null, finish_reason: finish }]
    })
    if (calls.length > 0) {
      out.push(chunk({ role: "assistant", content: null, refusal: null }))
      calls.forEach((call, index) => {
        out.push(chunk({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }))
        for (const part of pieces(call.arguments, 3)) out.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }))
        completionTokens += Math.ceil(call.arguments.length / 4)
      })
      out.push(chunk({}, "tool_calls"))
    } else {
      const text = answerText(input, options)
      out.push(chunk({ role: "assistant", content: "", refusal: null }))
      for (const part of pieces(text, options.streamChunks)) out.push(chunk({ content: part }))
      completionTokens += countWords(text)
      out.push(chunk({}, "stop"))
    }
  }
  if (includeUsage) out.push({ ...head, choices: [], usage: usageOf(input.body, completionTokens) })
  return out
}

const modelList = (): { object: "list"; data: Array<Model> } => ({
  object: "list",
  data: ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini", "gpt-5"].map((id) => ({
    id,
    object: "model",
    created: 1_715_367_049,
    owned_by: "system"
  }))
})

/** One answer, plain or streamed, as the fault controls need it. */
interface Reply {
  readonly n: number
  readonly stream: boolean
  /** The plain answer's body. */
  readonly whole: () => unknown
  /** The streamed answer's SSE frames, its end marker included. */
  readonly frames: () => ReadonlyArray<string>
  /** The frame that reports an error mid-stream, as the `index`th frame. */
  readonly errorFrame: (error: ErrorObject, index: number) => string
  /** How many frames a stream sends before it breaks (`reset-mid-body`, `error-after-200`): some content. */
  readonly framesBeforeBreak: number
}

const sse = (data: unknown) => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`

// ---------------------------------------------------------------------------------------
// The server.

interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** Set when the mock itself broke the connection (a fault), so it is not counted as an abort. */
  brokenByServer: boolean
}

const isFault = (name: string): name is Fault => (faults as ReadonlyArray<string>).includes(name)

const headersOf = (req: IncomingMessage): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(", ") : value
  return out
}

export const make = (options: Options = {}): Effect.Effect<OpenAiUpstream, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ readonly upstream: OpenAiUpstream; readonly close: (done: () => void) => void }>((resume) => {
      const requests: Array<RecordedRequest> = []
      const timers = new Set<ReturnType<typeof setTimeout>>()
      const abortWaiters = new Set<() => void>()
      let currentFault: Fault | undefined
      let aborted = 0
      let sequence = 0
      /**
       * The reasoning items this mock "stored" (answered with `store` not false, OpenAI's default),
       * which a later request may name by id alone; the oldest are forgotten past 10 000.
       */
      const storedReasoning = new Set<string>()
      let reasoningKey = ResponsesAnswers.KEY
      let rotations = 0

      const later = (ms: number, exchange: Exchange, f: () => void) => {
        if (ms <= 0) return f()
        const timer = setTimeout(() => {
          timers.delete(timer)
          if (!exchange.res.destroyed) f()
        }, ms)
        timers.add(timer)
      }

      const json = (exchange: Exchange, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) => {
        const text = JSON.stringify(body)
        exchange.res.writeHead(status, {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(text)),
          "x-request-id": `req_mock_${sequence}`,
          "openai-processing-ms": "1",
          "openai-version": "2020-10-01",
          ...headers
        })
        exchange.res.end(text)
      }

      const breakConnection = (exchange: Exchange) => {
        exchange.brokenByServer = true
        exchange.res.socket?.destroy()
      }

      /** Writes SSE frames, with `chunkDelayMs` between them; `then` runs after the last. */
      const writeFrames = (exchange: Exchange, frames: ReadonlyArray<string>, then: () => void) => {
        const delay = options.chunkDelayMs ?? 0
        if (delay <= 0) {
          for (const frame of frames) exchange.res.write(frame)
          return then()
        }
        let i = 0
        const step = () => {
          if (exchange.res.destroyed) return
          if (i >= frames.length) return then()
          exchange.res.write(frames[i++]!)
          later(delay, exchange, step)
        }
        step()
      }

      const answerStream = (exchange: Exchange, reply: Reply) => {
        exchange.res.writeHead(200, { ...SSE_HEADERS, "x-request-id": `req_mock_${reply.n}` })
        writeFrames(exchange, reply.frames(), () => exchange.res.end())
      }

      const answer = (exchange: Exchange, reply: Reply) =>
        later(options.latencyMs ?? 0, exchange, () => reply.stream ? answerStream(exchange, reply) : json(exchange, 200, reply.whole()))

      const fail = (exchange: Exchange, fault: Fault, flavor: Flavor, model: string, reply: Reply, key: string) => {
        const error = errorAnswer(fault, flavor, model, key, options)
        if (error !== undefined) return json(exchange, error.status, error.body, error.headers)
        const { res } = exchange
        switch (fault) {
          case "connection-refused":
            return breakConnection(exchange)
          case "slow-headers":
            return later(options.slowMs ?? 5000, exchange, () => answer(exchange, reply))
          case "malformed-json": {
            if (!reply.stream) {
              const whole = JSON.stringify(reply.whole())
              const broken = whole.slice(0, Math.floor(whole.length / 2))
              res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(broken)) })
              return res.end(broken)
            }
            const frames = reply.frames()
            res.writeHead(200, SSE_HEADERS)
            return res.end(`${frames[1]!.slice(0, Math.floor(frames[1]!.length / 2))}\n\n${frames.at(-1)}`)
          }
          case "wrong-shape":
            if (!reply.stream) return json(exchange, 200, { object: "list", data: [{ text: "Hello" }] })
            res.writeHead(200, SSE_HEADERS)
            return res.end(`${sse({ object: "text_completion", text: "Hello" })}${sse("[DONE]")}`)
          case "reset-mid-body": {
            if (!reply.stream) {
              const text = JSON.stringify(reply.whole())
              res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) })
              res.write(text.slice(0, Math.floor(text.length / 2)))
              return setImmediate(() => breakConnection(exchange))
            }
            res.writeHead(200, SSE_HEADERS)
            return writeFrames(exchange, reply.frames().slice(0, reply.framesBeforeBreak), () => setImmediate(() => breakConnection(exchange)))
          }
          case "error-after-200":
            if (!reply.stream) return json(exchange, 200, serverError)
            res.writeHead(200, SSE_HEADERS)
            return writeFrames(
              exchange,
              [...reply.frames().slice(0, reply.framesBeforeBreak), reply.errorFrame(serverError.error, reply.framesBeforeBreak)],
              () => res.end()
            )
        }
      }

      /** `POST /v1/embeddings` (Azure: `/openai/deployments/{d}/embeddings`, `/openai/v1/embeddings`); see `EmbeddingAnswers`. */
      const embeddings = (
        exchange: Exchange,
        flavor: Flavor,
        deployment: string | undefined,
        body: unknown,
        fault: Fault | undefined,
        headers: Record<string, string | undefined>,
        url: URL
      ) => {
        if (deployment !== undefined && !url.searchParams.has("api-version")) {
          return json(exchange, 404, { error: { code: "404", message: "Resource not found" } } satisfies AzureError)
        }
        const record = typeof body === "object" && body !== null && !Array.isArray(body) ? body as Record<string, unknown> : {}
        const model = deployment !== undefined ? decodeURIComponent(deployment) : typeof record["model"] === "string" ? record["model"] : ""
        const key = flavor === "azure" ? headers["api-key"] ?? "" : (headers["authorization"] ?? "").replace(/^Bearer\s+/i, "")
        const refused = fault ?? (options.apiKey !== undefined && key !== options.apiKey ? "auth" : undefined)
        if (refused !== undefined) {
          const error = errorAnswer(refused, flavor, model, key, options)
          if (error !== undefined) return json(exchange, error.status, error.body, error.headers)
          if (refused === "connection-refused" || refused === "reset-mid-body") return breakConnection(exchange)
          if (refused === "malformed-json") {
            exchange.res.writeHead(200, { "content-type": "application/json" })
            return exchange.res.end("{\"object\":\"list\",\"data\":[{\"obj")
          }
          if (refused === "wrong-shape") return json(exchange, 200, { object: "list", data: [{ text: "Hello" }] })
          if (refused === "error-after-200") return json(exchange, 200, serverError)
        }
        const answer = EmbeddingAnswers.openAiAnswer(record, model)
        if (answer._tag === "Invalid") {
          return json(exchange, 400, openAiError({ message: answer.message, type: "invalid_request_error", param: answer.param, code: null }))
        }
        later(refused === "slow-headers" ? options.slowMs ?? 5000 : options.latencyMs ?? 0, exchange, () => json(exchange, 200, answer.body))
      }

      /** `POST /v1/responses` (Azure v1: `/openai/v1/responses`): the Responses API, plain or streamed, under the same faults and key check. */
      const responses = (exchange: Exchange, flavor: Flavor, body: unknown, fault: Fault | undefined, key: string, n: number) => {
        if (typeof body !== "object" || body === null || Array.isArray(body)) return json(exchange, 400, unparsable)
        const record = body as Record<string, unknown>
        const model = typeof record["model"] === "string" ? record["model"] : ""
        const createdAt = Math.floor(Date.now() / 1000)
        const reply: Reply = {
          n,
          stream: record["stream"] === true,
          whole: () => ResponsesAnswers.responseOf(record, model, { ...options, reasoningKey }, n, createdAt),
          frames: () => ResponsesAnswers.eventsOf(record, model, { ...options, reasoningKey }, n, createdAt).map(ResponsesAnswers.frame),
          errorFrame: (error, index) =>
            ResponsesAnswers.frame({ type: "error", code: error.code ?? null, message: error.message, param: error.param ?? null, sequence_number: index } satisfies ResponseErrorEvent),
          // The opening events and the item's first delta (its first word, or piece of arguments).
          framesBeforeBreak: 5
        }
        if (fault !== undefined) return fail(exchange, fault, flavor, model, reply, key)
        if (options.apiKey !== undefined && key !== options.apiKey) return fail(exchange, "auth", flavor, model, reply, key)
        const missing = ResponsesAnswers.missing(record)
        if (missing !== undefined) {
          return json(exchange, 400, openAiError({ ...missing, type: "invalid_request_error", code: "missing_required_parameter" }))
        }
        const refused = ResponsesAnswers.refusal(record, model, (id) => storedReasoning.has(id), reasoningKey)
        if (refused !== undefined) return json(exchange, refused.status, openAiError(refused.error))
        if (ResponsesAnswers.reasons(model) && record["store"] !== false) {
          storedReasoning.add(`rs_mock_${n}`)
          if (storedReasoning.size > 10_000) storedReasoning.delete(storedReasoning.values().next().value!)
        }
        answer(exchange, reply)
      }

      const chatReply = (input: ChatInput, n: number): Reply => ({
        n,
        stream: input.stream,
        whole: () => completionOf(input, options, n),
        frames: () => [...chunksOf(input, options, n).map(sse), sse("[DONE]")],
        errorFrame: (error) => sse({ error }),
        // The role chunk and two pieces of content.
        framesBeforeBreak: 3
      })

      const handle = (exchange: Exchange, raw: string) => {
        const { req } = exchange
        const url = new URL(req.url ?? "/", "http://127.0.0.1")
        let path = url.pathname
        let fault = currentFault
        const prefixed = /^\/fault\/([^/]+)(\/.*)?$/.exec(path)
        if (prefixed) {
          if (isFault(prefixed[1]!)) fault = prefixed[1]
          path = prefixed[2] ?? "/"
        }
        let body: unknown
        try {
          body = raw.length > 0 ? JSON.parse(raw) : undefined
        } catch {
          body = undefined
        }
        const headers = headersOf(req)
        requests.push({ method: req.method ?? "GET", path: req.url ?? "/", headers, body })
        const n = ++sequence

        if (req.method === "GET" && /^(\/openai)?\/v1\/models$/.test(path)) {
          if (fault !== undefined && errorAnswer(fault, "openai", "", "", options) !== undefined) {
            const error = errorAnswer(fault, "openai", "", "", options)!
            return json(exchange, error.status, error.body, error.headers)
          }
          return json(exchange, 200, modelList())
        }
        const azureEmbeddings = /^\/openai\/deployments\/([^/]+)\/embeddings$/.exec(path)
        if (req.method === "POST" && (azureEmbeddings || path === "/v1/embeddings" || path === "/openai/v1/embeddings")) {
          return embeddings(exchange, path === "/v1/embeddings" ? "openai" : "azure", azureEmbeddings?.[1], body, fault, headers, url)
        }
        if (req.method === "POST" && path === "/v1/responses") {
          return responses(exchange, "openai", body, fault, (headers["authorization"] ?? "").replace(/^Bearer\s+/i, ""), n)
        }
        if (req.method === "POST" && path === "/openai/v1/responses") return responses(exchange, "azure", body, fault, headers["api-key"] ?? "", n)
        const azureClassic = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/.exec(path)
        const flavor: Flavor | undefined = path === "/v1/chat/completions"
          ? "openai"
          : azureClassic || path === "/openai/v1/chat/completions"
          ? "azure"
          : undefined
        if (req.method !== "POST" || flavor === undefined) {
          return json(exchange, 404, openAiError({
            message: `Invalid URL (${req.method} ${url.pathname})`,
            type: "invalid_request_error",
            param: null,
            code: null
          }))
        }
        if (azureClassic && !url.searchParams.has("api-version")) {
          return json(exchange, 404, { error: { code: "404", message: "Resource not found" } } satisfies AzureError)
        }
        const key = flavor === "azure"
          ? headers["api-key"] ?? ""
          : (headers["authorization"] ?? "").replace(/^Bearer\s+/i, "")
        if (typeof body !== "object" || body === null || Array.isArray(body)) {
          return json(exchange, 400, unparsable)
        }
        const record = body as Record<string, unknown>
        const deployment = azureClassic ? decodeURIComponent(azureClassic[1]!) : undefined
        const model = typeof record["model"] === "string" ? record["model"] : deployment ?? ""
        const input: ChatInput = { flavor, model: deployment ?? model, body: record, stream: record["stream"] === true }
        const reply = chatReply(input, n)
        if (fault !== undefined) return fail(exchange, fault, flavor, input.model, reply, key)
        if (options.apiKey !== undefined && key !== options.apiKey) return fail(exchange, "auth", flavor, input.model, reply, key)
        if (!Array.isArray(record["messages"]) || record["messages"].length === 0) {
          return json(exchange, 400, openAiError({
            message: "Missing required parameter: 'messages'.",
            type: "invalid_request_error",
            param: "messages",
            code: "missing_required_parameter"
          }))
        }
        const refused = strictnessError(record)
        if (refused !== undefined) return json(exchange, 400, openAiError({ ...refused, type: "invalid_request_error" }))
        if (deployment === undefined && model === "") {
          return json(exchange, 400, openAiError({
            message: "you must provide a model parameter",
            type: "invalid_request_error",
            param: null,
            code: null
          }))
        }
        answer(exchange, reply)
      }

      const server = createServer((req, res) => {
        const exchange: Exchange = { req, res, brokenByServer: false }
        res.on("close", () => {
          if (res.writableFinished || exchange.brokenByServer) return
          aborted++
          for (const wake of abortWaiters) wake()
        })
        const parts: Array<Buffer> = []
        req.on("data", (part: Buffer) => parts.push(part))
        req.on("end", () => handle(exchange, Buffer.concat(parts).toString("utf8")))
      })
      server.keepAliveTimeout = 5_000
      let connections = 0
      server.on("connection", () => {
        connections++
      })

      server.listen(options.port ?? 0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        const origin = `http://127.0.0.1:${port}`
        const faultOrigin = (fault: Fault) => `${origin}/fault/${fault}`
        const upstream: OpenAiUpstream = {
          baseUrl: `${origin}/v1`,
          port,
          origin,
          azureV1BaseUrl: `${origin}/openai/v1`,
          faultOrigin,
          faultUrl: (fault) => `${faultOrigin(fault)}/v1`,
          setFault: (fault) => {
            currentFault = fault
          },
          requests,
          get aborted() {
            return aborted
          },
          get connections() {
            return connections
          },
          awaitAborted: (count) =>
            Effect.callback<void>((wake) => {
              const check = () => {
                if (aborted < count) return
                abortWaiters.delete(check)
                wake(Effect.void)
              }
              abortWaiters.add(check)
              check()
              return Effect.sync(() => abortWaiters.delete(check))
            }),
          clear: () => {
            requests.length = 0
            aborted = 0
            connections = 0
          },
          rotateReasoningKey: () => {
            rotations += 1
            reasoningKey = `${ResponsesAnswers.KEY}#${rotations}`
          }
        }
        resume(Effect.succeed({
          upstream,
          close: (done) => {
            for (const timer of timers) clearTimeout(timer)
            timers.clear()
            server.closeAllConnections()
            server.close(() => done())
          }
        }))
      })
      server.on("error", (error) => resume(Effect.die(error)))
    }),
    ({ close }) => Effect.callback<void>((resume) => close(() => resume(Effect.void)))
  ).pipe(Effect.map(({ upstream }) => upstream))

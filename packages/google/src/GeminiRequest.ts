/**
 * OpenAI chat request → Gemini `GenerateContentRequest`. System and developer messages go
 * to `systemInstruction`; the conversation becomes `user`/`model` turns (consecutive turns
 * of one role merged, as Gemini wants alternation); tool calls and tool results become
 * `functionCall`/`functionResponse` parts; sampling options, and `reasoning_effort` as a
 * thinking budget, go to `generationConfig`.
 * What Gemini cannot express fails here, as a `BadRequest`, before any call is made.
 */
import { Result } from "effect"
import type { Chat } from "@llm-router/core"
import { LlmError, ReasoningEffort, Untranslatable } from "@llm-router/core"
import type * as GeminiWire from "./GeminiWire.ts"
import * as GeminiSchema from "./GeminiSchema.ts"
import * as ToolCallId from "./ToolCallId.ts"

export interface Origin {
  readonly provider: string
  readonly deployment: string
}

/** Thrown inside this module only, and turned into a `BadRequest` by `fromChat`; every throw names the field. */
const Invalid = Untranslatable.Untranslatable

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  heif: "image/heif",
  pdf: "application/pdf"
}

const dataUri = /^data:([^;,]+)((?:;[^;,]*)*?);base64,(.*)$/s

/**
 * `image_url`: a base64 data URI is sent inline; an http(s) or `gs://` URL is sent as
 * `fileData` (Gemini fetches it: Files API URIs, and public URLs on current models), with a
 * MIME type guessed from the extension when there is one. Anything else is a `BadRequest`.
 */
const imagePart = (url: string, param: string): GeminiWire.Part => {
  if (url.startsWith("data:")) {
    const match = dataUri.exec(url)
    if (!match) throw new Invalid("image_url data URIs must be base64 (data:<mime>;base64,<data>)", param)
    return { inlineData: { mimeType: match[1]!, data: match[3]! } }
  }
  if (/^(https?|gs):\/\//i.test(url)) {
    const extension = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(url)?.[1]?.toLowerCase()
    const mimeType = extension !== undefined ? IMAGE_TYPES[extension] : undefined
    return { fileData: mimeType !== undefined ? { fileUri: url, mimeType } : { fileUri: url } }
  }
  throw new Invalid(`image_url must be a base64 data URI or an http(s)/gs URL, got "${url.slice(0, 16)}…"`, param)
}

const AUDIO_TYPES: Readonly<Record<string, string>> = { wav: "audio/wav", mp3: "audio/mp3" }

const contentParts = (content: Chat.Content | null | undefined, param: string): Array<GeminiWire.Part> => {
  if (content === null || content === undefined) return []
  if (typeof content === "string") return content.length > 0 ? [{ text: content }] : []
  const parts: Array<GeminiWire.Part> = []
  content.forEach((part, i) => {
    const at = `${param}.content[${i}]`
    if (part.type === "text" && typeof part.text === "string") {
      if (part.text.length > 0) parts.push({ text: part.text })
    } else if (part.type === "image_url") {
      const image = (part as Chat.ImagePart).image_url
      parts.push(imagePart(image.url, at))
    } else if (part.type === "input_audio") {
      const audio = part["input_audio"] as { data?: unknown; format?: unknown } | undefined
      const mimeType = typeof audio?.format === "string" ? AUDIO_TYPES[audio.format] : undefined
      if (typeof audio?.data !== "string" || mimeType === undefined) {
        throw new Invalid("input_audio needs base64 `data` and `format` wav or mp3", at)
      }
      parts.push({ inlineData: { mimeType, data: audio.data } })
    } else if (part.type === "file") {
      const file = part["file"] as { file_data?: unknown } | undefined
      const match = typeof file?.file_data === "string" ? dataUri.exec(file.file_data) : null
      if (!match) throw new Invalid("file parts need `file_data` as a base64 data URI (file_id is not supported by Gemini)", at)
      parts.push({ inlineData: { mimeType: match[1]!, data: match[3]! } })
    } else if (part.type === "refusal") {
      const refusal = part["refusal"]
      if (typeof refusal === "string" && refusal.length > 0) parts.push({ text: refusal })
    } else {
      throw new Invalid(`content part type "${part.type}" is not supported by Gemini`, at)
    }
  })
  return parts
}

const textOf = (content: Chat.Content): string =>
  typeof content === "string"
    ? content
    : content.map((p) => (p.type === "text" && typeof p.text === "string" ? p.text : "")).join("")

const parseArguments = (raw: string, param: string): Readonly<Record<string, unknown>> => {
  if (raw.trim() === "") return {}
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw new Invalid("tool call arguments are not valid JSON", param)
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Invalid("tool call arguments must be a JSON object", param)
  }
  return value as Record<string, unknown>
}

/**
 * A tool result as Gemini's `functionResponse.response` (a JSON object). A JSON object result
 * is sent as is; anything else under `output`, the key Gemini's docs name for a function's
 * output. A failed tool's result (`is_error`) goes under `error`, the key they name for its
 * error details.
 */
const toolResponse = (content: Chat.Content, failed: boolean): Readonly<Record<string, unknown>> => {
  const text = textOf(content)
  let value: unknown = text
  try {
    value = JSON.parse(text)
  } catch {
    // Not JSON: the text itself.
  }
  if (failed) return { error: value }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : { output: value }
}

const stopSequences = (stop: Chat.ChatRequest["stop"]): ReadonlyArray<string> | undefined =>
  stop === null || stop === undefined ? undefined : typeof stop === "string" ? [stop] : stop.length > 0 ? stop : undefined

const num = (u: unknown): number | undefined => (typeof u === "number" && Number.isFinite(u) ? u : undefined)

/** `reasoning_effort` → `thinkingConfig.thinkingBudget`: LiteLLM's budgets (see `ReasoningEffort`). */
export const REASONING_EFFORT_THINKING_BUDGET = ReasoningEffort.budgets

const efforts = ReasoningEffort.levels.map((effort) => `"${effort}"`).join(", ")

/** A rejected value as a person would recognise it, kept short (it goes into an error message). */
const shown = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(u.length > 32 ? `${u.slice(0, 32)}…` : u)
  if (typeof u === "number" || typeof u === "boolean") return String(u)
  return Array.isArray(u) ? "an array" : `a value of type ${typeof u}`
}

/**
 * Thinking is asked for with thought summaries on, so the caller sees `reasoning_content`;
 * `none` asks for no thinking, so for no summaries either. Absent or null: Gemini's default.
 */
const thinkingConfig = (effort: unknown): GeminiWire.ThinkingConfig | undefined => {
  const level = ReasoningEffort.parse(effort)
  if (Result.isFailure(level)) {
    throw new Invalid(`reasoning_effort must be one of ${efforts}, got ${shown(effort)}`, "reasoning_effort")
  }
  if (level.success === undefined) return undefined
  const thinkingBudget = ReasoningEffort.budgets[level.success]
  return thinkingBudget === 0 ? { thinkingBudget } : { thinkingBudget, includeThoughts: true }
}

/**
 * Whether the model takes `responseJsonSchema` (real JSON Schema): Gemini 2.5 and later. Older
 * models (1.5, 2.0) take only `responseSchema`, the OpenAPI subset function parameters use. An
 * unknown name is taken to be current.
 */
export const takesJsonSchema = (model: string | undefined): boolean =>
  model === undefined || !/gemini-(1\.|2\.0)/i.test(model)

const generationConfig = (request: Chat.ChatRequest, defaults: Defaults): GeminiWire.GenerationConfig | undefined => {
  const config: Record<string, unknown> = {}
  const set = (key: keyof GeminiWire.GenerationConfig, value: unknown) => {
    if (value !== undefined && value !== null) config[key] = value
  }
  set("temperature", request.temperature)
  set("topP", request.top_p)
  set("topK", num(request["top_k"]))
  set("maxOutputTokens", request.max_completion_tokens ?? request.max_tokens)
  set("stopSequences", stopSequences(request.stop))
  set("candidateCount", request.n)
  set("seed", num(request["seed"]))
  set("presencePenalty", num(request["presence_penalty"]))
  set("frequencyPenalty", num(request["frequency_penalty"]))
  const format = request.response_format
  if (format?.type === "json_object") set("responseMimeType", "application/json")
  else if (format?.type === "json_schema") {
    set("responseMimeType", "application/json")
    const schema = format.json_schema.schema
    if (schema !== undefined && takesJsonSchema(defaults.model)) set("responseJsonSchema", GeminiSchema.toResponseJsonSchema(schema))
    else if (schema !== undefined) set("responseSchema", GeminiSchema.toParameters(schema))
  }
  // Anthropic's `thinking` (a Messages API client's, through the gateway) counts as its level.
  set("thinkingConfig", thinkingConfig(request["reasoning_effort"] ?? ReasoningEffort.fromThinking(request["thinking"]) ?? defaults.reasoningEffort))
  return Object.keys(config).length > 0 ? (config as GeminiWire.GenerationConfig) : undefined
}

const toolConfig = (choice: Chat.ToolChoice | undefined): GeminiWire.GenerateContentRequest["toolConfig"] => {
  if (choice === undefined) return undefined
  if (choice === "auto") return { functionCallingConfig: { mode: "AUTO" } }
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } }
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } }
  return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } }
}

const build = (request: Chat.ChatRequest, defaults: Defaults): GeminiWire.GenerateContentRequest => {
  const system: Array<{ text: string }> = []
  const contents: Array<{ role: GeminiWire.Role; parts: Array<GeminiWire.Part> }> = []
  /** Tool call id → function name, for `functionResponse` (Gemini matches results by name). */
  const callNames = new Map<string, string>()
  const push = (role: GeminiWire.Role, parts: ReadonlyArray<GeminiWire.Part>) => {
    if (parts.length === 0) return
    const last = contents[contents.length - 1]
    if (last !== undefined && last.role === role) last.parts.push(...parts)
    else contents.push({ role, parts: [...parts] })
  }

  request.messages.forEach((message, i) => {
    const param = `messages[${i}]`
    switch (message.role) {
      case "system":
      case "developer": {
        const text = textOf(message.content)
        if (text.length > 0) system.push({ text })
        break
      }
      case "user":
        push("user", contentParts(message.content, param))
        break
      case "assistant": {
        const parts = contentParts(message.content, param)
        message.tool_calls?.forEach((call, j) => {
          const { signature } = ToolCallId.decode(call.id)
          callNames.set(call.id, call.function.name)
          parts.push({
            functionCall: { name: call.function.name, args: parseArguments(call.function.arguments, `${param}.tool_calls[${j}].function.arguments`) },
            ...(signature !== undefined ? { thoughtSignature: signature } : {})
          })
        })
        push("model", parts)
        break
      }
      case "tool": {
        const name = callNames.get(message.tool_call_id)
        if (name === undefined) {
          throw new Invalid(`tool message answers tool_call_id "${message.tool_call_id}", which no earlier assistant message called`, `${param}.tool_call_id`)
        }
        // Its images and files (a screenshot, a PDF the tool read) follow as parts of the same turn.
        const media = typeof message.content === "string"
          ? []
          : contentParts(message.content.filter((part) => part.type !== "text"), param)
        push("user", [{ functionResponse: { name, response: toolResponse(message.content, message.is_error === true) } }, ...media])
        break
      }
    }
  })

  const declarations = (request.tools ?? []).map((tool): GeminiWire.FunctionDeclaration => {
    const parameters = GeminiSchema.toParameters(tool.function.parameters)
    return {
      name: tool.function.name,
      ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
      ...(parameters !== undefined ? { parameters } : {})
    }
  })
  const config = generationConfig(request, defaults)
  const tools = declarations.length > 0 ? toolConfig(request.tool_choice) : undefined
  const safety = request["safety_settings"] ?? defaults.safetySettings
  return {
    contents,
    ...(system.length > 0 ? { systemInstruction: { parts: system } } : {}),
    ...(declarations.length > 0 ? { tools: [{ functionDeclarations: declarations }] } : {}),
    ...(tools !== undefined ? { toolConfig: tools } : {}),
    ...(config !== undefined ? { generationConfig: config } : {}),
    ...(Array.isArray(safety) ? { safetySettings: safety } : {})
  }
}

/** The deployment's model and the `litellm_params` a request may leave out. */
export interface Defaults {
  /** The provider's model name, which decides how a JSON schema is sent (see `takesJsonSchema`). */
  readonly model?: string | undefined
  readonly safetySettings?: unknown
  readonly reasoningEffort?: unknown
}

export const fromChat = (
  request: Chat.ChatRequest,
  origin: Origin,
  defaults: Defaults = {}
): Result.Result<GeminiWire.GenerateContentRequest, LlmError.BadRequest> => {
  try {
    return Result.succeed(build(request, defaults))
  } catch (error) {
    if (error instanceof Invalid) {
      return Result.fail(
        new LlmError.BadRequest({
          provider: origin.provider,
          deployment: origin.deployment,
          message: `Cannot send this request to Gemini: ${error.message} (${error.param})`,
          ...(error.param !== null ? { param: error.param } : {})
        })
      )
    }
    throw error
  }
}

/**
 * An `effect/ai` call as a chat-completions request the router takes: the `Prompt`'s messages
 * (text, images and files, reasoning with the provider's thinking blocks, tool calls and
 * results), the toolkit's tools with their JSON Schema, the tool choice, and a structured
 * output's schema as `response_format`. The router's adapters take it on to each provider.
 */
import type { Chat } from "@llm-router/core"
import { Effect } from "effect"
import { AiError, type LanguageModel, type Prompt, Tool } from "effect/ai"
import { Base64 } from "effect/encoding"
import * as RouteMetadata from "./RouteMetadata.ts"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const invalid = (description: string) =>
  AiError.make({ module: "RouterLanguageModel", method: "prepareRequest", reason: new AiError.InvalidRequestError({ description }) })

/** A file's bytes or address as a URL a chat request carries (a data URL for bytes). */
const fileUrl = (part: Prompt.FilePart, mediaType: string): string =>
  part.data instanceof URL
    ? part.data.toString()
    : part.data instanceof Uint8Array
    ? `data:${mediaType};base64,${Base64.encode(part.data)}`
    : part.data.startsWith("data:") || /^https?:\/\//.test(part.data)
    ? part.data
    : `data:${mediaType};base64,${part.data}`

const userPart = (part: Prompt.UserMessagePart): Chat.ContentPart => {
  if (part.type === "text") return { type: "text", text: part.text }
  if (part.mediaType.startsWith("image/")) {
    const mediaType = part.mediaType === "image/*" ? "image/jpeg" : part.mediaType
    return { type: "image_url", image_url: { url: fileUrl(part, mediaType) } }
  }
  // OpenAI's file part (PDFs and the like); the adapters translate it for their provider.
  return { type: "file", file: { filename: part.fileName ?? "file", file_data: fileUrl(part, part.mediaType) } }
}

/** The provider's record of a reasoning part (Anthropic's signed thinking blocks), kept from its answer. */
const thinkingBlocksOf = (part: Prompt.ReasoningPart): ReadonlyArray<Record<string, unknown>> => {
  const blocks = RouteMetadata.read(part.options)?.thinkingBlocks
  return Array.isArray(blocks) ? blocks as ReadonlyArray<Record<string, unknown>> : []
}

const stringify = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value) ?? "null")

const messagesOf = (prompt: Prompt.Prompt, toolNames: Tool.NameMapper<ReadonlyArray<Tool.Any>>): Array<Chat.Message> => {
  const messages: Array<Chat.Message> = []
  for (const message of prompt.content) {
    switch (message.role) {
      case "system":
        messages.push({ role: "system", content: message.content })
        break
      case "user": {
        const parts = message.content.map(userPart)
        const textOnly = parts.every((part) => part.type === "text")
        messages.push({
          role: "user",
          content: textOnly ? parts.map((part) => (part as Chat.TextPart).text).join("") : parts
        })
        break
      }
      case "assistant": {
        let text = ""
        let reasoning = ""
        const thinkingBlocks: Array<Record<string, unknown>> = []
        const toolCalls: Array<Chat.ToolCall> = []
        for (const part of message.content) {
          if (part.type === "text") text += part.text
          else if (part.type === "reasoning") {
            reasoning += part.text
            thinkingBlocks.push(...thinkingBlocksOf(part))
          } else if (part.type === "tool-call" && !part.providerExecuted) {
            toolCalls.push({
              id: part.id,
              type: "function",
              function: { name: toolNames.getProviderName(part.name), arguments: stringify(part.params) }
            })
          }
          // Files, provider-executed calls and their results, approval requests: nothing to send back.
        }
        const assistant: Mutable<Chat.Message & { role: "assistant" }> = { role: "assistant", content: text.length > 0 ? text : null }
        if (reasoning.length > 0) assistant.reasoning_content = reasoning
        if (thinkingBlocks.length > 0) assistant.thinking_blocks = thinkingBlocks
        if (toolCalls.length > 0) assistant.tool_calls = toolCalls
        messages.push(assistant)
        break
      }
      case "tool":
        for (const part of message.content) {
          if (part.type !== "tool-result") continue
          messages.push({
            role: "tool",
            tool_call_id: part.id,
            content: stringify(part.result),
            // A handler's failure: the chat model's `is_error`, which every adapter makes the model see.
            ...(part.isFailure ? { is_error: true } : {})
          })
        }
        break
    }
  }
  return messages
}

const toolsOf = (options: LanguageModel.ProviderOptions) => {
  let allowed = options.tools
  let toolChoice: Chat.ToolChoice | undefined
  const choice = options.toolChoice
  if (typeof choice === "object" && "oneOf" in choice) {
    const names = new Set<string>(choice.oneOf)
    allowed = allowed.filter((tool) => names.has(tool.name))
    toolChoice = choice.mode === "required" ? "required" : "auto"
  } else if (typeof choice === "object") {
    toolChoice = { type: "function", function: { name: choice.tool } }
  } else {
    toolChoice = choice
  }
  const tools = allowed.map((tool): Chat.FunctionTool => {
    const description = Tool.getDescription(tool)
    return {
      type: "function",
      function: {
        name: Tool.isProviderDefined(tool) ? tool.providerName : tool.name,
        ...(description === undefined ? {} : { description }),
        parameters: Tool.getJsonSchema(tool) as Record<string, unknown>
      }
    }
  })
  return { tools, toolChoice }
}

/** The request for `group`, with `config`'s extra fields (temperature, max_tokens, metadata tags…). */
export const make = (
  group: string,
  config: Partial<Chat.ChatRequest>,
  options: LanguageModel.ProviderOptions
): Effect.Effect<Chat.ChatRequest, AiError.AiError> =>
  Effect.suspend(() => {
    const toolNames = new Tool.NameMapper(options.tools)
    const messages = messagesOf(options.prompt, toolNames)
    if (messages.length === 0) return Effect.fail(invalid("The prompt has no messages"))
    const request: Mutable<Chat.ChatRequest> = { ...config, model: group, messages }
    if (options.tools.length > 0) {
      const { tools, toolChoice } = toolsOf(options)
      if (tools.length > 0) request.tools = tools
      if (toolChoice !== undefined && tools.length > 0) {
        request.tool_choice = typeof toolChoice === "object"
          ? { type: "function", function: { name: toolNames.getProviderName(toolChoice.function.name) } }
          : toolChoice
      }
    }
    if (options.responseFormat.type === "json") {
      request.response_format = {
        type: "json_schema",
        json_schema: {
          name: options.responseFormat.objectName,
          schema: Tool.getJsonSchemaFromSchema(options.responseFormat.schema) as Record<string, unknown>
        }
      }
    }
    return Effect.succeed(request)
  })

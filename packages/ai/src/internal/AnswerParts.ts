/**
 * A routed answer as `effect/ai` response parts: the route as `response-metadata`, the
 * reasoning (with the provider's thinking blocks, to send back), the text, the tool calls, and
 * a `finish` part with the finish reason, the usage and the final route. The stream's
 * translation (`StreamParts.ts`) ends in the same finish part.
 */
import type { Chat, LlmClient, RouteInfo } from "@llm-router/core"
import { Effect } from "effect"
import { AiError, type Response, Tool } from "effect/ai"
import * as RouteMetadata from "./RouteMetadata.ts"

export const usageOf = (usage: Chat.Usage | null | undefined): typeof Response.Usage.Encoded => {
  if (usage === null || usage === undefined) return { inputTokens: {}, outputTokens: {} }
  const cached = usage.prompt_tokens_details?.cached_tokens
  const written = usage.prompt_tokens_details?.cache_write_tokens
  const reasoning = usage.completion_tokens_details?.reasoning_tokens
  return {
    inputTokens: {
      total: usage.prompt_tokens,
      uncached: usage.prompt_tokens - (cached ?? 0),
      ...(cached === undefined ? {} : { cacheRead: cached }),
      ...(written === undefined ? {} : { cacheWrite: written })
    },
    outputTokens: {
      total: usage.completion_tokens,
      text: usage.completion_tokens - (reasoning ?? 0),
      ...(reasoning === undefined ? {} : { reasoning })
    }
  }
}

/** Some providers end a tool-calling answer with "stop"; the calls say what it was. */
export const finishReasonOf = (reason: Chat.FinishReason | null | undefined, hasToolCalls: boolean): Response.FinishReason => {
  if (hasToolCalls) return "tool-calls"
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "content_filter":
      return "content-filter"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    default:
      return "unknown"
  }
}

/** A tool call's JSON arguments, parsed as `effect/ai`'s providers do (no prototype pollution). */
export const paramsOf = (name: string, text: string, method: string): Effect.Effect<unknown, AiError.AiError> =>
  Effect.try({
    try: () => Tool.unsafeSecureJsonParse(text.length > 0 ? text : "{}"),
    catch: (cause) =>
      AiError.make({
        module: "RouterLanguageModel",
        method,
        reason: new AiError.ToolParameterValidationError({ toolName: name, description: `The model's arguments are not JSON: ${String(cause)}` })
      })
  })

export const responseMetadata = (route: RouteInfo.RouteInfo, id?: string, created?: number): Response.ResponseMetadataPartEncoded => ({
  type: "response-metadata",
  modelId: route.model,
  ...(id === undefined ? {} : { id }),
  ...(created === undefined ? {} : { timestamp: new Date(created * 1000).toISOString() }),
  metadata: RouteMetadata.ofRoute(route)
})

export const finish = (
  reason: Response.FinishReason,
  usage: Chat.Usage | null | undefined,
  route: RouteInfo.RouteInfo
): Response.FinishPartEncoded => ({
  type: "finish",
  reason,
  usage: usageOf(usage),
  metadata: RouteMetadata.ofRoute(route)
})

export const reasoningMetadata = (blocks: ReadonlyArray<unknown>): Response.ProviderMetadata | undefined =>
  blocks.length > 0 ? { [RouteMetadata.KEY]: { thinkingBlocks: blocks as Array<Response.ProviderMetadata[string]> } } : undefined

/** The parts of a whole answer (its first choice: `effect/ai` has one answer per call). */
export const fromCompletion = (
  { response, route }: LlmClient.Completion,
  toolNames: Tool.NameMapper<ReadonlyArray<Tool.Any>>
): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> =>
  Effect.gen(function*() {
    const parts: Array<Response.PartEncoded> = [responseMetadata(route, response.id, response.created)]
    const choice = response.choices[0]
    const message = choice?.message
    if (typeof message?.reasoning_content === "string" && message.reasoning_content.length > 0) {
      const metadata = reasoningMetadata(message.thinking_blocks ?? [])
      parts.push({ type: "reasoning", text: message.reasoning_content, ...(metadata === undefined ? {} : { metadata }) })
    }
    if (typeof message?.content === "string" && message.content.length > 0) parts.push({ type: "text", text: message.content })
    if (typeof message?.refusal === "string" && message.refusal.length > 0) {
      parts.push({ type: "text", text: "", metadata: { [RouteMetadata.KEY]: { refusal: message.refusal } } })
    }
    const calls = message?.tool_calls ?? []
    for (const call of calls) {
      const name = toolNames.getCustomName(call.function.name)
      parts.push({ type: "tool-call", id: call.id, name, params: yield* paramsOf(name, call.function.arguments, "generateText") })
    }
    parts.push(finish(finishReasonOf(choice?.finish_reason, calls.length > 0), response.usage ?? route.usage, route))
    return parts
  })

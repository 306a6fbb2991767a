/**
 * The client a request with `mock_response` is answered by (see `Overrides`): the text as a
 * whole answer or as a stream, with usage estimated as the router estimates it, and no call
 * to any provider. LiteLLM's `mock_response`, for tests.
 */
import { Clock, Effect, Stream } from "effect"
import type { ChatRequest, ChatResponse } from "../Chat.ts"
import type { Deployment } from "../Deployment.ts"
import type * as LlmClient from "../LlmClient.ts"
import * as TokenEstimate from "../TokenEstimate.ts"

const usageOf = (request: ChatRequest, text: string) => {
  const prompt = TokenEstimate.ofRequest(request)
  const completion = TokenEstimate.ofText(text)
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}

export const client = (d: Deployment, text: string): LlmClient.Service => ({
  chat: (request) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const response: ChatResponse = {
        id: "chatcmpl-mock",
        object: "chat.completion",
        created: Math.floor(now / 1000),
        model: d.model,
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
        usage: usageOf(request, text)
      }
      return {
        response,
        route: { group: d.group, servedBy: d.group, deployment: d.id, provider: d.provider, model: d.model, attempts: 1, fallbacks: [], latencyMs: 0 }
      }
    }),
  stream: (request) =>
    Stream.unwrap(Effect.map(Clock.currentTimeMillis, (now) => {
      const base = { id: "chatcmpl-mock", object: "chat.completion.chunk" as const, created: Math.floor(now / 1000), model: d.model }
      return Stream.fromIterable<LlmClient.StreamPart>([
        { _tag: "Chunk", chunk: { ...base, choices: [{ index: 0, delta: { role: "assistant", content: text }, finish_reason: null }] } },
        { _tag: "Chunk", chunk: { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: usageOf(request, text) } }
      ])
    }))
})

/**
 * Shared pieces of the adapter tests: a deployment pointing at a mock upstream, a request,
 * and helpers that run a client's calls and collect what came back.
 */
import type { Chat, Deployment, LlmClient, LlmError } from "@llm-router/core"
import { Effect, Redacted, Stream } from "effect"

export const KEY = "sk-test-SECRET-0123456789abcdef"

export const deployment = (overrides: Partial<Deployment.Deployment> = {}): Deployment.Deployment => ({
  id: "gpt/openai/gpt-4o",
  group: "gpt",
  provider: "openai",
  model: "gpt-4o",
  apiKey: Redacted.make(KEY),
  tags: [],
  params: {},
  ...overrides
})

export const request = (overrides: Partial<Chat.ChatRequest> = {}): Chat.ChatRequest => ({
  model: "gpt",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "What is the capital of France?" }
  ],
  ...overrides
})

export const weatherTool: Chat.FunctionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] }
  }
}

/** Every part of a stream, or the error that ended it with the parts before it. */
export const collect = (stream: Stream.Stream<LlmClient.StreamPart, LlmError.LlmError>) =>
  Effect.gen(function*() {
    const parts: Array<LlmClient.StreamPart> = []
    const error = yield* stream.pipe(
      Stream.runForEach((part) => Effect.sync(() => parts.push(part))),
      Effect.flip,
      Effect.option
    )
    return { parts, error: error._tag === "Some" ? error.value : undefined }
  })

export const chunksOf = (parts: ReadonlyArray<LlmClient.StreamPart>): Array<Chat.ChatChunk> =>
  parts.flatMap((part) => (part._tag === "Chunk" ? [part.chunk] : []))

/** The body the mock received for its last request. */
export const lastBody = (requests: ReadonlyArray<{ readonly body: unknown }>): Record<string, unknown> =>
  requests.at(-1)?.body as Record<string, unknown>

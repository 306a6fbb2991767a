/**
 * Shared test helpers: a deployment pointing at a mock upstream, and one-line ways to call the
 * adapter with the undici HTTP client.
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { Chat, Deployment, LlmClient } from "@llm-router/core"
import { Effect, Redacted, Stream } from "effect"
import * as Anthropic from "../src/Anthropic.ts"

/** The key every test deployment carries: it must never show up in an error. */
export const SECRET = "sk-ant-test-7f3c9e1d-SECRET"

export const deployment = (apiBase: string, overrides: Partial<Deployment.Deployment> = {}): Deployment.Deployment => ({
  id: "anthropic/claude-haiku-4-5#1",
  group: "claude",
  provider: "anthropic",
  model: "claude-haiku-4-5",
  apiKey: Redacted.make(SECRET),
  apiBase,
  tags: [],
  params: {},
  ...overrides
})

export const request = (overrides: Partial<Chat.ChatRequest> = {}): Chat.ChatRequest => ({
  model: "claude",
  messages: [{ role: "user", content: "Say hello." }],
  ...overrides
})

export const chat = (d: Deployment.Deployment, req: Chat.ChatRequest) =>
  Effect.flatMap(Anthropic.make(d), (c) => c.chat(req)).pipe(Effect.provide(NodeHttpClient.layerUndici))

export const stream = (d: Deployment.Deployment, req: Chat.ChatRequest) =>
  Stream.unwrap(Effect.map(Anthropic.make(d), (c) => c.stream(req))).pipe(Stream.provide(NodeHttpClient.layerUndici))

export const streamParts = (d: Deployment.Deployment, req: Chat.ChatRequest) => Stream.runCollect(stream(d, req))

export const chunksOf = (parts: ReadonlyArray<LlmClient.StreamPart>): Array<Chat.ChatChunk> =>
  parts.flatMap((part) => (part._tag === "Chunk" ? [part.chunk] : []))

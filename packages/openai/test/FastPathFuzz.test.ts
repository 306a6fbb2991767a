/**
 * The adapter's fast paths for upstream answers (`isPlainChunk`, `isPlainResponse`: an answer
 * that passes goes out as the upstream wrote it) fuzzed against the core Schemas they stand in
 * for (issue 13, item 9): values generated from each Schema's arbitrary, mutated, judged by
 * both; the fast path may decline what the Schema accepts, never accept what it refuses.
 */
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { Chat } from "@llm-router/core"
import { SchemaFuzz } from "@llm-router/testing"
import * as OpenAiEmbeddings from "../src/OpenAiEmbeddings.ts"
import * as ResponseBody from "../src/ResponseBody.ts"

const literals = ["assistant", "function", "stop", "length", "tool_calls", "chat.completion", "chat.completion.chunk"]

describe("upstream answer fast paths against the Schema", () => {
  it("a chunk the fast path passes, the Schema accepts", () => {
    const accepts = Schema.is(Chat.ChatChunk)
    const verdicts = SchemaFuzz.judge({
      schema: Chat.ChatChunk,
      fast: (value) => (ResponseBody.isPlainChunk(value) ? true : undefined),
      bySchema: (value) => (accepts(value) ? true : undefined),
      literals,
      seed: 13,
      rounds: 6_000
    })
    assert.deepStrictEqual(verdicts.disagreements.slice(0, 3), [])
    assert.isAbove(verdicts.fastAccepted, 500)
    assert.isAbove(verdicts.schemaRefused, 500)
  })

  it("a response the fast path passes, the Schema accepts", () => {
    const accepts = Schema.is(Chat.ChatResponse)
    const verdicts = SchemaFuzz.judge({
      schema: Chat.ChatResponse,
      fast: (value) => (ResponseBody.isPlainResponse(value) ? true : undefined),
      bySchema: (value) => (accepts(value) ? true : undefined),
      literals,
      seed: 14,
      rounds: 6_000
    })
    assert.deepStrictEqual(verdicts.disagreements.slice(0, 3), [])
    assert.isAbove(verdicts.fastAccepted, 500)
    assert.isAbove(verdicts.schemaRefused, 500)
  })

  it("an embeddings answer the fast path passes, the Schema accepts", () => {
    const accepts = Schema.is(OpenAiEmbeddings.UpstreamResponse)
    const verdicts = SchemaFuzz.judge({
      schema: OpenAiEmbeddings.UpstreamResponse,
      fast: (value) => (OpenAiEmbeddings.isPlainUpstream(value) ? true : undefined),
      bySchema: (value) => (accepts(value) ? true : undefined),
      literals: ["embedding", "list"],
      seed: 15,
      rounds: 6_000
    })
    assert.deepStrictEqual(verdicts.disagreements.slice(0, 3), [])
    assert.isAbove(verdicts.fastAccepted, 500)
    assert.isAbove(verdicts.schemaRefused, 500)
  })

  it("reasoning_content: 5 in a chunk does not go out as written", () => {
    const chunk = { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { reasoning_content: 5 } }] }
    const read = ResponseBody.chunk(JSON.stringify(chunk), "m")
    assert.strictEqual(read._tag, "Invalid")
  })
})

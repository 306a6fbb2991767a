/**
 * The end of a streamed answer: after `message_stop` the rest of the body is read (so the
 * connection can serve the next call) for at most `StreamingHttp.DRAIN_AFTER_END_MS`.
 */
import { assert, describe, it } from "@effect/vitest"
import { LlmError } from "@llm-router/core"
import { Effect, Stream } from "effect"
import * as AnthropicStream from "../src/AnthropicStream.ts"
import { deployment } from "./support.ts"

const sse = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`

const answer = [
  sse("message_start", {
    message: {
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "claude-haiku-4-5",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 1 }
    }
  }),
  sse("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
  sse("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Hi" } }),
  sse("content_block_stop", { index: 0 }),
  sse("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 2 } }),
  sse("message_stop", {})
].join("")

const translate = (body: Stream.Stream<Uint8Array>) =>
  AnthropicStream.translate(body, {
    deployment: deployment("http://127.0.0.1:1"),
    created: 0,
    onBodyError: () => new LlmError.ConnectionFailed({ provider: "anthropic", message: "lost" })
  })

const text = (chunks: ReadonlyArray<{ readonly choices: ReadonlyArray<{ readonly delta: { readonly content?: string | null } }> }>) =>
  chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")

describe("AnthropicStream.translate, after message_stop", () => {
  it.live("reads an end that follows a moment later (a packet of its own), so the connection is kept", () =>
    Effect.gen(function*() {
      let endedNaturally = false
      const body = Stream.make(new TextEncoder().encode(answer)).pipe(
        Stream.concat(Stream.fromEffectDrain(Effect.sleep("5 millis"))),
        Stream.onEnd(Effect.sync(() => {
          endedNaturally = true
        }))
      )
      const chunks = yield* Stream.runCollect(translate(body))
      assert.strictEqual(text(chunks), "Hi")
      assert.isTrue(endedNaturally, "the body was read to its end, not dropped")
    }))

  it.live("does not wait for a body kept open: it is let go (after StreamingHttp.DRAIN_AFTER_END_MS)", () =>
    Effect.gen(function*() {
      const body = Stream.make(new TextEncoder().encode(answer)).pipe(Stream.concat(Stream.never))
      const chunks = yield* Stream.runCollect(translate(body))
      assert.strictEqual(text(chunks), "Hi")
    }))
})

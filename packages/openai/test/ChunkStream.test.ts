import { assert, describe, it } from "@effect/vitest"
import type { Chat, LlmError } from "@llm-router/core"
import { Cause, Effect, Exit, Stream } from "effect"
import { Sse } from "effect/encoding"
import { HttpClientError, HttpClientRequest } from "effect/http"
import * as ChunkStream from "../src/ChunkStream.ts"

/**
 * The events `ChunkStream` must see: Effect's own pipeline (`Stream.decodeText` then
 * `Sse.decode`), which `ChunkStream` runs fused into one stage.
 */
const referenceEvents = (body: Stream.Stream<Uint8Array, HttpClientError.HttpClientError>) =>
  body.pipe(Stream.decodeText(), Stream.pipeThroughChannel(Sse.decode()))

const context: ChunkStream.Context = { provider: "openai", deployment: "d-1", secret: "sk-test-secret-123456", status: 200, model: "gpt-4o" }

const chunkJson = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: "c-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt-4o",
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
    ...extra
  })

/** SSE bodies as providers (and broken servers) send them. */
const bodies: ReadonlyArray<string> = [
  `data: ${chunkJson("Hel")}\n\ndata: ${chunkJson("lo ✓ — ünïcödé 🎉")}\n\ndata: [DONE]\n\n`,
  `data: ${chunkJson("crlf")}\r\n\r\ndata: ${chunkJson("two")}\r\n\r\ndata: [DONE]\r\n\r\n`,
  `\uFEFFdata: ${chunkJson("bom")}\r\r: a comment\r\rdata: [DONE]\r\r`,
  `: keep-alive\n\nevent: message\nid: 7\ndata: ${chunkJson("named")}\n\n\n\ndata: [DONE]\n\n`,
  `data: ${chunkJson("a")}\n\nevent: error\ndata: {"error":{"message":"overloaded","type":"server_error"}}\n\n`,
  `data: ${chunkJson("a")}\n\ndata: {"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}\n\n`,
  `data: ${chunkJson("a")}\n\nretry: 1000\n\ndata: ${chunkJson("b")}\n\n`,
  `data: ${chunkJson("a")}\n\ndata: not json\n\n`,
  `data: ${chunkJson("cut")}\n\n`,
  `data: ${chunkJson("partial")}\n\ndata: {"id":`,
  `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\ndata: [DONE]\n\n`,
  `data: ${chunkJson("multi")}\ndata: \n\ndata: [DONE]\n\ndata: ${chunkJson("after done")}\n\n`,
  "",
  "data: [DONE]\n\n"
]

/** A deterministic generator (mulberry32), so a failure reproduces. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** The bytes cut at random places (multi-byte characters included), in random batches. */
const split = (text: string, next: () => number): Array<Array<Uint8Array>> => {
  const bytes = new TextEncoder().encode(text)
  const pieces: Array<Uint8Array> = []
  let at = 0
  while (at < bytes.length) {
    const size = 1 + Math.floor(next() * 40)
    pieces.push(bytes.slice(at, at + size))
    at += size
  }
  const batches: Array<Array<Uint8Array>> = []
  while (pieces.length > 0) batches.push(pieces.splice(0, 1 + Math.floor(next() * 3)))
  return batches
}

const request = HttpClientRequest.get("http://127.0.0.1/")
const bodyOf = (batches: ReadonlyArray<ReadonlyArray<Uint8Array>>, breakAtEnd: boolean): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> => {
  const stream = Stream.fromIterable(batches).pipe(Stream.flatMap((batch) => Stream.fromIterable(batch)), Stream.rechunk(3))
  return breakAtEnd
    ? Stream.concat(stream, Stream.fail(new HttpClientError.HttpClientError({ reason: new HttpClientError.TransportError({ request, cause: new Error("socket hang up") }) })))
    : stream
}

type Outcome = { readonly chunks: ReadonlyArray<Chat.ChatChunk>; readonly error: LlmError.LlmError | undefined }
const run = (stream: Stream.Stream<Chat.ChatChunk, LlmError.LlmError>) =>
  Effect.gen(function*() {
    const chunks: Array<Chat.ChatChunk> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (chunk) => Effect.sync(() => void chunks.push(chunk))))
    const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
    return { chunks, error: error?._tag === "Some" ? error.value : undefined } satisfies Outcome
  })

/** Every event and how the events end (done, or the failure's tag), with the text seen on the way. */
const collect = (stream: Stream.Stream<Sse.Event, unknown>) =>
  Effect.map(Effect.exit(Stream.runCollect(stream)), (exit) => {
    if (Exit.isSuccess(exit)) return { events: exit.value.map((e) => ({ ...e })), end: "done" }
    const error = Cause.findErrorOption(exit.cause)
    return { events: [], end: error._tag === "Some" ? String((error.value as { _tag?: string })._tag) : "defect" }
  })

describe("ChunkStream", () => {
  it.effect("decodes exactly the events of Effect's decodeText + Sse.decode pipeline, however the bytes are cut", () =>
    Effect.gen(function*() {
      const next = random(7)
      let cases = 0
      for (const text of bodies) {
        for (let round = 0; round < 40; round++) {
          const batches = split(text, next)
          const breaks = round % 5 === 4
          const expected = yield* collect(referenceEvents(bodyOf(batches, breaks)))
          let seen = ""
          const fused = yield* collect(Stream.transformPull(bodyOf(batches, breaks), (pull) =>
            Effect.sync(() => ChunkStream.events(pull, (text) => void (seen += text)))))
          // Events only come out of a successful run of the reference: compare those, and how each run ends.
          if (expected.end === "done") assert.deepStrictEqual(fused.events, expected.events, text)
          assert.strictEqual(fused.end, expected.end, text)
          // The text on the way is the body's, up to where the events stopped (a `retry:` stops them early).
          const sent = text.replace(/^\uFEFF/, "")
          assert.isTrue(sent.startsWith(seen), text)
          if (!breaks && fused.end === "done") assert.strictEqual(seen, sent)
          cases++
        }
      }
      assert.strictEqual(cases, bodies.length * 40)
      // A body cut inside a UTF-8 sequence: the decoder's end-of-stream flush is seen too.
      const cut = [[new Uint8Array([...new TextEncoder().encode("data: [DONE]\n\n"), 0xe2, 0x82])]]
      let seen = ""
      const tail = yield* collect(Stream.transformPull(bodyOf(cut, false), (pull) =>
        Effect.sync(() => ChunkStream.events(pull, (text) => void (seen += text)))))
      assert.deepStrictEqual(tail, yield* collect(referenceEvents(bodyOf(cut, false))))
      assert.strictEqual(seen, "data: [DONE]\n\n\uFFFD")
    }))

  it.effect("turns the events into chunks up to [DONE]; an error event, bad data, a retry directive or no [DONE] fail it", () =>
    Effect.gen(function*() {
      const outcome = (text: string) =>
        run(ChunkStream.chunks(bodyOf(split(text, random(11)), false), context, { usage: undefined, firstChunkAt: undefined }))
      const ok = yield* outcome(bodies[0]!)
      assert.deepStrictEqual(ok.chunks.map((c) => c.choices[0]?.delta.content), ["Hel", "lo ✓ — ünïcödé 🎉"])
      assert.isUndefined(ok.error)
      const crlf = yield* outcome(bodies[1]!)
      assert.deepStrictEqual(crlf.chunks.map((c) => c.choices[0]?.delta.content), ["crlf", "two"])
      const bom = yield* outcome(bodies[2]!)
      assert.deepStrictEqual(bom.chunks.map((c) => c.choices[0]?.delta.content), ["bom"])
      const afterDone = yield* outcome(bodies[11]!)
      assert.deepStrictEqual(afterDone.chunks.map((c) => c.choices[0]?.delta.content), ["multi"])
      assert.isUndefined(afterDone.error)
      const errorEvent = yield* outcome(bodies[4]!)
      assert.deepStrictEqual(errorEvent.chunks.map((c) => c.choices[0]?.delta.content), ["a"])
      assert.isDefined(errorEvent.error)
      const retry = yield* outcome(bodies[6]!)
      assert.strictEqual(retry.chunks[0]?.choices[0]?.delta.content, "a")
      assert.include(retry.error?.message ?? "", "retry")
      for (const broken of [bodies[7]!, bodies[8]!, bodies[9]!, ""]) {
        assert.isDefined((yield* outcome(broken)).error, broken)
      }
    }))

  it.effect("an upstream that breaks mid-body fails with ConnectionFailed after the chunks that arrived", () =>
    Effect.gen(function*() {
      const text = `data: ${chunkJson("a")}\n\ndata: ${chunkJson("b")}\n\n`
      const outcome = yield* run(ChunkStream.chunks(bodyOf(split(text, random(3)), true), context, { usage: undefined, firstChunkAt: undefined }))
      assert.deepStrictEqual(outcome.chunks.map((c) => c.choices[0]?.delta.content), ["a", "b"])
      assert.strictEqual(outcome.error?._tag, "ConnectionFailed")
    }))

  it.effect("keeps the first bytes (scrubbed) for a malformed stream's error body", () =>
    Effect.gen(function*() {
      const text = `data: sk-test-secret-123456 is not json\n\n`
      const outcome = yield* run(ChunkStream.chunks(bodyOf(split(text, random(5)), false), context, { usage: undefined, firstChunkAt: undefined }))
      assert.strictEqual(outcome.error?._tag, "InternalServerError")
      assert.notInclude(JSON.stringify(outcome.error), "sk-test-secret-123456")
    }))

  it.effect("after [DONE] the rest of the body is read to its end before the stream lets go of it", () =>
    Effect.gen(function*() {
      let endedNaturally = false
      const body = bodyOf(split(`data: ${chunkJson("a")}\n\ndata: [DONE]\n\n`, random(13)), false).pipe(
        Stream.concat(Stream.make(new TextEncoder().encode(": trailing bytes after the end\n\n"))),
        Stream.onEnd(Effect.sync(() => {
          endedNaturally = true
        }))
      )
      const outcome = yield* run(ChunkStream.chunks(body, context, { usage: undefined, firstChunkAt: undefined }))
      assert.deepStrictEqual(outcome.chunks.map((c) => c.choices[0]?.delta.content), ["a"])
      assert.isUndefined(outcome.error)
      assert.isTrue(endedNaturally, "the body was read to its end, not dropped")
    }))

  it.live("an end that follows [DONE] a moment later (a packet of its own) is still read, so the connection is kept", () =>
    Effect.gen(function*() {
      let endedNaturally = false
      const body = bodyOf(split(`data: ${chunkJson("a")}\n\ndata: [DONE]\n\n`, random(19)), false).pipe(
        // A few event-loop turns and timer ticks behind the last event, as a separate read would be.
        Stream.concat(Stream.fromEffectDrain(Effect.sleep("5 millis"))),
        Stream.onEnd(Effect.sync(() => {
          endedNaturally = true
        }))
      )
      const outcome = yield* run(ChunkStream.chunks(body, context, { usage: undefined, firstChunkAt: undefined }))
      assert.deepStrictEqual(outcome.chunks.map((c) => c.choices[0]?.delta.content), ["a"])
      assert.isTrue(endedNaturally, "the body was read to its end, not dropped")
    }))

  it.live("a body kept open after [DONE] does not hold the stream: it is let go after StreamingHttp.DRAIN_AFTER_END_MS", () =>
    Effect.gen(function*() {
      const body = bodyOf(split(`data: ${chunkJson("a")}\n\ndata: [DONE]\n\n`, random(17)), false).pipe(
        Stream.concat(Stream.never)
      )
      const outcome = yield* run(ChunkStream.chunks(body, context, { usage: undefined, firstChunkAt: undefined }))
      assert.deepStrictEqual(outcome.chunks.map((c) => c.choices[0]?.delta.content), ["a"])
      assert.isUndefined(outcome.error)
    }))
})

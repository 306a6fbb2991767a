import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { Chat } from "@llm-router/core"
import { SchemaFuzz } from "@llm-router/testing"
import * as PlainChatRequest from "../src/PlainChatRequest.ts"
import * as RequestBody from "../src/RequestBody.ts"

const decodeSchema = Schema.decodeUnknownResult(Chat.ChatRequest)

/** The Schema's verdict: the decoded value as JSON (key order included), or "rejected". */
const bySchema = (json: unknown): string => {
  const decoded = decodeSchema(json, { errors: "all" })
  return Result.isSuccess(decoded) ? JSON.stringify(decoded.success) : "rejected"
}

/** The fast path's verdict; `undefined` when it leaves the body to the Schema. */
const byFastPath = (json: Record<string, unknown>): string | undefined => {
  const decoded = PlainChatRequest.decode(json)
  return decoded === undefined ? undefined : JSON.stringify(decoded)
}

const user = { role: "user", content: "Say hello." }

/** Bodies as clients send them; the fast path must take every one of these itself. */
const common: ReadonlyArray<Record<string, unknown>> = [
  { model: "gpt-4o", messages: [user] },
  { model: "gpt-4o", messages: [user], stream: true },
  { messages: [user], model: "gpt-4o", stream: true, stream_options: { include_usage: true } },
  { model: "m", messages: [{ role: "system", content: "Be brief." }, user, { role: "assistant", content: "Hi." }, user] },
  { model: "m", messages: [{ role: "developer", content: "x", name: "dev" }, { content: "hi", role: "user", name: "ann" }] },
  {
    model: "m",
    messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } }] }],
    max_tokens: 100,
    temperature: 0.2,
    top_p: 1,
    n: 1,
    stop: ["\n"],
    user: "u-1",
    seed: 7,
    logprobs: false
  },
  {
    model: "m",
    messages: [
      user,
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "call_1", content: "42" }
    ],
    parallel_tool_calls: true
  },
  { model: "m", messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "AA", format: "wav" } }] }] },
  { model: "m", messages: [{ role: "user", content: "hi", cache_control: { type: "ephemeral" } }], metadata: { tags: ["fast"], trace: "t" } },
  { model: "m", messages: [user], max_completion_tokens: null, temperature: null, stop: null, stream: null, stream_options: null },
  { model: "m", messages: [{ role: "assistant" }, { role: "assistant", refusal: "no", content: [] }] },
  { fallbacks: ["other"], model: "m", num_retries: 2, messages: [user], mock_response: "x" }
]

/** Bodies the Schema refuses or that need it: the fast path must never accept a refused one. */
const unusual: ReadonlyArray<Record<string, unknown>> = [
  { model: "m" },
  { model: "m", messages: [] },
  { model: 5, messages: [user] },
  { messages: [user] },
  { model: "m", messages: user },
  { model: "m", messages: [{ role: "user" }] },
  { model: "m", messages: [{ role: "robot", content: "x" }] },
  { model: "m", messages: [{ role: "user", content: "x", name: 5 }] },
  { model: "m", messages: [{ role: "user", content: 5 }] },
  { model: "m", messages: [{ role: "tool", content: "x" }] },
  { model: "m", messages: [{ role: "assistant", content: 5 }] },
  { model: "m", messages: [{ role: "assistant", refusal: 5 }] },
  { model: "m", messages: [{ role: "assistant", tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: "{}", x: 1 }, index: 0 }] }] },
  { model: "m", messages: [{ role: "assistant", tool_calls: [{ id: "a", type: "other", function: { name: "f", arguments: "{}" } }] }] },
  { model: "m", messages: [{ role: "assistant", tool_calls: {} }] },
  { model: "m", messages: [{ role: "user", content: [{ type: "text", text: 5 }] }] },
  { model: "m", messages: [{ role: "user", content: [{ text: "hi" }] }] },
  { model: "m", messages: [{ role: "user", content: [{ x: 1, text: "hi", type: "text" }] }] },
  { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "u", x: 1 } }] }] },
  { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { detail: "high", url: "u" } }] }] },
  { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "u", detail: "medium" } }] }] },
  { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: 5 } }] }] },
  { model: "m", messages: [{ role: "user", content: [5] }] },
  { model: "m", messages: [user], max_tokens: -1 },
  { model: "m", messages: [user], max_tokens: 1.5 },
  { model: "m", messages: [user], max_tokens: 2 ** 53 },
  { model: "m", messages: [user], n: "1" },
  { model: "m", messages: [user], temperature: "hot" },
  { model: "m", messages: [user], temperature: Number.POSITIVE_INFINITY },
  { model: "m", messages: [user], top_p: Number.NaN },
  { model: "m", messages: [user], stop: [1] },
  { model: "m", messages: [user], stream: "yes" },
  { model: "m", messages: [user], stream_options: { include_usage: "yes" } },
  { model: "m", messages: [user], stream_options: { include_usage: true, extra: 1 } },
  { model: "m", messages: [user], stream_options: [] },
  { model: "m", messages: [user], parallel_tool_calls: null },
  { model: "m", messages: [user], user: null },
  { model: "m", messages: [user], metadata: null },
  { model: "m", messages: [user], metadata: { tags: "a" } },
  { model: "m", messages: [user], tools: [{ type: "function", function: { name: "f" } }], tool_choice: "auto" },
  { model: "m", messages: [user], tools: [{ type: "function" }] },
  { model: "m", messages: [user], response_format: { type: "json_object" } },
  { model: "m", messages: [user], response_format: { type: "yaml" } },
  JSON.parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"__proto__\":{\"a\":1}}],\"__proto__\":5}"),
  JSON.parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1e400}")
]

/** A deterministic generator (mulberry32), so a failure reproduces. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const keysSeen = ["model", "messages", "stream", "stream_options", "max_tokens", "temperature", "stop", "n", "user", "metadata", "tags", "role", "content", "name", "text", "type", "image_url", "url", "detail", "tool_calls", "tool_call_id", "id", "function", "arguments", "refusal", "include_usage", "extra", "0"]
const values: ReadonlyArray<unknown> = [null, true, false, 0, -1, 1.5, 2, 1e21, "", "user", "assistant", "tool", "text", "image_url", "function", "auto", "x", [], [1], ["a"], {}, { type: "text", text: "t" }, [user], { url: "u" }]

/** Mutates a deep copy at one random spot: sets, deletes, or moves a key to the front. */
const mutate = (body: unknown, next: () => number): unknown => {
  const copy = JSON.parse(JSON.stringify(body)) as unknown
  const containers: Array<Record<string, unknown> | Array<unknown>> = []
  const walk = (u: unknown) => {
    if (typeof u !== "object" || u === null) return
    containers.push(u as Record<string, unknown>)
    for (const v of Object.values(u)) walk(v)
  }
  walk(copy)
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(next() * xs.length)]!
  const target = pick(containers)
  const action = next()
  if (Array.isArray(target)) {
    if (action < 0.3 && target.length > 0) target.pop()
    else target.push(pick(values))
    return copy
  }
  const present = Object.keys(target)
  if (action < 0.25 && present.length > 0) delete target[pick(present)]
  else if (action < 0.4 && present.length > 0) {
    const key = pick(present)
    const value = target[key]
    delete target[key]
    const rest = { ...target }
    for (const k of Object.keys(target)) delete target[k]
    Object.assign(target, { [key]: value }, rest)
  } else target[pick(keysSeen)] = pick(values)
  return copy
}

describe("PlainChatRequest", () => {
  it("takes the common bodies itself, with exactly the Schema's result (values and key order)", () => {
    for (const body of common) {
      const fast = byFastPath(body)
      assert.isDefined(fast, JSON.stringify(body))
      assert.strictEqual(fast, bySchema(body), JSON.stringify(body))
    }
  })

  it("never accepts a body the Schema refuses, and agrees with it whenever it answers", () => {
    let answered = 0
    let refusedBySchema = 0
    const check = (body: unknown) => {
      if (typeof body !== "object" || body === null || Array.isArray(body)) return
      const fast = byFastPath(body as Record<string, unknown>)
      const schema = bySchema(body)
      if (schema === "rejected") refusedBySchema++
      if (fast === undefined) return
      answered++
      assert.strictEqual(fast, schema, JSON.stringify(body))
    }
    for (const body of unusual) check(body)
    const next = random(20261123)
    for (let i = 0; i < 4_000; i++) {
      let body: unknown = common[i % common.length]
      const steps = 1 + Math.floor(next() * 3)
      for (let s = 0; s < steps; s++) body = mutate(body, next)
      check(body)
    }
    // Both sides were exercised: many bodies answered by the fast path, many refused by the Schema.
    assert.isAbove(answered, 1_000)
    assert.isAbove(refusedBySchema, 1_000)
  })

  it("agrees with the Schema on values generated from the Schema's arbitrary, mutated", () => {
    const verdicts = SchemaFuzz.judge({
      schema: Chat.ChatRequest,
      fast: byFastPath,
      bySchema: (value) => {
        const verdict = bySchema(value)
        return verdict === "rejected" ? undefined : verdict
      },
      literals: ["user", "assistant", "system", "developer", "tool", "text", "image_url", "function", "auto", "low"],
      seed: 20261206,
      rounds: 6_000
    })
    assert.deepStrictEqual(verdicts.disagreements.slice(0, 3), [])
    assert.isAbove(verdicts.fastAccepted, 500)
    assert.isAbove(verdicts.schemaRefused, 500)
  })

  it("malformed text and image parts are refused, not forwarded as other parts", () => {
    for (const part of [{ type: "text" }, { type: "text", text: 5 }, { type: "image_url", image_url: 5 }, { type: "image_url" }]) {
      const body = { model: "m", messages: [{ role: "user", content: [part] }] }
      const read = RequestBody.chatRequest(Buffer.from(JSON.stringify(body)))
      assert.isTrue(Result.isFailure(read), JSON.stringify(part))
      if (Result.isFailure(read)) assert.strictEqual(read.failure.status, 400)
    }
  })

  it("the gateway's body check gives the Schema's answer: the value, or a 400 naming the same field", () => {
    for (const body of [...common, ...unusual]) {
      const read = RequestBody.chatRequest(Buffer.from(JSON.stringify(body)))
      const reference = decodeSchema(JSON.parse(JSON.stringify(body)), { errors: "all" })
      assert.strictEqual(Result.isSuccess(read), Result.isSuccess(reference), JSON.stringify(body))
      if (Result.isSuccess(read) && Result.isSuccess(reference)) {
        assert.strictEqual(JSON.stringify(read.success), JSON.stringify(reference.success))
      }
      if (Result.isFailure(read)) {
        assert.strictEqual(read.failure.status, 400)
        assert.strictEqual(read.failure.code, "invalid_request")
      }
    }
    const wrong = RequestBody.chatRequest(Buffer.from(JSON.stringify({ model: "m", messages: [user], temperature: "hot" })))
    assert.isTrue(Result.isFailure(wrong))
    if (Result.isFailure(wrong)) assert.strictEqual(wrong.failure.param, "temperature")
  })
})

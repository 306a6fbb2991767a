import { assert, describe, it } from "@effect/vitest"
import { Chat } from "@llm-router/core"
import { GeminiResponse, GeminiWire } from "@llm-router/google"
import { Duration } from "effect"

const origin = { provider: "gemini", deployment: "gemini/test" }
const meta = { created: 1_700_000_000, model: "gemini-2.5-flash" }

const decode = (json: unknown): GeminiWire.GenerateContentResponse => {
  const result = GeminiWire.decodeResponseJson(JSON.stringify(json))
  if (result._tag === "Failure") throw new Error(result.failure.message)
  return result.success
}

const answer = (json: unknown) => {
  const result = GeminiResponse.toChatResponse(decode(json), origin, meta)
  if (result._tag === "Failure") throw new Error(`unexpected ${result.failure._tag}: ${result.failure.message}`)
  return result.success
}

const failure = (json: unknown) => {
  const result = GeminiResponse.toChatResponse(decode(json), origin, meta, JSON.stringify(json))
  if (result._tag === "Success") throw new Error("expected a failure")
  return result.failure
}

const candidate = (parts: ReadonlyArray<unknown>, finishReason?: string) => ({
  content: { role: "model", parts },
  ...(finishReason !== undefined ? { finishReason } : {}),
  index: 0
})

describe("GeminiResponse.toChatResponse", () => {
  it("joins text parts, keeps thoughts apart and maps usage (thoughts count as completion)", () => {
    const response = answer({
      candidates: [candidate([{ text: "thinking…", thought: true }, { text: "3°C " }, { text: "and raining." }], "STOP")],
      usageMetadata: {
        promptTokenCount: 52,
        candidatesTokenCount: 8,
        thoughtsTokenCount: 15,
        cachedContentTokenCount: 20,
        toolUsePromptTokenCount: 4,
        totalTokenCount: 79
      },
      modelVersion: "gemini-2.5-flash-001",
      responseId: "abc",
      unknownNewField: { anything: true }
    })
    assert.strictEqual(response.id, "chatcmpl-abc")
    assert.strictEqual(response.model, "gemini-2.5-flash-001")
    assert.strictEqual(response.created, meta.created)
    const choice = response.choices[0]!
    assert.strictEqual(choice.message.content, "3°C and raining.")
    assert.strictEqual(choice.message["reasoning_content"], "thinking…")
    assert.strictEqual(choice.finish_reason, "stop")
    assert.deepStrictEqual(response.usage, {
      prompt_tokens: 56,
      completion_tokens: 23,
      total_tokens: 79,
      prompt_tokens_details: { cached_tokens: 20 },
      completion_tokens_details: { reasoning_tokens: 15 }
    })
  })

  it("turns functionCall parts into tool_calls with generated ids and JSON arguments", () => {
    const response = answer({
      candidates: [candidate([
        { functionCall: { name: "weather", args: { city: "Oslo" } }, thoughtSignature: "sig" },
        { functionCall: { name: "time" } }
      ], "STOP")]
    })
    const message = response.choices[0]!.message
    assert.strictEqual(message.content, null)
    assert.deepStrictEqual(message.tool_calls, [
      { id: "call_0__thought__sig", type: "function", function: { name: "weather", arguments: "{\"city\":\"Oslo\"}" } },
      { id: "call_1", type: "function", function: { name: "time", arguments: "{}" } }
    ])
    assert.strictEqual(response.choices[0]!.finish_reason, "tool_calls")
    assert.strictEqual(response.usage, undefined)
  })

  it("puts thought summaries in reasoning_content, joined, and never in content", () => {
    const response = answer({
      candidates: [candidate([
        { text: "The user wants the weather. ", thought: true },
        { text: "Oslo is cold in winter.", thought: true, thoughtSignature: "c2ln" },
        { text: "It is 3°C" },
        { text: " in Oslo." }
      ], "STOP")]
    })
    const message = response.choices[0]!.message
    assert.strictEqual(message.content, "It is 3°C in Oslo.")
    assert.strictEqual(message.reasoning_content, "The user wants the weather. Oslo is cold in winter.")
    assert.notInclude(message.content ?? "", "weather")
    assert.strictEqual(response.choices[0]!.finish_reason, "stop")
  })

  it("keeps thoughts apart from tool calls, and answers an all-thought candidate with empty content", () => {
    const withCall = answer({
      candidates: [candidate([{ text: "I should look it up.", thought: true }, { functionCall: { name: "weather", args: { city: "Oslo" } } }], "STOP")]
    }).choices[0]!
    assert.strictEqual(withCall.message.content, null)
    assert.strictEqual(withCall.message.reasoning_content, "I should look it up.")
    assert.strictEqual(withCall.message.tool_calls?.length, 1)
    assert.strictEqual(withCall.finish_reason, "tool_calls")
    const onlyThought = answer({ candidates: [candidate([{ text: "Hmm.", thought: true }], "MAX_TOKENS")] }).choices[0]!
    assert.strictEqual(onlyThought.message.content, "")
    assert.strictEqual(onlyThought.message.reasoning_content, "Hmm.")
    assert.strictEqual(onlyThought.finish_reason, "length")
  })

  it("adds no reasoning_content or reasoning_tokens when Gemini did not think", () => {
    const response = answer({
      candidates: [candidate([{ text: "Hi" }, { text: "", thought: true }], "STOP")],
      usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 1, totalTokenCount: 3 }
    })
    assert.deepStrictEqual(response.choices[0]!.message, { role: "assistant", content: "Hi" })
    assert.deepStrictEqual(response.usage, { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 })
  })

  it("reports thoughtsTokenCount as reasoning_tokens, inside completion_tokens", () => {
    assert.deepStrictEqual(
      GeminiResponse.usage({ promptTokenCount: 10, candidatesTokenCount: 7, thoughtsTokenCount: 120, totalTokenCount: 137 }),
      { prompt_tokens: 10, completion_tokens: 127, total_tokens: 137, completion_tokens_details: { reasoning_tokens: 120 } }
    )
    // Thinking that was asked off still reports its (zero) count.
    assert.deepStrictEqual(
      GeminiResponse.usage({ promptTokenCount: 10, candidatesTokenCount: 7, thoughtsTokenCount: 0, totalTokenCount: 17 }),
      { prompt_tokens: 10, completion_tokens: 7, total_tokens: 17, completion_tokens_details: { reasoning_tokens: 0 } }
    )
    assert.strictEqual(GeminiResponse.usage(undefined), undefined)
  })

  const finishCases: ReadonlyArray<readonly [string | undefined, Chat.FinishReason]> = [
    ["STOP", "stop"],
    ["MAX_TOKENS", "length"],
    ["SAFETY", "content_filter"],
    ["RECITATION", "content_filter"],
    ["BLOCKLIST", "content_filter"],
    ["PROHIBITED_CONTENT", "content_filter"],
    ["SPII", "content_filter"],
    ["IMAGE_SAFETY", "content_filter"],
    ["OTHER", "stop"],
    ["MALFORMED_FUNCTION_CALL", "stop"],
    [undefined, "stop"]
  ]
  for (const [gemini, openai] of finishCases) {
    it(`maps finishReason ${gemini ?? "(absent)"} to ${openai}`, () => {
      const response = answer({ candidates: [candidate(gemini === "SAFETY" ? [] : [{ text: "x" }], gemini)] })
      assert.strictEqual(response.choices[0]!.finish_reason, openai)
    })
  }

  it("keeps every candidate as a choice", () => {
    const response = answer({
      candidates: [
        { content: { parts: [{ text: "a" }] }, finishReason: "STOP", index: 0 },
        { content: { parts: [{ text: "b" }] }, finishReason: "MAX_TOKENS", index: 1 }
      ]
    })
    assert.deepStrictEqual(response.choices.map((c) => [c.index, c.message.content, c.finish_reason]), [[0, "a", "stop"], [1, "b", "length"]])
  })

  it("reports a blocked prompt (200, no candidates) as ContentPolicyViolation", () => {
    const error = failure({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, usageMetadata: { promptTokenCount: 5, totalTokenCount: 5 } })
    assert.strictEqual(error._tag, "ContentPolicyViolation")
    assert.strictEqual(error.status, 200)
    assert.include(error.message, "PROHIBITED_CONTENT")
    assert.strictEqual(error.deployment, "gemini/test")
  })

  it("reports a 200 without candidates or block reason as malformed, and an error body by its status", () => {
    const empty = failure({ modelVersion: "x" })
    assert.strictEqual(empty._tag, "InternalServerError")
    assert.include(empty.message, "could not be read")
    const inBand = failure({ error: { code: 429, message: "slow down", status: "RESOURCE_EXHAUSTED" } })
    assert.strictEqual(inBand._tag, "RateLimited")
  })

  it("does not decode a body that breaks the documented types", () => {
    assert.strictEqual(GeminiWire.decodeResponseJson("{\"candidates\":\"nope\"}")._tag, "Failure")
    assert.strictEqual(GeminiWire.decodeResponseJson("<html>")._tag, "Failure")
  })
})

describe("GeminiResponse.StreamTranslator", () => {
  const push = (t: GeminiResponse.StreamTranslator, json: unknown) => {
    const out = t.push(decode(json))
    if (!Array.isArray(out)) throw new Error(`unexpected ${out._tag}`)
    return out
  }

  it("emits role first, deltas, complete tool calls, finish, then usage with no choices", () => {
    const t = new GeminiResponse.StreamTranslator(origin, meta)
    const chunks = [
      ...push(t, { candidates: [candidate([{ text: "Hel" }])], usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 }, responseId: "r1" }),
      ...push(t, { candidates: [candidate([{ text: "lo" }, { functionCall: { name: "f", args: { a: 1 } } }])], responseId: "r1" }),
      ...push(t, {
        candidates: [candidate([{ functionCall: { name: "g", args: {} } }], "STOP")],
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, thoughtsTokenCount: 2, totalTokenCount: 9 }
      })
    ]
    const end = t.end()
    if (!Array.isArray(end)) throw new Error(end.message)
    const all = [...chunks, ...end]
    assert.deepStrictEqual(all[0]!.choices[0]!.delta, { role: "assistant", content: "" })
    assert.deepStrictEqual(all.slice(1, 3).map((c) => c.choices[0]!.delta.content), ["Hel", "lo"])
    assert.deepStrictEqual(all[2]!.choices[0]!.delta.tool_calls, [
      { index: 0, id: "call_0", type: "function", function: { name: "f", arguments: "{\"a\":1}" } }
    ])
    assert.deepStrictEqual(all[3]!.choices[0]!.delta.tool_calls, [
      { index: 1, id: "call_1", type: "function", function: { name: "g", arguments: "{}" } }
    ])
    assert.strictEqual(all[4]!.choices[0]!.finish_reason, "tool_calls")
    const last = all[all.length - 1]!
    assert.deepStrictEqual(last.choices, [])
    assert.deepStrictEqual(last.usage, {
      prompt_tokens: 3,
      completion_tokens: 6,
      total_tokens: 9,
      completion_tokens_details: { reasoning_tokens: 2 }
    })
    assert.isTrue(all.every((c) => c.id === "chatcmpl-r1" && c.object === "chat.completion.chunk"))
  })

  it("streams thought summaries as reasoning_content deltas, in order, apart from the answer", () => {
    const t = new GeminiResponse.StreamTranslator(origin, meta)
    const chunks = [
      ...push(t, { candidates: [candidate([{ text: "Thinking about ", thought: true }])], responseId: "r2" }),
      ...push(t, { candidates: [candidate([{ text: "the weather.", thought: true }])], responseId: "r2" }),
      ...push(t, { candidates: [candidate([{ text: "It is " }])], responseId: "r2" }),
      ...push(t, {
        candidates: [candidate([{ text: "cold." }], "STOP")],
        usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3, thoughtsTokenCount: 40, totalTokenCount: 48 },
        responseId: "r2"
      })
    ]
    const end = t.end()
    if (!Array.isArray(end)) throw new Error(end.message)
    const all = [...chunks, ...end]
    assert.deepStrictEqual(all.map((c) => c.choices[0]?.delta), [
      { role: "assistant", content: "" },
      { reasoning_content: "Thinking about " },
      { reasoning_content: "the weather." },
      { content: "It is " },
      { content: "cold." },
      {},
      undefined
    ])
    assert.deepStrictEqual(all.map((c) => c.choices[0]?.finish_reason), [null, null, null, null, null, "stop", undefined])
    assert.deepStrictEqual(all[all.length - 1]!.usage, {
      prompt_tokens: 5,
      completion_tokens: 43,
      total_tokens: 48,
      completion_tokens_details: { reasoning_tokens: 40 }
    })
    // Reasoning is something the caller sees: it counts as content for the router's failover rule.
    assert.deepStrictEqual(all.map(Chat.chunkHasContent), [false, true, true, true, true, true, false])
  })

  it("splits an event with thought and answer parts into reasoning_content and content of one delta", () => {
    const t = new GeminiResponse.StreamTranslator(origin, meta)
    const chunks = push(t, {
      candidates: [candidate([{ text: "Plan: call weather.", thought: true }, { text: "Checking." }, { functionCall: { name: "weather", args: {} } }], "STOP")]
    })
    assert.deepStrictEqual(chunks[1]!.choices[0]!.delta, {
      content: "Checking.",
      reasoning_content: "Plan: call weather.",
      tool_calls: [{ index: 0, id: "call_0", type: "function", function: { name: "weather", arguments: "{}" } }]
    })
    assert.strictEqual(chunks[2]!.choices[0]!.finish_reason, "tool_calls")
    assert.strictEqual(chunks.length, 3)
  })

  it("fails a stream that ends before finishReason, or before any candidate", () => {
    const cut = new GeminiResponse.StreamTranslator(origin, meta)
    push(cut, { candidates: [candidate([{ text: "Hel" }])] })
    const error = cut.end()
    assert.isFalse(Array.isArray(error))
    if (!Array.isArray(error)) {
      assert.strictEqual(error._tag, "InternalServerError")
      assert.include(error.message, "finishReason")
    }
    const nothing = new GeminiResponse.StreamTranslator(origin, meta).end()
    assert.isFalse(Array.isArray(nothing))
  })

  it("turns an in-stream error chunk into its LlmError, with the retry hint", () => {
    const t = new GeminiResponse.StreamTranslator(origin, meta)
    const error = t.push(decode({
      error: {
        code: 503,
        message: "The model is overloaded.",
        status: "UNAVAILABLE",
        details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "2s" }]
      }
    }))
    if (Array.isArray(error)) throw new Error("expected an error")
    assert.strictEqual(error._tag, "ServiceUnavailable")
    assert.strictEqual(error._tag === "ServiceUnavailable" && error.retryAfter !== undefined ? Duration.toMillis(error.retryAfter) : -1, 2000)
  })
})

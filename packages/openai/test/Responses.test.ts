/**
 * The Responses API translation: a streamed answer ends in the same `Response` as the same answer
 * not streamed, its events are well ordered, and Claude's signed thinking survives the round trip
 * through a reasoning item; a native call sends back only what OpenAI can read.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chat, type LlmClient, LlmError } from "@llm-router/core"
import { Effect, Result, Stream } from "effect"
import * as ResponsesRequest from "../src/ResponsesRequest.ts"
import * as ResponsesResponse from "../src/ResponsesResponse.ts"
import * as EncryptedReasoning from "../src/internal/EncryptedReasoning.ts"
import * as ResponsesStream from "../src/ResponsesStream.ts"

const chunk = (delta: Chat.Delta, finish: Chat.FinishReason | null = null, usage?: Chat.Usage): Chat.ChatChunk => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "claude-sonnet-4-5",
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...(usage !== undefined ? { usage } : {})
})

const signed = { type: "thinking", thinking: "Let me think.", signature: "sig-123" }
const usage: Chat.Usage = { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, prompt_tokens_details: { cached_tokens: 4 } }

/** An answer that thinks, writes, then calls two tools, in small pieces. */
const answer: ReadonlyArray<Chat.ChatChunk> = [
  chunk({ role: "assistant", content: "" }),
  chunk({ reasoning_content: "Let me " }),
  chunk({ reasoning_content: "think." }),
  chunk({ thinking_blocks: [signed] }),
  chunk({ content: "Checking " }),
  chunk({ content: "the weather." }),
  chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: "{\"city\":" } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: "\"Paris\"}" } }] }),
  chunk({ tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "get_time", arguments: "{}" } }] }),
  chunk({}, "tool_calls"),
  { ...chunk({}), choices: [], usage }
]

const request = (fields: Record<string, unknown> = {}): ResponsesRequest.ResponsesRequest => {
  const decoded = ResponsesRequest.decode({ model: "claude", input: "Weather?", ...fields })
  if (Result.isFailure(decoded)) throw new Error(decoded.failure.message)
  return decoded.success
}

describe("Responses API translation", () => {
  it("a streamed answer ends in the Response the same answer gets unstreamed", () => {
    const ids = ResponsesResponse.idsFor("resp_test")
    const translator = new ResponsesStream.Translator(request(), ids, 100)
    const events = [...translator.start(), ...answer.flatMap((c) => translator.push(c))]
    const end = translator.end(200)
    events.push(...end.events)
    const plain = ResponsesResponse.fromChat(request(), Chat.collectChunks(answer), ids, 100, 200)
    assert.deepStrictEqual(end.response, plain)
    assert.deepStrictEqual(plain.output.map((item) => item.type), ["reasoning", "message", "function_call", "function_call"])
    assert.strictEqual(plain.output_text, "Checking the weather.")
    assert.deepStrictEqual(plain.usage, {
      input_tokens: 12,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: 7,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 19
    })
    // Sequence numbers count up from 0; every item added is done once, in output order.
    assert.deepStrictEqual(events.map((e) => e["sequence_number"]), events.map((_, i) => i))
    const added = events.filter((e) => e.type === "response.output_item.added").map((e) => e["output_index"])
    const done = events.filter((e) => e.type === "response.output_item.done").map((e) => e["output_index"])
    assert.deepStrictEqual(added, [0, 1, 2, 3])
    assert.deepStrictEqual([...done].sort(), [0, 1, 2, 3])
    const args = events.filter((e) => e.type === "response.function_call_arguments.delta" && e["output_index"] === 2).map((e) => e["delta"])
    assert.strictEqual(args.join(""), "{\"city\":\"Paris\"}")
    assert.strictEqual(events.at(-1)?.type, "response.completed")
  })

  it("a cut-short answer is incomplete, with the reason", () => {
    const ids = ResponsesResponse.idsFor("resp_short")
    const cut = [chunk({ content: "Once upon" }), chunk({}, "length")]
    const translator = new ResponsesStream.Translator(request(), ids, 1)
    for (const c of cut) translator.push(c)
    const { events, response } = translator.end(2)
    assert.strictEqual(response.status, "incomplete")
    assert.deepStrictEqual(response.incomplete_details, { reason: "max_output_tokens" })
    assert.strictEqual(events.at(-1)?.type, "response.incomplete")
    assert.deepStrictEqual(response, ResponsesResponse.fromChat(request(), Chat.collectChunks(cut), ids, 1, 2))
  })

  it("Claude's signed thinking goes back as thinking_blocks on the assistant turn after its reasoning item", () => {
    const ids = ResponsesResponse.idsFor("resp_think")
    const output = ResponsesResponse.fromChat(request(), Chat.collectChunks(answer), ids, 1, 2).output
    const next = ResponsesRequest.toChat(
      request(),
      [{ role: "user", content: "Weather?" }, ...(output as unknown as ReadonlyArray<ResponsesRequest.Item>), {
        type: "function_call_output",
        call_id: "call_a",
        output: "sunny"
      }],
      (i) => `input[${i}]`
    )
    assert.isTrue(Result.isSuccess(next))
    const messages = Result.isSuccess(next) ? next.success.messages : []
    assert.deepStrictEqual(messages.map((m) => m.role), ["user", "assistant", "tool"])
    const assistant = messages[1] as Chat.Message & { thinking_blocks?: unknown; tool_calls?: ReadonlyArray<Chat.ToolCall> }
    assert.deepStrictEqual(assistant.thinking_blocks, [signed])
    assert.strictEqual(assistant.content, "Checking the weather.")
    assert.deepStrictEqual(assistant.tool_calls?.map((c) => c.id), ["call_a", "call_b"])
  })

  it("refuses what chat completions cannot carry, naming the field", () => {
    const refused = (fields: Record<string, unknown>) => {
      const translated = ResponsesRequest.toChat(request(fields), ResponsesRequest.inputItems(request(fields)), (i) => `input[${i}]`)
      return Result.isFailure(translated) ? translated.failure.param : "translated"
    }
    assert.strictEqual(refused({ tools: [{ type: "file_search" }] }), "tools[0].type")
    assert.strictEqual(refused({ input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1" }] }] }), "input[0].content[0]")
    assert.strictEqual(refused({ tools: [{ type: "function", name: "f" }], tool_choice: { type: "web_search" } }), "tool_choice")
    assert.strictEqual(refused({ input: [{ type: "item_reference", id: "msg_x_0" }] }), "input[0]")
  })

  it("tells OpenAI's refusals of the reasoning it was sent from any other failure", () => {
    const origin = { provider: "openai", deployment: "o4-main", status: 400 }
    const body = JSON.stringify({ error: { message: "The encrypted content gAAA...Rg== could not be verified.", type: "invalid_request_error", param: null, code: "invalid_encrypted_content" } })
    const unreadable = [
      new LlmError.BadRequest({ ...origin, message: "The encrypted content gAAA...Rg== could not be verified.", body }),
      // The body cut short of its code: the message says it.
      new LlmError.BadRequest({ ...origin, message: "The encrypted content for item rs_1 could not be verified. Reason: Encrypted content item_id did not match the target item id." }),
      new LlmError.BadRequest({ ...origin, message: "The encrypted content for item rs_1 was not issued to this caller." })
    ]
    for (const error of unreadable) assert.isTrue(ResponsesRequest.isUnreadableReasoning(error), error.message)
    const others = [
      new LlmError.BadRequest({ ...origin, message: "Encrypted content is not supported with this model." }),
      new LlmError.BadRequest({ ...origin, message: "Invalid 'input[2]': unknown parameter." }),
      new LlmError.InternalServerError({ ...origin, status: 500, message: "The encrypted content could not be verified.", body }),
      // An error that echoes the client's text: neither its code nor its message says so.
      new LlmError.BadRequest({
        ...origin,
        message: "Invalid 'input[0].content': 'invalid_encrypted_content: The encrypted content could not be verified' is too long.",
        body: JSON.stringify({ error: { message: "Invalid 'input[0].content': 'invalid_encrypted_content' …", type: "invalid_request_error", param: "input[0].content", code: "string_above_max_length" } })
      })
    ]
    for (const error of others) assert.isFalse(ResponsesRequest.isUnreadableReasoning(error), error.message)
  })

  it("a native call sends each item only as OpenAI can read it: no gateway ids, reasoning only to its issuer", () => {
    const request = ResponsesRequest.decode({ model: "o4-mini", input: "x", store: true, include: ["message.output_text.logprobs"] })
    assert.isTrue(Result.isSuccess(request))
    if (Result.isFailure(request)) return
    const ids = ResponsesResponse.idsFor("resp_0123456789abcdef00000001")
    // OpenAI's answer, adopted: its reasoning marked as o4-main's, under our id.
    const adopted = ResponsesResponse.fromNative(request.success, {
      output: [
        { type: "reasoning", id: "rs_upstream", summary: [], encrypted_content: "gAAAAblob" },
        { type: "function_call", id: "fc_upstream", call_id: "call_1", name: "f", arguments: "{}", status: "completed" }
      ]
    }, ids, { deployment: "o4-main", issuedAt: 1_000 })
    const [reasoning, call] = adopted.output as unknown as ReadonlyArray<Record<string, unknown>>
    assert.strictEqual(reasoning?.["id"], ids.item("rs", 0))
    assert.match(String(reasoning?.["encrypted_content"]), /^llm-router\.openai\.v1:/)
    // Hidden from a client that did not ask, shown to one that did.
    assert.notProperty(ResponsesResponse.forClient(adopted, undefined).output[0], "encrypted_content")
    assert.deepStrictEqual(ResponsesResponse.forClient(adopted, ["reasoning.encrypted_content"]), adopted)

    const claude = ResponsesResponse.reasoningItem("rs_x_0", "thought", [signed])
    const items = [
      { role: "user", content: "x" },
      claude,
      { type: "reasoning", id: "rs_x_1", summary: [{ type: "summary_text", text: "no content" }] },
      { type: "reasoning", id: "rs_client", summary: [], encrypted_content: "gAAAAclient" },
      { type: "message", id: "msg_x_2", status: "completed", role: "assistant", content: [{ type: "output_text", text: "hi" }] },
      { role: "user", content: "y" },
      // A wrapping the gateway did not make whole: never sent anywhere.
      { type: "reasoning", id: "rs_x_3", summary: [], encrypted_content: "llm-router.openai.v1:bad" },
      reasoning,
      call,
      { type: "function_call_output", id: "fco_1", call_id: "call_1", output: "{}" },
      // Raw content under a gateway id (stored before the gateway wrapped it): bound to an upstream id lost since.
      { type: "reasoning", id: ids.item("rs", 5), summary: [], encrypted_content: "gAAAAold" },
      { type: "message", id: ids.item("msg", 6), role: "assistant", content: [{ type: "output_text", text: "done" }] },
      { role: "user", content: "z" },
      // Reasoning no answer followed (a response cut off while reasoning): OpenAI would refuse it.
      reasoning
    ] as unknown as ReadonlyArray<ResponsesRequest.Item>
    const native = (deployment: string, model = "o4-mini") => ResponsesRequest.toNative(request.success, items, [], { deployment, model })
    const body = native("o4-main")
    assert.strictEqual(body["store"], false)
    assert.deepStrictEqual(body["include"], ["message.output_text.logprobs", "reasoning.encrypted_content"])
    // No item has an id (OpenAI pairs reasoning with the item after it by id: all or none);
    // reasoning as its summary and content only, each followed by its answer.
    assert.deepStrictEqual(body["input"], [
      { role: "user", content: "x" },
      { type: "reasoning", summary: [], encrypted_content: "gAAAAclient" },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "hi" }] },
      { role: "user", content: "y" },
      { type: "reasoning", summary: [], encrypted_content: "gAAAAblob" },
      { type: "function_call", call_id: "call_1", name: "f", arguments: "{}", status: "completed" },
      { type: "function_call_output", call_id: "call_1", output: "{}" },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "done" }] },
      { role: "user", content: "z" }
    ])
    // Another deployment gets no o4-main reasoning.
    const reasoningSent = (body: Record<string, unknown>) =>
      (body["input"] as ReadonlyArray<Record<string, unknown>>).filter((item) => item["type"] === "reasoning").map((item) => item["encrypted_content"])
    assert.deepStrictEqual(reasoningSent(native("o4-azure")), ["gAAAAclient"])
    // A model that does not reason is never asked for encrypted reasoning (OpenAI would refuse), and gets none.
    const plain = native("o4-main", "gpt-4o")
    assert.deepStrictEqual(plain["include"], ["message.output_text.logprobs"])
    assert.deepStrictEqual(reasoningSent(plain), [])
    // Without its reasoning (OpenAI could not read it): the rest as it was.
    assert.deepStrictEqual(ResponsesRequest.withoutReasoning(body)?.["input"], (body["input"] as ReadonlyArray<Record<string, unknown>>).filter((item) => item["type"] !== "reasoning"))
    assert.isUndefined(ResponsesRequest.withoutReasoning(plain))
    assert.isFalse(ResponsesRequest.takesEncryptedReasoning("gpt-5-chat-latest"))
    assert.isTrue(ResponsesRequest.takesEncryptedReasoning("openai/gpt-5.1"))
    // What the deployment's config says wins over its name: LiteLLM's base_model, supports_reasoning.
    assert.isTrue(ResponsesRequest.reasons({ deployment: "d", model: "prod-reasoner", baseModel: "o4-mini" }))
    assert.isFalse(ResponsesRequest.reasons({ deployment: "d", model: "prod-reasoner" }))
    assert.isTrue(ResponsesRequest.reasons({ deployment: "d", model: "prod-reasoner", supportsReasoning: true }))
    assert.isFalse(ResponsesRequest.reasons({ deployment: "d", model: "o4-mini", supportsReasoning: false }))
    assert.deepStrictEqual(reasoningSent(ResponsesRequest.toNative(request.success, items, [], { deployment: "o4-main", model: "prod-reasoner", baseModel: "o4-mini" })), [
      "gAAAAclient",
      "gAAAAblob"
    ])
    // Translated: Claude's thinking goes with the assistant turn; OpenAI's encrypted reasoning does not.
    const chat = ResponsesRequest.toChat(request.success, items, (i) => `input[${i}]`)
    assert.isTrue(Result.isSuccess(chat))
    if (Result.isFailure(chat)) return
    const assistants = chat.success.messages.filter((m) => m.role === "assistant") as ReadonlyArray<{ thinking_blocks?: unknown }>
    assert.deepStrictEqual(assistants.map((m) => m.thinking_blocks), [[signed], undefined, undefined])
  })

  it("a Response says for tracing the upstream's id and model and how it ended, in the words chat spans use", () => {
    assert.deepStrictEqual(
      ResponsesResponse.described({ id: "resp_upstream", model: "gpt-4o-mini", status: "completed", incomplete_details: null }),
      { responseId: "resp_upstream", responseModel: "gpt-4o-mini", finishReasons: ["stop"] }
    )
    // A translated answer: our Response, the chat's id and model.
    assert.deepStrictEqual(
      ResponsesResponse.described(
        { id: "resp_ours", model: "claude", status: "incomplete", incomplete_details: { reason: "max_output_tokens" } },
        { id: "chatcmpl-1", model: "claude-sonnet-4-5" }
      ),
      { responseId: "chatcmpl-1", responseModel: "claude-sonnet-4-5", finishReasons: ["length"] }
    )
    // Ending in a function call, failed, or cut by the content filter.
    const ended = (response: Record<string, unknown>) => ResponsesResponse.described(response).finishReasons
    assert.deepStrictEqual(ended({ status: "completed", output: [{ type: "reasoning" }, { type: "function_call" }] }), ["tool_calls"])
    assert.deepStrictEqual(ended({ status: "failed" }), ["error"])
    assert.deepStrictEqual(ended({ status: "incomplete", incomplete_details: { reason: "content_filter" } }), ["content_filter"])
    // Still under way: nothing of how it ended.
    assert.deepStrictEqual(ResponsesResponse.described({ id: "resp_upstream", status: "in_progress" }), { responseId: "resp_upstream" })
  })

  it.effect("a translated stream's last event says the chat's id and model; the events before it say nothing", () =>
    Effect.gen(function*() {
      const request = { model: "claude", input: "hi" } as unknown as ResponsesRequest.ResponsesRequest
      const parts: Array<LlmClient.StreamPart> = [
        { _tag: "Chunk", chunk: chunk({ role: "assistant", content: "Hello" }) },
        { _tag: "Chunk", chunk: chunk({}, "length", usage) }
      ]
      const events = yield* Stream.runCollect(ResponsesStream.fromChatParts(Stream.fromIterable(parts), request, ResponsesResponse.idsFor("t1"), 1))
      const described = events.map((part) => (part._tag === "Chunk" ? ResponsesStream.describe(part.chunk) : undefined))
      assert.deepStrictEqual(described.at(-1), { responseId: "chatcmpl-1", responseModel: "claude-sonnet-4-5", finishReasons: ["length"] })
      assert.isTrue(described.slice(0, -1).every((d) => d === undefined))
    }))

  it("OpenAI's reasoning is wrapped with its deployment and issue time, in a form the previous release reads; earlier forms still read", () => {
    // OpenAI's blob may hold dots: it is the rest, whole.
    const native = { deployment: "o4.main/eu", issuedAt: 1_765_000_000_123_456, itemId: "rs_up.1", content: "gAAAA.b=l.ob" }
    const wrapped = EncryptedReasoning.encodeNative(native)
    assert.match(wrapped, /^llm-router\.openai\.v1:/)
    assert.deepStrictEqual(EncryptedReasoning.decodeNative(wrapped), native)
    assert.isTrue(EncryptedReasoning.isNative(wrapped))
    assert.isTrue(EncryptedReasoning.isOurs(wrapped))
    const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url")
    // The previous release's reader (as it was): deployment, a non-empty item-id field, the blob.
    const previousRelease = (value: string) => {
      const rest = value.slice("llm-router.openai.v1:".length)
      const first = rest.indexOf(".")
      const second = first < 0 ? -1 : rest.indexOf(".", first + 1)
      if (!value.startsWith("llm-router.openai.v1:") || second < 0) return undefined
      const deployment = Buffer.from(rest.slice(0, first), "base64url").toString("utf8")
      const itemId = Buffer.from(rest.slice(first + 1, second), "base64url").toString("utf8")
      const content = rest.slice(second + 1)
      return deployment.length > 0 && itemId.length > 0 && content.length > 0 ? { deployment, content } : undefined
    }
    assert.deepStrictEqual(previousRelease(wrapped), { deployment: "o4.main/eu", content: "gAAAA.b=l.ob" })
    // As stored before the time was added: the bare item id, issued at an unknown time.
    const v1 = `llm-router.openai.v1:${b64("o4-main")}.${b64("rs_up")}.gAAAA.blob`
    assert.deepStrictEqual(EncryptedReasoning.decodeNative(v1), { deployment: "o4-main", issuedAt: undefined, itemId: "rs_up", content: "gAAAA.blob" })
    assert.isTrue(EncryptedReasoning.isNative(v1))
    assert.isTrue(EncryptedReasoning.isOurs(v1))
    // The never-released v2 form, still read.
    assert.deepStrictEqual(
      EncryptedReasoning.decodeNative(`llm-router.openai.v2:${b64("o4-main")}.12.${b64("rs_up")}.gAAAAblob`),
      { deployment: "o4-main", issuedAt: 12, itemId: "rs_up", content: "gAAAAblob" }
    )
    // Not whole, a time that is no number, an item field of another shape: not ours to send anywhere.
    for (
      const bad of [
        "llm-router.openai.v1:bad",
        `llm-router.openai.v1:${b64("o4-main")}.${b64("rs_up")}.`,
        `llm-router.openai.v1:${b64("o4-main")}.${b64(JSON.stringify({ id: "rs_up", at: "soon" }))}.gAAAAblob`,
        `llm-router.openai.v1:${b64("o4-main")}.${b64(JSON.stringify({ id: "rs_up", at: -1 }))}.gAAAAblob`,
        `llm-router.openai.v1:${b64("o4-main")}.${b64(JSON.stringify({ id: "", at: 12 }))}.gAAAAblob`,
        `llm-router.openai.v1:${b64("o4-main")}.${b64("{not json")}.gAAAAblob`,
        `llm-router.openai.v1:.${b64(JSON.stringify({ id: "rs_up", at: 12 }))}.gAAAAblob`,
        `llm-router.openai.v2:${b64("o4-main")}.${b64("rs_up")}.gAAAAblob`,
        `llm-router.openai.v2:${b64("o4-main")}.12x.${b64("rs_up")}.gAAAAblob`,
        `llm-router.openai.v2:${b64("o4-main")}.12.${b64("rs_up")}`,
        "gAAAAraw",
        42
      ]
    ) assert.isUndefined(EncryptedReasoning.decodeNative(bad), String(bad))
    assert.isFalse(EncryptedReasoning.isNative("gAAAAraw"))
  })

  it("a deployment that refused its reasoning is sent only what it issued after the refusal", () => {
    const request = ResponsesRequest.decode({ model: "o4-mini", input: "x" })
    assert.isTrue(Result.isSuccess(request))
    if (Result.isFailure(request)) return
    const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url")
    const turn = (encrypted: string, text: string) => [
      { type: "reasoning", summary: [], encrypted_content: encrypted },
      { type: "message", role: "assistant", content: [{ type: "output_text", text }] },
      { role: "user", content: "next" }
    ]
    const issued = (issuedAt: number, content: string) => EncryptedReasoning.encodeNative({ deployment: "o4-main", issuedAt, itemId: "rs_up", content })
    const items = [
      { role: "user", content: "x" },
      ...turn(`llm-router.openai.v1:${b64("o4-main")}.${b64("rs_up")}.gAAAAv1`, "a"),
      ...turn(issued(1_000, "gAAAAbefore"), "b"),
      ...turn(issued(2_000, "gAAAAat"), "c"),
      ...turn(issued(2_001, "gAAAAafter"), "d"),
      // A client's own content, not the gateway's: the refusal does not know it; it goes as before.
      ...turn("gAAAAclient", "e")
    ] as unknown as ReadonlyArray<ResponsesRequest.Item>
    const sent = (reasoningRefusedAt: number | undefined, now?: number) => {
      const body = ResponsesRequest.toNative(request.success, items, [], { deployment: "o4-main", model: "o4-mini", reasoningRefusedAt, now })
      const input = body["input"] as ReadonlyArray<Record<string, unknown>>
      // The answers all go, whatever reasoning goes with them.
      assert.strictEqual(input.filter((item) => item["role"] === "assistant").length, 5)
      return input.filter((item) => item["type"] === "reasoning").map((item) => item["encrypted_content"])
    }
    // Never refused: all of it, the v1 wrapping too.
    assert.deepStrictEqual(sent(undefined), ["gAAAAv1", "gAAAAbefore", "gAAAAat", "gAAAAafter", "gAAAAclient"])
    // Refused at 2000: what was issued after only (a v1 wrapping, issued at a time not known, counts as before).
    assert.deepStrictEqual(sent(2_000), ["gAAAAafter", "gAAAAclient"])
    assert.deepStrictEqual(sent(999), ["gAAAAbefore", "gAAAAat", "gAAAAafter", "gAAAAclient"])
    // The mark a refusal leaves: the latest issue time of what the deployment was sent (not another's).
    const target = { deployment: "o4-main", model: "o4-mini" }
    assert.strictEqual(ResponsesRequest.refusalMark(items, target), 2_001)
    assert.strictEqual(ResponsesRequest.refusalMark(items, { ...target, reasoningRefusedAt: 2_001 }), 0)
    assert.strictEqual(ResponsesRequest.refusalMark(items, { ...target, deployment: "o4-azure" }), 0)
    // Said to be issued in the future (past the skew): a forgery, never sent, nor counted in a mark.
    const now = 2_000 - ResponsesRequest.FUTURE_SKEW
    assert.deepStrictEqual(sent(undefined, now), ["gAAAAv1", "gAAAAbefore", "gAAAAat", "gAAAAclient"])
    assert.deepStrictEqual(sent(undefined, now + 1), ["gAAAAv1", "gAAAAbefore", "gAAAAat", "gAAAAafter", "gAAAAclient"])
    assert.strictEqual(ResponsesRequest.refusalMark(items, { ...target, now: now - 1 }), 1_000)
    // A refusal of a call carrying the client's own content may be of that: the route does not remember it.
    assert.isTrue(ResponsesRequest.sendsClientsReasoning(items))
    assert.isFalse(ResponsesRequest.sendsClientsReasoning(items.slice(0, -3)))
  })
})

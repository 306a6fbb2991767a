/**
 * Reasoning through the Responses route, against an OpenAI mock as strict as OpenAI about
 * reasoning input items (see `ResponsesAnswers.refusal`): a native call goes upstream unstored
 * (`store: false`, the gateway is the store) asking for encrypted reasoning, and sends back only
 * what OpenAI can read: no item ids (as Codex), OpenAI's own encrypted reasoning to the
 * deployment that issued it and only before its answer; never Claude's signed thinking. Reasoning
 * OpenAI refuses all the same is dropped and the call sent once more; what that deployment issued
 * before the refusal is not sent it again in that conversation (the mark is the conversation's,
 * so a client forging a wrapping costs no other conversation anything). The client sees
 * encrypted reasoning only when it asked (`include`), as from OpenAI. Conversations move between
 * OpenAI (native) and Claude (translated) both ways, plain and streamed.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import OpenAI, { BadRequestError, NotFoundError } from "openai"
import type { Response, ResponseInputItem, ResponseStreamEvent } from "openai/resources/responses/responses"
import * as GatewayUnderTest from "./GatewayUnderTest.ts"

const MASTER_KEY = "sk-gateway-responses-reasoning"
const ENCRYPTED = "reasoning.encrypted_content"

interface Env extends GatewayUnderTest.Upstreams {
  readonly client: OpenAI
}
class TestEnv extends Context.Service<TestEnv, Env>()("test/gateway-responses-reasoning/TestEnv") {}

const env = Layer.effect(TestEnv, Effect.gen(function*() {
  const mocks = yield* GatewayUnderTest.upstreams
  const yaml = `
model_list:${GatewayUnderTest.plainGroups(mocks)}
  # A reasoning model (the mock's convention: "o4" in its name), natively.
  - model_name: o4-mini
    litellm_params: { model: openai/o4-mini, api_base: "${mocks.openai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: o4-main }
  # The same model on another deployment (Azure's v1 API): another caller, to OpenAI.
  - model_name: o4-azure
    litellm_params: { model: azure/o4-mini, api_base: "${mocks.openai.azureV1BaseUrl}", api_key: sk-mock-azure }
    model_info: { id: o4-azure }
  # A reasoning model that refuses every request (a plain 400).
  - model_name: o4-refusing
    litellm_params: { model: openai/o4-mini, api_base: "${mocks.openai.faultOrigin("bad-request")}/v1", api_key: sk-mock-openai }
    model_info: { id: o4-refusing }
  # An Azure deployment whose name says nothing of reasoning, but whose base model (LiteLLM's) reasons.
  # (The mock's convention: "reasoning" in the name reasons; the gateway reads only base_model.)
  - model_name: prod-reasoner
    litellm_params: { model: azure/prod-reasoning, api_base: "${mocks.openai.azureV1BaseUrl}", api_key: sk-mock-azure }
    model_info: { id: prod-reasoner, base_model: o4-mini }
general_settings:
  master_key: ${MASTER_KEY}
`
  const baseURL = `${yield* GatewayUnderTest.start(yaml)}/v1`
  return { client: new OpenAI({ baseURL, apiKey: MASTER_KEY, maxRetries: 0 }), ...mocks }
}).pipe(Effect.orDie))

type Sent = { readonly store?: unknown; readonly include?: unknown; readonly input: ReadonlyArray<Record<string, unknown>> }

/** A native request's body as the OpenAI mock received it. */
const lastNative = (m: GatewayUnderTest.Upstreams): Sent => {
  const request = m.openai.requests.at(-1)!
  assert.match(request.path, /\/responses$/)
  return request.body as Sent
}

/**
 * No item carries an id: not the gateway's (meaningless upstream), nor OpenAI's (OpenAI pairs a
 * reasoning item with the item after it by id, so all items would need theirs), as Codex sends them.
 */
const assertNoIds = (sent: Sent) => {
  for (const item of sent.input) assert.notProperty(item, "id", JSON.stringify(item))
}

const kinds = (sent: Sent) => sent.input.map((item) => item["type"] ?? item["role"])

const reasoningOf = (response: Pick<Response, "output">) => response.output.filter((item) => item.type === "reasoning")

const collect = (stream: AsyncIterable<ResponseStreamEvent>) =>
  Effect.promise(async () => {
    const events: Array<ResponseStreamEvent> = []
    for await (const event of stream) events.push(event)
    return events
  })

layer(env, { excludeTestServices: true })("reasoning through the Responses route", (it) => {
  it.effect("the OpenAI mock refuses reasoning items OpenAI could not read, in OpenAI's error shape", () =>
    Effect.gen(function*() {
      const { openai } = yield* TestEnv
      const direct = new OpenAI({ baseURL: openai.baseUrl, apiKey: "sk-mock-openai", maxRetries: 0 })
      const first = yield* Effect.promise(() => direct.responses.create({ model: "o4-mini", input: "Think", store: false, include: [ENCRYPTED] }))
      const [reasoning] = reasoningOf(first)
      assert.match(reasoning?.encrypted_content ?? "", /^gAAAA/)
      const answer = first.output[1] as ResponseInputItem
      const next = (item: ResponseInputItem, store: boolean, following: ResponseInputItem = answer) =>
        direct.responses.create({ model: "o4-mini", store, input: [item, following, { role: "user", content: "And?" }] })
      // Its own item, content and id as issued, followed by its answer: read.
      yield* Effect.promise(() => next(reasoning!, false))
      // Without ids at all (as Codex sends them): read too.
      const { id: _id, ...unnamed } = reasoning!
      const { id: _answerId, ...unnamedAnswer } = answer as typeof answer & { id: string }
      yield* Effect.promise(() => next(unnamed as ResponseInputItem, false, unnamedAnswer as ResponseInputItem))
      // Not followed by its answer (a user message), or an id on the reasoning but not on its answer: a 400.
      for (const following of [{ role: "user" as const, content: "Hm" }, unnamedAnswer as ResponseInputItem]) {
        const unpaired = yield* GatewayUnderTest.failure(() => next(reasoning!, false, following))
        assert.instanceOf(unpaired, BadRequestError)
        assert.include((unpaired as BadRequestError).message, "was provided without its required following item")
      }
      // Unknown when not stored, or never issued: a 404 naming the item.
      const bare = { type: "reasoning" as const, id: "rs_gateway_0", summary: [] }
      const unstored = yield* GatewayUnderTest.failure(() => next(bare, false))
      assert.instanceOf(unstored, NotFoundError)
      assert.include((unstored as NotFoundError).message, "Items are not persisted when `store` is set to false")
      assert.instanceOf(yield* GatewayUnderTest.failure(() => next(bare, true)), NotFoundError)
      // Content it did not issue, or issued for another item: a 400.
      const forged = yield* GatewayUnderTest.failure(() => next({ ...bare, encrypted_content: "llm-router.thinking.v1:e30=" }, false))
      assert.instanceOf(forged, BadRequestError)
      assert.strictEqual((forged as BadRequestError).code, "invalid_encrypted_content")
      const moved = yield* GatewayUnderTest.failure(() => next({ ...reasoning!, id: "rs_gateway_0" }, false))
      assert.include((moved as BadRequestError).message, "item_id did not match the target item id")
      // Encrypted reasoning asked of a model that does not reason: a 400 on `include`.
      const unasked = yield* GatewayUnderTest.failure(() => direct.responses.create({ model: "gpt-4o", input: "Hi", include: [ENCRYPTED] }))
      assert.instanceOf(unasked, BadRequestError)
      assert.strictEqual((unasked as BadRequestError).param, "include")
    }))

  it.effect("continues a native conversation with a reasoning model over three turns, unstored upstream, without gateway ids", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const first = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "My name is Ada." }))
      const sentFirst = lastNative(m)
      assert.strictEqual(sentFirst.store, false)
      assert.deepStrictEqual(sentFirst.include, [ENCRYPTED])
      // The client sees the reasoning item under the gateway's id, without content it did not ask for.
      const [reasoning] = reasoningOf(first)
      assert.strictEqual(reasoning?.id, `rs_${first.id.slice(5)}_0`)
      assert.notProperty(reasoning, "encrypted_content")

      const second = yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", previous_response_id: first.id, input: "What is my name?" })
      )
      const sentSecond = lastNative(m)
      assert.strictEqual(sentSecond.store, false)
      assertNoIds(sentSecond)
      assert.deepStrictEqual(kinds(sentSecond), ["user", "reasoning", "message", "user"])
      // OpenAI's own reasoning went back, its content as OpenAI issued it.
      const replayed = sentSecond.input[1]!
      assert.match(String(replayed["encrypted_content"]), /^gAAAA/)
      assert.strictEqual(second.previous_response_id, first.id)
      assert.include(second.output_text, "You said: What is my name?")

      yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", previous_response_id: second.id, input: "Thanks." }))
      const sentThird = lastNative(m)
      assertNoIds(sentThird)
      assert.deepStrictEqual(
        sentThird.input.map((item) => item["type"] ?? item["role"]),
        ["user", "reasoning", "message", "user", "reasoning", "message", "user"]
      )
      assert.notStrictEqual(sentThird.input[1]!["encrypted_content"], sentThird.input[4]!["encrypted_content"])
    }))

  it.effect("shows encrypted reasoning only to a client that asked, which can send it back itself (store: false)", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const plain = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "Think" }))
      // Stored whole by the gateway, shown as asked: a retrieve without `include` hides it too.
      assert.notProperty(reasoningOf(yield* Effect.promise(() => m.client.responses.retrieve(plain.id)))[0], "encrypted_content")
      const asked = yield* Effect.promise(() => m.client.responses.retrieve(plain.id, { include: [ENCRYPTED] }))
      assert.isString(reasoningOf(asked)[0]?.encrypted_content)

      // A stateless client: nothing stored by the gateway, the items sent back by the client.
      const first = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "Think", store: false, include: [ENCRYPTED] }))
      const [reasoning] = reasoningOf(first)
      assert.isString(reasoning?.encrypted_content)
      assert.strictEqual(reasoning?.id, `rs_${first.id.slice(5)}_0`)
      const input: Array<ResponseInputItem> = [
        { role: "user", content: "Think" },
        ...first.output as Array<ResponseInputItem>,
        { role: "user", content: "More" }
      ]
      const second = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", store: false, include: [ENCRYPTED], input }))
      assert.strictEqual(second.status, "completed")
      const sent = lastNative(m)
      assertNoIds(sent)
      assert.strictEqual(sent.input.filter((item) => item["type"] === "reasoning").length, 1)
      // Asked for once: not repeated.
      assert.deepStrictEqual(sent.include, [ENCRYPTED])
    }))

  it.effect("streams natively: reasoning kept for the next turn, hidden from a client that did not ask", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const events = yield* collect(yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "Stream and think", stream: true })))
      const completed = events.at(-1)
      assert.strictEqual(completed?.type, "response.completed")
      if (completed?.type !== "response.completed") return
      assert.strictEqual(lastNative(m).store, false)
      const items = events.flatMap((e) => (e.type === "response.output_item.added" || e.type === "response.output_item.done" ? [e.item] : []))
      assert.isTrue(items.some((item) => item.type === "reasoning"))
      for (const item of [...items, ...completed.response.output]) assert.notProperty(item, "encrypted_content", item.type)

      const next = yield* collect(yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", previous_response_id: completed.response.id, input: "Go on", stream: true })
      ))
      assert.strictEqual(next.at(-1)?.type, "response.completed")
      const sent = lastNative(m)
      assertNoIds(sent)
      assert.match(String(sent.input.find((item) => item["type"] === "reasoning")?.["encrypted_content"]), /^gAAAA/)

      // Asked for: on the item's `.done` and in `response.completed`, as OpenAI sends it.
      const shown = yield* collect(yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", input: "Show it", stream: true, include: [ENCRYPTED] })
      ))
      const done = shown.find((e) => e.type === "response.output_item.done" && e.item.type === "reasoning")
      assert.isTrue(done?.type === "response.output_item.done" && typeof (done.item as { encrypted_content?: unknown }).encrypted_content === "string")
    }))

  it.effect("a conversation started on Claude (signed thinking) continues natively on OpenAI, and back", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const onClaude = yield* Effect.promise(() => m.client.responses.create({ model: "claude", input: "Think first", reasoning: { effort: "low" } }))
      const [thinking] = reasoningOf(onClaude)
      // Claude's signed thinking, shown as before: a client's tool loop through Claude needs it.
      assert.match(thinking?.encrypted_content ?? "", /^llm-router\.thinking\.v1:/)

      const onOpenAi = yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", previous_response_id: onClaude.id, input: "Now you" })
      )
      assert.strictEqual(onOpenAi.status, "completed")
      const sent = lastNative(m)
      assertNoIds(sent)
      // Claude's reasoning item is not OpenAI's to read: not sent.
      assert.deepStrictEqual(sent.input.map((item) => item["type"] ?? item["role"]), ["user", "message", "user"])

      // And back to Claude: its own thinking goes with its turn; OpenAI's encrypted reasoning does not.
      yield* Effect.promise(() =>
        m.client.responses.create({ model: "claude", previous_response_id: onOpenAi.id, input: "Back to you", reasoning: { effort: "low" } })
      )
      const toClaude = m.anthropic.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown }> }
      assert.deepStrictEqual(toClaude.messages.map((message) => message.role), ["user", "assistant", "user", "assistant", "user"])
      const thinkingBlocks = toClaude.messages.flatMap((message) =>
        Array.isArray(message.content) ? message.content.filter((block: { type?: string }) => block.type === "thinking") : []
      ) as Array<{ signature: string }>
      assert.strictEqual(thinkingBlocks.length, 1)
      assert.match(thinkingBlocks[0]!.signature, /^sig_mock_/)
      assert.notInclude(JSON.stringify(toClaude), "gAAAA")
    }))

  it.effect("a model that does not reason is not asked for encrypted reasoning, nor sent any", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const first = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "Think" }))
      // The client asks for encrypted reasoning of gpt-4o (as of any model): not sent on, which OpenAI would refuse.
      const second = yield* Effect.promise(() =>
        m.client.responses.create({ model: "gpt-4o", previous_response_id: first.id, input: "Plainly", include: [ENCRYPTED] })
      )
      assert.strictEqual(second.status, "completed")
      const sent = lastNative(m)
      assert.notProperty(sent, "include")
      assert.strictEqual(sent.store, false)
      assert.deepStrictEqual(sent.input.map((item) => item["type"] ?? item["role"]), ["user", "message", "user"])
    }))

  it.effect("OpenAI's reasoning goes back only to the deployment that issued it", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const first = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "Think here" }))
      const { data, response } = yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-azure", previous_response_id: first.id, input: "Then there" }).withResponse()
      )
      assert.strictEqual(response.headers.get("x-llm-router-deployment"), "o4-azure")
      assert.strictEqual(data.status, "completed")
      const sent = lastNative(m)
      assert.strictEqual(m.openai.requests.at(-1)?.path, "/openai/v1/responses")
      assert.deepStrictEqual(sent.input.map((item) => item["type"] ?? item["role"]), ["user", "message", "user"])
    }))
  it.effect("a tool loop on a reasoning model: the next turn sends reasoning, call and output, none with an id", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const tools = [{ type: "function" as const, name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } }, strict: false }]
      const first = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "Weather in Oslo?", tools }))
      assert.deepStrictEqual(first.output.map((item) => item.type), ["reasoning", "function_call"])
      const call = first.output[1]!
      if (call.type !== "function_call") return
      const output: ResponseInputItem = { type: "function_call_output", call_id: call.call_id, output: "{\"celsius\":3}" }

      // Continued through the gateway's store.
      const second = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", previous_response_id: first.id, input: [output], tools }))
      assert.strictEqual(second.status, "completed")
      const sent = lastNative(m)
      assertNoIds(sent)
      assert.deepStrictEqual(kinds(sent), ["user", "reasoning", "function_call", "function_call_output"])
      assert.match(String(sent.input[1]!["encrypted_content"]), /^gAAAA/)

      // A stateless client (Codex's way): every item sent back, the gateway's ids and all.
      const firstStateless = yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", input: "Weather in Oslo?", tools, store: false, include: [ENCRYPTED] })
      )
      const statelessCall = firstStateless.output[1]!
      if (statelessCall.type !== "function_call") return
      const secondStateless = yield* Effect.promise(() =>
        m.client.responses.create({
          model: "o4-mini",
          tools,
          store: false,
          include: [ENCRYPTED],
          input: [
            { role: "user", content: "Weather in Oslo?" },
            ...firstStateless.output as Array<ResponseInputItem>,
            { ...output, call_id: statelessCall.call_id }
          ]
        })
      )
      assert.strictEqual(secondStateless.status, "completed")
      const sentStateless = lastNative(m)
      assertNoIds(sentStateless)
      assert.deepStrictEqual(kinds(sentStateless), ["user", "reasoning", "function_call", "function_call_output"])
    }))

  it.effect("a response cut off while reasoning (max_output_tokens) does not break the turns after it", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const cut = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "Think long", max_output_tokens: 16 }))
      assert.strictEqual(cut.status, "incomplete")
      assert.strictEqual(cut.incomplete_details?.reason, "max_output_tokens")
      assert.deepStrictEqual(cut.output.map((item) => item.type), ["reasoning"])

      const next = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", previous_response_id: cut.id, input: "Shorter, then" }))
      assert.strictEqual(next.status, "completed")
      // The reasoning no answer followed is not sent (OpenAI refuses it), on this turn or any later.
      assert.deepStrictEqual(kinds(lastNative(m)), ["user", "user"])
      yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", previous_response_id: next.id, input: "Thanks" }))
      assert.deepStrictEqual(kinds(lastNative(m)), ["user", "user", "reasoning", "message", "user"])

      // Streamed alike: the cut response ends `response.incomplete`, and the next turn goes on without its reasoning.
      const events = yield* collect(yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", input: "Think long", max_output_tokens: 16, stream: true })
      ))
      const last = events.at(-1)
      assert.strictEqual(last?.type, "response.incomplete")
      if (last?.type !== "response.incomplete") return
      const after = yield* collect(yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", previous_response_id: last.response.id, input: "Shorter", stream: true })
      ))
      assert.strictEqual(after.at(-1)?.type, "response.completed")
      assert.deepStrictEqual(kinds(lastNative(m)), ["user", "user"])
    }))

  it.effect("reasoning OpenAI can no longer read (its key moved to another org) is dropped and the call sent again, once; later turns send only what was issued since", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      /** Each upstream call of a turn (sent from `before` on), as the kinds of its input items. */
      const callsSince = (before: number) => m.openai.requests.slice(before).map((request) => kinds(request.body as Sent))
      const first = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "Remember this" }))
      m.openai.rotateReasoningKey()
      const before = m.openai.requests.length
      const second = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", previous_response_id: first.id, input: "And now?" }))
      assert.strictEqual(second.status, "completed")
      assert.deepStrictEqual(callsSince(before), [["user", "reasoning", "message", "user"], ["user", "message", "user"]])

      // The next turn does not pay the refusal again: the reasoning issued before it is left out,
      // the reasoning issued since (by the call sent again) goes, and is read.
      const beforeThird = m.openai.requests.length
      const third = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", previous_response_id: second.id, input: "Still there?" }))
      assert.strictEqual(third.status, "completed")
      assert.deepStrictEqual(callsSince(beforeThird), [["user", "message", "user", "reasoning", "message", "user"]])
      assert.match(String(lastNative(m).input[3]!["encrypted_content"]), /^gAAAA/)

      // Streamed alike (the refusal comes before any event): after another rotation, one refused
      // call sent again without reasoning, then the next turn goes at once with what was issued since.
      m.openai.rotateReasoningKey()
      const streamedBefore = m.openai.requests.length
      const events = yield* collect(yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", previous_response_id: third.id, input: "Streamed?", stream: true })
      ))
      const streamed = events.at(-1)
      assert.strictEqual(streamed?.type, "response.completed")
      if (streamed?.type !== "response.completed") return
      assert.deepStrictEqual(callsSince(streamedBefore), [
        ["user", "message", "user", "reasoning", "message", "user", "reasoning", "message", "user"],
        ["user", "message", "user", "message", "user", "message", "user"]
      ])
      const streamedNext = m.openai.requests.length
      const after = yield* collect(yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", previous_response_id: streamed.response.id, input: "Again?", stream: true })
      ))
      assert.strictEqual(after.at(-1)?.type, "response.completed")
      assert.deepStrictEqual(callsSince(streamedNext), [["user", "message", "user", "message", "user", "message", "user", "reasoning", "message", "user"]])
      const latest = after.at(-1)
      if (latest?.type !== "response.completed") return

      // A client's own content the deployment cannot read is dropped and the call sent again too,
      // but says nothing of what the gateway's deployment issued: the stored conversation still
      // sends its reasoning, in one call.
      const forgedBefore = m.openai.requests.length
      const forged = yield* Effect.promise(() =>
        m.client.responses.create({
          model: "o4-mini",
          store: false,
          input: [
            { role: "user", content: "Think" },
            { type: "reasoning", summary: [], encrypted_content: "gAAAAnot-issued-by-openai" } as unknown as ResponseInputItem,
            { type: "message", role: "assistant", content: [{ type: "output_text", text: "Done." }] } as ResponseInputItem,
            { role: "user", content: "Go on" }
          ]
        })
      )
      assert.strictEqual(forged.status, "completed")
      assert.deepStrictEqual(callsSince(forgedBefore), [["user", "reasoning", "message", "user"], ["user", "message", "user"]])
      const unforgotten = m.openai.requests.length
      yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", previous_response_id: latest.response.id, input: "Still?" }))
      assert.deepStrictEqual(callsSince(unforgotten), [[
        "user", "message", "user", "message", "user", "message", "user", "reasoning", "message", "user", "reasoning", "message", "user"
      ]])

      // Any other 400 (with reasoning sent) is not tried again.
      const direct = new OpenAI({ baseURL: m.openai.baseUrl, apiKey: "sk-mock-openai", maxRetries: 0 })
      const own = yield* Effect.promise(() => direct.responses.create({ model: "o4-mini", input: "Think", store: false, include: [ENCRYPTED] }))
      const refusedBefore = m.openai.requests.length
      const refused = yield* GatewayUnderTest.failure(() =>
        m.client.responses.create({
          model: "o4-refusing",
          input: [
            { role: "user", content: "Think" },
            { type: "reasoning", summary: [], encrypted_content: reasoningOf(own)[0]!.encrypted_content! } as unknown as ResponseInputItem,
            { type: "message", role: "assistant", content: [{ type: "output_text", text: "Done." }] } as ResponseInputItem,
            { role: "user", content: "Go on" }
          ]
        })
      )
      assert.instanceOf(refused, BadRequestError)
      assert.strictEqual(m.openai.requests.length - refusedBefore, 1)
      assert.deepStrictEqual(kinds(lastNative(m)), ["user", "reasoning", "message", "user"])
    }))

  it.effect("a wrapping tampered in one client's conversation costs only that conversation: another's still sends its reasoning", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const callsSince = (before: number) => m.openai.requests.slice(before).map((request) => kinds(request.body as Sent))
      // Client B: an ordinary stored conversation.
      const victim = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "Remember this" }))
      // Client A sees its own wrapped reasoning (include), keeps the wrapping and forges what is in it.
      const own = yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", input: "hi", include: [ENCRYPTED] }))
      const wrapped = String(reasoningOf(own)[0]!.encrypted_content)
      const prefix = "llm-router.openai.v1:"
      assert.isTrue(wrapped.startsWith(prefix))
      const [deployment, itemField] = wrapped.slice(prefix.length).split(".")
      const item = JSON.parse(Buffer.from(itemField!, "base64url").toString("utf8")) as { id: string; at: number }
      const forge = (at: number) =>
        `${prefix}${deployment}.${Buffer.from(JSON.stringify({ id: item.id, at }), "utf8").toString("base64url")}.gAAAAgarbage`
      const turn = (encrypted: string) => [
        { type: "reasoning", summary: [], encrypted_content: encrypted } as unknown as ResponseInputItem,
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "Done." }] } as ResponseInputItem,
        { role: "user", content: "Go on" } as ResponseInputItem
      ]

      // Said to be issued far in the future: no wrapping of the gateway's; dropped before it is sent.
      const futureBefore = m.openai.requests.length
      yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", store: false, input: [{ role: "user", content: "Think" }, ...turn(forge(item.at + 10 ** 12))] })
      )
      assert.deepStrictEqual(callsSince(futureBefore), [["user", "message", "user"]])

      // Issued "now", in A's stored conversation: refused, sent again without it, and marked in A's conversation.
      const forgedBefore = m.openai.requests.length
      const forged = yield* Effect.promise(() =>
        m.client.responses.create({ model: "o4-mini", previous_response_id: own.id, input: turn(forge(item.at)) })
      )
      assert.strictEqual(forged.status, "completed")
      assert.deepStrictEqual(callsSince(forgedBefore), [
        ["user", "reasoning", "message", "reasoning", "message", "user"],
        ["user", "message", "message", "user"]
      ])
      // A's next turn does not pay it again: only what was issued since goes.
      const nextBefore = m.openai.requests.length
      yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", previous_response_id: forged.id, input: "And?" }))
      assert.deepStrictEqual(callsSince(nextBefore), [["user", "message", "message", "user", "reasoning", "message", "user"]])

      // B's next turn: its reasoning (issued before A's refusal) still goes, in one call.
      const victimBefore = m.openai.requests.length
      yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", previous_response_id: victim.id, input: "And now?" }))
      assert.deepStrictEqual(callsSince(victimBefore), [["user", "reasoning", "message", "user"]])
    }))

  it.effect("raw encrypted reasoning under a gateway id (stored before the gateway wrapped it) is dropped", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const direct = new OpenAI({ baseURL: m.openai.baseUrl, apiKey: "sk-mock-openai", maxRetries: 0 })
      const upstream = yield* Effect.promise(() => direct.responses.create({ model: "o4-mini", input: "Think", store: false, include: [ENCRYPTED] }))
      const raw = reasoningOf(upstream)[0]!.encrypted_content!
      const answer: ResponseInputItem = { type: "message", role: "assistant", content: [{ type: "output_text", text: "Done." }] } as ResponseInputItem
      const continued = (id: string | undefined) =>
        m.client.responses.create({
          model: "o4-mini",
          input: [
            { role: "user", content: "Think" },
            { type: "reasoning", ...(id !== undefined ? { id } : {}), summary: [], encrypted_content: raw } as ResponseInputItem,
            answer,
            { role: "user", content: "Go on" }
          ]
        })
      const old = yield* Effect.promise(() => continued("rs_0123456789abcdef01234567_0"))
      assert.strictEqual(old.status, "completed")
      assert.deepStrictEqual(kinds(lastNative(m)), ["user", "message", "user"])
      // A client's own content, with no id of ours, still goes.
      yield* Effect.promise(() => continued(undefined))
      assert.deepStrictEqual(kinds(lastNative(m)), ["user", "reasoning", "message", "user"])
    }))

  it.effect("a deployment whose base_model reasons gets encrypted reasoning, whatever its name", () =>
    Effect.gen(function*() {
      const m = yield* TestEnv
      const first = yield* Effect.promise(() => m.client.responses.create({ model: "prod-reasoner", input: "Think" }))
      assert.deepStrictEqual(lastNative(m).include, [ENCRYPTED])
      yield* Effect.promise(() => m.client.responses.create({ model: "prod-reasoner", previous_response_id: first.id, input: "More" }))
      const sent = lastNative(m)
      assert.deepStrictEqual(kinds(sent), ["user", "reasoning", "message", "user"])
      assert.match(String(sent.input[1]!["encrypted_content"]), /^gAAAA/)
    }))
})

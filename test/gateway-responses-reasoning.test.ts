/**
 * Reasoning through the Responses route, against an OpenAI mock as strict as OpenAI about
 * reasoning input items (see `ResponsesAnswers.refusal`): a native call goes upstream unstored
 * (`store: false`, the gateway is the store) asking for encrypted reasoning, and sends back only
 * what OpenAI can read: OpenAI's own encrypted reasoning under the upstream's item id, to the
 * deployment that issued it; no gateway ids; never Claude's signed thinking. The client sees
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

/** No item carries an id the gateway minted (`<kind>_<our response>_<n>`): only the mock's own. */
const assertNoGatewayIds = (sent: Sent) => {
  for (const item of sent.input) {
    if (item["id"] === undefined) continue
    assert.strictEqual(item["type"], "reasoning", JSON.stringify(item))
    assert.match(String(item["id"]), /^rs_mock_\d+$/)
  }
}

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
      const next = (item: ResponseInputItem, store: boolean) =>
        direct.responses.create({ model: "o4-mini", store, input: [item, { role: "user", content: "And?" }] })
      // Its own item, content and id as issued: read.
      yield* Effect.promise(() => next(reasoning!, false))
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
      assertNoGatewayIds(sentSecond)
      assert.deepStrictEqual(sentSecond.input.map((item) => item["type"] ?? item["role"]), ["user", "reasoning", "message", "user"])
      // OpenAI's own reasoning went back, under its own id, its content as OpenAI issued it.
      const replayed = sentSecond.input[1]!
      assert.match(String(replayed["id"]), /^rs_mock_\d+$/)
      assert.match(String(replayed["encrypted_content"]), /^gAAAA/)
      assert.strictEqual(second.previous_response_id, first.id)
      assert.include(second.output_text, "You said: What is my name?")

      yield* Effect.promise(() => m.client.responses.create({ model: "o4-mini", previous_response_id: second.id, input: "Thanks." }))
      const sentThird = lastNative(m)
      assertNoGatewayIds(sentThird)
      assert.deepStrictEqual(
        sentThird.input.map((item) => item["type"] ?? item["role"]),
        ["user", "reasoning", "message", "user", "reasoning", "message", "user"]
      )
      assert.notStrictEqual(sentThird.input[1]!["id"], sentThird.input[4]!["id"])
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
      assertNoGatewayIds(sent)
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
      assertNoGatewayIds(sent)
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
      assertNoGatewayIds(sent)
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
})

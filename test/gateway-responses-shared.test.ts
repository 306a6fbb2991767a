/**
 * The Responses API's stored answers shared by two gateway replicas (in-process, each with its
 * own Redis connection) through the machine's Redis (127.0.0.1:6379, or
 * LLM_ROUTER_TEST_REDIS_URL), as `router_settings.redis_*` configures: a conversation started on
 * one replica continues on the other, which reads, references and deletes its answers (and
 * knows which reasoning the conversation's deployment refused on the first); and a
 * replica that cannot reach Redis still answers, and says plainly (a 503) that it cannot read
 * stored responses.
 */
import { assert, describe, it } from "@effect/vitest"
import { NodeRedis } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { Redis } from "effect/persistence"
import * as Net from "node:net"
import OpenAI, { APIError, BadRequestError, NotFoundError } from "openai"
import * as GatewayUnderTest from "./GatewayUnderTest.ts"
import { checkItemReferenceCap } from "./ItemReferenceCap.ts"

const MASTER_KEY = "sk-responses-shared-master"
const REDIS = new URL(process.env["LLM_ROUTER_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379")
const redisSettings = (host: string, port: string, prefix: string) =>
  `  redis_host: ${host}\n  redis_port: ${port}\n  redis_key_prefix: ${prefix}` +
  (REDIS.password ? `\n  redis_password: "${decodeURIComponent(REDIS.password)}"` : "")

/** A key prefix of the test's own; every key under it is deleted when the test ends. */
const freshPrefix = Effect.gen(function*() {
  const prefix = `llm-router-test-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
  const redis = Context.get(yield* Layer.build(Layer.orDie(NodeRedis.layer({ url: REDIS.href }))), Redis.Redis)
  yield* Effect.addFinalizer(() =>
    Effect.ignore(Effect.gen(function*() {
      const keys = yield* redis.send<Array<string>>("KEYS", `${prefix}:*`)
      if (keys.length > 0) yield* redis.send("DEL", ...keys)
    }))
  )
  return prefix
})

/** A gateway of `upstreams`' plain groups, sharing state through Redis at `host:port` under `prefix`. */
const replica = (upstreams: GatewayUnderTest.Upstreams, host: string, port: string, prefix: string) =>
  Effect.map(
    GatewayUnderTest.start(`
model_list:${GatewayUnderTest.plainGroups(upstreams)}
  - model_name: o4-mini
    litellm_params: { model: openai/o4-mini, api_base: "${upstreams.openai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: o4-main }
router_settings:
${redisSettings(host, port, prefix)}
general_settings:
  master_key: ${MASTER_KEY}
`),
    (origin) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: MASTER_KEY, maxRetries: 0 })
  )

/** A local port nothing listens on. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = Net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

const { failure } = GatewayUnderTest

describe("Responses stored in the fleet's Redis", () => {
  it.live("a conversation started on one replica continues on the other, which reads and deletes it", () =>
    Effect.gen(function*() {
      const upstreams = yield* GatewayUnderTest.upstreams
      const { anthropic, openai } = upstreams
      const prefix = yield* freshPrefix
      const port = REDIS.port || "6379"
      const a = yield* replica(upstreams, REDIS.hostname, port, prefix)
      const b = yield* replica(upstreams, REDIS.hostname, port, prefix)

      const first = yield* Effect.promise(() => a.responses.create({ model: "gpt-4o", input: "My name is Ada." }))
      // The next turn, on the other replica and another provider, carries the first one.
      const second = yield* Effect.promise(() =>
        b.responses.create({ model: "claude", previous_response_id: first.id, input: "What is my name?" })
      )
      assert.strictEqual(second.previous_response_id, first.id)
      const sent = anthropic.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown }> }
      assert.deepStrictEqual(sent.messages.map((m) => m.role), ["user", "assistant", "user"])
      assert.strictEqual(sent.messages[0]?.content, "My name is Ada.")
      assert.strictEqual(sent.messages[1]?.content, first.output_text)
      assert.strictEqual(sent.messages[2]?.content, "What is my name?")

      // A third turn, streamed, back on the first replica: the whole conversation, natively to OpenAI.
      const stream = yield* Effect.promise(() =>
        a.responses.create({ model: "gpt-4o", previous_response_id: second.id, input: "And again?", stream: true })
      )
      let third: string | undefined
      yield* Effect.promise(async () => {
        for await (const event of stream) if (event.type === "response.completed") third = event.response.id
      })
      const thirdTurn = openai.requests.at(-1)?.body as { messages?: Array<{ role: string }>; input?: Array<{ role?: string }> }
      assert.deepStrictEqual(
        (thirdTurn.messages ?? thirdTurn.input ?? []).map((m) => m.role),
        ["user", "assistant", "user", "assistant", "user"]
      )

      // The other replica reads each turn back, and references an item of one.
      const read = yield* Effect.promise(() => b.responses.retrieve(first.id))
      assert.strictEqual(read.output_text, first.output_text)
      assert.isDefined(third)
      assert.strictEqual((yield* Effect.promise(() => b.responses.retrieve(third!))).previous_response_id, second.id)
      yield* Effect.promise(() =>
        b.responses.create({ model: "claude", input: [{ type: "item_reference", id: first.output[0]!.id! }, { role: "user", content: "Again?" }] })
      )
      const referenced = anthropic.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown }> }
      // (Anthropic's adapter opens a conversation that starts with the assistant with a user turn.)
      assert.deepStrictEqual(referenced.messages.slice(-2).map((m) => [m.role, m.content]), [["assistant", first.output_text], ["user", "Again?"]])

      // Deleted through one replica, gone for the other: read, and continued.
      yield* Effect.promise(() => b.responses.delete(first.id))
      assert.instanceOf(yield* failure(() => a.responses.retrieve(first.id)), NotFoundError)
      const broken = yield* failure(() => a.responses.create({ model: "claude", previous_response_id: second.id, input: "and?" }))
      assert.instanceOf(broken, BadRequestError)
      assert.strictEqual((broken as BadRequestError).code, "previous_response_not_found")
      assert.strictEqual((broken as BadRequestError).param, "previous_response_id")
      assert.match((broken as BadRequestError).message, new RegExp(`'${second.id}' not found \\(it, or a response before it in its conversation\\): it was never stored here`))
    }))

  it.live("reasoning a deployment refused on one replica is not sent it again by the other: the mark is the conversation's", () =>
    Effect.gen(function*() {
      const upstreams = yield* GatewayUnderTest.upstreams
      const { openai } = upstreams
      const prefix = yield* freshPrefix
      const port = REDIS.port || "6379"
      const a = yield* replica(upstreams, REDIS.hostname, port, prefix)
      const b = yield* replica(upstreams, REDIS.hostname, port, prefix)
      const callsSince = (before: number) =>
        openai.requests.slice(before).map((request) =>
          (request.body as { input: Array<Record<string, unknown>> }).input.map((item) => item["type"] ?? item["role"])
        )
      const first = yield* Effect.promise(() => a.responses.create({ model: "o4-mini", input: "Remember this" }))
      openai.rotateReasoningKey()
      const refusedBefore = openai.requests.length
      const second = yield* Effect.promise(() => a.responses.create({ model: "o4-mini", previous_response_id: first.id, input: "And now?" }))
      assert.deepStrictEqual(callsSince(refusedBefore), [["user", "reasoning", "message", "user"], ["user", "message", "user"]])
      // On the other replica: one call, with only the reasoning issued since the refusal.
      const thirdBefore = openai.requests.length
      yield* Effect.promise(() => b.responses.create({ model: "o4-mini", previous_response_id: second.id, input: "Still there?" }))
      assert.deepStrictEqual(callsSince(thirdBefore), [["user", "message", "user", "reasoning", "message", "user"]])
    }))

  it.live("item references may point into at most 100 stored responses, as with the memory store", () =>
    Effect.gen(function*() {
      const upstreams = yield* GatewayUnderTest.upstreams
      const prefix = yield* freshPrefix
      yield* checkItemReferenceCap(yield* replica(upstreams, REDIS.hostname, REDIS.port || "6379", prefix))
    }))

  it.live("a replica that cannot reach Redis still answers, and cannot read stored responses: a 503", () =>
    Effect.gen(function*() {
      const upstreams = yield* GatewayUnderTest.upstreams
      const prefix = yield* freshPrefix
      const down = yield* replica(upstreams, "127.0.0.1", String(yield* closedPort), prefix)
      const answered = yield* Effect.promise(() => down.responses.create({ model: "gpt-4o", input: "Hello?" }))
      assert.strictEqual(answered.status, "completed")
      for (const call of [
        (): Promise<unknown> => down.responses.create({ model: "gpt-4o", previous_response_id: answered.id, input: "And?" }),
        (): Promise<unknown> => down.responses.retrieve(answered.id),
        (): Promise<unknown> => down.responses.delete(answered.id)
      ]) {
        const refused = (yield* failure(call)) as APIError
        assert.instanceOf(refused, APIError)
        assert.strictEqual(refused.status, 503)
        assert.strictEqual(refused.code, "response_store_unavailable")
        assert.match(refused.message, /response store \(Redis\) cannot be reached/)
        assert.strictEqual(refused.headers?.get("retry-after"), "1")
      }
    }))
})

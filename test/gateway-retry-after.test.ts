/**
 * A provider's `Retry-After` is trusted only so far (issue 13, item 5): a 429 asking for
 * 999,999,999 seconds cools its deployment for `max_cooldown_from_retry_after` (default five
 * minutes), on this replica and on the fleet's Redis board, whose TTL follows. Through the
 * gateway (sharing cooldowns through the machine's Redis) and the real OpenAI adapter.
 */
import { assert, describe, it } from "@effect/vitest"
import { NodeRedis } from "@effect/platform-node"
import { CooldownBoard } from "@llm-router/redis"
import { Clock, Context, Effect, Layer, Random } from "effect"
import { Redis } from "effect/persistence"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as InProcessGateway from "./InProcessGateway.ts"

/** The gateway's base URL (no master key in these configs). */
const start = (yaml: string) => Effect.map(InProcessGateway.start(yaml, "none"), ({ baseURL }) => baseURL.replace(/\/v1$/, ""))

const REDIS = new URL(process.env["LLM_ROUTER_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379")

/** An OpenAI-compatible upstream that rate-limits every request and asks to be left alone for 31 years. */
const greedyUpstream = Effect.acquireRelease(
  Effect.callback<{ readonly baseUrl: string; readonly close: () => void }>((resume) => {
    const server = createServer((request, response) => {
      request.resume()
      response.writeHead(429, { "content-type": "application/json", "retry-after": "999999999" })
      response.end(JSON.stringify({ error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }))
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, close: () => server.close() })))
  }),
  ({ close }) => Effect.sync(close)
)

describe("Retry-After from a provider", () => {
  it.live("cools a deployment for at most max_cooldown_from_retry_after, on the Redis board too", () =>
    Effect.gen(function*() {
      const upstream = yield* greedyUpstream
      const prefix = `llm-router-test:${Math.floor((yield* Random.next) * 2 ** 52).toString(36)}`
      const redis = Context.get(yield* Layer.build(Layer.orDie(NodeRedis.layer({ url: REDIS.href }))), Redis.Redis)
      const board = CooldownBoard.keys(prefix).board
      yield* Effect.addFinalizer(() => Effect.ignore(redis.send("DEL", board)))
      const url = yield* start(`
model_list:
  - model_name: greedy
    litellm_params: { model: openai/gpt-4o, api_base: "${upstream.baseUrl}", api_key: sk-x }
    model_info: { id: greedy-1 }
router_settings:
  num_retries: 0
  allowed_fails: 0
  max_retry_after: 0.5
  redis_host: ${REDIS.hostname}
  redis_port: ${REDIS.port || 6379}
  redis_key_prefix: ${prefix}
`)

      const sentAt = yield* Clock.currentTimeMillis
      const status = yield* Effect.promise(() =>
        fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "greedy", messages: [{ role: "user", content: "hi" }] })
        }).then((r) => r.status)
      )
      assert.strictEqual(status, 429)

      const readiness = yield* Effect.promise(() => fetch(`${url}/health/readiness`).then((r) => r.json()))
      const cooling = (readiness as { groups: Record<string, { cooling_down: Array<{ until: string }> }> }).groups["greedy"]!.cooling_down
      assert.lengthOf(cooling, 1)
      const until = Date.parse(cooling[0]!.until)
      assert.isAtLeast(until, sentAt + 290_000)
      assert.isAtMost(until, (yield* Clock.currentTimeMillis) + 300_000)

      // The replica posts the cooldown in the background; the board's TTL follows the bounded cooldown.
      const ttl = yield* Effect.promise(async () => {
        for (let i = 0; i < 300; i++) {
          const ms = Number(await Effect.runPromise(redis.send<number>("PTTL", board)))
          if (ms > 0) return ms
          await new Promise((r) => setTimeout(r, 10))
        }
        return -1
      })
      assert.isAbove(ttl, 0)
      assert.isAtMost(ttl, 300_000)
    }).pipe(Effect.scoped), 30_000)
})

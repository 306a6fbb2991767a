/**
 * Two `llm-router serve` replicas with the same LiteLLM config, sharing cooldowns through the
 * project's Redis (127.0.0.1:6379 as on CI, or LLM_ROUTER_TEST_REDIS_URL) by `router_settings.redis_host`: once a provider
 * rate-limits one replica, the other stops sending it requests without having failed once;
 * a conversation stays on one deployment whichever replica answers its turns; and a budget
 * spent through one replica is spent for the other.
 */
import { assert, describe, it } from "@effect/vitest"
import { NodeRedis } from "@effect/platform-node"
import { SharedPins } from "@llm-router/redis"
import { Context, Effect, Layer, Queue } from "effect"
import { Redis } from "effect/persistence"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { OpenAiUpstream } from "@llm-router/testing"
import { listeningUrl, run, waitFor } from "./CliProcess.ts"

/** The machine's Redis, as the package tests take it. */
const REDIS = new URL(process.env["LLM_ROUTER_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379")
const redisSettings = `  redis_host: ${REDIS.hostname}\n  redis_port: ${REDIS.port || 6379}` +
  (REDIS.password ? `\n  redis_password: "${decodeURIComponent(REDIS.password)}"` : "")

const chat = (base: string, session?: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(session === undefined ? {} : { "x-session-id": session }) },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "Hello?" }] })
    })
    await response.text()
    return {
      status: response.status,
      deployment: response.headers.get("x-llm-router-deployment"),
      attempts: response.headers.get("x-llm-router-attempts")
    }
  })

interface Readiness {
  readonly groups: Record<string, { cooling_down: Array<{ deployment: string; reason: string }> }>
  readonly shared_state: unknown
}
const readiness = (base: string) =>
  Effect.promise(async () => (await (await fetch(`${base}/health/readiness`)).json()) as Readiness)

const coolingOn = (base: string) => Effect.map(readiness(base), (r) => r.groups["chat"]!.cooling_down)

/** Runs `check` every 20 ms until `done` holds of its result (at most 5 s); returns the last result. */
const poll = <A>(check: Effect.Effect<A>, done: (a: A) => boolean) =>
  Effect.gen(function*() {
    let last = yield* check
    for (let i = 0; i < 250 && !done(last); i++) {
      yield* Effect.sleep("20 millis")
      last = yield* check
    }
    return last
  })

/** A client of the test's own on the machine's Redis, closed with the test's scope. */
const redisClient = Effect.map(Layer.build(NodeRedis.layer({ url: REDIS.href })), (context) => Context.get(context, Redis.Redis))

/**
 * Two `llm-router serve` replicas of one config (`model_list` and `router_settings` lines,
 * to which the Redis settings and a fresh key prefix are added), killed with the test's scope.
 */
const fleet = (modelList: string, routerSettings: string) =>
  Effect.gen(function*() {
    const prefix = `llm-router-test-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llm-router-fleet-"))
    fs.writeFileSync(path.join(dir, "config.yaml"), `
model_list:
${modelList}
router_settings:
${routerSettings}
${redisSettings}
  redis_key_prefix: ${prefix}
`)
    const replicas = [0, 1].map(() => run(["serve", "--config", "config.yaml", "--port", "0"], { cwd: dir }))
    yield* Effect.addFinalizer(() => Effect.sync(() => replicas.forEach((r) => r.child.kill("SIGKILL"))))
    const [a, b] = yield* Effect.forEach(replicas, (r) => listeningUrl(r))
    return { a: a!, b: b!, prefix, replicas }
  })

describe("replicas sharing cooldowns through Redis", () => {
  it.live("a deployment one replica cools down is skipped by the other", () =>
    Effect.gen(function*() {
      const limited = yield* OpenAiUpstream.make()
      limited.setFault("rate-limit")
      const healthy = yield* OpenAiUpstream.make()
      const { a, b, replicas } = yield* fleet(
        `  - model_name: chat
    litellm_params: { model: openai/gpt-4o, api_base: "${limited.baseUrl}", api_key: sk-a, order: 1 }
    model_info: { id: primary }
  - model_name: chat
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${healthy.baseUrl}", api_key: sk-b, order: 2 }
    model_info: { id: backup }`,
        // A cooldown long enough that no slow run sees it end before replica b is asked.
        "  num_retries: 1\n  cooldown_time: 60"
      )
      // The line follows the listening line, maybe in a later read of the pipe.
      const sharing = `shared state: cooldowns shared through redis://${REDIS.hostname}:${REDIS.port || 6379}`
      for (const r of replicas) yield* waitFor(() => (r.stdout().includes(sharing) ? sharing : undefined), "the shared-state line")
      for (const base of [a, b]) {
        const shared = yield* poll(Effect.map(readiness(base), (r) => r.shared_state), (state) => (state as { connected?: boolean }).connected === true)
        assert.deepStrictEqual(shared, { store: "redis", connected: true })
        const metrics = yield* Effect.promise(() => fetch(`${base}/metrics`).then((r) => r.text()))
        assert.match(metrics, /^llm_router_shared_state_connected(\{[^}]*\})? 1$/m)
      }

      // Replica a meets the rate limit, cools "primary" down and answers from "backup".
      const first = yield* chat(a)
      assert.deepStrictEqual(first, { status: 200, deployment: "backup", attempts: "2" })
      assert.strictEqual(limited.requests.length, 1)

      // Replica b hears of it, and goes straight to "backup": "primary" sees no second request.
      const cooling = yield* poll(coolingOn(b), (c) => c.length > 0)
      assert.deepStrictEqual(cooling.map((c) => [c.deployment, c.reason]), [["primary", "RateLimited"]])
      const second = yield* chat(b)
      assert.deepStrictEqual(second, { status: 200, deployment: "backup", attempts: "1" })
      assert.strictEqual(limited.requests.length, 1)
    }))

  it.live("a session keeps its deployment whichever replica answers", () =>
    Effect.gen(function*() {
      const upstream = yield* OpenAiUpstream.make()
      const { a, b, prefix } = yield* fleet(
        ["one", "two", "three"].map((id) => `  - model_name: chat
    litellm_params: { model: openai/gpt-4o, api_base: "${upstream.baseUrl}", api_key: sk-x }
    model_info: { id: ${id} }`).join("\n"),
        "  routing_strategy: simple-shuffle"
      )

      // Listen as a third party: once the pins reached us, they reached replica b as well.
      const redis = yield* redisClient
      const news = yield* redis.subscribe(SharedPins.channel(prefix))
      yield* poll(redis.send<[string, number]>("PUBSUB", "NUMSUB", SharedPins.channel(prefix)).pipe(Effect.orDie), ([, n]) => Number(n) >= 3)

      // Twelve conversations start on replica a; with three deployments drawn at random, their
      // second turns on replica b all land where the first did only if b knows the pins.
      const sessions = Array.from({ length: 12 }, (_, i) => `conversation-${i}`)
      const first = yield* Effect.forEach(sessions, (session) => chat(a, session))
      assert.isAbove(new Set(first.map((r) => r.deployment)).size, 1, "the strategy spread the sessions")
      yield* Effect.forEach(sessions, () => Queue.take(news)).pipe(
        Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error("replica a did not announce its pins")) })
      )
      yield* Effect.sleep("50 millis")
      const second = yield* Effect.forEach(sessions, (session) => chat(b, session))
      assert.deepStrictEqual(second.map((r) => r.deployment), first.map((r) => r.deployment))
    }))

  it.live("a provider budget spent through one replica is spent for the other", () =>
    Effect.gen(function*() {
      const upstream = yield* OpenAiUpstream.make()
      const { a, b, prefix } = yield* fleet(
        `  - model_name: chat
    litellm_params: { model: openai/gpt-4o, api_base: "${upstream.baseUrl}", api_key: sk-x }`,
        "  provider_budget_config:\n    openai: { budget_limit: 0.0000001, time_period: 1d }"
      )

      assert.strictEqual((yield* chat(a)).status, 200)
      // Replica a adds its spend to Redis at its next sync (each second)…
      const redis = yield* redisClient
      const key = `${prefix}:spend:provider:openai:${Math.floor(Date.now() / 86_400_000)}`
      const spent = yield* poll(Effect.map(redis.send<string | null>("GET", key), Number).pipe(Effect.orDie), (usd) => usd > 0)
      assert.isAbove(spent, 0)
      yield* Effect.addFinalizer(() => Effect.ignore(redis.send("DEL", key)))
      // …and replica b reads the fleet's total at its own: wait out two of them.
      yield* Effect.sleep("2500 millis")
      const refused = yield* chat(b)
      assert.strictEqual(refused.status, 429)
      assert.strictEqual(upstream.requests.length, 1, "replica b sent nothing to the provider")
    }))
})

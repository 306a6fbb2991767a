/**
 * `node bench/shared-state.ts`: how long a cooldown takes to reach another replica through
 * Redis (`@llm-router/redis`), and what the shared store costs on the request path. Needs a
 * Redis (LLM_ROUTER_BENCH_REDIS_URL, default redis://127.0.0.1:6379); keys go under a fresh
 * prefix and expire with their cooldowns.
 *
 * - Propagation: replica A starts a cooldown; the time until replica B's `cooldowns` lists it
 *   (B polls its memory store on every turn of the event loop, so the figure includes up to
 *   one turn). LiteLLM's replicas re-read cooldowns every 1 to 10 s.
 * - Request path: `snapshot` + `onStart` + `onSuccess`, the three calls a routed request
 *   makes, on the Redis store and on the memory store, interleaved in the same process.
 */
import { RouterState } from "@llm-router/core"
import { RedisRouterState } from "@llm-router/redis"
import { Context, Effect, Layer, Redacted } from "effect"
import { summarize, table } from "./Stats.ts"

const url = process.env["LLM_ROUTER_BENCH_REDIS_URL"] ?? "redis://127.0.0.1:6379"
const prefix = `llm-router-bench:${process.pid}-${Date.now()}`
const COOLDOWNS = 300
const REQUESTS = 20_000

const replica = Effect.map(
  Layer.build(RedisRouterState.layerNode({ url: Redacted.make(url) }, { prefix })),
  (context) => ({ state: Context.get(context, RouterState.RouterState), status: Context.get(context, RedisRouterState.Status) })
)

const program = Effect.gen(function*() {
  const a = yield* replica
  const b = yield* replica
  while (!((yield* a.status.connected) && (yield* b.status.connected))) yield* Effect.sleep("10 millis")
  yield* Effect.sleep("200 millis") // both subscribed

  const propagation: Array<number> = []
  for (let i = 0; i < COOLDOWNS; i++) {
    const id = `deployment-${i}`
    const t0 = performance.now()
    yield* a.state.onFailure(id, { reason: "RateLimited", countsTowardCooldown: true, coolsImmediately: true, allowedFails: 0, cooldownMs: 60_000 })
    while (!(yield* b.state.cooldowns).some((c) => c.deployment === id)) yield* Effect.yieldNow
    propagation.push((performance.now() - t0) * 1000)
  }

  const memory = yield* RouterState.makeMemory
  const ids = ["x", "y", "z"]
  const requestPath = (state: RouterState.Service) =>
    Effect.gen(function*() {
      const t0 = performance.now()
      yield* state.snapshot(ids)
      yield* state.onStart("x")
      yield* state.onSuccess("x", { latencyMs: 100, tokens: 10 })
      return (performance.now() - t0) * 1000
    })
  const onMemory: Array<number> = []
  const onRedis: Array<number> = []
  for (let i = 0; i < REQUESTS; i++) {
    onMemory.push(yield* requestPath(memory))
    onRedis.push(yield* requestPath(a.state))
  }
  return { propagation, onMemory, onRedis }
})

const { onMemory, onRedis, propagation } = await Effect.runPromise(Effect.scoped(program))
console.log(`Redis at ${url.replace(/\/\/[^@]*@/, "//")}; ${COOLDOWNS} cooldowns, ${REQUESTS} requests' state calls\n`)
console.log(table([summarize("cooldown: replica A starts it -> replica B routes around it", propagation)]))
console.log("")
console.log(table([summarize("request path, memory store (snapshot+onStart+onSuccess)", onMemory), summarize("request path, Redis store", onRedis)]))
process.exit(0)

/**
 * `node bench/shared-state.ts`: how long a cooldown takes to reach another replica through
 * Redis (`@llm-router/redis`), and what the shared store costs on the request path. Needs a
 * Redis (LLM_ROUTER_BENCH_REDIS_URL, default redis://127.0.0.1:6379); keys go under a fresh
 * prefix and expire with their cooldowns (the Responses entries after 10 minutes).
 *
 * - Propagation: replica A starts a cooldown; the time until replica B's `cooldowns` lists it
 *   (B polls its memory store on every turn of the event loop, so the figure includes up to
 *   one turn). LiteLLM's replicas re-read cooldowns every 1 to 10 s.
 * - Request path: `snapshot` + `onStart` + `onSuccess`, the three calls a routed request
 *   makes, on the Redis store and on the memory store, interleaved in the same process.
 * - Responses continuation: what the gateway's Responses store adds to a `previous_response_id`
 *   turn (read the conversation, store the new answer), for conversations of 10 and 100 turns
 *   of short messages, on Redis (`SharedResponseStore`) and in memory, interleaved.
 */
import { RouterState } from "@llm-router/core"
import type { ResponsesResponse } from "@llm-router/openai"
import { RedisRouterState, SharedConnection } from "@llm-router/redis"
import { ResponseStore, SharedResponseStore } from "@llm-router/server"
import { Context, Effect, Layer, Redacted } from "effect"
import { summarize, table } from "./Stats.ts"

const url = process.env["LLM_ROUTER_BENCH_REDIS_URL"] ?? "redis://127.0.0.1:6379"
const prefix = `llm-router-bench:${process.pid}-${Date.now()}`
const COOLDOWNS = 300
const REQUESTS = 20_000
const CONTINUATIONS = 1_000

/** Turn `i` of a conversation of short messages, continuing `previous`. */
const turn = (i: number, previous: ResponseStore.Conversation | undefined): ResponseStore.Entry => {
  const id = `resp_bench${i}`
  const output = [{
    type: "message",
    id: `msg_bench${i}_0`,
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: `Answer ${i}: a sentence or two of an assistant's reply.`, annotations: [], logprobs: [] }]
  }] as Array<ResponsesResponse.OutputItem>
  return {
    id,
    conversation: "resp_bench0",
    previous: previous?.entry.id,
    ancestors: previous?.ancestors ?? [],
    input: [{ role: "user", content: `Question ${i}: a line from the user.` }],
    output,
    response: { id, object: "response", status: "completed", output } as unknown as ResponsesResponse.ResponseObject
  }
}

const replica = Effect.map(
  Layer.build(RedisRouterState.layerNode({ url: Redacted.make(url) }, { prefix })),
  (context) => ({
    state: Context.get(context, RouterState.RouterState),
    status: Context.get(context, RedisRouterState.Status),
    connection: Context.get(context, SharedConnection.SharedConnection)
  })
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
  // A continuation: read the conversation so far, store the answer that continues it.
  const responseStores = {
    memory: ResponseStore.memory(new ResponseStore.MemoryStore()),
    redis: SharedResponseStore.make(a.connection, { prefix, ttlMs: 600_000 })
  }
  const continuations: Record<string, Array<number>> = {}
  for (const turns of [10, 100]) {
    for (const store of Object.values(responseStores)) {
      let previous: ResponseStore.Conversation | undefined
      for (let i = 0; i < turns - 1; i++) {
        yield* store.put(turn(i, previous))
        previous = yield* Effect.orDie(store.conversation(`resp_bench${i}`))
      }
    }
    const times: Record<string, Array<number>> = { memory: [], redis: [] }
    for (let n = 0; n < CONTINUATIONS; n++) {
      for (const [name, store] of Object.entries(responseStores)) {
        const t0 = performance.now()
        const found = yield* Effect.orDie(store.conversation(`resp_bench${turns - 2}`))
        yield* store.put(turn(turns - 1, found))
        times[name]!.push((performance.now() - t0) * 1000)
      }
    }
    continuations[`${turns} turns, memory`] = times["memory"]!
    continuations[`${turns} turns, Redis`] = times["redis"]!
  }
  return { propagation, onMemory, onRedis, continuations }
})

const { continuations, onMemory, onRedis, propagation } = await Effect.runPromise(Effect.scoped(program))
console.log(`Redis at ${url.replace(/\/\/[^@]*@/, "//")}; ${COOLDOWNS} cooldowns, ${REQUESTS} requests' state calls\n`)
console.log(table([summarize("cooldown: replica A starts it -> replica B routes around it", propagation)]))
console.log("")
console.log(table([summarize("request path, memory store (snapshot+onStart+onSuccess)", onMemory), summarize("request path, Redis store", onRedis)]))
console.log("")
console.log(table(Object.entries(continuations).map(([what, times]) => summarize(`Responses continuation (read + store), ${what}`, times))))
process.exit(0)

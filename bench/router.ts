/**
 * The router's own overhead: a `chat` through a 3-deployment router over a provider that
 * answers instantly, against calling that provider directly, interleaved in rounds so the
 * machine's noise hits both alike. Reports medians and p99 in microseconds and the ratio.
 *
 * Run: node bench/router.ts   (part of `pnpm bench`)
 */
import { Chat, LlmClient, Router, RouterConfig, RouterState } from "@llm-router/core"
import { Effect } from "effect"
import { type Result, summarize, table } from "./Stats.ts"

const ROUNDS = 20
const PER_ROUND = 2_000
const WARMUP = 5_000

const request: Chat.ChatRequest = { model: "bench", messages: [{ role: "user", content: "Say hi." }] }
const response: Chat.ChatResponse = {
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 0,
  model: "bench-model",
  choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 }
}

/** Answers at once with a fixed completion: all measured time is the caller's own. */
const instant: LlmClient.Service = {
  chat: () =>
    Effect.succeed({
      response,
      route: {
        group: "bench",
        servedBy: "bench",
        deployment: "instant",
        provider: "openai",
        model: "bench-model",
        attempts: 1,
        fallbacks: [],
        latencyMs: 0
      }
    }),
  stream: () => {
    throw new Error("not used")
  }
}

const timeEach = (call: Effect.Effect<unknown, unknown>, n: number, into: Array<number>) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint()
      yield* call
      into.push(Number(process.hrtime.bigint() - start) / 1000)
    }
  })

export const run = (): Promise<ReadonlyArray<Result>> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({
        model_list: ["a", "b", "c"].map((id) => ({ model_name: "bench", litellm_params: { model: `openai/${id}` }, model_info: { id } }))
      })
      const router = yield* Router.make(config, () => Effect.succeed(instant))
      const direct = instant.chat(request)
      const routed = router.chat(request)
      yield* timeEach(direct, WARMUP, [])
      yield* timeEach(routed, WARMUP, [])
      const directUs: Array<number> = []
      const routerUs: Array<number> = []
      for (let round = 0; round < ROUNDS; round++) {
        yield* timeEach(direct, PER_ROUND, directUs)
        yield* timeEach(routed, PER_ROUND, routerUs)
      }
      const d = summarize("provider called directly", directUs)
      const r = summarize("through a 3-deployment router", routerUs)
      return [d, r, { name: "router overhead (difference)", medianUs: r.medianUs - d.medianUs, p99Us: r.p99Us - d.p99Us, n: r.n }]
    }).pipe(Effect.provide(RouterState.layerMemory))
  )

if (import.meta.main) {
  const rows = await run()
  console.log(table(rows))
  console.log(`ratio (median): ${(rows[1]!.medianUs / rows[0]!.medianUs).toFixed(1)}×`)
}

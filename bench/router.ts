/**
 * The router's own overhead: a `chat` through a 3-deployment router over a provider that
 * answers instantly, against calling that provider directly, interleaved in rounds so the
 * machine's noise hits both alike. Reports medians and p99 in microseconds and the ratio;
 * then, in the same rounds, the overhead with a composed three-step strategy and with groups
 * of 300 and 3,000 deployments (the default strategy), whose decision cost must not grow
 * with the group.
 *
 * Run: node bench/router.ts   (part of `pnpm bench`)
 */
import { Chat, LlmClient, Router, RouterConfig, RouterState, Strategy } from "@llm-router/core"
import { Effect, pipe } from "effect"
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

/** A router over `count` deployments of one group, each answering at once. */
const routerOf = (count: number, options?: Router.Options) =>
  Effect.gen(function*() {
    const config = yield* RouterConfig.decode({
      model_list: Array.from({ length: count }, (_, i) => ({
        model_name: "bench",
        litellm_params: { model: `openai/d${i}` },
        model_info: { id: `d${i}` }
      }))
    })
    return yield* Router.make(config, () => Effect.succeed(instant), options)
  })

/** A strategy an app would compose: three steps (a stats filter, the least busy, a weighted shuffle among them). */
export const composed: Strategy.Strategy = pipe(
  Strategy.candidates,
  Strategy.filter((d, context) => (Strategy.statsOf(context, d).latencyP50Ms ?? 0) < 500),
  Strategy.keepLowest(Strategy.inFlight),
  Strategy.pick(Strategy.simpleShuffle)
)

export const run = (): Promise<ReadonlyArray<Result>> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const direct = instant.chat(request)
      const subjects = [
        { name: "through a 3-deployment router", router: yield* routerOf(3), size: 3, perRound: PER_ROUND },
        { name: "3 deployments, a composed 3-step strategy", router: yield* routerOf(3, { strategy: composed }), size: 3, perRound: PER_ROUND },
        { name: "a group of 300 deployments", router: yield* routerOf(300), size: 300, perRound: PER_ROUND },
        { name: "a group of 3,000 deployments", router: yield* routerOf(3000), size: 3000, perRound: PER_ROUND }
      ].map((s) => ({ ...s, call: s.router.chat(request), samples: [] as Array<number> }))
      yield* timeEach(direct, WARMUP, [])
      // Steady state: each deployment has served a few calls (its metric series, state entry and
      // caches are made on its first), as in a gateway that has been up a while.
      for (const s of subjects) yield* timeEach(s.call, Math.max(WARMUP, 5 * s.size), [])
      const directUs: Array<number> = []
      for (let round = 0; round < ROUNDS; round++) {
        yield* timeEach(direct, PER_ROUND, directUs)
        for (const s of subjects) yield* timeEach(s.call, s.perRound, s.samples)
      }
      const d = summarize("provider called directly", directUs)
      const [three, ...others] = subjects.map((s) => summarize(s.name, s.samples))
      const overhead = (r: Result, name: string): Result => ({ name, medianUs: r.medianUs - d.medianUs, p99Us: r.p99Us - d.p99Us, n: r.n })
      return [
        d,
        three!,
        overhead(three!, "router overhead (difference)"),
        ...others.map((r) => overhead(r, `overhead: ${r.name}`))
      ]
    }).pipe(Effect.provide(RouterState.layerMemory))
  )

if (import.meta.main) {
  const rows = await run()
  console.log(table(rows))
  console.log(`ratio (median): ${(rows[1]!.medianUs / rows[0]!.medianUs).toFixed(1)}×`)
}

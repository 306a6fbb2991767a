/**
 * Routing quality: how well each strategy follows the providers' latency. Every scenario
 * (`routing/Scenarios.ts`) sends the same steady trace of requests (whole answers, or streams
 * whose callers wait for the first content chunk) through the real `Router` over
 * `SimulatedProvider`s whose latency is a function of simulated time, load and answer length,
 * on `TestClock` with a seeded `Random`: deterministic, and seconds to run.
 * Contenders: our `latency-based-routing`, LiteLLM's algorithm re-stated
 * (`routing/LiteLlmLatency.ts`, as its code does it and as its docs describe it),
 * simple-shuffle, least-busy, and an oracle that knows each deployment's true latency now.
 *
 * Per scenario and contender: mean and p99 latency seen by callers (of a stream: to its first
 * content chunk), the mean against the oracle's, the share of calls sent to the slowest
 * deployment at the time (slowest by more than 10 %), the time to move away from a deployment
 * after its change (its share of calls in a 5 s window at most 10 %) and to come back after it
 * recovers (at least 20 %), and failed requests; then, where a scenario has a change, the same
 * per phase (before it, during it, after the recovery).
 *
 * Run: pnpm bench:routing   (node bench/routing.ts)
 */
import { type Chat, type Deployment, type LatencyRouting, type LlmClient, Router, RouterConfig, RouterState } from "@llm-router/core"
import { SimulatedProvider } from "@llm-router/testing"
import { Clock, Effect, Random, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as LiteLlmLatency from "./routing/LiteLlmLatency.ts"
import { type DeploymentModel, outageUntil, type Scenario, scenarios, STREAM_CHUNKS, trueLatency } from "./routing/Scenarios.ts"
import { percentile } from "./Stats.ts"

interface Environment {
  readonly scenario: Scenario
  readonly sims: ReadonlyMap<string, SimulatedProvider.SimulatedProvider>
}

interface Contender {
  readonly name: string
  readonly routingStrategy: RouterConfig.RoutingStrategy
  /**
   * A strategy of the benchmark's own, put in the router's place of the named one; told when
   * a stream ends if it asks (LiteLLM's algorithm records streams then).
   */
  readonly custom?: (env: Environment) => LatencyRouting.LatencyRouting & { readonly streamEnded?: LiteLlmLatency.LiteLlmLatency["streamEnded"] }
}

/** Knows each deployment's true latency now, at its load plus this call: picks the lowest. */
const oracle = ({ scenario, sims }: Environment): LatencyRouting.LatencyRouting => {
  const models = new Map(scenario.deployments.map((d) => [d.id, d]))
  const latencyNow = (d: Deployment.Deployment, now: number) =>
    trueLatency(models.get(d.id)!, now, sims.get(d.id)!.inFlightUnsafe() + 1, scenario.typicalTokens, scenario.streaming)
  return {
    pick: (candidates, context) => {
      const scored = candidates.map((d) => ({ d, ms: latencyNow(d, context.snapshot.now) }))
      const lowest = Math.min(...scored.map((s) => s.ms))
      const best = scored.filter((s) => s.ms === lowest)
      return best[Math.floor(context.random * best.length)]!.d
    },
    observer: { started: (deployment, streaming, startedAt) => ({ deployment, streaming, startedAt, load: 1 }), answered: () => {}, failed: () => {}, released: () => {} },
    estimate: () => undefined
  }
}

export const contenders: ReadonlyArray<Contender> = [
  { name: "ours (latency-based-routing)", routingStrategy: "latency-based-routing" },
  { name: "LiteLLM latency, as its code", routingStrategy: "latency-based-routing", custom: () => LiteLlmLatency.make() },
  { name: "LiteLLM latency, as its docs", routingStrategy: "latency-based-routing", custom: () => LiteLlmLatency.make({ asDocumented: true }) },
  { name: "simple-shuffle", routingStrategy: "simple-shuffle" },
  { name: "least-busy", routingStrategy: "least-busy" },
  { name: "oracle", routingStrategy: "latency-based-routing", custom: oracle }
]

interface CallRecord {
  readonly at: number
  readonly deployment: string
  readonly toSlowest: boolean
}

interface Outcome {
  /** Each answered call's start and latency. */
  readonly answered: ReadonlyArray<{ readonly at: number; readonly ms: number }>
  readonly failed: number
  readonly calls: ReadonlyArray<CallRecord>
}

/** A small seeded generator for the trace (answer lengths), so every contender gets the same one. */
const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6D2B79F5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** The slowest deployment at `now`, if it is slower than every other by more than 10 %. */
const slowestAt = (scenario: Scenario, sims: Environment["sims"], now: number): string | undefined => {
  const scored = scenario.deployments.map((d: DeploymentModel) => ({
    id: d.id,
    ms: trueLatency(d, now, sims.get(d.id)!.inFlightUnsafe() + 1, scenario.typicalTokens, scenario.streaming)
  }))
  const slowest = scored.reduce((a, b) => (b.ms > a.ms ? b : a))
  return scored.every((s) => s === slowest || slowest.ms > s.ms * 1.1) ? slowest.id : undefined
}

export const runOne = (scenario: Scenario, contender: Contender, seed = 16): Promise<Outcome> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({
        model_list: scenario.deployments.map((d) => ({ model_name: "bench", litellm_params: { model: `openai/${d.id}` }, model_info: { id: d.id } })),
        routing_strategy: contender.routingStrategy
      })
      const sims = new Map<string, SimulatedProvider.SimulatedProvider>()
      for (const d of scenario.deployments) {
        sims.set(
          d.id,
          yield* SimulatedProvider.make({
            deployment: d.id,
            group: "bench",
            unlogged: true,
            latency: { _tag: "Dynamic", ms: (call) => d.latencyMs(call.now, call.inFlight, call.outputTokens), jitter: scenario.jitter },
            outages: d.outages,
            answerTokens: (request) => request.max_tokens ?? 1,
            chunks: STREAM_CHUNKS,
            chunkIntervalMs: d.chunkIntervalMs
          })
        )
      }
      const calls: Array<CallRecord> = []
      const custom = contender.custom?.({ scenario, sims })
      const record = (deployment: string, at: number) =>
        calls.push({ at, deployment, toSlowest: slowestAt(scenario, sims, at) === deployment })
      const recorded = (sim: SimulatedProvider.SimulatedProvider): LlmClient.Service => ({
        chat: (request) =>
          Effect.flatMap(Clock.currentTimeMillis, (at) => {
            record(sim.deployment, at)
            return sim.chat(request)
          }),
        stream: (request) =>
          Stream.unwrap(Effect.map(Clock.currentTimeMillis, (at) => {
            record(sim.deployment, at)
            const streamEnded = custom?.streamEnded
            if (streamEnded === undefined) return sim.stream(request)
            // Tells the strategy when the stream ends, with its time to first chunk and its length.
            let firstChunkAt: number | undefined
            return sim.stream(request).pipe(Stream.tap((part) =>
              Clock.clockWith((clock) => {
                const now = clock.currentTimeMillisUnsafe()
                if (part._tag === "Chunk" && firstChunkAt === undefined && hasContent(part.chunk)) firstChunkAt = now
                if (part._tag === "Done") streamEnded(sim.deployment, at, firstChunkAt ?? now, now, part.route.usage?.completion_tokens ?? 1)
                return Effect.void
              })
            ))
          }))
      })
      const router = yield* Router.make(config, (d) => Effect.succeed(recorded(sims.get(d.id)!)), { latency: custom }).pipe(
        Effect.provideServiceEffect(RouterState.RouterState, RouterState.makeMemory)
      )

      const answered: Array<{ at: number; ms: number }> = []
      let failed = 0
      const next = mulberry32(seed)
      const interval = 1000 / scenario.requestsPerSecond
      const count = Math.floor(scenario.durationMs / interval)
      for (let i = 0; i < count; i++) {
        const request: Chat.ChatRequest = {
          model: "bench",
          messages: [{ role: "user", content: `request ${i}` }],
          max_tokens: scenario.answerTokens(next())
        }
        yield* Effect.forkChild(
          Effect.gen(function*() {
            yield* Effect.sleep(i * interval)
            const start = yield* Clock.currentTimeMillis
            // A stream's caller waits for its first content chunk; then it reads the rest.
            let firstChunkAt: number | undefined
            const call = scenario.streaming === true
              ? Stream.runForEach(router.stream(request), (part) =>
                part._tag === "Chunk" && firstChunkAt === undefined && hasContent(part.chunk)
                  ? Effect.map(Clock.currentTimeMillis, (now) => void (firstChunkAt = now))
                  : Effect.void)
              : Effect.asVoid(router.chat(request))
            const result = yield* Effect.result(call)
            if (result._tag === "Success") answered.push({ at: start, ms: (firstChunkAt ?? (yield* Clock.currentTimeMillis)) - start })
            else failed++
          })
        )
      }
      // Past the last arrival, long enough for every call to end.
      yield* TestClock.adjust(scenario.durationMs + 120_000)
      return { answered, failed, calls }
    }).pipe(Effect.provide(TestClock.layer()), Random.withSeed(seed))
  )

const hasContent = (chunk: Chat.ChatChunk) => (chunk.choices[0]?.delta.content ?? "") !== ""

const WINDOW_MS = 5_000

/** Time from `from` to the end of the first 5 s window in which `deployment`'s share of calls satisfies `test`. */
const timeUntil = (calls: ReadonlyArray<CallRecord>, deployment: string, from: number, until: number, test: (share: number) => boolean) => {
  for (let start = from; start + WINDOW_MS <= until; start += WINDOW_MS) {
    const inWindow = calls.filter((c) => c.at >= start && c.at < start + WINDOW_MS)
    if (inWindow.length === 0) continue
    const share = inWindow.filter((c) => c.deployment === deployment).length / inWindow.length
    if (test(share)) return start + WINDOW_MS - from
  }
  return undefined
}

interface Row {
  readonly scenario: string
  readonly contender: string
  readonly meanMs: number
  readonly p99Ms: number
  readonly toSlowest: number
  readonly awayMs: number | undefined
  readonly backMs: number | undefined
  readonly failed: number
  /** Where the scenario has a change: the mean latency of calls started before it, during it and after the recovery, and the changed deployment's share of calls in each. */
  readonly phases?: ReadonlyArray<{ readonly meanMs: number; readonly share: number }> | undefined
}

/** The mean latency of the calls started in [from, to), and `deployment`'s share of the calls made in it. */
const phase = (outcome: Outcome, deployment: string, from: number, to: number) => {
  const answered = outcome.answered.filter((a) => a.at >= from && a.at < to)
  const calls = outcome.calls.filter((c) => c.at >= from && c.at < to)
  return {
    meanMs: answered.reduce((a, b) => a + b.ms, 0) / answered.length,
    share: calls.filter((c) => c.deployment === deployment).length / calls.length
  }
}

const summarise = (scenario: Scenario, contender: Contender, outcome: Outcome): Row => {
  const sorted = outcome.answered.map((a) => a.ms).sort((a, b) => a - b)
  const change = scenario.change
  return {
    scenario: scenario.name,
    contender: contender.name,
    meanMs: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p99Ms: percentile(sorted, 99),
    toSlowest: outcome.calls.filter((c) => c.toSlowest).length / outcome.calls.length,
    awayMs: change && timeUntil(outcome.calls, change.deployment, change.onsetMs, change.recoveryMs, (s) => s <= 0.1),
    backMs: change && timeUntil(outcome.calls, change.deployment, change.recoveryMs, scenario.durationMs, (s) => s >= 0.2),
    failed: outcome.failed,
    phases: change && [
      phase(outcome, change.deployment, 0, change.onsetMs),
      phase(outcome, change.deployment, change.onsetMs, change.recoveryMs),
      phase(outcome, change.deployment, change.recoveryMs, scenario.durationMs)
    ]
  }
}

const seconds = (ms: number | undefined, applies: boolean) => (!applies ? "" : ms === undefined ? "never" : `${(ms / 1000).toFixed(0)} s`)

/** Runs the scenarios whose names start with one of `only` (all when empty), through every contender whose name contains `among`. */
export const run = async (only: ReadonlyArray<string> = [], among = ""): Promise<ReadonlyArray<Row>> => {
  const rows: Array<Row> = []
  for (const scenario of scenarios.filter((s) => only.length === 0 || only.some((p) => s.name.startsWith(p)))) {
    for (const contender of contenders.filter((c) => c.name.includes(among) || c.name === "oracle")) {
      rows.push(summarise(scenario, contender, await runOne(scenario, contender)))
    }
  }
  return rows
}

const printTable = (head: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`
  console.log(line(head))
  console.log(`|${widths.map((w, i) => (i < 2 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`)
  for (const b of body) console.log(line(b))
}

const percent = (x: number) => `${(x * 100).toFixed(1)} %`

/** Per phase of the scenarios with a change: before it, during it, after the recovery. */
const printPhases = (rows: ReadonlyArray<Row>) => {
  const head = ["scenario", "strategy", "before: mean ms", "its share", "during: mean ms", "its share", "after: mean ms", "its share"]
  const body = rows.filter((r) => r.phases !== undefined).map((r) => [
    r.scenario,
    r.contender,
    ...r.phases!.flatMap((p) => [p.meanMs.toFixed(0), percent(p.share)])
  ])
  if (body.length > 0) printTable(head, body)
}

const print = (rows: ReadonlyArray<Row>) => {
  const head = ["scenario", "strategy", "mean ms", "p99 ms", "mean/oracle", "to slowest", "move away", "come back", "failed"]
  const oracleMean = new Map(rows.filter((r) => r.contender === "oracle").map((r) => [r.scenario, r.meanMs]))
  const body = rows.map((r) => {
    const change = scenarios.find((s) => s.name === r.scenario)?.change !== undefined
    return [
      r.scenario,
      r.contender,
      r.meanMs.toFixed(0),
      r.p99Ms.toFixed(0),
      (r.meanMs / oracleMean.get(r.scenario)!).toFixed(2),
      percent(r.toSlowest),
      seconds(r.awayMs, change),
      seconds(r.backMs, change),
      String(r.failed)
    ]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`
  console.log(line(head))
  console.log(`|${widths.map((w, i) => (i < 2 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`)
  for (const b of body) console.log(line(b))
}

const meanOf = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

/**
 * Scenario 4 over outage end times 175-194 s and six seeds, ours against LiteLLM's algorithm (as
 * its code) paired on each: on one run, where the router's 5 s cooldown stands when the outage
 * ends (the same cooldown for every strategy) moves the mean by a few milliseconds either way.
 */
const outageSweep = async () => {
  const ours = contenders.find((c) => c.name.startsWith("ours"))!
  const litellm = contenders.find((c) => c.name === "LiteLLM latency, as its code")!
  const differences: Array<number> = []
  const means: Array<readonly [number, number]> = []
  for (let endMs = 175_000; endMs < 195_000; endMs += 1_000) {
    for (const seed of [16, 1, 2, 3, 4, 5]) {
      const scenario = outageUntil(endMs)
      const [a, b] = [await runOne(scenario, ours, seed), await runOne(scenario, litellm, seed)]
      const pair = [meanOf(a.answered.map((x) => x.ms)), meanOf(b.answered.map((x) => x.ms))] as const
      means.push(pair)
      differences.push(pair[0] - pair[1])
    }
  }
  const d = meanOf(differences)
  const se = Math.sqrt(differences.reduce((acc, x) => acc + (x - d) ** 2, 0) / (differences.length - 1) / differences.length)
  console.log(`\nScenario 4 over outage end times 175-194 s and seeds 16, 1-5 (${means.length} paired runs):`)
  console.log(`  mean ms: ours ${meanOf(means.map((m) => m[0])).toFixed(1)}, ${litellm.name} ${meanOf(means.map((m) => m[1])).toFixed(1)}`)
  console.log(`  ours minus LiteLLM's, per pair: ${d.toFixed(2)} ms (standard error ${se.toFixed(2)}); ours lower in ${differences.filter((x) => x < 0).length} of ${differences.length}`)
}

if (import.meta.main) {
  const started = performance.now()
  const sweep = process.argv.includes("--outage-sweep")
  const rows = await run(process.argv.slice(2).filter((a) => !a.startsWith("--")), process.env["ROUTING_AMONG"] ?? "")
  print(rows)
  console.log("\nPer phase (the deployment that changes: its share of the calls):\n")
  printPhases(rows)
  if (sweep) await outageSweep()
  console.log(`\n${rows.length} runs${sweep ? " and the sweep" : ""} in ${((performance.now() - started) / 1000).toFixed(1)} s of wall time (simulated time on TestClock)`)
}

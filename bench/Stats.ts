/** Small helpers shared by the benchmarks: timing, interleaving, percentiles and table printing. */
import { Effect } from "effect"

export interface Result {
  readonly name: string
  readonly medianUs: number
  readonly p99Us: number
  readonly n: number
}

export const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

export const summarize = (name: string, samplesUs: ReadonlyArray<number>): Result => {
  const sorted = [...samplesUs].sort((a, b) => a - b)
  return { name, medianUs: percentile(sorted, 50), p99Us: percentile(sorted, 99), n: sorted.length }
}

export const table = (rows: ReadonlyArray<Result>): string => {
  const width = Math.max(...rows.map((r) => r.name.length), 10)
  const lines = [`${"".padEnd(width)}  ${"median µs".padStart(10)}  ${"p99 µs".padStart(10)}  ${"n".padStart(7)}`]
  for (const r of rows) {
    lines.push(`${r.name.padEnd(width)}  ${r.medianUs.toFixed(2).padStart(10)}  ${r.p99Us.toFixed(2).padStart(10)}  ${String(r.n).padStart(7)}`)
  }
  return lines.join("\n")
}

/** ~2 KB of prose: the answer the adapter benches ask their mocks for. */
export const PROSE_2KB = Array.from({ length: 340 }, (_, i) => ["alpha", "beta", "gamma", "delta"][i % 4]).join(" ")

/** Runs `effect` once, pushing its wall time in µs to `into` when given. */
export const time = (effect: Effect.Effect<unknown, unknown>, into?: Array<number>) =>
  Effect.gen(function*() {
    const start = process.hrtime.bigint()
    yield* effect
    into?.push(Number(process.hrtime.bigint() - start) / 1000)
  })

/**
 * Alternates `subject` and `baseline` calls, swapping their order each pair so neither side
 * always runs on a warmer connection; returns both timings and the per-pair differences (µs).
 */
export const interleavedPairs = (
  subject: Effect.Effect<unknown, unknown>,
  baseline: Effect.Effect<unknown, unknown>,
  options: { readonly warmup: number; readonly rounds: number; readonly perRound: number }
) =>
  Effect.gen(function*() {
    for (let i = 0; i < options.warmup; i++) {
      yield* time(subject)
      yield* time(baseline)
    }
    const a: Array<number> = []
    const r: Array<number> = []
    for (let round = 0; round < options.rounds; round++) {
      for (let i = 0; i < options.perRound; i++) {
        if (i % 2 === 0) {
          yield* time(subject, a)
          yield* time(baseline, r)
        } else {
          yield* time(baseline, r)
          yield* time(subject, a)
        }
      }
    }
    return { a, r, diff: a.map((x, i) => x - r[i]!) }
  })

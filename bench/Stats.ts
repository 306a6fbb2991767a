/** Small helpers shared by the benchmarks: percentiles and table printing. */

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

/**
 * The memory store's two updates per request (onStart + onSuccess), in place as the store makes
 * them, against a `Ref` per deployment holding an immutable entry (what DESIGN.md's "State"
 * weighs). Medians of interleaved rounds, in microseconds.
 *
 * Run: node bench/state-ref.ts
 */
import { RouterState } from "@llm-router/core"
import { Clock, Effect, Ref } from "effect"
type E = RouterState.Entry
const minuteOf = (now: number) => Math.floor(now / 60_000)
const add = (xs: ReadonlyArray<number>, x: number) => (xs.length >= 10 ? [...xs.slice(1), x] : [...xs, x])
await Effect.runPromise(Effect.gen(function*() {
  const store = yield* RouterState.makeMemory
  const refs = new Map<string, Ref.Ref<E>>([["a", Ref.makeUnsafe<E>(RouterState.emptyEntry)]])
  const refStart = (id: string) => Clock.clockWith((clock) => {
    const now = clock.currentTimeMillisUnsafe()
    return Ref.update(refs.get(id)!, (e) => {
      const same = e.minute === minuteOf(now)
      return { ...e, minute: minuteOf(now), inFlight: e.inFlight + 1, requests: (same ? e.requests : 0) + 1, tokens: same ? e.tokens : 0 }
    })
  })
  const refSuccess = (id: string, latencyMs: number, tokens: number) => Clock.clockWith((clock) => {
    const now = clock.currentTimeMillisUnsafe()
    return Ref.update(refs.get(id)!, (e) => ({
      ...e, inFlight: Math.max(0, e.inFlight - 1), failures: e.failures.length > 0 ? [] : e.failures,
      latencies: add(e.latencies, latencyMs), latencyTimes: add(e.latencyTimes, now), tokens: e.tokens + tokens
    }))
  })
  const inPlace = Effect.andThen(store.onStart("a"), store.onSuccess("a", { latencyMs: 3, tokens: 6 }))
  const withRef = Effect.andThen(refStart("a"), refSuccess("a", 3, 6))
  const time = (e: Effect.Effect<void>, n: number) => Effect.gen(function*() {
    const xs: number[] = []
    for (let i = 0; i < n; i++) { const t = process.hrtime.bigint(); yield* e; xs.push(Number(process.hrtime.bigint() - t) / 1000) }
    xs.sort((a, b) => a - b); return xs[n >> 1]!
  })
  yield* time(inPlace, 50_000); yield* time(withRef, 50_000)
  const a: number[] = [], b: number[] = []
  for (let r = 0; r < 10; r++) { a.push(yield* time(inPlace, 20_000)); b.push(yield* time(withRef, 20_000)) }
  a.sort((x, y) => x - y); b.sort((x, y) => x - y)
  console.log(`in place: ${a[5]!.toFixed(3)} µs, Ref per deployment: ${b[5]!.toFixed(3)} µs (median of round medians, onStart + onSuccess)`)
}))

/**
 * What the memory store costs a request: one snapshot, one deployment's stats read from it,
 * then `onStart` and `onSuccess` (each one `Ref.update` of that deployment's entry). Medians
 * of interleaved rounds, in microseconds. Given another checkout of this repository (say the
 * commit before a change to `RouterState.ts`), it measures that checkout's store in the same
 * rounds, side by side (both must use the same Effect version). DESIGN.md's "State" cites it.
 *
 * Run: node bench/state-ref.ts [path/to/other/checkout]
 */
import { RouterState } from "@llm-router/core"
import { Effect } from "effect"
import * as path from "node:path"

const ROUNDS = 10
const PER_ROUND = 20_000
const WARMUP = 50_000

type Store = { readonly makeMemory: Effect.Effect<RouterState.Service> }

/** One request's worth of store work on deployment "a" of a group of three. */
const requestOn = (store: Store) =>
  Effect.map(store.makeMemory, (state) =>
    Effect.flatMap(state.snapshot(["a", "b", "c"]), (snapshot) => {
      snapshot.stats.get("a")
      return Effect.andThen(state.onStart("a"), state.onSuccess("a", { latencyMs: 3, tokens: 6 }))
    }))

const medianOf = (xs: Array<number>) => xs.sort((a, b) => a - b)[xs.length >> 1]!

const time = (call: Effect.Effect<void>, n: number) =>
  Effect.gen(function*() {
    const xs: Array<number> = []
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint()
      yield* call
      xs.push(Number(process.hrtime.bigint() - start) / 1000)
    }
    return medianOf(xs)
  })

const other = process.argv[2]
const subjects: Array<{ readonly name: string; readonly store: Store }> = [{ name: "this checkout", store: RouterState }]
if (other !== undefined) {
  const store: Store = await import(path.resolve(other, "packages/core/src/RouterState.ts"))
  subjects.push({ name: other, store })
}

await Effect.runPromise(Effect.gen(function*() {
  const calls = yield* Effect.forEach(subjects, (s) => requestOn(s.store))
  for (const call of calls) yield* time(call, WARMUP)
  const rounds = subjects.map(() => [] as Array<number>)
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < calls.length; i++) rounds[i]!.push(yield* time(calls[i]!, PER_ROUND))
  }
  subjects.forEach((s, i) =>
    console.log(`${s.name}: ${medianOf(rounds[i]!).toFixed(3)} µs per request (snapshot, a stats read, onStart, onSuccess; median of round medians)`)
  )
}))

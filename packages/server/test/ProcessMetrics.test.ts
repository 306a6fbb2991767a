/**
 * `/metrics` carries the process's own health (issue 13, item 13): resident memory, heap,
 * memory outside the heap, CPU time, event-loop delay and open handles, under prom-client's names.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Stub from "./Stub.ts"

const yaml = `
model_list:
  - model_name: main
    litellm_params: { model: openai/gpt-4o }
    model_info: { id: process-main }
`

const valueOf = (text: string, name: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line === undefined ? undefined : Number(line.split(" ").at(-1))
}

describe("process metrics", () => {
  it.live("/metrics reports memory, CPU, event-loop delay and open handles", () =>
    Effect.gen(function*() {
      const { url } = yield* Stub.start(yaml)
      // Two scrapes: the event-loop figures cover the time between them.
      yield* Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text()))
      yield* Effect.sleep("50 millis")
      const text = yield* Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text()))
      const rss = valueOf(text, "process_resident_memory_bytes")
      const heapUsed = valueOf(text, "nodejs_heap_size_used_bytes")
      const heapTotal = valueOf(text, "nodejs_heap_size_total_bytes")
      assert.isAbove(rss ?? 0, 10 * 1024 * 1024)
      assert.isAbove(heapUsed ?? 0, 1024 * 1024)
      assert.isAtLeast(heapTotal ?? 0, heapUsed ?? Infinity)
      assert.isAtMost(heapUsed ?? Infinity, rss ?? 0)
      assert.isAtLeast(valueOf(text, "nodejs_external_memory_bytes") ?? -1, 0)
      assert.isAbove(valueOf(text, "process_cpu_user_seconds_total") ?? 0, 0)
      assert.isAtLeast(valueOf(text, "process_cpu_system_seconds_total") ?? -1, 0)
      const p50 = valueOf(text, "nodejs_eventloop_lag_p50_seconds") ?? -1
      const p99 = valueOf(text, "nodejs_eventloop_lag_p99_seconds") ?? -1
      assert.isAbove(p50, 0)
      assert.isAtLeast(p99, p50)
      assert.isAtLeast(valueOf(text, "nodejs_eventloop_lag_max_seconds") ?? -1, p99)
      // At least the listening socket and this scrape's connection.
      assert.isAtLeast(valueOf(text, "nodejs_active_handles_total") ?? 0, 2)
    }).pipe(Effect.scoped))
})

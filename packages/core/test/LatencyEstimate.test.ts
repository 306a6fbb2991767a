/**
 * The estimator behind adaptive latency routing, on explicit times: old samples fade with time
 * and with newer ones and stop counting after `ttl`; a slow first chunk is taken at once;
 * whole answers are fitted as overhead plus time per token, so answers of different lengths
 * compare; a call overdue raises the estimate before it answers; a failure is a penalty that
 * fades and ends with a success; and latency grown with load makes a busy deployment cost more.
 */
import { assert, describe, it } from "@effect/vitest"
import * as LatencyEstimate from "../src/internal/LatencyEstimate.ts"

const options: LatencyEstimate.Options = { decayMs: 5_000, samples: 10, ttlMs: 3_600_000, penaltyFactor: 4 }

/** Answers `samples` on `deployment`: each whole answer took `ms` for `tokens` tokens and ended at `at`. */
const feed = (
  table: LatencyEstimate.Table,
  deployment: string,
  samples: ReadonlyArray<{ readonly at: number; readonly ms: number; readonly tokens?: number }>,
  streaming = false
) => {
  for (const s of samples) {
    const pending = table.started(deployment, streaming, s.at - s.ms)
    table.answered(pending, { latencyMs: s.ms, outputTokens: s.tokens ?? 100 }, s.at)
  }
}
const every = (fromMs: number, stepMs: number, count: number, ms: number, tokens = 100) =>
  Array.from({ length: count }, (_, i) => ({ at: fromMs + i * stepMs, ms, tokens }))

describe("estimates that forget", () => {
  it("after max_latency_list_size newer samples, however close together, under 5 % of an old one is left", () => {
    const table = LatencyEstimate.make(options)
    feed(table, "a", [{ at: 0, ms: 5000 }, ...every(100, 100, 10, 1000)])
    const estimate = table.estimate("a", "whole", 1000, 100)!
    assert.isAtMost(estimate, 1000 + 0.05 * 4000 + 1e-6)
    assert.isAbove(estimate, 1000 + 0.04 * 4000)
  })

  it("after a long gap the old estimate has faded: one sample nearly replaces it", () => {
    const table = LatencyEstimate.make(options)
    feed(table, "a", [{ at: 0, ms: 5000 }, { at: 15_000, ms: 1000 }])
    assert.closeTo(table.estimate("a", "whole", 15_000, 100)!, 5000 * Math.exp(-3) + 1000 * (1 - Math.exp(-3)), 1e-6)
  })

  it("samples older than ttl do not count at all", () => {
    const table = LatencyEstimate.make({ ...options, ttlMs: 60_000 })
    feed(table, "a", [{ at: 1000, ms: 1000 }])
    assert.strictEqual(table.estimate("a", "whole", 61_000, 100), 1000)
    assert.isUndefined(table.estimate("a", "whole", 61_001, 100))
    // A new sample after that starts afresh.
    feed(table, "a", [{ at: 70_000, ms: 3000 }])
    assert.strictEqual(table.estimate("a", "whole", 70_000, 100), 3000)
  })

  it("a slow first chunk is taken at once (a peak EWMA); fast ones bring it down", () => {
    const table = LatencyEstimate.make(options)
    feed(table, "a", every(100, 100, 10, 200), true)
    feed(table, "a", [{ at: 1100, ms: 900 }], true)
    assert.strictEqual(table.estimate("a", "firstChunk", 1100, 1), 900)
    feed(table, "a", every(1200, 100, 10, 200), true)
    assert.isBelow(table.estimate("a", "firstChunk", 2100, 1)!, 200 + 0.05 * 700 + 1e-6)
    assert.isUndefined(table.estimate("a", "whole", 2100, 100))
  })
})

describe("whole answers of different lengths", () => {
  it("are compared at one length: a deployment answering long is not slow, one answering short is not fast", () => {
    const table = LatencyEstimate.make(options)
    // a: 300 ms + 10 ms a token, mostly long answers; b: 300 ms + 14 ms a token, mostly short.
    feed(table, "a", every(0, 500, 10, 0).map((s, i) => ({ ...s, tokens: i % 4 === 0 ? 50 : 600, ms: 300 + 10 * (i % 4 === 0 ? 50 : 600) })))
    feed(table, "b", every(0, 500, 10, 0).map((s, i) => ({ ...s, tokens: i % 4 === 0 ? 600 : 50, ms: 300 + 14 * (i % 4 === 0 ? 600 : 50) })))
    // At 325 tokens: a 3550 ms, b 4850 ms (within 1 %: the fit leans a little toward time per token alone), whatever lengths each served.
    assert.closeTo(table.estimate("a", "whole", 5000, 325)!, 3550, 36)
    assert.closeTo(table.estimate("b", "whole", 5000, 325)!, 4850, 49)
    assert.closeTo(table.typicalTokens("a", 5000)!, 400, 200)
  })

  it("with answers all of one length, the estimate is their latency (time per token alone)", () => {
    const table = LatencyEstimate.make(options)
    feed(table, "a", every(0, 100, 5, 2000, 200))
    assert.closeTo(table.estimate("a", "whole", 500, 200)!, 2000, 1e-6)
    assert.closeTo(table.estimate("a", "whole", 500, 100)!, 1000, 1e-6)
  })
})

describe("calls in flight and failures", () => {
  it("a whole answer in flight longer than any recent one scales the estimate by how overdue it is; settled, it stops", () => {
    const table = LatencyEstimate.make(options)
    feed(table, "a", every(1000, 100, 10, 1000))
    const slow = table.started("a", false, 3000)
    assert.strictEqual(table.estimate("a", "whole", 3900, 100), 1000)
    // Three seconds in, against the longest answer (1000 ms, faded over 50 s since 1900 ms).
    assert.closeTo(table.estimate("a", "whole", 6000, 100)!, 3000 / Math.exp(-(6000 - 1900) / 50_000), 0.5)
    table.released(slow)
    assert.strictEqual(table.estimate("a", "whole", 6000, 100), 1000)
  })

  it("a stream waiting for its first chunk longer than the estimate ranks by its wait", () => {
    const table = LatencyEstimate.make(options)
    feed(table, "a", [{ at: 1000, ms: 200 }], true)
    table.started("a", true, 2000)
    assert.strictEqual(table.estimate("a", "firstChunk", 2100, 1), 200)
    assert.strictEqual(table.estimate("a", "firstChunk", 3000, 1), 1000)
  })

  it("a failure multiplies the estimate by the penalty (or by how long it took, if more), fading; a success ends it", () => {
    const table = LatencyEstimate.make(options)
    feed(table, "a", [{ at: 1000, ms: 1000 }])
    table.failed(table.started("a", false, 1000), 1100)
    assert.closeTo(table.estimate("a", "whole", 1100, 100)!, 4000, 1e-6)
    assert.closeTo(table.estimate("a", "whole", 6100, 100)!, 1000 * (1 + 3 * Math.exp(-1)), 1e-6)
    assert.strictEqual(table.lastSampleAt("a"), 1100)
    // A timeout after 30 s where answers take 1 s: thirty times.
    table.failed(table.started("a", false, 10_000), 40_000)
    assert.closeTo(table.estimate("a", "whole", 40_000, 100)!, 30_000, 1e-6)
    feed(table, "a", [{ at: 41_000, ms: 1000 }])
    assert.closeTo(table.estimate("a", "whole", 41_000, 100)!, 1000, 1e-6)
  })

  it("a deployment that slows with load costs more when busier than usual; one that does not, its estimate", () => {
    const table = LatencyEstimate.make(options)
    let t = 0
    // `loaded` slows 20 % per extra call in flight; `flat` does not care. Both see loads from 1 to 6.
    for (let round = 0; round < 40; round++) {
      for (const id of ["loaded", "flat"]) {
        const load = 1 + (round % 6)
        const pendings = Array.from({ length: load }, () => table.started(id, false, t))
        const ms = id === "loaded" ? 1000 * (1 + 0.2 * (load - 1)) : 1000
        for (const p of pendings) table.answered(p, { latencyMs: ms, outputTokens: 100 }, t + ms)
      }
      t += 2000
    }
    const busy = (id: string) => Array.from({ length: 8 }, () => table.started(id, false, t))
    busy("loaded")
    busy("flat")
    assert.closeTo(table.cost("flat", 1000, t), 1000, 50)
    assert.isAbove(table.cost("loaded", 1000, t), 1200)
  })
})

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
    // Three seconds in, against the longest recent answer (1000 ms).
    assert.closeTo(table.estimate("a", "whole", 6000, 100)!, 3000, 1e-6)
    table.released(slow)
    assert.strictEqual(table.estimate("a", "whole", 6000, 100), 1000)
  })

  it("the longest recent answer fades as newer answers come, not in a quiet spell: a call after one is not overdue", () => {
    const table = LatencyEstimate.make(options)
    // One 3 s answer, then 1 s ones for 50 s: the 3 s one has faded to 3000 / e.
    feed(table, "a", [{ at: 1000, ms: 3000 }, ...every(6000, 5000, 10, 1000)])
    const longest = 3000 * Math.exp(-50_000 / 50_000)
    const estimate = table.estimate("a", "whole", 51_000, 100)!
    const pending = table.started("a", false, 51_000)
    assert.closeTo(table.estimate("a", "whole", 53_000, 100)!, estimate * (2000 / longest), 1e-6)
    table.released(pending)
    // Then a minute without answers: a call in flight for under the longest answer is not overdue.
    table.started("a", false, 111_000)
    assert.closeTo(table.estimate("a", "whole", 111_900, 100)!, estimate, 1e-6)
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
    // A timeout after 3 s where answers take 1 s: the penalty (4), fading over decayMs.
    table.failed(table.started("a", false, 2000), 5000)
    assert.closeTo(table.estimate("a", "whole", 5000, 100)!, 4000, 1e-6)
    assert.closeTo(table.estimate("a", "whole", 10_000, 100)!, 1000 * (1 + 3 * Math.exp(-1)), 1e-6)
    assert.strictEqual(table.lastSampleAt("a"), 5000)
    // A timeout after 30 s: thirty times.
    table.failed(table.started("a", false, 10_000), 40_000)
    assert.closeTo(table.estimate("a", "whole", 40_000, 100)!, 30_000, 1e-6)
    feed(table, "a", [{ at: 41_000, ms: 1000 }])
    assert.closeTo(table.estimate("a", "whole", 41_000, 100)!, 1000, 1e-6)
  })

  it("a failure faster than an answer fades as much faster: a 503 in a fifth of an answer's time is tried again within about a second", () => {
    const table = LatencyEstimate.make(options)
    feed(table, "a", [{ at: 1000, ms: 1000 }])
    table.failed(table.started("a", false, 2000), 2200)
    assert.closeTo(table.estimate("a", "whole", 2200, 100)!, 4000, 1e-6)
    // Fading over a fifth of decayMs (1 s), not over 5 s.
    assert.closeTo(table.estimate("a", "whole", 3200, 100)!, 1000 * (1 + 3 * Math.exp(-1)), 1e-6)
    // However fast (a refused connection), over a tenth of decayMs at least.
    table.failed(table.started("a", false, 4000), 4000)
    assert.closeTo(table.estimate("a", "whole", 4500, 100)!, 1000 * (1 + 3 * Math.exp(-1)), 1e-6)
  })

  it("a quick failure after a slow one does not cut the slow one's penalty short: each fades at its own pace, the largest counts", () => {
    const table = LatencyEstimate.make(options)
    feed(table, "a", every(1000, 1000, 10, 1000))
    // A timeout after 30 s where answers take 1 s: thirty times, fading over decayMs.
    table.failed(table.started("a", false, 20_000), 50_000)
    const timeout = (at: number) => 1000 * (1 + 29 * Math.exp(-(at - 50_000) / 5000))
    // A refused connection just after: its penalty (4) is the smaller, and the timeout's goes on fading over decayMs.
    table.failed(table.started("a", false, 50_100), 50_110)
    assert.closeTo(table.estimate("a", "whole", 53_000, 100)!, timeout(53_000), 1e-6)
    // Another once the timeout's has faded below 4: the refusal's counts while it is the larger
    // (fading over a tenth of decayMs), then what is left of the timeout's.
    assert.isBelow(timeout(70_000), 4000)
    table.failed(table.started("a", false, 70_000), 70_000)
    assert.closeTo(table.estimate("a", "whole", 70_000, 100)!, 4000, 1e-6)
    assert.closeTo(table.estimate("a", "whole", 70_500, 100)!, 1000 * (1 + 3 * Math.exp(-1)), 1e-6)
    assert.closeTo(table.estimate("a", "whole", 72_000, 100)!, timeout(72_000), 1e-6)
    // A success ends them all.
    feed(table, "a", [{ at: 73_000, ms: 1000 }])
    assert.closeTo(table.estimate("a", "whole", 73_000, 100)!, 1000, 1e-6)
  })

  it("of many penalties fading at different paces, a few are kept: never at the cost of the newest or the longest-lasting", () => {
    const table = LatencyEstimate.make(options)
    feed(table, "a", every(1000, 1000, 10, 1000))
    // Failures ever faster (0.9 to 0.1 of an answer's time): each newer one is larger now, each older one fades more slowly.
    for (const [i, took] of [0.9, 0.7, 0.5, 0.3, 0.1].entries()) {
      const start = 20_000 + i * 1000
      table.failed(table.started("a", false, start), start + took * 1000)
    }
    assert.closeTo(table.estimate("a", "whole", 24_100, 100)!, 4000, 1e-6)
    // Long after, what is left of the first (fading over 0.9 of decayMs) is the largest.
    assert.closeTo(table.estimate("a", "whole", 40_000, 100)!, 1000 * (1 + 3 * Math.exp(-(40_000 - 20_900) / 4500)), 1e-6)
  })

  it("counts the samples an estimate rests on: none, one after a gap, more as answers follow close together", () => {
    const table = LatencyEstimate.make(options)
    assert.strictEqual(table.samplesBehind("a", "whole", 0), 0)
    feed(table, "a", every(1000, 100, 20, 1000))
    // Each older sample keeps at most 0.05^(1/10) of its weight: about 1 / (1 - 0.74) at most.
    assert.closeTo(table.samplesBehind("a", "whole", 3000), 1 / (1 - Math.pow(0.05, 0.1)), 0.05)
    feed(table, "a", [{ at: 60_000, ms: 1000 }])
    assert.closeTo(table.samplesBehind("a", "whole", 60_000), 1, 1e-3)
    assert.strictEqual(table.samplesBehind("a", "firstChunk", 60_000), 0)
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

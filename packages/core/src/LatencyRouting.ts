/**
 * Adaptive latency routing: `latency-based-routing` that follows the providers. It ranks
 * deployments by estimates that forget (`internal/LatencyEstimate`: per deployment, a peak
 * EWMA of the time to first chunk for streams and a fit of latency against output tokens for
 * whole answers, raised by calls overdue and by failures, and a busy deployment made costlier
 * when its latency has grown with load), and shares the traffic at random among the
 * deployments within `lowest_latency_buffer` of the cheapest, so no single one takes the herd.
 * A deployment that has gone unmeasured while the others were measured gets one probe call at
 * a time, so a recovery is noticed: often (within 30 s) where one may come (it was the fastest
 * within ten minutes and has slowed since), seldom (every two minutes) where a deployment is
 * just slower than the others, as each probe costs its caller. An estimate resting on one
 * answer (a probe's) is confirmed by one call at a time before it takes a share of the traffic.
 *
 * Why not the power of two choices among the near-equal (Envoy's, Tower's): compared by
 * estimate, the costlier of the pair never wins, so the costliest near-equal deployment went
 * unmeasured and starved for tens of seconds at a time; compared by estimate times calls in
 * flight (Tower's cost), a slower deployment won whenever the fastest carried the group's
 * concurrency (`pnpm bench:routing` scenario 5: 1.05x the oracle's mean instead of 1.03x).
 *
 * LiteLLM's `routing_strategy_args` keep their meaning: `ttl` (samples older than this stop
 * counting), `lowest_latency_buffer` (deployments within this fraction of the fastest are
 * near-equal) and `max_latency_list_size` (the estimate follows about this many latest samples). */
import type { Deployment } from "./Deployment.ts"
import type * as LlmError from "./LlmError.ts"
import * as LatencyEstimate from "./internal/LatencyEstimate.ts"
import type { Pick } from "./Strategy.ts"

export interface Args {
  /** LiteLLM's `ttl`: samples older than this stop counting (default one hour). */
  readonly ttlMs?: number | undefined
  /**
   * LiteLLM's `lowest_latency_buffer`: deployments whose estimate is within this fraction of
   * the fastest share the traffic at random. LiteLLM's default, 0, sends every request to the
   * single fastest; ours is 0.1, so near-equal deployments share it.
   */
  readonly lowestLatencyBuffer?: number | undefined
  /** LiteLLM's `max_latency_list_size`: the estimate follows about this many latest samples (default 10). */
  readonly maxLatencyListSize?: number | undefined
  /** How fast an old sample's weight fades with time (default 5 s). */
  readonly decayMs?: number | undefined
  /**
   * A deployment that may come back (the fastest within ten minutes, slower since) with no
   * sample for this long (times how much slower it last was, at most 30 s) while others had
   * some is probed with one call (default 15 s). One that is just slower than the others: every
   * two minutes.
   */
  readonly probeAfterMs?: number | undefined
  /**
   * A failure or timeout multiplies the estimate by this (or by how many times the usual time
   * it took), fading over `decayMs`, or over as much less as the failure came faster than an
   * answer would (at least a tenth of it) (default 4).
   */
  readonly penaltyFactor?: number | undefined
}

/** However slow a deployment that may come back was last seen, it is probed at least this often, so a recovery is noticed within a minute. */
const PROBE_AT_MOST_EVERY_MS = 30_000

/** A deployment the cheapest within this time may come back (a spike, an outage end): probed at the base rate. */
const COMEBACK_MEMORY_MS = 600_000
/** Slower than this fraction more than when it was the cheapest, a deployment has degraded: it may come back. */
const DEGRADED = 0.2
/** One that was not, is usually slower: probing it costs and seldom finds a change, so it is probed this seldom. */
const USUALLY_SLOWER_PROBE_MS = 120_000

/** An estimate resting on fewer samples than this (one, after a gap) is yet to be confirmed. */
const CONFIRMED = 1.5

export const defaults = {
  ttlMs: 3_600_000,
  lowestLatencyBuffer: 0.1,
  maxLatencyListSize: 10,
  decayMs: 5_000,
  probeAfterMs: 15_000,
  penaltyFactor: 4
} as const

/** What the router tells the strategy about each call it makes (see `LatencyEstimate`). */
export interface Observer {
  readonly started: (deployment: string, streaming: boolean, now: number) => LatencyEstimate.Pending
  /** A whole answer came, or a stream's first content chunk. */
  readonly answered: (pending: LatencyEstimate.Pending, sample: LatencyEstimate.Sample, now: number) => void
  /** The call failed with an error of this tag. */
  readonly failed: (pending: LatencyEstimate.Pending, error: LlmError.Tag, now: number) => void
  /** The call ended without a verdict (interrupted): it no longer counts as in flight. */
  readonly released: (pending: LatencyEstimate.Pending) => void
}

/**
 * Failures that say the deployment is slow or unwell right now: they count as a penalty.
 * The others (a bad request, a broken key, a rate limit, which cools the deployment
 * down anyway) say nothing about its latency.
 */
const penalised: ReadonlySet<LlmError.Tag> = new Set(["Timeout", "ConnectionFailed", "ServiceUnavailable", "InternalServerError"])

/**
 * What a routing decision reads of a router's adaptive latency routing (`Strategy.Context.latency`):
 * the pick that ranks by its estimates, and the estimates themselves.
 */
export interface Estimates {
  readonly pick: Pick
  /** The current estimate a request of this kind would be ranked by (ms), for a step of one's own, inspection and tests. */
  readonly estimate: (deployment: string, streaming: boolean, now: number) => number | undefined
}

/** The strategy and the observer that feeds it; one per router, as its estimates are that router's. */
export interface LatencyRouting extends Estimates {
  readonly observer: Observer
}

export const make = (args: Args = {}): LatencyRouting => {
  const buffer = Math.max(0, args.lowestLatencyBuffer ?? defaults.lowestLatencyBuffer)
  const probeAfterMs = args.probeAfterMs ?? defaults.probeAfterMs
  const table = LatencyEstimate.make({
    decayMs: args.decayMs ?? defaults.decayMs,
    samples: args.maxLatencyListSize ?? defaults.maxLatencyListSize,
    ttlMs: args.ttlMs ?? defaults.ttlMs,
    penaltyFactor: args.penaltyFactor ?? defaults.penaltyFactor
  })
  /**
   * Per signal, when each deployment was last the cheapest on a confirmed estimate, and its
   * estimate then (`lastGood`): what it may come back to.
   */
  const best: Record<LatencyEstimate.Signal, Map<string, { at: number; estimate: number }>> = { firstChunk: new Map(), whole: new Map() }
  const noteCheapest = (deployment: string, signal: LatencyEstimate.Signal, now: number) => {
    const estimate = table.lastGood(deployment, signal)
    if (estimate === undefined || table.samplesBehind(deployment, signal, now) < CONFIRMED) return
    const record = best[signal].get(deployment)
    if (record === undefined) best[signal].set(deployment, { at: now, estimate })
    else {
      record.at = now
      record.estimate = estimate
    }
  }
  /**
   * Deployments due a probe: unmeasured while another was measured, and with nothing in flight.
   * One that may come back (the cheapest within ten minutes, and slower now than it was then:
   * a spike, a slow decline) is probed after `probeAfterMs` times how much slower than the
   * fastest its last success was, at most 30 s, so its recovery is noticed within a minute. One
   * that is as it was while others are faster (usually slower) is probed every two minutes: a
   * probe costs its caller, and seldom finds a change there.
   */
  const probeDue = (
    candidates: ReadonlyArray<Deployment>,
    signal: LatencyEstimate.Signal,
    fastest: number
  ): Array<Deployment> | undefined => {
    let newest = Number.NEGATIVE_INFINITY
    for (const d of candidates) newest = Math.max(newest, table.lastSampleAt(d.id) ?? Number.NEGATIVE_INFINITY)
    let due: Array<Deployment> | undefined
    for (const d of candidates) {
      const at = table.lastSampleAt(d.id) ?? Number.NEGATIVE_INFINITY
      if (at >= newest - probeAfterMs || table.inFlight(d.id) > 0) continue
      const last = table.lastGood(d.id, signal) ?? fastest
      const slower = Math.max(1, last / fastest)
      const was = best[signal].get(d.id)
      const mayComeBack = was !== undefined && was.at >= newest - COMEBACK_MEMORY_MS && last > was.estimate * (1 + DEGRADED)
      const every = mayComeBack ? Math.min(PROBE_AT_MOST_EVERY_MS, probeAfterMs * slower) : USUALLY_SLOWER_PROBE_MS
      if (at < newest - every) (due ??= []).push(d)
    }
    return due
  }

  const pick: Pick = (candidates, context) => {
    if (candidates.length === 1) return candidates[0]!
    const now = context.snapshot.now
    const signal: LatencyEstimate.Signal = context.streaming ? "firstChunk" : "whole"
    // Whole answers are compared at one length: the mean of the candidates' recent answers.
    let tokens = 0
    let measured = 0
    if (signal === "whole") {
      for (const d of candidates) {
        const t = table.typicalTokens(d.id, now)
        if (t !== undefined) {
          tokens += t
          measured++
        }
      }
    }
    const length = measured > 0 ? tokens / measured : 1
    const estimates = candidates.map((d) => table.estimate(d.id, signal, now, length))
    let fastest = Number.POSITIVE_INFINITY
    for (const e of estimates) if (e !== undefined && e < fastest) fastest = e
    // Unmeasured deployments (new, or whose samples expired) rank with the fastest, so they get measured.
    const prior = Number.isFinite(fastest) ? fastest : 1
    const due = probeDue(candidates, signal, prior)
    if (due !== undefined) return due[Math.floor(context.random * due.length)]!
    const costs = candidates.map((d, i) => table.cost(d.id, estimates[i] ?? prior, now))
    // A deployment whose estimate rests on a single sample (a probe's answer, or none) is called
    // one at a time until a second answer confirms it: one lucky answer does not pull a herd of
    // calls that are all in flight before the truth comes back.
    const confirming = candidates.map((d) => table.inFlight(d.id) > 0 && table.samplesBehind(d.id, signal, now) < CONFIRMED)
    const anyOpen = confirming.includes(false)
    const eligible = (i: number) => !anyOpen || !confirming[i]
    let lowest = Number.POSITIVE_INFINITY
    let lowestIndex = -1
    for (let i = 0; i < candidates.length; i++) {
      if (eligible(i) && costs[i]! < lowest) {
        lowest = costs[i]!
        lowestIndex = i
      }
    }
    // No finite cost (a broken sample): any candidate.
    if (lowestIndex === -1) return candidates[Math.floor(context.random * candidates.length)]!
    noteCheapest(candidates[lowestIndex]!.id, signal, now)
    const near: Array<number> = []
    for (let i = 0; i < candidates.length; i++) if (eligible(i) && costs[i]! <= lowest * (1 + buffer)) near.push(i)
    // Near-equal deployments share the traffic at random, as within LiteLLM's buffer: none takes the
    // herd, and each stays measured.
    return candidates[near[Math.floor(context.random * near.length)]!]!
  }

  return {
    pick,
    observer: {
      started: table.started,
      answered: table.answered,
      failed: (pending, error, now) => (penalised.has(error) ? table.failed(pending, now) : table.released(pending)),
      released: table.released
    },
    estimate: (deployment, streaming, now) =>
      table.estimate(deployment, streaming ? "firstChunk" : "whole", now, table.typicalTokens(deployment, now) ?? 1)
  }
}

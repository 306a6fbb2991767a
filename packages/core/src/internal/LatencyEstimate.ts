/**
 * Latency estimates that forget: the state behind adaptive latency routing (`LatencyRouting`).
 * Per deployment it keeps running means whose old samples lose their weight with time and
 * with newer samples, and after `ttl` stop counting at all:
 *
 * - for streams, the time to first chunk, as a peak EWMA (Finagle's and Linkerd's): a slow
 *   sample raises it at once;
 * - for whole answers, a fit of latency against output tokens (a fixed overhead plus a time
 *   per token), so deployments are compared on an answer of the same length: a long answer is
 *   not taken as slowness, nor a short one (whose overhead is shared by few tokens) as a spike;
 * - how latency has grown with the calls in flight, so a busy deployment costs more only
 *   when being busy has made it slower (see `cost`);
 * - the calls in flight: one in flight longer than any recent answer is itself evidence and
 *   raises the estimate before it answers.
 *
 * A failure is a penalty: it multiplies the estimate, and fades; after several, the largest of
 * what is left of each counts. The table is plain mutable data keyed by deployment id
 * (bounded by the configuration), updated in single synchronous steps with times read from
 * `Clock` by the caller.
 */

/** What the router ranks a request by: a stream's wait for its first chunk, or a whole answer's latency. */
export type Signal = "firstChunk" | "whole"

export interface Options {
  /** How fast an old sample's weight fades: it weighs e^(-age/decayMs) against newer ones (Finagle's decay time). */
  readonly decayMs: number
  /**
   * However close together samples come, after n newer ones a sample weighs under 5 %: the
   * estimate follows about the last n samples (LiteLLM's `max_latency_list_size`).
   */
  readonly samples: number
  /** Samples older than this stop counting at all (LiteLLM's `ttl`). */
  readonly ttlMs: number
  /**
   * A failed call multiplies the estimate by this (or by how many times the usual time it
   * took, if more), a penalty that fades over `decayMs` and ends with the next success.
   */
  readonly penaltyFactor: number
}

/** A call in flight, from `started` until it is settled. */
export interface Pending {
  readonly deployment: string
  readonly streaming: boolean
  readonly startedAt: number
  /** Calls in flight on the deployment when it started, itself included. */
  readonly load: number
}

/** What a finished call measured. */
export interface Sample {
  /** Time to the first chunk for a stream; the whole call's time for a whole answer. */
  readonly latencyMs: number
  /** The answer's output tokens, for a whole answer. */
  readonly outputTokens?: number | undefined
}

/** A failure's penalty: it multiplies the estimate by 1 + excess × e^(-age/fadeMs). */
interface Penalty {
  readonly excess: number
  readonly at: number
  /** How fast it fades (e-folding time): `decayMs`, shorter for a failure that came faster than an answer would. */
  readonly fadeMs: number
}

/** Running means of `x`, `y`, `x²` and `xy`, and when the last sample came: a mean of `y`, and a line through the points. */
interface Means {
  x: number
  y: number
  xx: number
  xy: number
  at: number
  /** How many samples the means rest on, each counted with the weight it has left (1 after a long gap). */
  n: number
}

interface Entry {
  /** Time to first chunk (x unused). */
  firstChunk: Means | undefined
  /** Whole answers: x output tokens, y latency in ms. */
  whole: Means | undefined
  /** Load against latency: x log calls in flight at the start, y log latency (per token for whole answers). */
  load: Means | undefined
  /** The estimate after the last success, per signal: what a penalty is a multiple of. */
  lastFirstChunk: number | undefined
  lastWhole: number | undefined
  /** The longest recent whole answer in ms (fading slowly): a whole answer in flight longer is overdue. */
  longestWhole: number
  longestWholeAt: number
  /** Whole answers seen (counted up to `samples`): an answer is only overdue against an established estimate. */
  wholeAnswers: number
  /**
   * The penalties of the failures since the last success that may yet be the largest, each
   * fading at its own pace: a quick refusal after a timeout must not cut the timeout's penalty
   * short. None is both smaller now and fading faster than another; at most `MAX_PENALTIES`.
   */
  penalties: Array<Penalty>
  /** When the last sample of any signal came (a penalty counts). */
  lastSampleAt: number
  /** Oldest first. */
  readonly pending: Array<Pending>
}

/** However fast a failure came, its penalty fades over at least this fraction of `decayMs`. */
const MIN_FADE = 0.1

/** Penalties kept per deployment, whatever the upstream does (more than two distinct fades are rare). */
const MAX_PENALTIES = 4
/** A penalty faded to under this excess (0.1 %) changes no ranking: it is dropped. */
const FADED = 1e-3

const excessNow = (penalty: Penalty, now: number) => penalty.excess * Math.exp(-Math.max(0, now - penalty.at) / penalty.fadeMs)
/** When a penalty will have faded to nothing that counts. */
const fadedAt = (penalty: Penalty) => penalty.at + penalty.fadeMs * Math.log(penalty.excess / FADED)

/** Samples the load fit follows: a slope needs more points than a mean. */
const LOAD_FIT_SAMPLES = 50
/**
 * Pulls a fitted slope toward its prior while the samples' x have varied little: toward time
 * per token alone (no overhead) for whole answers, toward "load does not matter" for load.
 */
const SLOPE_PRIOR_WEIGHT = 0.02

const fresh = (e: Means | undefined, now: number, options: Options) => (e !== undefined && now - e.at <= options.ttlMs ? e : undefined)

/** Folds a point into running means whose old part keeps `kept` of its weight (all of it expires after ttl). */
const fold = (e: Means | undefined, x: number, y: number, now: number, options: Options, kept: (e: Means) => number): Means => {
  const live = fresh(e, now, options)
  if (live === undefined) return { x, y, xx: x * x, xy: x * y, at: now, n: 1 }
  const k = kept(live)
  const blend = (a: number, b: number) => a * k + b * (1 - k)
  return { x: blend(live.x, x), y: blend(live.y, y), xx: blend(live.xx, x * x), xy: blend(live.xy, x * y), at: now, n: 1 + k * live.n }
}

/** The weight old samples keep against a new one: fading with the time since the last, and with each sample. */
const keptWeight = (options: Options, samples = options.samples, decayMs = options.decayMs) => (e: Means, now: number) =>
  Math.min(Math.exp(-Math.max(0, now - e.at) / decayMs), Math.pow(0.05, 1 / Math.max(1, samples)))

/** The line through the means: its slope pulled toward `priorSlope` as much as x has varied little against `scale`. */
const slopeOf = (m: Means, priorSlope: number, scale: number) => {
  const variance = m.xx - m.x * m.x
  const prior = SLOPE_PRIOR_WEIGHT * scale
  return (m.xy - m.x * m.y + prior * priorSlope) / (Math.max(0, variance) + prior)
}

/** Predicted latency of a whole answer of `tokens` tokens: overhead plus time per token, fitted. */
const predictWhole = (m: Means, tokens: number): number => {
  const perToken = m.x > 0 ? m.y / m.x : 0
  const slope = slopeOf(m, perToken, m.x * m.x)
  return Math.max(0, m.y + slope * (tokens - m.x))
}

export interface Table {
  readonly started: (deployment: string, streaming: boolean, now: number) => Pending
  /** The call answered (for a stream: its first content chunk came). */
  readonly answered: (pending: Pending, sample: Sample, now: number) => void
  /** The call failed or timed out: a penalty sample. */
  readonly failed: (pending: Pending, now: number) => void
  /** The call ended without a verdict (the caller went away, or the request was at fault): no sample. */
  readonly released: (pending: Pending) => void
  /**
   * The estimate of `signal` for a deployment in ms (for whole answers, of an answer of
   * `tokens` tokens), raised by its overdue calls; undefined when it has no sample (or only
   * expired ones).
   */
  readonly estimate: (deployment: string, signal: Signal, now: number, tokens: number) => number | undefined
  /** The estimate after the deployment's last success, for `signal`. */
  readonly lastGood: (deployment: string, signal: Signal) => number | undefined
  /** The mean length of the deployment's recent whole answers, in tokens. */
  readonly typicalTokens: (deployment: string, now: number) => number | undefined
  /**
   * What a new call would cost: the estimate, scaled by the calls in flight (this one
   * included) over the usual load its samples were taken at, to the power of how much its
   * latency has grown with load. A deployment whose latency does not depend on its load (most
   * hosted APIs) costs its estimate however busy; one that slows with load (a self-hosted
   * server) costs more the busier it is than usual.
   */
  readonly cost: (deployment: string, estimate: number, now: number) => number
  /**
   * How many samples the estimate of `signal` rests on, each counted with the weight it had
   * left when the last came: 0 without any, about 1 after a long gap (a probe's answer).
   */
  readonly samplesBehind: (deployment: string, signal: Signal, now: number) => number
  /** When the deployment's last sample came; undefined when it never had one. */
  readonly lastSampleAt: (deployment: string) => number | undefined
  /** Calls in flight. */
  readonly inFlight: (deployment: string) => number
}

export const make = (options: Options): Table => {
  const kept = keptWeight(options)
  const keptForLoad = keptWeight(options, LOAD_FIT_SAMPLES, 10 * options.decayMs)
  const entries = new Map<string, Entry>()
  const entryOf = (id: string): Entry => {
    let entry = entries.get(id)
    if (entry === undefined) {
      entry = {
        firstChunk: undefined,
        whole: undefined,
        load: undefined,
        lastFirstChunk: undefined,
        lastWhole: undefined,
        longestWhole: 0,
        longestWholeAt: 0,
        wholeAnswers: 0,
        penalties: [],
        lastSampleAt: Number.NEGATIVE_INFINITY,
        pending: []
      }
      entries.set(id, entry)
    }
    return entry
  }
  const settle = (pending: Pending): Entry => {
    const entry = entryOf(pending.deployment)
    const i = entry.pending.indexOf(pending)
    if (i !== -1) entry.pending.splice(i, 1)
    return entry
  }
  /** What the failures since the last success multiply the estimate by now: the largest penalty left. */
  const penaltyNow = (entry: Entry, now: number) => {
    let excess = 0
    for (const penalty of entry.penalties) excess = Math.max(excess, excessNow(penalty, now))
    return 1 + excess
  }
  /**
   * The longest recent whole answer, fading over ten decay times while newer answers come (not
   * after the last: with no answer since, it is still the longest recent one, and a call in
   * flight after a quiet spell is not taken as overdue).
   */
  const longestWhole = (entry: Entry) =>
    entry.longestWhole * Math.exp(-Math.max(0, (entry.whole?.at ?? entry.longestWholeAt) - entry.longestWholeAt) / (10 * options.decayMs))

  const observeFirstChunk = (entry: Entry, ms: number, now: number) => {
    const live = fresh(entry.firstChunk, now, options)
    // A peak EWMA: a slower sample is taken at once.
    entry.firstChunk = live !== undefined && ms >= live.y
      ? { ...live, y: ms, at: now, n: 1 + kept(live, now) * live.n }
      : fold(live, 0, ms, now, options, (e) => kept(e, now))
  }
  const observeWhole = (entry: Entry, tokens: number, ms: number, now: number) => {
    entry.whole = fold(entry.whole, tokens, ms, now, options, (e) => kept(e, now))
  }

  return {
    started: (deployment, streaming, now) => {
      const entry = entryOf(deployment)
      const pending: Pending = { deployment, streaming, startedAt: now, load: entry.pending.length + 1 }
      // Calls start in time order, so the list stays oldest first.
      entry.pending.push(pending)
      return pending
    },
    answered: (pending, sample, now) => {
      const entry = settle(pending)
      let latency = sample.latencyMs
      if (pending.streaming) {
        observeFirstChunk(entry, sample.latencyMs, now)
        entry.lastFirstChunk = entry.firstChunk!.y
      } else {
        const tokens = Math.max(1, sample.outputTokens ?? 1)
        observeWhole(entry, tokens, sample.latencyMs, now)
        entry.lastWhole = predictWhole(entry.whole!, entry.whole!.x)
        entry.wholeAnswers = Math.min(options.samples, entry.wholeAnswers + 1)
        const longest = longestWhole(entry)
        if (sample.latencyMs >= longest) {
          entry.longestWhole = sample.latencyMs
          entry.longestWholeAt = now
        }
        latency = sample.latencyMs / tokens
      }
      entry.penalties = []
      entry.load = fold(entry.load, Math.log(pending.load), Math.log(Math.max(latency, 1e-9)), now, options, (e) => keptForLoad(e, now))
      entry.lastSampleAt = now
    },
    failed: (pending, now) => {
      const entry = settle(pending)
      const usual = pending.streaming ? entry.lastFirstChunk : entry.lastWhole
      const took = usual !== undefined && usual > 0 ? (now - pending.startedAt) / usual : 0
      const added: Penalty = {
        excess: Math.max(options.penaltyFactor, took) - 1,
        at: now,
        // A failure that came faster than an answer would costs its caller little: tried again sooner.
        fadeMs: options.decayMs * Math.min(1, Math.max(MIN_FADE, took))
      }
      // Of two penalties, one both smaller now and fading at most as slowly never counts again.
      const outlasts = (a: Penalty, b: Penalty) => excessNow(a, now) >= excessNow(b, now) && a.fadeMs >= b.fadeMs
      const penalties = entry.penalties.filter((p) => excessNow(p, now) > FADED && !outlasts(added, p))
      if (added.excess > FADED && !penalties.some((p) => outlasts(p, added))) {
        penalties.push(added)
        // Past the bound, the one that fades out soonest goes (never the newest).
        if (penalties.length > MAX_PENALTIES) {
          const soonest = penalties.slice(0, -1).reduce((a, b) => (fadedAt(b) < fadedAt(a) ? b : a))
          penalties.splice(penalties.indexOf(soonest), 1)
        }
      }
      entry.penalties = penalties
      entry.lastSampleAt = now
    },
    released: (pending) => void settle(pending),
    estimate: (deployment, signal, now, tokens) => {
      const entry = entries.get(deployment)
      if (entry === undefined) return undefined
      const means = fresh(signal === "firstChunk" ? entry.firstChunk : entry.whole, now, options)
      if (means === undefined) return undefined
      const value = (signal === "firstChunk" ? means.y : predictWhole(means, tokens)) * penaltyNow(entry, now)
      let oldest: number | undefined
      for (const p of entry.pending) {
        if (p.streaming === (signal === "firstChunk")) {
          oldest = p.startedAt
          break
        }
      }
      if (oldest === undefined) return value
      const age = now - oldest
      if (signal === "firstChunk") return Math.max(value, age)
      // A whole answer taking longer than any recent one: scale the estimate by how overdue it is.
      const longest = longestWhole(entry)
      return entry.wholeAnswers >= options.samples && longest > 0 && age > longest ? value * (age / longest) : value
    },
    lastGood: (deployment, signal) => {
      const entry = entries.get(deployment)
      return signal === "firstChunk" ? entry?.lastFirstChunk : entry?.lastWhole
    },
    typicalTokens: (deployment, now) => {
      const entry = entries.get(deployment)
      return entry === undefined ? undefined : fresh(entry.whole, now, options)?.x
    },
    cost: (deployment, estimate, now) => {
      const entry = entries.get(deployment)
      const fit = entry === undefined ? undefined : fresh(entry.load, now, options)
      if (entry === undefined || fit === undefined) return estimate
      const slope = Math.min(1, Math.max(0, slopeOf(fit, 0, 1)))
      return slope === 0 ? estimate : estimate * Math.pow((entry.pending.length + 1) / Math.exp(fit.x), slope)
    },
    samplesBehind: (deployment, signal, now) => {
      const entry = entries.get(deployment)
      return entry === undefined ? 0 : fresh(signal === "firstChunk" ? entry.firstChunk : entry.whole, now, options)?.n ?? 0
    },
    lastSampleAt: (deployment) => {
      const at = entries.get(deployment)?.lastSampleAt
      return at === undefined || at === Number.NEGATIVE_INFINITY ? undefined : at
    },
    inFlight: (deployment) => entries.get(deployment)?.pending.length ?? 0
  }
}

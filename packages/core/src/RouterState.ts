/**
 * What the router remembers about each deployment between requests: cooldowns, recent
 * failures, latency samples, in-flight calls and this minute's usage. Routing reads it
 * through one snapshot per decision and reports outcomes back; it never keeps its own
 * copy. The interface is small and every value in it is plain data, so a shared store
 * (Redis, for many gateway replicas) can implement it as well as the memory Layer here.
 */
import { Clock, Context, Effect, Layer, Ref } from "effect"

export interface DeploymentStats {
  /** Epoch milliseconds until which the deployment is out of rotation; 0 when it is not. */
  readonly cooldownUntil: number
  readonly inFlight: number
  /** Mean of recent successful call latencies, when there are any. */
  readonly latencyMs?: number | undefined
  /** Median and 90th percentile of recent latencies (samples older than `LATENCY_WINDOW_MS` expire). */
  readonly latencyP50Ms?: number | undefined
  readonly latencyP90Ms?: number | undefined
  /** Mean of recent times to first chunk of streams. */
  readonly timeToFirstChunkMs?: number | undefined
  /** Median and 90th percentile of recent times to first chunk. */
  readonly timeToFirstChunkP50Ms?: number | undefined
  readonly timeToFirstChunkP90Ms?: number | undefined
  readonly requestsThisMinute: number
  readonly tokensThisMinute: number
  /** Failures inside the current one-minute window since the last success (what `allowed_fails` counts). */
  readonly recentFailures: number
  /**
   * The failed share of the calls that ended in the last minute (in ten-second buckets; failures
   * the request caused, such as a 400, do not count, failures with cooldowns disabled do);
   * `undefined` when none ended.
   */
  readonly recentFailureRate?: number | undefined
}

export interface Snapshot {
  readonly now: number
  /** The deployments asked for, by id. The memory store's reads an entry only when asked (`get`). */
  readonly stats: ReadonlyMap<string, DeploymentStats>
  /**
   * True when the store knows no deployment of this snapshot is cooling down, so a router
   * need not look at each (absent: it looks).
   */
  readonly noneCooling?: boolean | undefined
}

export interface Success {
  readonly latencyMs: number
  readonly timeToFirstChunkMs?: number | undefined
  readonly tokens: number
}

export interface Failure {
  /** The error tag, kept with the cooldown so operators can see why. */
  readonly reason: string
  /** When false the failure only ends the in-flight call (the request was at fault, or cooldowns are off). */
  readonly countsTowardCooldown: boolean
  /**
   * Whether it counts in the deployment's failure rate (`recentFailureRate`): the deployment's
   * fault, whether or not cooldowns are on. Default: `countsTowardCooldown`.
   */
  readonly countsAsFailure?: boolean | undefined
  /** Cool down on this failure alone (a 429, a broken key). */
  readonly coolsImmediately: boolean
  /** Failures allowed within the window before the deployment cools down. */
  readonly allowedFails: number
  readonly cooldownMs: number
}

export interface Cooldown {
  readonly deployment: string
  readonly until: number
  readonly reason: string
}

/**
 * A store of the deployments' state. The router calls `onStart`, `onSuccess` and `onFailure`
 * uninterruptibly (so a call's in-flight count is taken and given back exactly once), so they
 * must not wait on I/O: a store shared between replicas applies each update locally and
 * publishes it in the background, as the Redis store does.
 */
export interface Service {
  readonly snapshot: (deployments: ReadonlyArray<string>) => Effect.Effect<Snapshot>
  readonly onStart: (deployment: string) => Effect.Effect<void>
  readonly onSuccess: (deployment: string, success: Success) => Effect.Effect<void>
  /** Records a failed call; returns the cooldown it started, if it started one. */
  readonly onFailure: (deployment: string, failure: Failure) => Effect.Effect<Cooldown | undefined>
  /** Deployments out of rotation right now. */
  readonly cooldowns: Effect.Effect<ReadonlyArray<Cooldown>>
}

export class RouterState extends Context.Service<RouterState, Service>()("@llm-router/core/RouterState") {}

/** The failure window: `allowed_fails` counts failures within this long. */
export const FAILURE_WINDOW_MS = 60_000
/** Latency samples kept per deployment (LiteLLM keeps 10). */
export const LATENCY_SAMPLES = 10
/** How long a latency sample counts: older ones expire, so a deployment's past does not rule its present. */
export const LATENCY_WINDOW_MS = 5 * 60_000

export interface Entry {
  readonly cooldownUntil: number
  readonly cooldownReason: string
  readonly failures: ReadonlyArray<number>
  /**
   * Calls ended in the last `OUTCOME_BUCKETS` ten-second buckets, up to bucket `outcomeBucket`
   * (epoch milliseconds / 10 s): successes in slots 0-5 and failures in slots 6-11, each bucket
   * at its index modulo 6. What `recentFailureRate` sums. Failures the request caused (a 400)
   * are not counted; failures are counted with cooldowns disabled too.
   */
  readonly outcomeBucket: number
  readonly outcomes: ReadonlyArray<number>
  readonly inFlight: number
  readonly latencies: ReadonlyArray<number>
  /** When each of `latencies` was taken (epoch milliseconds), in the same order. */
  readonly latencyTimes: ReadonlyArray<number>
  readonly ttfcs: ReadonlyArray<number>
  readonly ttfcTimes: ReadonlyArray<number>
  readonly minute: number
  readonly requests: number
  readonly tokens: number
}

export const emptyEntry: Entry = {
  cooldownUntil: 0,
  cooldownReason: "",
  failures: [],
  outcomeBucket: 0,
  outcomes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  inFlight: 0,
  latencies: [],
  latencyTimes: [],
  ttfcs: [],
  ttfcTimes: [],
  minute: 0,
  requests: 0,
  tokens: 0
}

const minuteOf = (now: number) => Math.floor(now / 60_000)

/** Mean, median and 90th percentile of a deployment's samples. */
interface Summary {
  readonly mean: number | undefined
  readonly p50: number | undefined
  readonly p90: number | undefined
}
const noSamples: Summary = { mean: undefined, p50: undefined, p90: undefined }

/** The nearest-rank percentile `q` of sorted samples. */
const percentile = (sorted: ReadonlyArray<number>, q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]

/** The summary of the samples taken after `now - LATENCY_WINDOW_MS`. */
export const summarize = (samples: ReadonlyArray<number>, times: ReadonlyArray<number>, now: number): Summary => {
  const since = now - LATENCY_WINDOW_MS
  let first = 0
  while (first < times.length && times[first]! <= since) first++
  if (first >= samples.length) return noSamples
  const live = samples.slice(first)
  const mean = live.reduce((a, b) => a + b, 0) / live.length
  live.sort((a, b) => a - b)
  return { mean, p50: percentile(live, 0.5), p90: percentile(live, 0.9) }
}

const statsOf = (entry: Entry, now: number, latency: Summary, ttfc: Summary): DeploymentStats => {
  // Read on every routing decision for every candidate it considers: no allocation beyond the result.
  const thisMinute = entry.minute === minuteOf(now)
  return {
    cooldownUntil: entry.cooldownUntil > now ? entry.cooldownUntil : 0,
    inFlight: entry.inFlight,
    latencyMs: latency.mean,
    latencyP50Ms: latency.p50,
    latencyP90Ms: latency.p90,
    timeToFirstChunkMs: ttfc.mean,
    timeToFirstChunkP50Ms: ttfc.p50,
    timeToFirstChunkP90Ms: ttfc.p90,
    requestsThisMinute: thisMinute ? entry.requests : 0,
    tokensThisMinute: thisMinute ? entry.tokens : 0,
    recentFailures: entry.failures.length === 0 ? 0 : entry.failures.filter((t) => t > now - FAILURE_WINDOW_MS).length,
    recentFailureRate: failureRate(entry, now)
  }
}

/** The failure rate's window: six buckets of ten seconds (the last minute, to ten seconds). */
const OUTCOME_BUCKET_MS = 10_000
const OUTCOME_BUCKETS = 6

/** The failed share of the calls that ended in the last minute's buckets; `undefined` when none did. */
const failureRate = (entry: Entry, now: number): number | undefined => {
  const newest = entry.outcomeBucket
  const oldest = Math.max(Math.floor(now / OUTCOME_BUCKET_MS), newest) - OUTCOME_BUCKETS + 1
  let failed = 0
  let ended = 0
  for (let bucket = Math.max(oldest, newest - OUTCOME_BUCKETS + 1, 0); bucket <= newest; bucket++) {
    const slot = bucket % OUTCOME_BUCKETS
    failed += entry.outcomes[OUTCOME_BUCKETS + slot]!
    ended += entry.outcomes[slot]! + entry.outcomes[OUTCOME_BUCKETS + slot]!
  }
  return ended > 0 ? failed / ended : undefined
}

/** The bucket a call ended at `now` counts in (the newest so far: a clock gone back counts there). */
const outcomeBucketAt = (entry: Entry, now: number) => Math.max(entry.outcomeBucket, Math.floor(now / OUTCOME_BUCKET_MS))

/** The entry's outcome counts with one more call ended in `bucket` (`outcomeBucketAt`): a failure or a success. */
const withOutcome = (entry: Entry, bucket: number, failure: boolean): ReadonlyArray<number> => {
  const outcomes = entry.outcomes.slice()
  // The buckets the clock has moved past since the last call ended start empty.
  for (let b = Math.max(entry.outcomeBucket + 1, bucket - OUTCOME_BUCKETS + 1); b <= bucket; b++) {
    outcomes[b % OUTCOME_BUCKETS] = 0
    outcomes[OUTCOME_BUCKETS + (b % OUTCOME_BUCKETS)] = 0
  }
  outcomes[(failure ? OUTCOME_BUCKETS : 0) + (bucket % OUTCOME_BUCKETS)]! += 1
  return outcomes
}

/** The last `LATENCY_SAMPLES` of `samples` and then `sample`, as a new array (at most ten numbers copied). */
const withSample = (samples: ReadonlyArray<number>, sample: number): ReadonlyArray<number> => {
  // Copied by hand into an array of the final length: one allocation (slice-then-push takes two).
  const from = samples.length < LATENCY_SAMPLES ? 0 : samples.length - LATENCY_SAMPLES + 1
  const last = samples.length - from
  const next = new Array<number>(last + 1)
  for (let i = 0; i < last; i++) next[i] = samples[from + i]!
  next[last] = sample
  return next
}

/** Applies the start of a call: the pure rule behind every store's `onStart`. */
export const applyStart = (entry: Entry, now: number): Entry => {
  const minute = minuteOf(now)
  const sameMinute = entry.minute === minute
  return {
    ...entry,
    inFlight: entry.inFlight + 1,
    minute,
    requests: (sameMinute ? entry.requests : 0) + 1,
    tokens: sameMinute ? entry.tokens : 0
  }
}

/** Applies a successful call: the pure rule behind every store's `onSuccess`. */
export const applySuccess = (entry: Entry, success: Success, now: number): Entry => {
  const minute = minuteOf(now)
  const sameMinute = entry.minute === minute
  const ttfc = success.timeToFirstChunkMs
  const bucket = outcomeBucketAt(entry, now)
  return {
    ...entry,
    outcomeBucket: bucket,
    outcomes: withOutcome(entry, bucket, false),
    inFlight: Math.max(0, entry.inFlight - 1),
    // A success shows the deployment works: its earlier failures no longer count.
    failures: entry.failures.length === 0 ? entry.failures : emptyEntry.failures,
    latencies: withSample(entry.latencies, success.latencyMs),
    latencyTimes: withSample(entry.latencyTimes, now),
    ttfcs: ttfc === undefined ? entry.ttfcs : withSample(entry.ttfcs, ttfc),
    ttfcTimes: ttfc === undefined ? entry.ttfcTimes : withSample(entry.ttfcTimes, now),
    minute,
    requests: sameMinute ? entry.requests : 0,
    tokens: (sameMinute ? entry.tokens : 0) + success.tokens
  }
}

/** Applies a failure to an entry: the pure rule behind every store's `onFailure`. */
export const applyFailure = (previous: Entry, failure: Failure, now: number): Entry => {
  const inFlight = Math.max(0, previous.inFlight - 1)
  const counted = failure.countsAsFailure ?? failure.countsTowardCooldown
  if (!counted) return { ...previous, inFlight }
  const bucket = outcomeBucketAt(previous, now)
  const entry = { ...previous, inFlight, outcomeBucket: bucket, outcomes: withOutcome(previous, bucket, true) }
  if (!failure.countsTowardCooldown) return entry
  const failures = [...entry.failures.filter((t) => t > now - FAILURE_WINDOW_MS), now]
  const trips = failure.coolsImmediately || failures.length > failure.allowedFails
  if (!trips || failure.cooldownMs <= 0) return { ...entry, failures }
  // A new cooldown never shortens one already running (LiteLLM's re-cooling complaint, #40130).
  const until = Math.max(entry.cooldownUntil, now + failure.cooldownMs)
  return { ...entry, failures: [], cooldownUntil: until, cooldownReason: failure.reason }
}

/**
 * Applies a cooldown started elsewhere (another replica, through a shared store): the
 * deployment is out until `until`, unless a cooldown as long already runs. Like a cooldown
 * started here, it clears the failures counted so far.
 */
export const admitCooldown = (entry: Entry, cooldown: Pick<Cooldown, "until" | "reason">, now: number): Entry =>
  cooldown.until <= now || cooldown.until <= entry.cooldownUntil
    ? entry
    : { ...entry, failures: [], cooldownUntil: cooldown.until, cooldownReason: cooldown.reason }

/** The memory store, and the door a shared store uses to bring in other replicas' cooldowns. */
export interface MemoryStore extends Service {
  /** Applies `cooldown` (see `admitCooldown`); true when it took the deployment out or kept it out longer. */
  readonly admitCooldown: (cooldown: Cooldown) => Effect.Effect<boolean>
}

/**
 * One deployment in the memory store: the `Ref` of its entry, and what was last derived from
 * an entry. An entry is never changed, only replaced, so what was derived from one stays true
 * of it: the stats hold while the `Ref` holds the entry they were made from (and the clock
 * reads the same millisecond), the summaries while its sample arrays are the same ones (and
 * no sample has expired).
 */
interface Cell {
  readonly ref: Ref.Ref<Entry>
  /** The stats of `statsEntry` at `statsAt`. */
  stats: DeploymentStats | undefined
  statsEntry: Entry | undefined
  statsAt: number
  /** The summaries of `latencies` and `ttfcs`, until `summariesExpireAt` (when the oldest sample expires). */
  latency: Summary
  ttfc: Summary
  latencies: ReadonlyArray<number> | undefined
  ttfcs: ReadonlyArray<number> | undefined
  summariesExpireAt: number
}

const newCell = (): Cell => ({
  ref: Ref.makeUnsafe(emptyEntry),
  stats: undefined,
  statsEntry: undefined,
  statsAt: 0,
  latency: noSamples,
  ttfc: noSamples,
  latencies: undefined,
  ttfcs: undefined,
  summariesExpireAt: 0
})

/** The deployment's stats at `now`, from its current entry, made only when that entry or the millisecond is new. */
const cellStats = (cell: Cell, now: number): DeploymentStats => {
  const entry = Ref.getUnsafe(cell.ref)
  if (cell.statsEntry === entry && cell.statsAt === now) return cell.stats!
  if (cell.latencies !== entry.latencies || cell.ttfcs !== entry.ttfcs || now >= cell.summariesExpireAt) {
    cell.latency = summarize(entry.latencies, entry.latencyTimes, now)
    cell.ttfc = summarize(entry.ttfcs, entry.ttfcTimes, now)
    cell.latencies = entry.latencies
    cell.ttfcs = entry.ttfcs
    cell.summariesExpireAt = Math.min(entry.latencyTimes[0] ?? Infinity, entry.ttfcTimes[0] ?? Infinity) + LATENCY_WINDOW_MS
  }
  cell.statsEntry = entry
  cell.statsAt = now
  return cell.stats = statsOf(entry, now, cell.latency, cell.ttfc)
}

const idleStats: DeploymentStats = statsOf(emptyEntry, 0, noSamples, noSamples)

/**
 * The memory store's snapshot stats: each deployment's read when asked for, so a decision
 * costs what it reads (a weighted shuffle over 3,000 deployments reads none), not the group's
 * size. A read takes the deployment's entry as it is then (one synchronous step of routing).
 */
class StatsView implements ReadonlyMap<string, DeploymentStats> {
  readonly cells: ReadonlyMap<string, Cell>
  readonly ids: ReadonlyArray<string>
  readonly now: number
  constructor(cells: ReadonlyMap<string, Cell>, ids: ReadonlyArray<string>, now: number) {
    this.cells = cells
    this.ids = ids
    this.now = now
  }
  get size() {
    return this.ids.length
  }
  get(id: string): DeploymentStats | undefined {
    // A deployment never called has no cell: idle (not looked up in `ids`, which would cost the group's size).
    const cell = this.cells.get(id)
    return cell === undefined ? idleStats : cellStats(cell, this.now)
  }
  has(id: string) {
    return this.ids.includes(id)
  }
  forEach(f: (value: DeploymentStats, key: string, map: ReadonlyMap<string, DeploymentStats>) => void) {
    for (const id of this.ids) f(this.get(id)!, id, this)
  }
  *entries(): MapIterator<[string, DeploymentStats]> {
    for (const id of this.ids) yield [id, this.get(id)!]
  }
  [Symbol.iterator]() {
    return this.entries()
  }
  *keys(): MapIterator<string> {
    yield* this.ids
  }
  *values(): MapIterator<DeploymentStats> {
    for (const id of this.ids) yield this.get(id)!
  }
}

/**
 * The in-process store: one `Ref` per deployment, made the first time the router names the
 * deployment (so the map grows with the configured deployments, never with requests), each
 * holding an immutable entry. Every update is one `Ref.update` or `Ref.modify` of that one
 * entry by the pure rules above, so it is atomic and costs the same however many deployments
 * there are (a `Ref` of the whole map would copy the map on each update).
 */
export const makeMemory: Effect.Effect<MemoryStore> = Effect.sync(() => {
  const cells = new Map<string, Cell>()
  const refOf = (id: string): Ref.Ref<Entry> => {
    let cell = cells.get(id)
    if (cell === undefined) {
      cell = newCell()
      cells.set(id, cell)
    }
    return cell.ref
  }
  /** No deployment cools down past this (the latest cooldown ever started): a snapshot after it has none cooling. */
  let latestCooldownUntil = 0
  /** Replaces a deployment's entry by a rule that may start a cooldown, and notes the cooldown. */
  const modify = <B>(id: string, f: (entry: Entry, now: number) => readonly [B, Entry]): Effect.Effect<B> =>
    Clock.clockWith((clock) => {
      const now = clock.currentTimeMillisUnsafe()
      const ref = refOf(id)
      return Effect.map(Ref.modify(ref, (entry) => f(entry, now)), (result) => {
        const until = Ref.getUnsafe(ref).cooldownUntil
        if (until > latestCooldownUntil) latestCooldownUntil = until
        return result
      })
    })
  // Each method reads the clock and finds the `Ref` when the effect runs, every time it runs.
  const service = RouterState.of({
    snapshot: (ids) =>
      Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        return Effect.succeed({ now, stats: new StatsView(cells, ids, now), noneCooling: now >= latestCooldownUntil })
      }),
    onStart: (id) =>
      Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        return Ref.update(refOf(id), (entry) => applyStart(entry, now))
      }),
    onSuccess: (id, success) =>
      Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        return Ref.update(refOf(id), (entry) => applySuccess(entry, success, now))
      }),
    onFailure: (id, failure) =>
      modify(id, (before, now) => {
        const after = applyFailure(before, failure, now)
        const started: Cooldown | undefined = after.cooldownUntil > before.cooldownUntil
          ? { deployment: id, until: after.cooldownUntil, reason: after.cooldownReason }
          : undefined
        return [started, after]
      }),
    cooldowns: Clock.clockWith((clock) =>
      Effect.sync(() => {
        const now = clock.currentTimeMillisUnsafe()
        const cooling: Array<Cooldown> = []
        for (const [deployment, cell] of cells) {
          const entry = Ref.getUnsafe(cell.ref)
          if (entry.cooldownUntil > now) cooling.push({ deployment, until: entry.cooldownUntil, reason: entry.cooldownReason })
        }
        return cooling
      })
    )
  })
  return {
    ...service,
    admitCooldown: (cooldown) =>
      modify(cooldown.deployment, (entry, now) => {
        const next = admitCooldown(entry, cooldown, now)
        return [next !== entry, next]
      })
  }
})

export const layerMemory: Layer.Layer<RouterState> = Layer.effect(RouterState, makeMemory)

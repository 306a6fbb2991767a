/**
 * What the router remembers about each deployment between requests: cooldowns, recent
 * failures, latency samples, in-flight calls and this minute's usage. Routing reads it
 * through one snapshot per decision and reports outcomes back; it never keeps its own
 * copy. The interface is small and every value in it is plain data, so a shared store
 * (Redis, for many gateway replicas) can implement it as well as the memory Layer here.
 */
import { Clock, Context, Effect, Layer } from "effect"

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
  /** Failures inside the current one-minute window. */
  readonly recentFailures: number
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
  /** When false the failure only ends the in-flight call (the request was at fault). */
  readonly countsTowardCooldown: boolean
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
    recentFailures: entry.failures.length === 0 ? 0 : entry.failures.filter((t) => t > now - FAILURE_WINDOW_MS).length
  }
}

/** Applies a failure to an entry: the pure rule behind every store's `onFailure`. */
export const applyFailure = (entry: Entry, failure: Failure, now: number): Entry => {
  const inFlight = Math.max(0, entry.inFlight - 1)
  if (!failure.countsTowardCooldown) return { ...entry, inFlight }
  const failures = [...entry.failures.filter((t) => t > now - FAILURE_WINDOW_MS), now]
  const trips = failure.coolsImmediately || failures.length > failure.allowedFails
  if (!trips || failure.cooldownMs <= 0) return { ...entry, inFlight, failures }
  // A new cooldown never shortens one already running (LiteLLM's re-cooling complaint, #40130).
  const until = Math.max(entry.cooldownUntil, now + failure.cooldownMs)
  return { ...entry, inFlight, failures: [], cooldownUntil: until, cooldownReason: failure.reason }
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

type Samples = "failures" | "latencies" | "latencyTimes" | "ttfcs" | "ttfcTimes"
/**
 * An entry as the memory store keeps it: its own, so the hot paths update it in place, with the
 * summaries of its samples made when first read after a change (not on every read).
 */
type Slot = { -readonly [K in keyof Entry]: K extends Samples ? Array<number> : Entry[K] } & {
  latency: Summary | undefined
  ttfc: Summary | undefined
  /** When the oldest sample expires, changing the summaries. */
  summariesExpireAt: number
  /** The stats last read, at `statsAt`: read again at the same time with no update between, they are the same. */
  stats: DeploymentStats | undefined
  statsAt: number
}

/** Adds a sample in place, keeping the last `LATENCY_SAMPLES`. */
const addSample = (xs: Array<number>, times: Array<number>, x: number, now: number) => {
  xs.push(x)
  times.push(now)
  if (xs.length > LATENCY_SAMPLES) {
    xs.shift()
    times.shift()
  }
}

const newSlot = (entry: Entry = emptyEntry): Slot => ({
  ...entry,
  failures: [...entry.failures],
  latencies: [...entry.latencies],
  latencyTimes: [...entry.latencyTimes],
  ttfcs: [...entry.ttfcs],
  ttfcTimes: [...entry.ttfcTimes],
  latency: undefined,
  ttfc: undefined,
  summariesExpireAt: 0,
  stats: undefined,
  statsAt: 0
})

/** The slot's stats at `now`, making its summaries when its samples changed or one expired. */
const slotStats = (slot: Slot, now: number): DeploymentStats => {
  if (slot.stats !== undefined && slot.statsAt === now) return slot.stats
  if (slot.latency === undefined || slot.ttfc === undefined || now >= slot.summariesExpireAt) {
    slot.latency = summarize(slot.latencies, slot.latencyTimes, now)
    slot.ttfc = summarize(slot.ttfcs, slot.ttfcTimes, now)
    const oldest = Math.min(slot.latencyTimes[0] ?? Infinity, slot.ttfcTimes[0] ?? Infinity)
    slot.summariesExpireAt = oldest + LATENCY_WINDOW_MS
  }
  slot.statsAt = now
  return slot.stats = statsOf(slot, now, slot.latency, slot.ttfc)
}

/**
 * The in-process store: a map of entries, one per deployment. Each update reads the clock and
 * changes one entry in a single synchronous step, so no two can interleave on the one
 * JavaScript thread, and it costs the same however many deployments there are (copying the
 * whole map, as a `Ref` of an immutable map would, grows with every deployment added). The two
 * updates every request makes, `onStart` and `onSuccess`, change the entry in place: a copy
 * per update was most of what the store allocated. Failures and cooldowns, which are rare,
 * go through the pure rules above and replace the entry.
 */
const idleStats: DeploymentStats = statsOf(emptyEntry, 0, noSamples, noSamples)

/**
 * The memory store's snapshot stats: each deployment's read when asked for, so a decision
 * costs what it reads (a weighted shuffle over 3,000 deployments reads none), not the group's
 * size. A read is made fresh each time (a few fields; the summaries are kept on the slot).
 */
class StatsView implements ReadonlyMap<string, DeploymentStats> {
  readonly slots: ReadonlyMap<string, Slot>
  readonly ids: ReadonlyArray<string>
  readonly now: number
  constructor(slots: ReadonlyMap<string, Slot>, ids: ReadonlyArray<string>, now: number) {
    this.slots = slots
    this.ids = ids
    this.now = now
  }
  get size() {
    return this.ids.length
  }
  get(id: string): DeploymentStats | undefined {
    // A deployment never called has no slot: idle (not looked up in `ids`, which would cost the group's size).
    const slot = this.slots.get(id)
    return slot === undefined ? idleStats : slotStats(slot, this.now)
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

export const makeMemory: Effect.Effect<MemoryStore> = Effect.sync(() => {
  const entries = new Map<string, Slot>()
  const slotOf = (id: string): Slot => {
    let slot = entries.get(id)
    if (slot === undefined) {
      slot = newSlot()
      entries.set(id, slot)
    }
    return slot
  }
  /** Rolls the per-minute counters over when a new minute has begun. */
  const rollMinute = (slot: Slot, now: number) => {
    const minute = minuteOf(now)
    if (slot.minute !== minute) {
      slot.minute = minute
      slot.requests = 0
      slot.tokens = 0
    }
  }
  /** No deployment cools down past this (the latest cooldown ever started): a snapshot after it has none cooling. */
  let latestCooldownUntil = 0
  /** Replaces an entry with the outcome of a pure rule (whose arrays are new or the old entry's). */
  const replace = <B>(id: string, f: (entry: Entry, now: number) => readonly [B, Entry]): Effect.Effect<B> =>
    Clock.clockWith((clock) => {
      const before = slotOf(id)
      const [result, next] = f(before, clock.currentTimeMillisUnsafe())
      // The samples are unchanged by these rules: the slot keeps its arrays and summaries.
      if (next !== before) Object.assign(before, next, { stats: undefined })
      if (before.cooldownUntil > latestCooldownUntil) latestCooldownUntil = before.cooldownUntil
      return Effect.succeed(result)
    })
  // Each method is one step: `clockWith` runs its function when the effect runs, every time.
  const service = RouterState.of({
    snapshot: (ids) =>
      Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        return Effect.succeed({ now, stats: new StatsView(entries, ids, now), noneCooling: now >= latestCooldownUntil })
      }),
    onStart: (id) =>
      Clock.clockWith((clock) => {
        const slot = slotOf(id)
        rollMinute(slot, clock.currentTimeMillisUnsafe())
        slot.stats = undefined
        slot.inFlight++
        slot.requests++
        return Effect.void
      }),
    onSuccess: (id, success) =>
      Clock.clockWith((clock) => {
        const slot = slotOf(id)
        const now = clock.currentTimeMillisUnsafe()
        rollMinute(slot, now)
        slot.stats = undefined
        slot.inFlight = Math.max(0, slot.inFlight - 1)
        // A success shows the deployment works: its earlier failures no longer count.
        if (slot.failures.length > 0) slot.failures = []
        addSample(slot.latencies, slot.latencyTimes, success.latencyMs, now)
        if (success.timeToFirstChunkMs !== undefined) addSample(slot.ttfcs, slot.ttfcTimes, success.timeToFirstChunkMs, now)
        slot.latency = undefined
        slot.tokens += success.tokens
        return Effect.void
      }),
    onFailure: (id, failure) =>
      replace(id, (before, now) => {
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
        for (const [deployment, e] of entries) {
          if (e.cooldownUntil > now) cooling.push({ deployment, until: e.cooldownUntil, reason: e.cooldownReason })
        }
        return cooling
      })
    )
  })
  return {
    ...service,
    admitCooldown: (cooldown) =>
      replace(cooldown.deployment, (entry, now) => {
        const next = admitCooldown(entry, cooldown, now)
        return [next !== entry, next]
      })
  }
})

export const layerMemory: Layer.Layer<RouterState> = Layer.effect(RouterState, makeMemory)

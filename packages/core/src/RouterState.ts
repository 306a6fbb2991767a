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
  /** Mean of recent times to first chunk of streams. */
  readonly timeToFirstChunkMs?: number | undefined
  readonly requestsThisMinute: number
  readonly tokensThisMinute: number
  /** Failures inside the current one-minute window. */
  readonly recentFailures: number
}

export interface Snapshot {
  readonly now: number
  readonly stats: ReadonlyMap<string, DeploymentStats>
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

export interface Entry {
  readonly cooldownUntil: number
  readonly cooldownReason: string
  readonly failures: ReadonlyArray<number>
  readonly inFlight: number
  readonly latencies: ReadonlyArray<number>
  readonly ttfcs: ReadonlyArray<number>
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
  ttfcs: [],
  minute: 0,
  requests: 0,
  tokens: 0
}

const mean = (xs: ReadonlyArray<number>) => (xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length)
const minuteOf = (now: number) => Math.floor(now / 60_000)

const statsOf = (entry: Entry, now: number): DeploymentStats => {
  // Read on every routing decision for every candidate: no allocation beyond the result.
  const thisMinute = entry.minute === minuteOf(now)
  return {
    cooldownUntil: entry.cooldownUntil > now ? entry.cooldownUntil : 0,
    inFlight: entry.inFlight,
    latencyMs: mean(entry.latencies),
    timeToFirstChunkMs: mean(entry.ttfcs),
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

/** An entry as the memory store keeps it: its own, so the hot paths update it in place. */
type Slot = { -readonly [K in keyof Entry]: K extends "failures" | "latencies" | "ttfcs" ? Array<number> : Entry[K] }

/** Adds a sample in place, keeping the last `LATENCY_SAMPLES`. */
const addSample = (xs: Array<number>, x: number) => {
  xs.push(x)
  if (xs.length > LATENCY_SAMPLES) xs.shift()
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
export const makeMemory: Effect.Effect<MemoryStore> = Effect.sync(() => {
  const entries = new Map<string, Slot>()
  const slotOf = (id: string): Slot => {
    let slot = entries.get(id)
    if (slot === undefined) {
      slot = { ...emptyEntry, failures: [], latencies: [], ttfcs: [] }
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
  /** Replaces an entry with the outcome of a pure rule (whose arrays are new or the old entry's). */
  const replace = <B>(id: string, f: (entry: Entry, now: number) => readonly [B, Entry]): Effect.Effect<B> =>
    Clock.clockWith((clock) => {
      const [result, next] = f(slotOf(id), clock.currentTimeMillisUnsafe())
      entries.set(id, next as Slot)
      return Effect.succeed(result)
    })
  // Each method is one step: `clockWith` runs its function when the effect runs, every time.
  const service = RouterState.of({
    snapshot: (ids) =>
      Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        const stats = new Map<string, DeploymentStats>()
        for (const id of ids) stats.set(id, statsOf(entries.get(id) ?? emptyEntry, now))
        return Effect.succeed({ now, stats })
      }),
    onStart: (id) =>
      Clock.clockWith((clock) => {
        const slot = slotOf(id)
        rollMinute(slot, clock.currentTimeMillisUnsafe())
        slot.inFlight++
        slot.requests++
        return Effect.void
      }),
    onSuccess: (id, success) =>
      Clock.clockWith((clock) => {
        const slot = slotOf(id)
        rollMinute(slot, clock.currentTimeMillisUnsafe())
        slot.inFlight = Math.max(0, slot.inFlight - 1)
        // A success shows the deployment works: its earlier failures no longer count.
        if (slot.failures.length > 0) slot.failures = []
        addSample(slot.latencies, success.latencyMs)
        if (success.timeToFirstChunkMs !== undefined) addSample(slot.ttfcs, success.timeToFirstChunkMs)
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

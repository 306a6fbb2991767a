/**
 * Requests and tokens per deployment and minute, added up across a fleet, for usage-based
 * routing's `rpm` / `tpm` limits (which a fleet of N replicas would otherwise let through N
 * times). Each replica counts its own at once in its memory store; every `resyncMs` it adds
 * what it counted since to one Redis hash per minute and reads back the fleet's, in one
 * script. A snapshot then adds the other replicas' counts, as of the last sync, to its own.
 */
import { Effect } from "effect"
import { Redis } from "effect/persistence"
import type { RouterState } from "@llm-router/core"

const MINUTE_MS = 60_000
export const minuteOf = (now: number): number => Math.floor(now / MINUTE_MS)

interface Counts {
  requests: number
  tokens: number
}

export class SharedUsage {
  /** This replica's counts since the last sync, by minute, then deployment. */
  private pending = new Map<number, Map<string, Counts>>()
  /** This replica's counts sent so far, for the minute of `sentMinute`. */
  private sent = new Map<string, Counts>()
  private sentMinute = -1
  /** The other replicas' counts at the last sync, for the minute of `othersMinute`. */
  private others = new Map<string, Counts>()
  private othersMinute = -1

  private count(deployment: string, now: number, requests: number, tokens: number): void {
    const minute = minuteOf(now)
    let byDeployment = this.pending.get(minute)
    if (byDeployment === undefined) this.pending.set(minute, byDeployment = new Map())
    const counts = byDeployment.get(deployment)
    if (counts === undefined) byDeployment.set(deployment, { requests, tokens })
    else {
      counts.requests += requests
      counts.tokens += tokens
    }
  }

  started(deployment: string, now: number): void {
    this.count(deployment, now, 1, 0)
  }

  succeeded(deployment: string, now: number, tokens: number): void {
    if (tokens > 0) this.count(deployment, now, 0, tokens)
  }

  /** `snapshot` with the other replicas' counts of this minute added. */
  withOthers(snapshot: RouterState.Snapshot): RouterState.Snapshot {
    if (this.others.size === 0 || this.othersMinute !== minuteOf(snapshot.now)) return snapshot
    const stats = new Map(snapshot.stats)
    for (const [id, own] of snapshot.stats) {
      const theirs = this.others.get(id)
      if (theirs === undefined) continue
      stats.set(id, {
        ...own,
        requestsThisMinute: own.requestsThisMinute + theirs.requests,
        tokensThisMinute: own.tokensThisMinute + theirs.tokens
      })
    }
    return { ...snapshot, stats }
  }

  /** Sends this replica's counts since the last sync and takes in the fleet's for this minute. */
  sync(redis: Redis.Redis["Service"], prefix: string, now: number): Effect.Effect<void, Redis.RedisError> {
    const minute = minuteOf(now)
    const pending = this.pending
    this.pending = new Map()
    const fields: Array<string> = []
    const keys: Array<string> = []
    for (const [m, byDeployment] of pending) {
      for (const [id, c] of byDeployment) {
        keys.push(`${prefix}:usage:${m}`)
        fields.push(id, String(c.requests), String(c.tokens))
      }
    }
    return redis.eval(syncScript)(keys, fields, `${prefix}:usage:${minute}`).pipe(
      Effect.map((flat) => {
        if (this.sentMinute !== minute) {
          this.sent = new Map()
          this.sentMinute = minute
        }
        for (const [id, c] of pending.get(minute) ?? []) {
          const sent = this.sent.get(id)
          if (sent === undefined) this.sent.set(id, { ...c })
          else {
            sent.requests += c.requests
            sent.tokens += c.tokens
          }
        }
        const fleet = new Map<string, Counts>()
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const field = flat[i]!
          const cut = field.lastIndexOf(":")
          const id = field.slice(0, cut)
          const counts = fleet.get(id) ?? { requests: 0, tokens: 0 }
          counts[field.slice(cut + 1) === "r" ? "requests" : "tokens"] = Number(flat[i + 1]) || 0
          fleet.set(id, counts)
        }
        const others = new Map<string, Counts>()
        for (const [id, total] of fleet) {
          const own = this.sent.get(id) ?? { requests: 0, tokens: 0 }
          others.set(id, { requests: Math.max(0, total.requests - own.requests), tokens: Math.max(0, total.tokens - own.tokens) })
        }
        this.others = others
        this.othersMinute = minute
      }),
      // Not lost when the connection fails: counted again with the next sync.
      Effect.tapError(() =>
        Effect.sync(() => {
          for (const [m, byDeployment] of pending) {
            for (const [id, c] of byDeployment) this.count(id, m * MINUTE_MS, c.requests, c.tokens)
          }
        })
      )
    )
  }
}

/**
 * KEYS: one minute's hash per increment, then (last) the current minute's hash. ARGV: per
 * increment the deployment, its requests and its tokens. Returns the current minute's hash.
 */
const syncScript = Redis.script(
  (hashes: ReadonlyArray<string>, increments: ReadonlyArray<string>, current: string) => [...hashes, current, ...increments],
  {
    numberOfKeys: (hashes) => hashes.length + 1,
    lua: `
local n = #KEYS - 1
for i = 1, n do
  local id, requests, tokens = ARGV[3 * i - 2], tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  if requests > 0 then redis.call('HINCRBY', KEYS[i], id .. ':r', requests) end
  if tokens > 0 then redis.call('HINCRBY', KEYS[i], id .. ':t', tokens) end
  redis.call('PEXPIRE', KEYS[i], 180000)
end
return redis.call('HGETALL', KEYS[#KEYS])
`
  }
).withReturnType<ReadonlyArray<string>>()

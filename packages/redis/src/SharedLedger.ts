/**
 * Budget spend shared by a fleet (see core's `Budget`). Each replica counts its own spend at
 * once, so the pick reads it synchronously; every `resyncMs` it adds what it spent since to
 * Redis and reads back the fleet's totals, in one script. A replica's view is the fleet's total
 * at the last sync plus its own spend since: at most one interval of the other replicas' spend
 * is missing (LiteLLM flushes its spend increments every second too).
 *
 * Keys: `{prefix}:spend:{limit key}:{window}`, each expiring one window after its own ends.
 */
import { Effect } from "effect"
import { Redis } from "effect/persistence"
import type { Budget } from "@llm-router/core"

interface Spend {
  readonly limit: Budget.Limit
  readonly window: number
  usd: number
}

/** The ledger routers read and write; `sync` keeps it in step with the fleet's. */
export class SharedLedger implements Budget.Ledger {
  /** The fleet's totals at the last sync (this replica's flushed spend included). */
  private readonly totals = new Map<string, { readonly window: number; readonly usd: number }>()
  /** This replica's spend since the last sync. */
  private pending = new Map<string, Spend>()
  /** Every limit of the routers using it, so a sync reads totals this replica has not spent on. */
  private readonly known = new Map<string, Budget.Limit>()

  /** Takes a router's limits (see `Budget.MakeLedger`). */
  register(limits: ReadonlyArray<Budget.Limit>): this {
    for (const limit of limits) this.known.set(limit.key, limit)
    return this
  }

  spent(limit: Budget.Limit, window: number): number {
    if (!this.known.has(limit.key)) this.known.set(limit.key, limit)
    const total = this.totals.get(limit.key)
    const own = this.pending.get(limit.key)
    return (total?.window === window ? total.usd : 0) + (own?.window === window ? own.usd : 0)
  }

  add(limit: Budget.Limit, window: number, usd: number): void {
    if (!this.known.has(limit.key)) this.known.set(limit.key, limit)
    const own = this.pending.get(limit.key)
    if (own !== undefined && own.window === window) own.usd += usd
    else this.pending.set(limit.key, { limit, window, usd })
  }

  /** Sends this replica's spend since the last sync and takes in the fleet's totals. */
  sync(redis: Redis.Redis["Service"], prefix: string, now: number): Effect.Effect<void, Redis.RedisError> {
    if (this.known.size === 0) return Effect.void
    const sent = this.pending
    this.pending = new Map()
    const keyOf = (limit: Budget.Limit, window: number) => `${prefix}:spend:${limit.key}:${window}`
    const reads = [...this.known.values()].map((limit) => ({ limit, window: Math.floor(now / limit.periodMs) }))
    const increments = [...sent.values()]
    return redis.eval(syncScript)(
      increments.map((s) => keyOf(s.limit, s.window)),
      increments.flatMap((s) => [String(s.usd), String((s.window + 2) * s.limit.periodMs - now)]),
      reads.map((r) => keyOf(r.limit, r.window))
    ).pipe(
      Effect.map((values) => {
        reads.forEach((r, i) => this.totals.set(r.limit.key, { window: r.window, usd: Number(values[i] ?? 0) || 0 }))
      }),
      // Not lost when the connection fails: it is sent with the next sync.
      Effect.tapError(() =>
        Effect.sync(() => {
          for (const s of sent.values()) this.add(s.limit, s.window, s.usd)
        })
      )
    )
  }
}

/** KEYS: the incremented keys, then the keys read. ARGV: how many increments, then per increment its amount and ttl. */
const syncScript = Redis.script(
  (increments: ReadonlyArray<string>, amounts: ReadonlyArray<string>, reads: ReadonlyArray<string>) => [
    ...increments,
    ...reads,
    String(increments.length),
    ...amounts
  ],
  {
    numberOfKeys: (increments, _amounts, reads) => increments.length + reads.length,
    lua: `
local n = tonumber(ARGV[1])
for i = 1, n do
  redis.call('INCRBYFLOAT', KEYS[i], ARGV[2 * i])
  redis.call('PEXPIRE', KEYS[i], math.max(1, math.ceil(tonumber(ARGV[2 * i + 1]))))
end
local values = {}
for i = n + 1, #KEYS do values[#values + 1] = redis.call('GET', KEYS[i]) or '0' end
return values
`
  }
).withReturnType<ReadonlyArray<string>>()

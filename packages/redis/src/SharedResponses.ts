/**
 * The Redis side of the gateway's store of Responses API answers, shared by a fleet so a
 * conversation started on one replica continues on any other: each answer is one key holding
 * the text the gateway gives it (its JSON), written with a time to live, read back in batches
 * within a byte budget (one script: each key's size first, then its text while the budget
 * allows) and deleted for every replica at once. Entries are immutable once written, so
 * nothing else is needed to keep replicas in step.
 *
 * Keys: `{prefix}:response:{id}`, each expiring `ttlMs` after it was written.
 */
import { Effect } from "effect"
import type { Redis } from "effect/persistence"
import type { SharedConnection } from "./SharedConnection.ts"

export interface Options {
  /** The fleet's key prefix (`router_settings.redis_key_prefix`). */
  readonly prefix: string
  /** How long an entry is kept after it was written. */
  readonly ttlMs: number
  /** An entry whose text is larger than this (in UTF-8 bytes) is not written. */
  readonly maxEntryBytes: number
}

export const key = (prefix: string, id: string): string => `${prefix}:response:${id}`

/** What happened to an entry `put` was given. */
export type Written = "written" | "too-large"

/**
 * `MGET` of the first `KEYS` whose sizes (`STRLEN`: bytes, as `put` counts them) fit in
 * `ARGV[1]` bytes together, stopping before the first that does not: so Redis never sends, and
 * the replica never holds, more than the budget. A missing key is a nil, and costs nothing.
 * (Callers pass at most a few hundred keys: `unpack` is bounded by Lua's stack.)
 */
const readWithinScript = `
local budget = tonumber(ARGV[1])
local fitting = 0
for _, key in ipairs(KEYS) do
  local size = redis.call('STRLEN', key)
  if size > budget then break end
  budget = budget - size
  fitting = fitting + 1
end
if fitting == 0 then return {} end
return redis.call('MGET', unpack(KEYS, 1, fitting))`

export interface SharedResponses {
  readonly put: (id: string, text: string) => Effect.Effect<Written, Redis.RedisError>
  /**
   * The texts of `ids`, in order, as many as fit in `maxBytes` (UTF-8) together: fewer than
   * `ids` when the next one would not fit, which is never read. `undefined` where there is
   * none (never written, expired or deleted).
   */
  readonly getWithin: (ids: ReadonlyArray<string>, maxBytes: number) => Effect.Effect<Array<string | undefined>, Redis.RedisError>
  /** Whether there was an entry to delete. */
  readonly delete: (id: string) => Effect.Effect<boolean, Redis.RedisError>
}

export const make = (connection: SharedConnection["Service"], options: Options): SharedResponses => ({
  put: (id, text) =>
    Buffer.byteLength(text, "utf8") > options.maxEntryBytes
      ? Effect.succeed("too-large")
      : Effect.as(connection.send("SET", key(options.prefix, id), text, "PX", String(Math.max(1, Math.ceil(options.ttlMs)))), "written"),
  getWithin: (ids, maxBytes) =>
    ids.length === 0
      ? Effect.succeed([])
      : Effect.map(
        connection.send<Array<string | null>>(
          "EVAL",
          readWithinScript,
          String(ids.length),
          ...ids.map((id) => key(options.prefix, id)),
          String(Math.max(0, Math.floor(maxBytes)))
        ),
        (texts) => texts.map((text) => text ?? undefined)
      ),
  delete: (id) => Effect.map(connection.send<number>("DEL", key(options.prefix, id)), (n) => Number(n) > 0)
})

/**
 * The Redis side of the gateway's store of Responses API answers, shared by a fleet so a
 * conversation started on one replica continues on any other: each answer is one key holding
 * the text the gateway gives it (its JSON), written with a time to live, read back in batches
 * (`MGET`) and deleted for every replica at once. Entries are immutable once written, so
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

export interface SharedResponses {
  readonly put: (id: string, text: string) => Effect.Effect<Written, Redis.RedisError>
  /** Each id's text, in order; `undefined` where there is none (never written, expired or deleted). */
  readonly getMany: (ids: ReadonlyArray<string>) => Effect.Effect<Array<string | undefined>, Redis.RedisError>
  /** Whether there was an entry to delete. */
  readonly delete: (id: string) => Effect.Effect<boolean, Redis.RedisError>
}

export const make = (connection: SharedConnection["Service"], options: Options): SharedResponses => ({
  put: (id, text) =>
    Buffer.byteLength(text, "utf8") > options.maxEntryBytes
      ? Effect.succeed("too-large")
      : Effect.as(connection.send("SET", key(options.prefix, id), text, "PX", String(Math.max(1, Math.ceil(options.ttlMs)))), "written"),
  getMany: (ids) =>
    ids.length === 0
      ? Effect.succeed([])
      : Effect.map(
        connection.send<Array<string | null>>("MGET", ...ids.map((id) => key(options.prefix, id))),
        (texts) => ids.map((_, i) => texts[i] ?? undefined)
      ),
  delete: (id) => Effect.map(connection.send<number>("DEL", key(options.prefix, id)), (n) => Number(n) > 0)
})

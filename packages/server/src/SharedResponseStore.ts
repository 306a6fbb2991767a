/**
 * The `ResponseStore` of a fleet sharing state through Redis (`router_settings.redis_*`): every
 * replica reads and writes the same entries (`SharedResponses` in `@llm-router/redis`, on the
 * replica's own connection), so a conversation started on one replica continues on any other,
 * and a response deleted through one is gone for all.
 *
 * An entry is one key holding its JSON, expiring after the same 24 hours as the memory store's;
 * an entry larger than `maxEntryBytes` (UTF-8) is not written. A conversation is read in batches
 * of `ANCESTORS` turns (one script each, `SharedResponses.getWithin`), and the responses a
 * request's `item_reference`s point into in one, each read within `maxConversationBytes` in all:
 * Redis checks each entry's size before sending it, so past the budget nothing more is sent, and
 * the read fails with `TooLarge` (a 400). No entry is cached on a replica: a delete through
 * another replica is seen at once.
 *
 * When Redis cannot be reached, an answer is still returned, unstored (one warning per outage),
 * and a read (a continuation, `GET`, `DELETE`) fails with `Unavailable`, which the route answers
 * with a 503 to retry: saying "not found" of a response that may well be stored would be wrong.
 */
import { Effect, Layer } from "effect"
import type { Redis } from "effect/persistence"
import { SharedConnection, SharedResponses } from "@llm-router/redis"
import * as ResponseStore from "./ResponseStore.ts"

export interface Options {
  /** The fleet's key prefix (`router_settings.redis_key_prefix`). */
  readonly prefix: string
  /** How long an entry is kept. Default: the memory store's, 24 hours. */
  readonly ttlMs?: number | undefined
  /** An answer whose entry (its input and output, as JSON) is larger is not stored. Default 8 MiB. */
  readonly maxEntryBytes?: number | undefined
  /**
   * A conversation (or the responses one request's item references point into) whose entries add
   * up to more UTF-8 bytes is refused, and no more than this is read of it. Default 64 MiB.
   */
  readonly maxConversationBytes?: number | undefined
}

export const defaults = {
  ttlMs: ResponseStore.defaultLimits.ttlMs,
  maxEntryBytes: 8 * 1024 * 1024,
  maxConversationBytes: 64 * 1024 * 1024
} as const

/** The form of an entry in Redis (its output is its response's). */
interface Stored {
  readonly v: 1
  readonly id: string
  readonly conversation: string
  readonly previous?: string | undefined
  readonly ancestors: ReadonlyArray<string>
  readonly input: ResponseStore.Entry["input"]
  readonly response: ResponseStore.Entry["response"]
  /** The conversation's reasoning refusal marks (`ResponseStore.ReasoningMarks`); absent when none. */
  readonly reasoningRefusedAt?: ResponseStore.ReasoningMarks | undefined
}

const encode = (entry: ResponseStore.Entry): string =>
  JSON.stringify({
    v: 1,
    id: entry.id,
    conversation: entry.conversation,
    previous: entry.previous,
    ancestors: entry.ancestors,
    input: entry.input,
    response: entry.response,
    reasoningRefusedAt: entry.reasoningRefusedAt
  } satisfies Stored)

/** An entry from its text; `undefined` for text this version did not write (taken as not stored). */
export const decode = (text: string): ResponseStore.Entry | undefined => {
  let stored: Stored
  try {
    stored = JSON.parse(text) as Stored
  } catch {
    return undefined
  }
  if (
    typeof stored !== "object" || stored === null || stored.v !== 1 || typeof stored.id !== "string" ||
    typeof stored.conversation !== "string" || !Array.isArray(stored.ancestors) || !Array.isArray(stored.input) ||
    typeof stored.response !== "object" || stored.response === null || !Array.isArray(stored.response.output)
  ) return undefined
  return {
    id: stored.id,
    conversation: stored.conversation,
    previous: typeof stored.previous === "string" ? stored.previous : undefined,
    ancestors: stored.ancestors.filter((id): id is string => typeof id === "string"),
    input: stored.input,
    output: stored.response.output,
    response: stored.response,
    // Marks of another shape are not ours: read as none (`mergeMarks` keeps only numbers).
    ...(typeof stored.reasoningRefusedAt === "object" && stored.reasoningRefusedAt !== null
      ? { reasoningRefusedAt: ResponseStore.mergeMarks(stored.reasoningRefusedAt) }
      : {})
  }
}

const MiB = 1024 * 1024
const bytesText = (bytes: number) => (bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`)

const unavailable = (error: Redis.RedisError) => {
  const cause = error.cause
  return new ResponseStore.Unavailable({
    message: `The response store (Redis) cannot be reached: ${cause instanceof Error ? cause.message : String(cause)}`
  })
}

/** The service on `connection`. */
export const make = (connection: SharedConnection.SharedConnection["Service"], options: Options): ResponseStore.Service => {
  const maxConversationBytes = options.maxConversationBytes ?? defaults.maxConversationBytes
  const maxEntryBytes = options.maxEntryBytes ?? defaults.maxEntryBytes
  const entries = SharedResponses.make(connection, { prefix: options.prefix, ttlMs: options.ttlMs ?? defaults.ttlMs, maxEntryBytes })
  // One warning when writes start failing, none again until one has succeeded.
  let failing = false
  const read = (ids: ReadonlyArray<string>, maxBytes: number) => Effect.mapError(entries.getWithin(ids, maxBytes), unavailable)
  const tooLarge = () => new ResponseStore.TooLarge({
    message: `more than ${bytesText(maxConversationBytes)} of stored responses, the most this gateway reads back for one request`
  })
  /**
   * A reader of entries within `maxConversationBytes` read in all, for one conversation (or one
   * request's references): a batch that does not fit in what is left fails with `TooLarge`,
   * Redis having sent only what fits, so what one request makes this replica hold is bounded.
   */
  const boundedReader = () => {
    let remaining = maxConversationBytes
    return (ids: ReadonlyArray<string>) =>
      Effect.flatMap(read(ids, remaining), (texts) => {
        if (texts.length < ids.length) return Effect.fail(tooLarge())
        for (const text of texts) if (text !== undefined) remaining -= Buffer.byteLength(text, "utf8")
        return Effect.succeed(texts.map((text) => (text === undefined ? undefined : decode(text))))
      })
  }
  // One entry is never written larger than `maxEntryBytes`; one larger still (written under
  // other settings) reads as not stored.
  const maxOneEntry = Math.max(maxEntryBytes, maxConversationBytes)

  return ResponseStore.ResponseStore.of({
    put: (entry) =>
      entries.put(entry.id, encode(entry)).pipe(
        Effect.tap((written) => {
          failing = false
          return written === "too-large"
            ? Effect.logDebug(`llm-router: response ${entry.id} is larger than the response store keeps; not stored`)
            : Effect.void
        }),
        Effect.catch((error) => {
          if (failing) return Effect.void
          failing = true
          return Effect.logWarning(
            `llm-router: response store: ${unavailable(error).message}; answers are returned but not stored until it is back`
          )
        }),
        Effect.asVoid
      ),
    get: (id) => Effect.map(read([id], maxOneEntry), ([text]) => (text === undefined ? undefined : decode(text))),
    getMany: (ids) => boundedReader()(ids),
    delete: (id) => Effect.mapError(entries.delete(id), unavailable),
    conversation: (id) => ResponseStore.walk(id, boundedReader())
  })
}

/** The store on the connection of the replica's shared state (`RedisRouterState.layer`). */
export const layer = (options: Options): Layer.Layer<ResponseStore.ResponseStore, never, SharedConnection.SharedConnection> =>
  Layer.effect(ResponseStore.ResponseStore, Effect.map(SharedConnection.SharedConnection, (connection) => make(connection, options)))

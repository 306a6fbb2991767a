/**
 * The gateway's own store of Responses API answers (`store: true`, the API's default), so a
 * conversation continues with `previous_response_id` or `item_reference`s whichever provider
 * served its earlier turns: each entry holds the turn's input items and output items and names
 * the response it continued, and a conversation is read back by walking that chain.
 *
 * One service, two stores, chosen with the router's state (`Gateway.layerState`): this replica's
 * memory (`layerMemory`, bounded by count, by size and by age: the oldest entries go first), or
 * the fleet's Redis (`SharedResponseStore`), so a conversation started on one replica continues
 * on any other. A continuation whose chain is not stored is refused with a clear 400; a store
 * that cannot be reached fails reads with `Unavailable` (a 503) and writes softly.
 */
import { Clock, Context, Effect, Layer, Schema } from "effect"
import type { ResponsesRequest, ResponsesResponse } from "@llm-router/openai"

export interface Entry {
  readonly id: string
  /** The first response of the conversation (its session, for session affinity). */
  readonly conversation: string
  readonly previous: string | undefined
  /**
   * The responses this one continued, nearest first, as many as `ANCESTORS`: a store that reads
   * over the network reads that many turns of a conversation in one batch.
   */
  readonly ancestors: ReadonlyArray<string>
  readonly input: ReadonlyArray<ResponsesRequest.Item>
  readonly output: ReadonlyArray<ResponsesResponse.OutputItem>
  readonly response: ResponsesResponse.ResponseObject
  /**
   * The conversation's reasoning refusal marks, by deployment id (`ReasoningMarks`): written by
   * the gateway only, with the marks of the turns before it.
   */
  readonly reasoningRefusedAt?: ReasoningMarks | undefined
}

/**
 * For each deployment (by `model_info.id`) that refused the encrypted reasoning the conversation
 * sent it, the latest issue time (microseconds) of what it refused (`ResponsesRequest.refusalMark`):
 * a later turn sends it only the reasoning it issued after. Kept in the conversation, not for the
 * deployment, so a client that forges a wrapping (it is not signed) costs only its own conversation.
 */
export type ReasoningMarks = Readonly<Record<string, number>>

/** A conversation keeps at most this many marks (one per deployment it was refused by; the latest kept). */
export const MAX_REASONING_MARKS = 64

/** `marks` merged, each deployment's latest mark kept, at most `MAX_REASONING_MARKS` of them (the latest). */
export const mergeMarks = (...marks: ReadonlyArray<ReasoningMarks | undefined>): ReasoningMarks => {
  const merged = new Map<string, number>()
  for (const one of marks) {
    for (const [deployment, at] of Object.entries(one ?? {})) {
      if (typeof at === "number" && Number.isFinite(at)) merged.set(deployment, Math.max(at, merged.get(deployment) ?? at))
    }
  }
  return Object.fromEntries([...merged].sort(([, a], [, b]) => b - a).slice(0, MAX_REASONING_MARKS))
}

/** How many ancestors an entry names (see `Entry.ancestors`). */
export const ANCESTORS = 32

/** A conversation longer than this many stored turns is refused rather than walked. */
export const MAX_DEPTH = 10_000

/**
 * A request's `item_reference`s may point into at most this many distinct responses (each read
 * whole, up to the entry bound): past it the request is refused before anything is read, with
 * either store, so what one request makes the gateway read stays small.
 */
export const MAX_REFERENCED_RESPONSES = 100

/** A conversation read back: its latest entry, and every turn's items, oldest first. */
export interface Conversation {
  readonly entry: Entry
  readonly items: Array<ResponsesRequest.Item>
  /** What a response continuing this conversation names as its `ancestors`. */
  readonly ancestors: ReadonlyArray<string>
  /** The reasoning refusal marks of every turn read, merged (an entry written without them loses none). */
  readonly reasoningRefusedAt: ReasoningMarks
}

/** The store cannot be reached now: the request may succeed if sent again. */
export class Unavailable extends Schema.TaggedError<Unavailable>()("ResponseStoreUnavailable", {
  message: Schema.String
}) {}

/**
 * What a read would bring back is more than the store reads for one call (a network store's
 * byte budget); nothing past the budget was read.
 */
export class TooLarge extends Schema.TaggedError<TooLarge>()("ResponseStoreTooLarge", {
  message: Schema.String
}) {}

export interface Service {
  /**
   * Keeps `entry`. Never fails: an entry the store cannot keep (too large, or the store is
   * unreachable, which is logged) is not stored, and a continuation of it is refused later.
   */
  readonly put: (entry: Entry) => Effect.Effect<void>
  readonly get: (id: string) => Effect.Effect<Entry | undefined, Unavailable>
  /**
   * Each id's entry, in order, read together; a network store reads at most its byte budget and
   * fails with `TooLarge` rather than read past it.
   */
  readonly getMany: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Entry | undefined>, Unavailable | TooLarge>
  /** Whether there was an entry to delete. */
  readonly delete: (id: string) => Effect.Effect<boolean, Unavailable>
  /**
   * The conversation up to and including response `id`; `undefined` when a turn of it is not
   * stored. A network store reads at most its byte budget, failing with `TooLarge` past it.
   */
  readonly conversation: (id: string) => Effect.Effect<Conversation | undefined, Unavailable | TooLarge>
}

export class ResponseStore extends Context.Service<ResponseStore, Service>()("@llm-router/server/ResponseStore") {}

/** An item of a stored response, by its id (input or output). */
export const itemOf = (entry: Entry, itemId: string): ResponsesRequest.Item | undefined =>
  entry.output.find((item) => item.id === itemId) as ResponsesRequest.Item | undefined ??
    entry.input.find((item) => "id" in item && item.id === itemId)

/**
 * Walks the chain from `id` back to the conversation's first response, reading entries in
 * batches with `read` (each id's entry, or `undefined`): after an entry, its `ancestors` (or its
 * `previous` alone when it names none). A missing turn, or an entry that does not continue the one
 * read before it, ends the walk with `undefined`.
 */
export const walk = <E>(
  id: string,
  read: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Entry | undefined>, E>
): Effect.Effect<Conversation | undefined, E> =>
  Effect.gen(function*() {
    const chain: Array<Entry> = []
    let wanted: ReadonlyArray<string> = [id]
    while (wanted.length > 0) {
      if (chain.length + wanted.length > MAX_DEPTH) return undefined
      const found = yield* read(wanted)
      for (const [i, entry] of found.entries()) {
        const last = chain.at(-1)
        if (entry === undefined || entry.id !== wanted[i] || (last !== undefined && last.previous !== entry.id)) return undefined
        chain.push(entry)
        if (entry.previous === undefined) break
      }
      const last = chain.at(-1)!
      wanted = last.previous === undefined ? [] : last.ancestors.length > 0 ? last.ancestors.slice(0, ANCESTORS) : [last.previous]
    }
    const items: Array<ResponsesRequest.Item> = []
    for (let i = chain.length - 1; i >= 0; i--) {
      items.push(...chain[i]!.input, ...(chain[i]!.output as ReadonlyArray<ResponsesRequest.Item>))
    }
    return {
      entry: chain[0]!,
      items,
      ancestors: chain.slice(0, ANCESTORS).map((entry) => entry.id),
      reasoningRefusedAt: mergeMarks(...chain.map((entry) => entry.reasoningRefusedAt))
    }
  })

// ---------------------------------------------------------------------------------------
// This replica's memory
// ---------------------------------------------------------------------------------------

export interface Limits {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly ttlMs: number
}

export const defaultLimits: Limits = { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, ttlMs: 24 * 60 * 60 * 1000 }

interface Slot {
  readonly entry: Entry
  readonly bytes: number
  readonly storedAt: number
}

/** The memory behind `layerMemory`: synchronous, on times the caller gives (epoch ms). */
export class MemoryStore {
  private readonly slots = new Map<string, Slot>()
  private bytes = 0
  readonly limits: Limits

  constructor(limits: Limits = defaultLimits) {
    this.limits = limits
  }

  get size(): number {
    return this.slots.size
  }

  /** Stores `entry` at `now` (epoch ms), evicting the oldest entries past the limits. */
  put(entry: Entry, now: number): void {
    const bytes = JSON.stringify(entry.input).length + JSON.stringify(entry.response).length
    if (bytes > this.limits.maxBytes) return
    this.delete(entry.id)
    this.slots.set(entry.id, { entry, bytes, storedAt: now })
    this.bytes += bytes
    // Map order is insertion order: the first slot is the oldest.
    for (const [id, slot] of this.slots) {
      if (this.slots.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes && now - slot.storedAt <= this.limits.ttlMs) break
      this.delete(id)
    }
  }

  get(id: string, now: number): Entry | undefined {
    const slot = this.slots.get(id)
    if (slot === undefined) return undefined
    if (now - slot.storedAt > this.limits.ttlMs) {
      this.delete(id)
      return undefined
    }
    return slot.entry
  }

  delete(id: string): boolean {
    const slot = this.slots.get(id)
    if (slot === undefined) return false
    this.slots.delete(id)
    this.bytes -= slot.bytes
    return true
  }
}

/** The service on a `MemoryStore`; it never fails. */
export const memory = (store: MemoryStore): Service => {
  const now = Clock.currentTimeMillis
  const getMany = (ids: ReadonlyArray<string>) => Effect.map(now, (at) => ids.map((id) => store.get(id, at)))
  return ResponseStore.of({
    put: (entry) => Effect.map(now, (at) => store.put(entry, at)),
    get: (id) => Effect.map(now, (at) => store.get(id, at)),
    getMany,
    delete: (id) => Effect.sync(() => store.delete(id)),
    conversation: (id) => walk(id, getMany)
  })
}

/** A store in this replica's memory, fresh each time the layer is built. */
export const layerMemory = (limits: Limits = defaultLimits): Layer.Layer<ResponseStore> =>
  Layer.sync(ResponseStore, () => memory(new MemoryStore(limits)))

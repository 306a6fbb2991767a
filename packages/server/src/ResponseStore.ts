/**
 * The gateway's own store of Responses API answers (`store: true`, the API's default), so a
 * conversation continues with `previous_response_id` or `item_reference`s whichever provider
 * served its earlier turns: each entry holds the turn's input items and output items and names
 * the response it continued, and a conversation is read back by walking that chain. Memory only,
 * per replica, bounded by count, by size (the JSON of the items) and by age: the oldest entries
 * go first, and a continuation whose chain was evicted is refused with a clear 400.
 */
import type { ResponsesRequest, ResponsesResponse } from "@llm-router/openai"

export interface Entry {
  readonly id: string
  /** The first response of the conversation (its session, for session affinity). */
  readonly conversation: string
  readonly previous: string | undefined
  readonly input: ReadonlyArray<ResponsesRequest.Item>
  readonly output: ReadonlyArray<ResponsesResponse.OutputItem>
  readonly response: ResponsesResponse.ResponseObject
}

export interface Limits {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly ttlMs: number
}

export const defaultLimits: Limits = { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, ttlMs: 24 * 60 * 60 * 1000 }

/** A conversation longer than this many stored turns is refused rather than walked. */
const MAX_DEPTH = 10_000

interface Slot {
  readonly entry: Entry
  readonly bytes: number
  readonly storedAt: number
}

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

  /**
   * The conversation up to and including response `id`: every turn's input and output items, oldest
   * first; `undefined` when `id` or a response it continued is no longer stored.
   */
  conversation(id: string, now: number): { readonly entry: Entry; readonly items: Array<ResponsesRequest.Item> } | undefined {
    const chain: Array<Entry> = []
    let next: string | undefined = id
    while (next !== undefined) {
      const entry = this.get(next, now)
      if (entry === undefined || chain.length >= MAX_DEPTH) return undefined
      chain.push(entry)
      next = entry.previous
    }
    const items: Array<ResponsesRequest.Item> = []
    for (let i = chain.length - 1; i >= 0; i--) {
      items.push(...chain[i]!.input, ...(chain[i]!.output as ReadonlyArray<ResponsesRequest.Item>))
    }
    return { entry: chain[0]!, items }
  }

  /** An item of a stored response, by its id (input or output). */
  item(responseId: string, itemId: string, now: number): ResponsesRequest.Item | undefined {
    const entry = this.get(responseId, now)
    if (entry === undefined) return undefined
    return entry.output.find((item) => item.id === itemId) as ResponsesRequest.Item | undefined ??
      entry.input.find((item) => "id" in item && item.id === itemId)
  }
}

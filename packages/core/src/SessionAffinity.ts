/**
 * Session affinity: the requests of one session (a conversation, an agent's run) go back to the
 * deployment that served the session last, while it is still a candidate, so the provider's
 * prompt cache (per provider, often per key) stays warm and the model does not change under
 * the conversation. Under `simple-shuffle` a 3-deployment group otherwise sends each turn to a
 * cold cache two times out of three (LiteLLM #38078).
 *
 * It is best-effort and never fails a request: a pinned deployment that is cooling down, has
 * failed in this request or is outside the group's best `order` is passed over as the strategy
 * would, and whichever deployment then serves becomes the session's pin. Pins live in the
 * router's memory, per model group, and are forgotten after `session_affinity_ttl_seconds`
 * without use (LiteLLM's name and default, 3600; 0 turns affinity off). Replicas sharing
 * state through Redis also tell each other of new and moved pins (`MakePinTable`).
 */
import { Context } from "effect"

/**
 * The current request's session id. The gateway sets it from `x-session-id` (or LiteLLM's
 * `x-litellm-session-id`); an app sets it with `Effect.provideService(SessionAffinity.SessionId, id)`.
 */
export const SessionId = Context.Reference<string | undefined>("@llm-router/core/SessionAffinity/SessionId", {
  defaultValue: () => undefined
})

/** Longer ids are not sessions (they would only grow the pin table). */
const MAX_ID_LENGTH = 256

/**
 * The session a request belongs to: the `SessionId` in context, else the request's
 * `prompt_cache_key` (OpenAI's own key for routing to a warm cache), else LiteLLM's
 * `metadata.session_id`. None: the request is routed on its own.
 */
export const sessionOf = (
  contextual: string | undefined,
  request: { readonly prompt_cache_key?: unknown; readonly metadata?: unknown }
): string | undefined => {
  const metadata = request["metadata"]
  const candidates = [
    contextual,
    request["prompt_cache_key"],
    typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>)["session_id"] : undefined
  ]
  for (const id of candidates) {
    if (typeof id === "string" && id.length > 0 && id.length <= MAX_ID_LENGTH) return id
  }
  return undefined
}

/** Where a router keeps its pins: `get` and `set` as `Pins` has them (synchronous: a pick never waits). */
export interface PinTable {
  readonly get: (group: string, session: string, now: number) => string | undefined
  readonly set: (group: string, session: string, deployment: string, now: number) => void
}

/**
 * How a router makes its pin table from `session_affinity_ttl_seconds`: `Pins` in this
 * replica's memory, unless a shared store puts its own here (`@llm-router/redis`, so that
 * every replica sends a session to the same deployment).
 */
export const MakePinTable = Context.Reference<(ttlMs: number) => PinTable>("@llm-router/core/SessionAffinity/MakePinTable", {
  defaultValue: () => (ttlMs) => new Pins(ttlMs)
})

/**
 * Session → deployment, per model group. A `Map` in insertion order doubles as the eviction
 * order: a pin that is used or moved is re-inserted, so the first entries are the least
 * recently used, and past `capacity` they are dropped first.
 */
export class Pins {
  private readonly pins = new Map<string, { readonly deployment: string; readonly at: number }>()
  readonly ttlMs: number
  readonly capacity: number
  constructor(ttlMs: number, capacity = 10_000) {
    this.ttlMs = ttlMs
    this.capacity = capacity
  }

  /** The session's deployment in `group`, unless it went unused for the whole ttl. */
  get(group: string, session: string, now: number): string | undefined {
    const key = `${group}\u0000${session}`
    const pin = this.pins.get(key)
    if (pin === undefined) return undefined
    if (now - pin.at > this.ttlMs) {
      this.pins.delete(key)
      return undefined
    }
    return pin.deployment
  }

  /** `deployment` served `session` in `group` at `now`; true when that is news (a new or moved pin). */
  set(group: string, session: string, deployment: string, now: number): boolean {
    const key = `${group}\u0000${session}`
    const before = this.pins.get(key)
    this.pins.delete(key)
    this.pins.set(key, { deployment, at: now })
    if (this.pins.size > this.capacity) {
      const oldest = this.pins.keys().next()
      if (!oldest.done) this.pins.delete(oldest.value)
    }
    return before === undefined || before.deployment !== deployment || now - before.at > this.ttlMs
  }

  get size(): number {
    return this.pins.size
  }
}

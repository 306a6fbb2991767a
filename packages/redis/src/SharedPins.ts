/**
 * Session pins shared by a fleet: when a replica pins a session to a deployment (its first
 * answer, or a move after a failure), it tells the others on a channel, and they pin it the
 * same way. A conversation that the load balancer spreads over replicas then stays on one
 * deployment, and on that deployment's warm prompt cache, as it does on a single gateway.
 *
 * Only news travels: a pin refreshed by another turn on the same deployment stays local.
 * There is no board: a replica that starts mid-conversation pins the session when it first
 * serves it, and its choice then travels like any other. Session ids (the caller's
 * `x-session-id`, `prompt_cache_key` or `metadata.session_id`) cross Redis as they are.
 */
import { Effect, Option, Queue, Schema } from "effect"
import type { Redis } from "effect/persistence"
import { SessionAffinity } from "@llm-router/core"

export const channel = (prefix: string): string => `${prefix}:session-pins`

export const Pinned = Schema.Struct({
  group: Schema.String,
  session: Schema.String,
  deployment: Schema.String,
  from: Schema.String
})
export type Pinned = typeof Pinned.Type

/** A pin as a router sets it; `from` is added when it is sent. */
export type News = Omit<Pinned, "from">

const decodePinned = Schema.decodeUnknownOption(Schema.fromJsonString(Pinned))
export const parse = (text: string): Pinned | undefined => Option.getOrUndefined(decodePinned(text))

/**
 * The pin tables of one replica (a router makes one) and the news they have to send: a
 * `MakePinTable` for the routers, `admit` for what other replicas send.
 */
export class Tables {
  private readonly tables = new Set<SessionAffinity.Pins>()
  readonly outbox: Queue.Queue<News>
  constructor(outbox: Queue.Queue<News>) {
    this.outbox = outbox
  }

  readonly make = (ttlMs: number): SessionAffinity.PinTable => {
    const pins = new SessionAffinity.Pins(ttlMs)
    this.tables.add(pins)
    return {
      get: (group, session, now) => pins.get(group, session, now),
      set: (group, session, deployment, now) => {
        if (pins.set(group, session, deployment, now)) Queue.offerUnsafe(this.outbox, { group, session, deployment })
      }
    }
  }

  /** A pin from another replica, taken as news of `now`. */
  admit(pinned: Pinned, now: number): void {
    for (const pins of this.tables) pins.set(pinned.group, pinned.session, pinned.deployment, now)
  }
}

export const publish = (
  redis: Redis.Redis["Service"],
  prefix: string,
  pinned: Pinned
): Effect.Effect<void, Redis.RedisError> => Effect.asVoid(redis.send("PUBLISH", channel(prefix), JSON.stringify(pinned)))

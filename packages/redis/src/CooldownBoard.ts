/**
 * The cooldown board: where the replicas of one gateway fleet post the cooldowns they start,
 * in Redis, so that a deployment one replica takes out of rotation is out for all of them.
 *
 * - A posted cooldown is published on a channel, so the other replicas hear of it within
 *   milliseconds (LiteLLM's replicas re-read theirs every 1 to 10 seconds: PR #40025).
 * - It is also kept in one hash, deployment → the cooldown, so a replica that starts, or that
 *   missed messages while its connection was down, reads the whole board in one command.
 * - Posting never shortens a cooldown already on the board, and clears the ones that have
 *   ended, so the hash stays as small as the fleet's list of deployments; the hash itself
 *   expires when its last cooldown ends.
 *
 * Times are epoch milliseconds from the posting replica's clock: replicas are expected to keep
 * their clocks in step (NTP), as they must anyway for the cooldowns to mean the same thing.
 */
import { Effect, Option, Schema } from "effect"
import { Redis } from "effect/persistence"
import type { RouterState } from "@llm-router/core"

/** The key of the hash and the name of the channel, under one prefix. */
export interface Keys {
  readonly board: string
  readonly channel: string
}

/**
 * Keys under `prefix`. Replicas that share a prefix (and a config, so the same deployment
 * ids) share cooldowns. On Redis Cluster, give the prefix a hash tag (`{llm-router}`).
 */
export const keys = (prefix: string): Keys => ({ board: `${prefix}:cooldowns`, channel: `${prefix}:cooldown-events` })

/** One cooldown on the board and on the channel: which deployment, until when, why, and who posted it. */
export const Posted = Schema.Struct({
  deployment: Schema.String,
  until: Schema.Finite,
  reason: Schema.String,
  from: Schema.String
})
export type Posted = typeof Posted.Type

const decodePosted = Schema.decodeUnknownOption(Schema.fromJsonString(Posted))

/** A posted cooldown read back; `undefined` for anything else (another program's data, a future format). */
export const parse = (text: string): Posted | undefined => Option.getOrUndefined(decodePosted(text))

export const encode = (posted: Posted): string => JSON.stringify(posted)

/**
 * KEYS[1]: the board. ARGV: the channel, the deployment, the posted cooldown (JSON), now.
 * Returns 1 when posted, 0 when a cooldown as long was on the board already.
 */
const postScript = Redis.script(
  (board: string, channel: string, deployment: string, posted: string, now: number) => [board, channel, deployment, posted, now],
  {
    numberOfKeys: 1,
    lua: `
local board, channel, deployment, posted, now = KEYS[1], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local function untilOf(text)
  local ok, value = pcall(cjson.decode, text)
  if ok and type(value) == 'table' then return tonumber(value['until']) end
  return nil
end
local incoming = untilOf(posted)
local held = redis.call('HGET', board, deployment)
if held and (untilOf(held) or 0) >= incoming then return 0 end
redis.call('HSET', board, deployment, posted)
local latest = incoming
local all = redis.call('HGETALL', board)
for i = 1, #all, 2 do
  local untilAt = untilOf(all[i + 1])
  if untilAt == nil or untilAt <= now then
    redis.call('HDEL', board, all[i])
  elseif untilAt > latest then
    latest = untilAt
  end
end
redis.call('PEXPIRE', board, math.max(1, math.ceil(latest - now)))
redis.call('PUBLISH', channel, posted)
return 1
`
  }
).withReturnType<number>()

/** Posts `cooldown` (started by replica `from`) to the board and the channel; false when the board had one as long. */
export const post = (
  redis: Redis.Redis["Service"],
  keys: Keys,
  cooldown: RouterState.Cooldown,
  from: string,
  now: number
): Effect.Effect<boolean, Redis.RedisError> =>
  Effect.map(
    redis.eval(postScript)(
      keys.board,
      keys.channel,
      cooldown.deployment,
      encode({ deployment: cooldown.deployment, until: cooldown.until, reason: cooldown.reason, from }),
      now
    ),
    (posted) => Number(posted) === 1
  )

/** Every cooldown on the board (some may have ended since; the memory store ignores those). */
export const readAll = (redis: Redis.Redis["Service"], keys: Keys): Effect.Effect<ReadonlyArray<Posted>, Redis.RedisError> =>
  Effect.map(redis.send<ReadonlyArray<string> | Record<string, string>>("HGETALL", keys.board), (reply) => {
    // RESP2 answers a flat [field, value, …] list; RESP3 a map.
    const values = Array.isArray(reply) ? reply.filter((_, i) => i % 2 === 1) : Object.values(reply)
    const posted: Array<Posted> = []
    for (const value of values) {
      const parsed = typeof value === "string" ? parse(value) : undefined
      if (parsed !== undefined) posted.push(parsed)
    }
    return posted
  })

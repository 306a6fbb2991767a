/**
 * The gateway's one credential: `general_settings.master_key`. A caller proves it with
 * `Authorization: Bearer <key>`. Both sides are hashed and compared with
 * `timingSafeEqual`, so the time taken says nothing about how much of a guess was right.
 */
import { Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"

export type Check = (authorization: string | undefined) => "ok" | "missing" | "invalid"

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest()

/** A checker for `masterKey`; without one every request passes. */
export const make = (masterKey: Redacted.Redacted<string> | undefined): Check => {
  if (masterKey === undefined) return () => "ok"
  const expected = digest(Redacted.value(masterKey))
  return (authorization) => {
    if (authorization === undefined || authorization.length === 0) return "missing"
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim())
    if (match === null) return "invalid"
    return timingSafeEqual(digest(match[1]!.trim()), expected) ? "ok" : "invalid"
  }
}

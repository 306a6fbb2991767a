/**
 * What a reasoning item's `encrypted_content` carries through the gateway, and where it came
 * from. Every `encrypted_content` the gateway hands out says its origin in a prefix, so any
 * item sent back (from the gateway's store, or by a stateless client) goes only where it can
 * be read:
 * - Claude's signed thinking (`thinking_blocks`) from a translated answer: `llm-router.thinking.v1:`
 *   and the blocks as base64 JSON. Only the chat translation reads it (back into `thinking_blocks`).
 * - OpenAI's own encrypted reasoning from a native answer: `llm-router.openai.v2:`, the
 *   deployment that issued it, when (the microsecond its call was sent), the upstream's item id,
 *   then OpenAI's blob unchanged. (`llm-router.openai.v1:`, stored before, has no time: it reads
 *   as issued at an unknown time.) OpenAI binds
 *   the blob to the caller that got it ("… was not issued to this caller"; another org's key
 *   cannot decrypt it), so the item goes back natively only to the deployment that issued it. It
 *   goes without an id, as Codex sends it (OpenAI checks the blob against an item id only when one
 *   is given: "Encrypted content item_id did not match the target item id"); the upstream's id is
 *   kept in the wrapping all the same. A translated call drops it (it is no Claude signature).
 *   The time lets a deployment that has since refused its reasoning (its key moved to another
 *   org) be sent only what it issued after the refusal (`ResponsesRequest.toNative`).
 */

const THINKING_PREFIX = "llm-router.thinking.v1:"
const OPENAI_PREFIX = "llm-router.openai.v2:"
/** The wrapping before it carried a time: still read, as issued at an unknown time. */
const OPENAI_PREFIX_V1 = "llm-router.openai.v1:"

/** Claude's thinking blocks as an `encrypted_content`. */
export const encodeThinking = (blocks: ReadonlyArray<unknown>): string =>
  THINKING_PREFIX + Buffer.from(JSON.stringify(blocks), "utf8").toString("base64")

/** The thinking blocks an `encrypted_content` of `encodeThinking` carries; `undefined` for any other. */
export const decodeThinking = (value: unknown): ReadonlyArray<Record<string, unknown>> | undefined => {
  if (typeof value !== "string" || !value.startsWith(THINKING_PREFIX)) return undefined
  try {
    const blocks: unknown = JSON.parse(Buffer.from(value.slice(THINKING_PREFIX.length), "base64").toString("utf8"))
    return Array.isArray(blocks) ? blocks as ReadonlyArray<Record<string, unknown>> : undefined
  } catch {
    return undefined
  }
}

/** OpenAI's encrypted reasoning as the gateway hands it out, with what it takes to send it back. */
export interface Native {
  /** The deployment (`model_info.id`) whose answer carried it. */
  readonly deployment: string
  /**
   * When the call that got it was sent, in microseconds since the epoch (`Clock`);
   * `undefined` for a `v1` wrapping, which did not say.
   */
  readonly issuedAt: number | undefined
  /** The upstream's id of the reasoning item (the blob is bound to it; not sent back, see above). */
  readonly itemId: string
  /** OpenAI's `encrypted_content`, unchanged. */
  readonly content: string
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url")
const unb64 = (text: string) => Buffer.from(text, "base64url").toString("utf8")

/** OpenAI's `content`, from an item `itemId` of `deployment`'s answer issued at `issuedAt`, as an `encrypted_content`. */
export const encodeNative = (native: Native & { readonly issuedAt: number }): string =>
  `${OPENAI_PREFIX}${b64(native.deployment)}.${Math.floor(native.issuedAt)}.${b64(native.itemId)}.${native.content}`

/** The first `count` dot-separated fields of `text`, then the rest (which may hold dots); `undefined` when fewer. */
const fields = (text: string, count: number): ReadonlyArray<string> | undefined => {
  const out: Array<string> = []
  let start = 0
  for (let i = 0; i < count; i++) {
    const dot = text.indexOf(".", start)
    if (dot < 0) return undefined
    out.push(text.slice(start, dot))
    start = dot + 1
  }
  out.push(text.slice(start))
  return out
}

/** What an `encrypted_content` of `encodeNative` (or the `v1` before it) carries; `undefined` for any other. */
export const decodeNative = (value: unknown): Native | undefined => {
  if (typeof value !== "string") return undefined
  let native: Native | undefined
  if (value.startsWith(OPENAI_PREFIX)) {
    const parts = fields(value.slice(OPENAI_PREFIX.length), 3)
    if (parts === undefined || !/^\d+$/.test(parts[1]!)) return undefined
    native = { deployment: unb64(parts[0]!), issuedAt: Number(parts[1]), itemId: unb64(parts[2]!), content: parts[3]! }
  } else if (value.startsWith(OPENAI_PREFIX_V1)) {
    const parts = fields(value.slice(OPENAI_PREFIX_V1.length), 2)
    if (parts === undefined) return undefined
    native = { deployment: unb64(parts[0]!), issuedAt: undefined, itemId: unb64(parts[1]!), content: parts[2]! }
  }
  return native !== undefined && native.deployment.length > 0 && native.itemId.length > 0 && native.content.length > 0 ? native : undefined
}

/** Whether an `encrypted_content` is one the gateway made (either kind). */
export const isOurs = (value: unknown): boolean =>
  typeof value === "string" && (value.startsWith(THINKING_PREFIX) || isNative(value))

/** Whether an `encrypted_content` is OpenAI's, wrapped by `encodeNative`. */
export const isNative = (value: unknown): boolean =>
  typeof value === "string" && (value.startsWith(OPENAI_PREFIX) || value.startsWith(OPENAI_PREFIX_V1))

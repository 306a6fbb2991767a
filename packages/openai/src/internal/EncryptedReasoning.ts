/**
 * What a reasoning item's `encrypted_content` carries through the gateway, and where it came
 * from. Every `encrypted_content` the gateway hands out says its origin in a prefix, so any
 * item sent back (from the gateway's store, or by a stateless client) goes only where it can
 * be read:
 * - Claude's signed thinking (`thinking_blocks`) from a translated answer: `llm-router.thinking.v1:`
 *   and the blocks as base64 JSON. Only the chat translation reads it (back into `thinking_blocks`).
 * - OpenAI's own encrypted reasoning from a native answer: `llm-router.openai.v1:`, the
 *   deployment that issued it, the upstream's item id, then OpenAI's blob unchanged. OpenAI binds
 *   the blob to the caller that got it ("… was not issued to this caller"; another org's key
 *   cannot decrypt it), so the item goes back natively only to the deployment that issued it. It
 *   goes without an id, as Codex sends it (OpenAI checks the blob against an item id only when one
 *   is given: "Encrypted content item_id did not match the target item id"); the upstream's id is
 *   kept in the wrapping all the same. A translated call drops it (it is no Claude signature).
 */

const THINKING_PREFIX = "llm-router.thinking.v1:"
const OPENAI_PREFIX = "llm-router.openai.v1:"

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
  /** The upstream's id of the reasoning item (the blob is bound to it; not sent back, see above). */
  readonly itemId: string
  /** OpenAI's `encrypted_content`, unchanged. */
  readonly content: string
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url")

/** OpenAI's `content`, from an item `itemId` of `deployment`'s answer, as an `encrypted_content`. */
export const encodeNative = (native: Native): string =>
  `${OPENAI_PREFIX}${b64(native.deployment)}.${b64(native.itemId)}.${native.content}`

/** What an `encrypted_content` of `encodeNative` carries; `undefined` for any other. */
export const decodeNative = (value: unknown): Native | undefined => {
  if (typeof value !== "string" || !value.startsWith(OPENAI_PREFIX)) return undefined
  const rest = value.slice(OPENAI_PREFIX.length)
  const first = rest.indexOf(".")
  const second = first < 0 ? -1 : rest.indexOf(".", first + 1)
  if (second < 0) return undefined
  const deployment = Buffer.from(rest.slice(0, first), "base64url").toString("utf8")
  const itemId = Buffer.from(rest.slice(first + 1, second), "base64url").toString("utf8")
  const content = rest.slice(second + 1)
  return deployment.length > 0 && itemId.length > 0 && content.length > 0 ? { deployment, itemId, content } : undefined
}

/** Whether an `encrypted_content` is one the gateway made (either kind). */
export const isOurs = (value: unknown): boolean =>
  typeof value === "string" && (value.startsWith(THINKING_PREFIX) || value.startsWith(OPENAI_PREFIX))

/** Whether an `encrypted_content` is OpenAI's, wrapped by `encodeNative`. */
export const isNative = (value: unknown): boolean => typeof value === "string" && value.startsWith(OPENAI_PREFIX)

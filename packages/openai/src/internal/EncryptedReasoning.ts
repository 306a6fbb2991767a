/**
 * What a reasoning item's `encrypted_content` carries through the gateway, and where it came
 * from. Every `encrypted_content` the gateway hands out says its origin in a prefix, so any
 * item sent back (from the gateway's store, or by a stateless client) goes only where it can
 * be read:
 * - Claude's signed thinking (`thinking_blocks`) from a translated answer: `llm-router.thinking.v1:`
 *   and the blocks as base64 JSON. Only the chat translation reads it (back into `thinking_blocks`).
 * - OpenAI's own encrypted reasoning from a native answer: `llm-router.openai.v1:`, the
 *   deployment that issued it, the upstream's item id and when it was issued (the microsecond its
 *   call was sent) as base64url JSON `{"id","at"}`, then OpenAI's blob unchanged. The issue time
 *   rides in the item-id field so the release before it (which only checks that field is not
 *   empty) still reads the wrapping during a rolling deploy or a rollback. Read too: the `v1`
 *   form whose field is the bare item id (issued at an unknown time), and the short-lived
 *   `llm-router.openai.v2:<deployment>.<µs>.<item id>.<blob>`. OpenAI binds
 *   the blob to the caller that got it ("… was not issued to this caller"; another org's key
 *   cannot decrypt it), so the item goes back natively only to the deployment that issued it. It
 *   goes without an id, as Codex sends it (OpenAI checks the blob against an item id only when one
 *   is given: "Encrypted content item_id did not match the target item id"); the upstream's id is
 *   kept in the wrapping all the same. A translated call drops it (it is no Claude signature).
 *   The time lets a conversation whose deployment has since refused its reasoning (its key moved
 *   to another org) send it only what it issued after the refusal (`ResponsesRequest.toNative`).
 *   The wrapping is not signed: a client that sees it (`include`) can forge one, which costs only
 *   its own conversation (a refusal is remembered in the conversation, not the deployment).
 */

const THINKING_PREFIX = "llm-router.thinking.v1:"
const OPENAI_PREFIX = "llm-router.openai.v1:"
/** A form with the time as a field of its own, never released: still read. */
const OPENAI_PREFIX_V2 = "llm-router.openai.v2:"

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
   * `undefined` for a wrapping made before it said.
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
  `${OPENAI_PREFIX}${b64(native.deployment)}.${b64(JSON.stringify({ id: native.itemId, at: Math.floor(native.issuedAt) }))}.${native.content}`

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

const isTime = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0

/**
 * The item-id field of a `v1` wrapping: `{"id","at"}` as JSON, or (made before it said when) the
 * bare item id; `undefined` for JSON of another shape.
 */
const itemField = (text: string): { readonly itemId: string; readonly issuedAt: number | undefined } | undefined => {
  if (!text.startsWith("{")) return { itemId: text, issuedAt: undefined }
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== "object" || parsed === null) return undefined
    const { at, id } = parsed as Record<string, unknown>
    return typeof id === "string" && isTime(at) ? { itemId: id, issuedAt: at } : undefined
  } catch {
    return undefined
  }
}

/** What an `encrypted_content` of `encodeNative` (or an earlier form of it) carries; `undefined` for any other. */
export const decodeNative = (value: unknown): Native | undefined => {
  if (typeof value !== "string") return undefined
  let native: Native | undefined
  if (value.startsWith(OPENAI_PREFIX)) {
    const parts = fields(value.slice(OPENAI_PREFIX.length), 2)
    const item = parts === undefined ? undefined : itemField(unb64(parts[1]!))
    if (parts === undefined || item === undefined) return undefined
    native = { deployment: unb64(parts[0]!), ...item, content: parts[2]! }
  } else if (value.startsWith(OPENAI_PREFIX_V2)) {
    const parts = fields(value.slice(OPENAI_PREFIX_V2.length), 3)
    if (parts === undefined || !/^\d+$/.test(parts[1]!) || !isTime(Number(parts[1]))) return undefined
    native = { deployment: unb64(parts[0]!), issuedAt: Number(parts[1]), itemId: unb64(parts[2]!), content: parts[3]! }
  }
  return native !== undefined && native.deployment.length > 0 && native.itemId.length > 0 && native.content.length > 0 ? native : undefined
}

/** Whether an `encrypted_content` is one the gateway made (either kind). */
export const isOurs = (value: unknown): boolean =>
  typeof value === "string" && (value.startsWith(THINKING_PREFIX) || isNative(value))

/** Whether an `encrypted_content` is OpenAI's, wrapped by `encodeNative`. */
export const isNative = (value: unknown): boolean =>
  typeof value === "string" && (value.startsWith(OPENAI_PREFIX) || value.startsWith(OPENAI_PREFIX_V2))

/**
 * The JSON text an answer (a `ChatResponse` or `ChatChunk`) was decoded from, kept when the
 * answer is exactly that text's meaning in OpenAI's wire format: an OpenAI-compatible
 * upstream whose answer needed no repair. A gateway then sends the text as is, the bytes a
 * pass-through proxy would send, instead of serialising the answer again: one
 * `JSON.stringify` less per answer, and per chunk of a stream.
 *
 * Kept in a `WeakMap`, so it holds nothing alive. Answers are immutable; one that is copied or
 * rebuilt (a collected stream, a converted Anthropic answer) is not in the map and is
 * serialised as before.
 */
const texts = new WeakMap<object, string>()

/** Marks `text` as the wire form of `value` (which must not change afterwards). */
export const remember = <A extends object>(value: A, text: string): A => {
  texts.set(value, text)
  return value
}

/** `value` as JSON: the text it was read from when that is known, else `JSON.stringify`. */
export const stringify = (value: object): string => texts.get(value) ?? JSON.stringify(value)

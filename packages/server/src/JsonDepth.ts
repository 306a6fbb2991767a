/**
 * A bound on how deeply a request's JSON may nest, checked on its bytes before it is parsed.
 * The code that walks a request (the Schema, token estimates, serialising it for a provider)
 * recurses, so a body nested ten thousand levels deep would overflow the stack in one of them
 * (a 500); it is refused at the door with a 400 instead. No real request comes close: JSON
 * schemas in tools nest a few levels, and OpenAI's own structured outputs allow five.
 */

export const MAX_DEPTH = 128

const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
const CLOSE_BRACE = 0x7d
const CLOSE_BRACKET = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Whether `bytes` (JSON text) nests deeper than `max` arrays and objects. Nesting that deep
 * needs more than `max` opening brackets, which the native `indexOf` counts quickly; only a
 * body with that many is scanned byte by byte (outside strings).
 */
export const exceeds = (bytes: Uint8Array, max: number = MAX_DEPTH): boolean => {
  if (!hasMoreOpenings(bytes, max)) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (inString) {
      if (byte === BACKSLASH) i++
      else if (byte === QUOTE) inString = false
    } else if (byte === QUOTE) inString = true
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > max) return true
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--
  }
  return false
}

const hasMoreOpenings = (bytes: Uint8Array, max: number): boolean => {
  let count = 0
  for (const opening of [OPEN_BRACE, OPEN_BRACKET]) {
    for (let at = bytes.indexOf(opening); at >= 0; at = bytes.indexOf(opening, at + 1)) {
      if (++count > max) return true
    }
  }
  return false
}

/**
 * Tool names a Messages API client may use but chat completions may not: Anthropic takes up to
 * 128 characters, OpenAI and Gemini 64 (Claude Code's MCP tools, `mcp__<server>__<tool>`, run
 * longer). A longer name is sent as its first 55 characters, `_` and an 8-digit hash of the
 * whole (LiteLLM's scheme, so one name always maps to the same short one and a prompt cache
 * still matches), and the answer's tool uses get the client's name back.
 */
import { Hash } from "effect"

/** The longest tool name chat completions take. */
export const MAX_LENGTH = 64
const PREFIX_LENGTH = MAX_LENGTH - 9

/** The name as sent: `name` itself when it fits. */
export const shorten = (name: string): string =>
  name.length <= MAX_LENGTH ? name : `${name.slice(0, PREFIX_LENGTH)}_${(Hash.string(name) >>> 0).toString(16).padStart(8, "0")}`

/** Short name → the client's, for the names `shorten` changed (empty when none was too long). */
export const restorer = (names: ReadonlyArray<string>): ReadonlyMap<string, string> => {
  const map = new Map<string, string>()
  for (const name of names) if (name.length > MAX_LENGTH) map.set(shorten(name), name)
  return map
}

/** The client's name for a name the model used. */
export const restore = (names: ReadonlyMap<string, string>, name: string): string => names.get(name) ?? name

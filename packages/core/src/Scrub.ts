/**
 * Secrets out of text that leaves the process: error messages in responses, and span
 * status and exception events sent to a trace collector. Providers echo keys back in their
 * errors (OpenAI's "Incorrect API key provided: sk-abc***xyz"), so the configured secrets
 * are replaced by value, then anything shaped like a key is replaced too.
 */

/** Shapes of secrets that providers echo back in error messages (partially masked keys included). */
const secretPatterns: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(sk|pk|rk)-[A-Za-z0-9_*.\-]{6,}/g, "$1-[redacted]"],
  [/\bAIza[0-9A-Za-z_\-]{10,}/g, "[redacted]"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]+/gi, "$1 [redacted]"],
  [/([?&](?:key|api[_-]?key|token|access_token|sig)=)[^&\s"']+/gi, "$1[redacted]"],
  [/(x-api-key|x-goog-api-key|api-key)(["']?\s*[:=]\s*["']?)[^\s"',}]+/gi, "$1$2[redacted]"]
]

/**
 * A scrubber: the given secrets by value (when long enough to be unambiguous), then the
 * shapes of keys in general.
 */
export const make = (secrets: ReadonlyArray<string>): ((text: string) => string) => {
  const known = secrets.filter((s) => s.length >= 8).sort((a, b) => b.length - a.length)
  return (text) => {
    let out = text
    for (const secret of known) if (out.includes(secret)) out = out.split(secret).join("[redacted]")
    for (const [pattern, replacement] of secretPatterns) out = out.replace(pattern, replacement)
    return out
  }
}

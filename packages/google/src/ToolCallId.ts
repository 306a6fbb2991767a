/**
 * Tool call ids for Gemini, which has none of its own on the Developer API: `call_<n>` in
 * answer order. A function call's `thoughtSignature` (Gemini 2.5+/3 reject a replayed call
 * without it) rides inside the id after `__thought__`, as LiteLLM does, so an OpenAI client
 * that echoes ids back, as they all do, returns the signature without knowing it exists.
 */

const SEPARATOR = "__thought__"

export const encode = (index: number, signature: string | undefined, id?: string | undefined): string => {
  const base = id !== undefined && id.length > 0 ? id : `call_${index}`
  return signature !== undefined && signature.length > 0 ? `${base}${SEPARATOR}${signature}` : base
}

export const decode = (id: string): { readonly id: string; readonly signature: string | undefined } => {
  const at = id.indexOf(SEPARATOR)
  return at < 0 ? { id, signature: undefined } : { id: id.slice(0, at), signature: id.slice(at + SEPARATOR.length) || undefined }
}

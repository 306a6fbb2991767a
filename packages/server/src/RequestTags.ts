/**
 * A request's routing tags, from each place LiteLLM's proxy reads them: `metadata.tags`, the
 * top-level `tags` field (a list or one string), and the `x-litellm-tags` header
 * (comma-separated). They are merged into `metadata.tags`, where the router's tag filter reads
 * them (see `Strategy.matchingTags`; it filters only with `router_settings.enable_tag_filtering`).
 * Client input: at most `MAX_TAGS` tags of at most `MAX_TAG_LENGTH` characters are kept.
 */
import type { Chat } from "@llm-router/core"

export const HEADER = "x-litellm-tags"
export const MAX_TAGS = 64
export const MAX_TAG_LENGTH = 256

const listOf = (value: unknown): ReadonlyArray<string> =>
  typeof value === "string" ? [value] : Array.isArray(value) ? value.filter((t): t is string => typeof t === "string") : []

/** `request` with every tag it names in `metadata.tags`; the same object when it names none beyond those. */
export const merge = (request: Chat.ChatRequest, header: string | undefined): Chat.ChatRequest => {
  const topLevel = (request as Readonly<Record<string, unknown>>)["tags"]
  if (topLevel === undefined && header === undefined) return request
  const tags = new Set<string>()
  for (const tag of [...(request.metadata?.tags ?? []), ...listOf(topLevel), ...(header?.split(",") ?? [])]) {
    const trimmed = tag.trim()
    if (trimmed.length === 0 || trimmed.length > MAX_TAG_LENGTH) continue
    tags.add(trimmed)
    if (tags.size >= MAX_TAGS) break
  }
  return { ...request, metadata: { ...request.metadata, tags: [...tags] } }
}

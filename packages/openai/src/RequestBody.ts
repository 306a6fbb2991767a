/**
 * The body sent upstream for a chat request. The request is already OpenAI-shaped, so this
 * mostly passes it through: the deployment's model replaces the group name, LiteLLM's
 * routing-only fields are dropped, `stream` is set (with `include_usage` so streamed usage is
 * known), reasoning models get `max_completion_tokens` instead of `max_tokens`, and Anthropic's
 * prompt-cache marks (`cache_control`) are taken off messages, parts and tools, a failed tool
 * result's `is_error` becomes an `Error: ` lead on its content, a tool result's images and
 * files move to a user message after it, and for OpenAI and Azure, Anthropic's `thinking`
 * becomes `reasoning_effort`, Claude's `thinking_blocks` and other models' `reasoning_content`
 * are taken off assistant messages, a `user` longer than OpenAI allows and `top_k` are left
 * out, and `max_tokens` is held to the model's output limit.
 */
import { type Chat, Deployment, ModelCatalog, ReasoningEffort } from "@llm-router/core"

/**
 * Fields that steer LiteLLM or this router, never the model. `metadata` is also an OpenAI
 * field (with `store`), but LiteLLM clients put routing `tags` in it, which must not leak.
 */
const routingOnly = new Set([
  "metadata",
  "fallbacks",
  "context_window_fallbacks",
  "content_policy_fallbacks",
  "num_retries",
  "max_retries",
  "timeout",
  "stream_timeout",
  "request_timeout",
  "mock_response",
  "mock_testing_fallbacks",
  "caching",
  "cache",
  "tags",
  "api_key",
  "api_base",
  "api_version",
  "base_url",
  "model_list",
  "user_config",
  "guardrails",
  "extra_headers"
])

/**
 * OpenAI models known to take no `reasoning_effort` (OpenAI answers 400 "Unsupported parameter"):
 * a request that sets it for Claude or o3 can fail over to one of these unchanged, as with
 * LiteLLM's `drop_params`. Models not named here get it as sent.
 */
const noReasoningEffort = /^(gpt-4|gpt-3\.5|chatgpt-4o)/

/** o-series (`o1`, `o3-mini`, `o4-mini`…) and the gpt-5 family reject `max_tokens`. */
export const isReasoningModel = (model: string): boolean => {
  const name = model.slice(model.lastIndexOf("/") + 1).toLowerCase()
  return /^o\d/.test(name) || /^gpt-5/.test(name)
}

/** `item` without its `cache_control`, or `item` itself when it has none (no copy). */
const withoutCacheControl = <T>(item: T): T => {
  if (typeof item !== "object" || item === null || !Object.hasOwn(item, "cache_control")) return item
  const { cache_control: _, ...rest } = item as Record<string, unknown>
  return rest as T
}

/**
 * Messages and tools without Anthropic's `cache_control` marks (LiteLLM's prompt caching),
 * which OpenAI does not take: a request written for Claude can fail over to GPT as it is.
 * Copies only what carried a mark.
 */
const withoutCacheMarks = (body: Record<string, unknown>): void => {
  const messages = body["messages"]
  if (Array.isArray(messages)) {
    let changed = false
    const cleaned = messages.map((message: unknown) => {
      let out = withoutCacheControl(message)
      const content = (out as { readonly content?: unknown } | null)?.content
      if (Array.isArray(content)) {
        const parts = content.map(withoutCacheControl)
        if (parts.some((part, i) => part !== content[i])) out = { ...(out as object), content: parts } as typeof out
      }
      if (out !== message) changed = true
      return out
    })
    if (changed) body["messages"] = cleaned
  }
  const tools = body["tools"]
  if (Array.isArray(tools) && tools.some((tool) => withoutCacheControl(tool) !== tool)) body["tools"] = tools.map(withoutCacheControl)
}

/** How a failed tool's result reads to a model that has no `is_error` field. */
export const TOOL_ERROR_LEAD = "Error: "

/** A failed tool's content with the lead in front (on its first text part, when it is a list). */
const asToolError = (content: unknown): unknown => {
  if (typeof content === "string") return TOOL_ERROR_LEAD + content
  if (!Array.isArray(content)) return content
  const first: unknown = content[0]
  if (typeof first === "object" && first !== null && (first as { type?: unknown }).type === "text") {
    return [{ ...first, text: TOOL_ERROR_LEAD + String((first as { text?: unknown }).text ?? "") }, ...content.slice(1)]
  }
  return [{ type: "text", text: TOOL_ERROR_LEAD.trimEnd() }, ...content]
}

/**
 * Messages without the core's fields that chat completions do not define, which OpenAI refuses
 * ("Additional properties are not allowed"): a tool message's `is_error` (an Anthropic
 * client's failed `tool_result`), whose content leads with `Error: ` instead so the model
 * still sees that the tool failed; and, for OpenAI and Azure, an assistant message's
 * `thinking_blocks` (Claude's signed thinking, which only Claude can read back) and
 * `reasoning_content` (another model's reasoning), so a Claude or DeepSeek conversation fails
 * over to GPT as it is. Other OpenAI-compatible servers keep those two: DeepSeek wants its
 * reasoning back in a tool loop, and a LiteLLM proxy in front of Claude takes
 * `thinking_blocks`. Copies only what changed.
 */
const withoutForeignMessageFields = (body: Record<string, unknown>, dropReasoning: boolean): void => {
  const messages = body["messages"]
  if (!Array.isArray(messages)) return
  const foreign = (message: unknown): message is Record<string, unknown> =>
    typeof message === "object" && message !== null &&
    (Object.hasOwn(message, "is_error") ||
      (dropReasoning && (Object.hasOwn(message, "thinking_blocks") || Object.hasOwn(message, "reasoning_content"))))
  if (!messages.some(foreign)) return
  body["messages"] = messages.map((message: unknown) => {
    if (!foreign(message)) return message
    const { is_error: failed, thinking_blocks: thinking, reasoning_content: reasoning, ...rest } = message
    const kept = dropReasoning ? rest : {
      ...rest,
      ...(thinking !== undefined ? { thinking_blocks: thinking } : {}),
      ...(reasoning !== undefined ? { reasoning_content: reasoning } : {})
    }
    return failed === true && rest["role"] === "tool" ? { ...kept, content: asToolError(rest["content"]) } : kept
  })
}

/** Parts OpenAI takes only in a user message. */
const isMedia = (part: unknown): boolean => {
  const type = typeof part === "object" && part !== null ? (part as { type?: unknown }).type : undefined
  return type === "image_url" || type === "file" || type === "input_audio"
}

/**
 * Tool results with images or files (a screenshot, a PDF a tool read: Anthropic takes them in a
 * `tool_result`), which OpenAI takes only from the user: the tool message keeps its text, and
 * the media follow in one user message after the run of tool messages (a user message between
 * two tool messages would leave a call unanswered), each led by the call it answers.
 */
const withoutMediaInToolResults = (body: Record<string, unknown>): void => {
  const messages = body["messages"]
  const carriesMedia = (m: unknown) =>
    typeof m === "object" && m !== null && (m as { role?: unknown }).role === "tool" &&
    Array.isArray((m as { content?: unknown }).content) && ((m as { content: Array<unknown> }).content).some(isMedia)
  if (!Array.isArray(messages) || !messages.some(carriesMedia)) return
  const out: Array<unknown> = []
  let media: Array<unknown> = []
  const flush = () => {
    if (media.length > 0) out.push({ role: "user", content: media })
    media = []
  }
  for (const message of messages) {
    const isTool = typeof message === "object" && message !== null && (message as { role?: unknown }).role === "tool"
    if (!isTool) flush()
    if (!carriesMedia(message)) {
      out.push(message)
      continue
    }
    const { content, ...rest } = message as { content: Array<unknown>; tool_call_id?: unknown }
    const text = content.filter((part) => !isMedia(part))
    out.push({ ...rest, content: text.length > 0 ? text : [{ type: "text", text: "(attached below)" }] })
    media.push({ type: "text", text: `Attached to the result of tool call ${String(rest.tool_call_id)}:` }, ...content.filter(isMedia))
  }
  flush()
  body["messages"] = out
}

/**
 * OpenAI's longest `user` (it answers 400 to a longer one). Claude Code's `metadata.user_id`,
 * which the Messages route passes on as `user`, is longer: it is left out rather than refused.
 */
export const OPENAI_MAX_USER_LENGTH = 64

export interface Options {
  readonly stream: boolean
  /** Ask for `stream_options.include_usage` (off for providers that reject the field). */
  readonly streamOptions: boolean
}

export const make = (
  deployment: Deployment.Deployment,
  request: Chat.ChatRequest,
  options: Options
): Record<string, unknown> => {
  const body: Record<string, unknown> = {}
  for (const name of Deployment.samplingDefaultKeys) {
    const value = deployment.params[name]
    if (value !== undefined) body[name] = value
  }
  for (const key in request) {
    if (routingOnly.has(key) || key.startsWith("litellm_")) continue
    const value = (request as Record<string, unknown>)[key]
    if (value !== undefined) body[key] = value
  }
  withoutCacheMarks(body)
  const firstParty = deployment.provider === "openai" || deployment.provider === "azure"
  withoutForeignMessageFields(body, firstParty)
  withoutMediaInToolResults(body)
  if (firstParty && typeof body["user"] === "string" && body["user"].length > OPENAI_MAX_USER_LENGTH) delete body["user"]
  // LiteLLM's `top_k` (Claude's and Gemini's sampling), which OpenAI refuses; vLLM and others take it.
  if (firstParty) delete body["top_k"]
  if ("thinking" in body && firstParty) {
    // Anthropic's `thinking` (a Messages API client's, through the gateway) is a level here, as in LiteLLM.
    const effort = ReasoningEffort.fromThinking(body["thinking"])
    delete body["thinking"]
    if (body["reasoning_effort"] === undefined && effort !== undefined && effort !== "none") body["reasoning_effort"] = effort
  }
  if (
    body["reasoning_effort"] !== undefined && firstParty &&
    noReasoningEffort.test(deployment.model.slice(deployment.model.lastIndexOf("/") + 1).toLowerCase())
  ) delete body["reasoning_effort"]
  body["model"] = deployment.model
  body["stream"] = options.stream
  if (options.stream && options.streamOptions) {
    const given = body["stream_options"]
    body["stream_options"] = { ...(typeof given === "object" && given !== null ? given : {}), include_usage: true }
  } else {
    // Only valid with `stream: true`; OpenAI answers 400 otherwise.
    delete body["stream_options"]
  }
  if (isReasoningModel(deployment.model) && "max_tokens" in body) {
    const maxTokens = body["max_tokens"]
    delete body["max_tokens"]
    if (maxTokens !== null && (body["max_completion_tokens"] === undefined || body["max_completion_tokens"] === null)) {
      body["max_completion_tokens"] = maxTokens
    }
  }
  if (firstParty) withinOutputLimit(body, deployment.model)
  return body
}

/**
 * OpenAI refuses a `max_tokens` above the model's output limit ("max_tokens is too large"),
 * where Anthropic's Messages API makes every client give one, often Claude's larger limit
 * (Claude Code asks for 32000): a cap the model cannot reach anyway is lowered to its limit, when
 * the model catalog knows it.
 */
const withinOutputLimit = (body: Record<string, unknown>, model: string): void => {
  const asked = [body["max_tokens"], body["max_completion_tokens"]]
  if (!asked.some((n) => typeof n === "number")) return
  const limit = ModelCatalog.lookup(model)?.maxOutputTokens
  if (limit === undefined) return
  for (const key of ["max_tokens", "max_completion_tokens"]) {
    const n = body[key]
    if (typeof n === "number" && n > limit) body[key] = limit
  }
}

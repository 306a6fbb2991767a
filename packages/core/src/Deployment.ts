/**
 * A deployment: one model at one provider with one set of credentials, as LiteLLM's
 * `model_list` entry describes it. Many deployments share a `model_name` (a model group);
 * the router spreads a group's traffic over its deployments and fails over between them.
 */
import type { Redacted } from "effect"

export interface Deployment {
  /** Stable across replicas that load the same config: `model_info.id`, else derived from the entry. */
  readonly id: string
  /** The model group (LiteLLM's `model_name`). */
  readonly group: string
  /** Provider prefix of `litellm_params.model` (`openai` when there is none). */
  readonly provider: string
  /** The provider's own model name. */
  readonly model: string
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly apiBase?: string | undefined
  readonly apiVersion?: string | undefined
  readonly weight?: number | undefined
  readonly order?: number | undefined
  readonly rpm?: number | undefined
  readonly tpm?: number | undefined
  readonly timeoutMs?: number | undefined
  readonly streamTimeoutMs?: number | undefined
  readonly cooldownMs?: number | undefined
  readonly tags: ReadonlyArray<string>
  /** Context window (input tokens); from `model_info`, else the model catalog. */
  readonly maxInputTokens?: number | undefined
  readonly inputCostPerToken?: number | undefined
  readonly outputCostPerToken?: number | undefined
  /** `max_budget` USD per `budget_duration` (LiteLLM's deployment budget; see `Budget`). */
  readonly budget?: { readonly limitUsd: number; readonly periodMs: number; readonly period: string } | undefined
  /**
   * What the model does (LiteLLM's `model_info.mode`): `undefined` is chat. Chat requests go
   * only to chat groups, embeddings only to embedding groups (see `isChat`).
   */
  readonly mode?: Mode | undefined
  /** LiteLLM's `model_info.base_model`: the model behind a deployment named otherwise (Azure). */
  readonly baseModel?: string | undefined
  /** LiteLLM's `model_info.supports_reasoning`: whether the model reasons, whatever its name. */
  readonly supportsReasoning?: boolean | undefined
  /** The remaining `litellm_params`, for the provider adapter (e.g. `extra_headers`). */
  readonly params: Readonly<Record<string, unknown>>
}

/** Splits LiteLLM's `provider/model`; a bare name is OpenAI's, as in LiteLLM. */
export const parseModel = (model: string): { readonly provider: string; readonly model: string } => {
  const slash = model.indexOf("/")
  return slash <= 0 ? { provider: "openai", model } : { provider: model.slice(0, slash), model: model.slice(slash + 1) }
}

/**
 * LiteLLM's `model_info.mode` values. `chat`, `completion` and `responses` models answer chat
 * requests; `embedding` models answer embeddings; the others are read from a config and kept,
 * so a request for them is refused with a clear error rather than sent as chat.
 */
export const modes = [
  "chat",
  "completion",
  "responses",
  "embedding",
  "image_generation",
  "audio_transcription",
  "audio_speech",
  "moderation",
  "rerank"
] as const
export type Mode = (typeof modes)[number]

/** Whether a deployment (or its group) answers chat requests. */
export const isChat = (mode: Mode | undefined): boolean =>
  mode === undefined || mode === "chat" || mode === "completion" || mode === "responses"

/**
 * Sampling defaults a LiteLLM deployment may carry in `litellm_params`; the request's own
 * values win, as in LiteLLM's router. Adapters send them; the gateway's config check knows them.
 */
export const samplingDefaultKeys = [
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "seed",
  "presence_penalty",
  "frequency_penalty",
  "reasoning_effort",
  "response_format",
  "user",
  "service_tier"
] as const

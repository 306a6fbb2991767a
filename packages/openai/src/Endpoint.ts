/**
 * Where a deployment's requests (chat completions, embeddings) go and how they authenticate: one profile
 * per LiteLLM provider prefix that speaks OpenAI's wire format (default base URL, auth
 * header, quirks), and the URL rules for OpenAI-style bases (`…/v1` + `/chat/completions` or `/embeddings`)
 * and Azure's two forms. `validate` reports configuration problems before any call is made.
 */
import type { Deployment } from "@llm-router/core"
import { Redacted } from "effect"

export interface Profile {
  /** The provider's public base URL; `undefined` when the user must give `api_base`. */
  readonly defaultBase?: string | undefined
  /** Whether a key is needed when calling the default (public) base URL. */
  readonly needsKey: boolean
  /** Whether the provider takes `stream_options` (Mistral rejects unknown fields; it sends usage anyway). */
  readonly streamOptions: boolean
  /** Ollama users paste the bare host (`http://localhost:11434`), as LiteLLM documents: add `/v1`. */
  readonly appendV1?: boolean | undefined
}

const hosted = (defaultBase: string): Profile => ({ defaultBase, needsKey: true, streamOptions: true })
const selfHosted: Profile = { needsKey: false, streamOptions: true }

/** The LiteLLM prefixes served here, with their documented default base URLs. */
export const profiles: Readonly<Record<string, Profile>> = {
  openai: hosted("https://api.openai.com/v1"),
  azure: { needsKey: true, streamOptions: true },
  groq: hosted("https://api.groq.com/openai/v1"),
  mistral: { ...hosted("https://api.mistral.ai/v1"), streamOptions: false },
  deepseek: hosted("https://api.deepseek.com/v1"),
  together_ai: hosted("https://api.together.xyz/v1"),
  fireworks_ai: hosted("https://api.fireworks.ai/inference/v1"),
  xai: hosted("https://api.x.ai/v1"),
  openrouter: hosted("https://openrouter.ai/api/v1"),
  ollama: { defaultBase: "http://localhost:11434/v1", needsKey: false, streamOptions: true, appendV1: true },
  ollama_chat: { defaultBase: "http://localhost:11434/v1", needsKey: false, streamOptions: true, appendV1: true },
  hosted_vllm: selfHosted,
  lm_studio: selfHosted,
  llamacpp: selfHosted,
  openai_compatible: selfHosted,
  custom_openai: selfHosted
}

export const providers: ReadonlyArray<string> = Object.keys(profiles)

/** A prefix this package does not know is treated as a self-hosted OpenAI-compatible server. */
export const profileOf = (provider: string): Profile => profiles[provider] ?? selfHosted

/** Azure classic needs an `api-version`; LiteLLM also defaults one. This is a GA version. */
export const AZURE_DEFAULT_API_VERSION = "2024-10-21"

export interface Endpoint {
  readonly url: string
  /** Query parameters (Azure's `api-version`). */
  readonly urlParams: Readonly<Record<string, string>>
  /** Auth and extra headers. The key is unwrapped only here, into the request headers. */
  readonly headers: Readonly<Record<string, string>>
  readonly streamOptions: boolean
}

export type Resolved =
  | { readonly _tag: "Ok"; readonly endpoint: Endpoint }
  /** A configuration problem that makes every call fail (e.g. no `api_base` for vLLM). */
  | { readonly _tag: "Misconfigured"; readonly problem: string }

const trimSlashes = (url: string) => url.replace(/\/+$/, "")

const baseOf = (deployment: Deployment.Deployment, profile: Profile): string | undefined => {
  const raw = deployment.apiBase?.trim()
  if (raw === undefined || raw === "") return profile.defaultBase
  const base = trimSlashes(raw)
  return profile.appendV1 && !/\/v1$/.test(base) ? `${base}/v1` : base
}

const extraHeaders = (deployment: Deployment.Deployment): Record<string, string> => {
  const headers: Record<string, string> = {}
  const extra = deployment.params["extra_headers"]
  if (typeof extra === "object" && extra !== null) {
    for (const [name, value] of Object.entries(extra)) if (typeof value === "string") headers[name.toLowerCase()] = value
  }
  const organization = deployment.params["organization"]
  if (deployment.provider === "openai" && typeof organization === "string") headers["openai-organization"] = organization
  return headers
}

/** Azure's v1 API (`…/openai/v1`) takes the OpenAI form; otherwise the classic deployments path. */
const isAzureV1 = (base: string) => /\/openai\/v1$/.test(base)

/** The operations served here, as paths under a base URL. */
export type Operation = "chat/completions" | "embeddings"

export const resolve = (deployment: Deployment.Deployment, operation: Operation = "chat/completions"): Resolved => {
  const profile = profileOf(deployment.provider)
  const base = baseOf(deployment, profile)
  if (base === undefined) {
    return {
      _tag: "Misconfigured",
      problem: `deployment "${deployment.id}" (${deployment.provider}) has no api_base: ${deployment.provider} has no public default`
    }
  }
  if (!/^https?:\/\/[^/]/i.test(base)) {
    return { _tag: "Misconfigured", problem: `deployment "${deployment.id}" has an api_base that is not an http(s) URL` }
  }
  const headers = extraHeaders(deployment)
  const key = deployment.apiKey === undefined ? undefined : Redacted.value(deployment.apiKey)
  if (deployment.provider === "azure") {
    if (key !== undefined) headers["api-key"] = key
    if (isAzureV1(base)) {
      const version = deployment.apiVersion
      return {
        _tag: "Ok",
        endpoint: {
          url: `${base}/${operation}`,
          // The v1 API takes no dated version; only its own "preview"/"latest" selectors.
          urlParams: version === "preview" || version === "latest" ? { "api-version": version } : {},
          headers,
          streamOptions: profile.streamOptions
        }
      }
    }
    const resource = base.replace(/\/openai$/, "")
    return {
      _tag: "Ok",
      endpoint: {
        url: `${resource}/openai/deployments/${encodeURIComponent(deployment.model)}/${operation}`,
        urlParams: { "api-version": deployment.apiVersion ?? AZURE_DEFAULT_API_VERSION },
        headers,
        streamOptions: profile.streamOptions
      }
    }
  }
  if (key !== undefined) headers["authorization"] = `Bearer ${key}`
  return { _tag: "Ok", endpoint: { url: `${base}/${operation}`, urlParams: {}, headers, streamOptions: profile.streamOptions } }
}

/**
 * Problems with a deployment that the gateway can report at config time (`make` cannot fail:
 * a misconfigured deployment's calls fail with `ConnectionFailed` naming the problem instead).
 */
export const validate = (deployment: Deployment.Deployment): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const known = profiles[deployment.provider]
  if (known === undefined) {
    problems.push(`deployment "${deployment.id}": provider "${deployment.provider}" is not an OpenAI-compatible provider this adapter knows`)
  }
  const resolved = resolve(deployment)
  if (resolved._tag === "Misconfigured") problems.push(resolved.problem)
  const profile = profileOf(deployment.provider)
  const usesPublicBase = deployment.apiBase === undefined || deployment.apiBase.trim() === ""
  if (profile.needsKey && deployment.apiKey === undefined && (usesPublicBase || deployment.provider === "azure")) {
    problems.push(`deployment "${deployment.id}" (${deployment.provider}) has no api_key`)
  }
  return problems
}

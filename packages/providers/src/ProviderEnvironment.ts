/**
 * What LiteLLM reads from the environment for a deployment that does not say: each provider's
 * standard key variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY`, Azure's
 * `AZURE_API_KEY` with `AZURE_API_BASE` and `AZURE_API_VERSION`, …), so a LiteLLM config
 * without `api_key` works as written. Also the providers LiteLLM speaks and this project does
 * not (Bedrock, Vertex AI, SageMaker, Cohere, Hugging Face, …): a config naming them is not
 * refused; those deployments fail with a clear "not supported" error (see `Providers`).
 */

export interface ProviderEnvironment {
  /** Variables holding the key, first set (and non-empty) wins. */
  readonly apiKey: ReadonlyArray<string>
  /** Variables holding the base URL, when the deployment has no `api_base`. */
  readonly apiBase?: ReadonlyArray<string> | undefined
  /** Variables holding the API version, when the deployment has no `api_version` (Azure). */
  readonly apiVersion?: ReadonlyArray<string> | undefined
}

/** By LiteLLM provider prefix, the names LiteLLM's own code reads. */
export const environments: Readonly<Record<string, ProviderEnvironment>> = {
  openai: { apiKey: ["OPENAI_API_KEY"], apiBase: ["OPENAI_BASE_URL", "OPENAI_API_BASE"] },
  azure: {
    apiKey: ["AZURE_API_KEY", "AZURE_OPENAI_API_KEY"],
    apiBase: ["AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT"],
    apiVersion: ["AZURE_API_VERSION"]
  },
  anthropic: { apiKey: ["ANTHROPIC_API_KEY"], apiBase: ["ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"] },
  gemini: { apiKey: ["GEMINI_API_KEY", "GOOGLE_API_KEY"], apiBase: ["GEMINI_API_BASE"] },
  groq: { apiKey: ["GROQ_API_KEY"], apiBase: ["GROQ_API_BASE"] },
  mistral: { apiKey: ["MISTRAL_API_KEY"], apiBase: ["MISTRAL_API_BASE"] },
  deepseek: { apiKey: ["DEEPSEEK_API_KEY"], apiBase: ["DEEPSEEK_API_BASE"] },
  together_ai: { apiKey: ["TOGETHERAI_API_KEY", "TOGETHER_API_KEY", "TOGETHER_AI_API_KEY"], apiBase: ["TOGETHERAI_API_BASE"] },
  fireworks_ai: { apiKey: ["FIREWORKS_API_KEY", "FIREWORKS_AI_API_KEY", "FIREWORKSAI_API_KEY"], apiBase: ["FIREWORKS_API_BASE"] },
  xai: { apiKey: ["XAI_API_KEY"], apiBase: ["XAI_API_BASE"] },
  openrouter: { apiKey: ["OPENROUTER_API_KEY", "OR_API_KEY"], apiBase: ["OPENROUTER_API_BASE"] },
  ollama: { apiKey: ["OLLAMA_API_KEY"], apiBase: ["OLLAMA_API_BASE"] },
  ollama_chat: { apiKey: ["OLLAMA_API_KEY"], apiBase: ["OLLAMA_API_BASE"] },
  hosted_vllm: { apiKey: ["HOSTED_VLLM_API_KEY"], apiBase: ["HOSTED_VLLM_API_BASE"] },
  lm_studio: { apiKey: ["LM_STUDIO_API_KEY"], apiBase: ["LM_STUDIO_API_BASE"] }
}

/**
 * LiteLLM provider prefixes this project has no adapter for (they speak their own wire formats
 * and auth: AWS SigV4, Google service accounts, …). A prefix in neither list is a typo and stays
 * a config error.
 */
export const unsupported: ReadonlyArray<string> = [
  "bedrock", "bedrock_converse", "sagemaker", "sagemaker_chat", "vertex_ai", "vertex_ai_beta", "cohere", "cohere_chat",
  "huggingface", "replicate", "watsonx", "watsonx_text", "ai21", "ai21_chat", "nlp_cloud", "aleph_alpha", "baseten",
  "cloudflare", "databricks", "predibase", "clarifai", "triton", "palm", "petals", "voyage", "anyscale", "friendliai",
  "snowflake", "oci", "dashscope", "volcengine", "nvidia_nim", "sambanova", "cerebras", "perplexity", "deepinfra",
  "vllm", "text-completion-openai", "text-completion-codestral", "codestral", "azure_ai", "azure_text", "github",
  "nscale", "featherless_ai", "novita", "infinity", "jina_ai", "elevenlabs", "assemblyai", "deepgram", "llamafile"
]

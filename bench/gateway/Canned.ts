// What the gateway benchmark's instant mock answers (`mock.ts`, and the in-process mock of
// `inprocess.ts`): chat completions and embeddings; and the gateway config every benchmark
// driver writes.

/** A whole `chat.completion`. */
export const completion = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "bench-model",
  system_fingerprint: "fp_bench",
  choices: [{
    index: 0,
    message: { role: "assistant", content: "Hello from the bench mock.", refusal: null },
    logprobs: null,
    finish_reason: "stop"
  }],
  usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 }
})

const chunk = (delta: object, finish: string | null, usage?: object): string =>
  "data: " + JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "bench-model",
    system_fingerprint: "fp_bench",
    choices: usage === undefined ? [{ index: 0, delta, logprobs: null, finish_reason: finish }] : [],
    ...(usage === undefined ? {} : { usage })
  }) + "\n\n"

/** A short SSE answer ending in `data: [DONE]`, with a usage chunk when the request asked for one. */
export const stream = (includeUsage: boolean): string =>
  chunk({ role: "assistant", content: "" }, null) +
  chunk({ content: "Hello" }, null) +
  chunk({ content: " from the bench mock." }, null) +
  chunk({}, "stop") +
  (includeUsage ? chunk({}, null, { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 }) : "") +
  "data: [DONE]\n\n"

/** The size of the embedding the mock answers: text-embedding-3-small's. */
export const EMBEDDING_DIMENSIONS = 1536

/** A whole embeddings list for one input: floats, as text-embedding-3-small's size. */
export const embeddings = JSON.stringify({
  object: "list",
  data: [{
    object: "embedding",
    index: 0,
    embedding: Array.from({ length: EMBEDDING_DIMENSIONS }, (_, i) => Math.fround(Math.sin(i + 1) / 40))
  }],
  model: "bench-embedding-model",
  usage: { prompt_tokens: 3, total_tokens: 3 }
})

/**
 * `llm-router serve` config: one group, `bench`, on one OpenAI deployment at the mock; and one
 * embedding group, `bench-embed`, on the mock too.
 */
export const gatewayConfig = (mockBaseUrl: string): string =>
  [
    "model_list:",
    "  - model_name: bench",
    "    litellm_params:",
    "      model: openai/bench-model",
    `      api_base: ${mockBaseUrl}`,
    "      api_key: x",
    "  - model_name: bench-embed",
    "    litellm_params:",
    "      model: openai/bench-embedding-model",
    `      api_base: ${mockBaseUrl}`,
    "      api_key: x",
    "    model_info:",
    "      mode: embedding",
    ""
  ].join("\n")

// What the gateway benchmark's instant mock answers (`mock.ts`, and the in-process mock of
// `inprocess.ts`), and the one-deployment gateway config every benchmark driver writes.

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

/** `llm-router serve` config: one group, `bench`, on one OpenAI deployment at the mock. */
export const gatewayConfig = (mockBaseUrl: string): string =>
  [
    "model_list:",
    "  - model_name: bench",
    "    litellm_params:",
    "      model: openai/bench-model",
    `      api_base: ${mockBaseUrl}`,
    "      api_key: x",
    ""
  ].join("\n")

// What the gateway benchmark's instant mock answers (`mock.ts`, and the in-process mock of
// `inprocess.ts`): chat completions, embeddings and the Responses API; and the gateway config every benchmark
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

/** A whole Responses API `response` (what OpenAI answers on `POST /v1/responses`). */
export const response = JSON.stringify({
  id: "resp_bench",
  object: "response",
  created_at: 1_700_000_000,
  status: "completed",
  model: "bench-model",
  output: [{
    type: "message",
    id: "msg_bench",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: "Hello from the bench mock.", annotations: [], logprobs: [] }]
  }],
  usage: { input_tokens: 9, input_tokens_details: { cached_tokens: 0 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 16 }
})

const event = (type: string, fields: object, sequence: number): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence, ...fields })}\n\n`

/** The typed events of a short streamed Responses API answer, as OpenAI sends them. */
export const responsesStream = (() => {
  const whole = JSON.parse(response) as Record<string, unknown>
  const pending = { ...whole, status: "in_progress", output: [], usage: null }
  const item = { type: "message", id: "msg_bench", status: "in_progress", role: "assistant", content: [] }
  const at = { item_id: "msg_bench", output_index: 0, content_index: 0 }
  const events: Array<readonly [string, object]> = [
    ["response.created", { response: pending }],
    ["response.in_progress", { response: pending }],
    ["response.output_item.added", { output_index: 0, item }],
    ["response.content_part.added", { ...at, part: { type: "output_text", text: "", annotations: [] } }],
    ["response.output_text.delta", { ...at, delta: "Hello", logprobs: [] }],
    ["response.output_text.delta", { ...at, delta: " from the bench mock.", logprobs: [] }],
    ["response.output_text.done", { ...at, text: "Hello from the bench mock.", logprobs: [] }],
    ["response.content_part.done", { ...at, part: { type: "output_text", text: "Hello from the bench mock.", annotations: [] } }],
    ["response.output_item.done", { output_index: 0, item: (whole["output"] as Array<unknown>)[0] }],
    ["response.completed", { response: whole }]
  ]
  return events.map(([type, fields], i) => event(type, fields, i)).join("")
})()

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

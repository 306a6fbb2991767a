import { assert, describe, it } from "@effect/vitest"
import { Chat, WireJson } from "@llm-router/core"
import { Duration, Effect, Redacted, Schema } from "effect"
import * as Endpoint from "../src/Endpoint.ts"
import * as ErrorBody from "../src/ErrorBody.ts"
import * as RequestBody from "../src/RequestBody.ts"
import * as ResponseBody from "../src/ResponseBody.ts"
import { deployment, KEY, request } from "./fixtures.ts"

const millis = (d: Duration.Duration | undefined) => (d === undefined ? undefined : Duration.toMillis(d))

describe("request body", () => {
  it.effect("drops LiteLLM routing fields, keeps unknown ones, applies deployment defaults under the request's own", () =>
    Effect.sync(() => {
      const d = deployment({ params: { temperature: 0.1, top_p: 0.5, extra_headers: { "x-a": "b" }, region_name: "eu" } })
      const body = RequestBody.make(d, {
        ...request({ temperature: 0.9 }),
        metadata: { tags: ["t"] },
        fallbacks: ["other"],
        num_retries: 3,
        litellm_trace_id: "x",
        prediction: { type: "content", content: "abc" }
      }, { stream: false, streamOptions: true })
      assert.strictEqual(body["temperature"], 0.9)
      assert.strictEqual(body["top_p"], 0.5)
      assert.deepStrictEqual(body["prediction"], { type: "content", content: "abc" })
      for (const gone of ["metadata", "fallbacks", "num_retries", "litellm_trace_id", "region_name", "extra_headers"]) {
        assert.isFalse(gone in body, gone)
      }
    }))

  it.effect("streaming asks for include_usage, keeping other stream_options; Mistral gets none", () =>
    Effect.sync(() => {
      const body = RequestBody.make(deployment(), request({ stream_options: { include_usage: false, include_obfuscation: false } as never }), {
        stream: true,
        streamOptions: true
      })
      assert.deepStrictEqual(body["stream_options"], { include_usage: true, include_obfuscation: false })
      const mistral = RequestBody.make(deployment({ provider: "mistral" }), request({ stream_options: { include_usage: true } }), {
        stream: true,
        streamOptions: Endpoint.profileOf("mistral").streamOptions
      })
      assert.isFalse("stream_options" in mistral)
    }))

  it.effect("reasoning models: max_tokens moves to max_completion_tokens unless that is already set", () =>
    Effect.sync(() => {
      assert.isTrue(RequestBody.isReasoningModel("o3-mini"))
      assert.isTrue(RequestBody.isReasoningModel("o4-mini-2025-04-16"))
      assert.isTrue(RequestBody.isReasoningModel("gpt-5.1"))
      assert.isTrue(RequestBody.isReasoningModel("openai/gpt-5-mini"))
      assert.isFalse(RequestBody.isReasoningModel("gpt-4o"))
      assert.isFalse(RequestBody.isReasoningModel("llama-3.3-70b"))
      const both = RequestBody.make(deployment({ model: "o3" }), request({ max_tokens: 10, max_completion_tokens: 20 }), {
        stream: false,
        streamOptions: true
      })
      assert.strictEqual(both["max_completion_tokens"], 20)
      assert.isFalse("max_tokens" in both)
    }))
})

describe("request body: reasoning_effort", () => {
  it.effect("is left out for OpenAI models known to refuse it, and sent to every other model as it came", () =>
    Effect.sync(() => {
      const effort = (provider: string, model: string) =>
        RequestBody.make(deployment({ provider, model }), request({ reasoning_effort: "low" } as Partial<Chat.ChatRequest>), {
          stream: false,
          streamOptions: true
        })["reasoning_effort"]
      assert.isUndefined(effort("openai", "gpt-4o"))
      assert.isUndefined(effort("azure", "gpt-4.1-mini"))
      assert.strictEqual(effort("openai", "o3-mini"), "low")
      assert.strictEqual(effort("openai", "gpt-5"), "low")
      // Another OpenAI-compatible server decides for itself.
      assert.strictEqual(effort("openrouter", "openai/gpt-4o"), "low")
    }))

  it.effect("is what Anthropic's `thinking` (a Messages API client's) becomes for OpenAI, which would refuse `thinking`", () =>
    Effect.sync(() => {
      const body = (provider: string, fields: Record<string, unknown>) =>
        RequestBody.make(deployment({ provider, model: "o3-mini" }), request(fields as Partial<Chat.ChatRequest>), {
          stream: false,
          streamOptions: true
        })
      const enabled = (budget: number) => ({ thinking: { type: "enabled", budget_tokens: budget } })
      assert.strictEqual(body("openai", enabled(1024))["reasoning_effort"], "low")
      assert.strictEqual(body("openai", enabled(3000))["reasoning_effort"], "medium")
      assert.strictEqual(body("azure", enabled(10_000))["reasoning_effort"], "xhigh")
      assert.isFalse("thinking" in body("openai", enabled(2048)))
      assert.isFalse("reasoning_effort" in body("openai", { thinking: { type: "disabled" } }))
      // The request's own reasoning_effort wins; other OpenAI-compatible servers get `thinking` as sent.
      assert.strictEqual(body("openai", { ...enabled(16_000), reasoning_effort: "low" })["reasoning_effort"], "low")
      assert.deepStrictEqual(body("deepseek", enabled(2048))["thinking"], { type: "enabled", budget_tokens: 2048 })
    }))
})

describe("request body: Anthropic's prompt-cache marks", () => {
  it.effect("are taken off messages, parts and tools, so a request written for Claude fails over to GPT as it is", () =>
    Effect.sync(() => {
      const ephemeral = { type: "ephemeral" }
      const req = request({
        messages: [
          { role: "system", content: [{ type: "text", text: "policy", cache_control: ephemeral } as Chat.TextPart] },
          { role: "user", content: "question", cache_control: ephemeral } as Chat.Message
        ],
        tools: [{ type: "function", function: { name: "f" }, cache_control: ephemeral } as Chat.FunctionTool]
      })
      const body = RequestBody.make(deployment(), req, { stream: false, streamOptions: true })
      assert.deepStrictEqual(body["messages"], [
        { role: "system", content: [{ type: "text", text: "policy" }] },
        { role: "user", content: "question" }
      ])
      assert.deepStrictEqual(body["tools"], [{ type: "function", function: { name: "f" } }])
      // The caller's request is left as it was (another deployment may be Claude).
      assert.deepStrictEqual((req.messages[1] as Record<string, unknown>)["cache_control"], ephemeral)
      // Without marks, nothing is copied.
      const plain = request()
      assert.strictEqual(RequestBody.make(deployment(), plain, { stream: false, streamOptions: true })["messages"], plain.messages)
    }))
})

describe("request body: a failed tool's result (is_error)", () => {
  it.effect("leads with `Error: ` instead of the flag OpenAI does not take, as a string or on the first text part", () =>
    Effect.sync(() => {
      const call = (id: string): Chat.ToolCall => ({ id, type: "function", function: { name: "f", arguments: "{}" } })
      const req = request({
        messages: [
          { role: "user", content: "go" },
          { role: "assistant", content: null, tool_calls: [call("a"), call("b"), call("c")] },
          { role: "tool", tool_call_id: "a", content: "disk full", is_error: true },
          { role: "tool", tool_call_id: "b", content: [{ type: "text", text: "no" }, { type: "text", text: "route" }], is_error: true },
          { role: "tool", tool_call_id: "c", content: "fine", is_error: false }
        ]
      })
      const body = RequestBody.make(deployment(), req, { stream: false, streamOptions: true })
      assert.deepStrictEqual((body["messages"] as Array<unknown>).slice(2), [
        { role: "tool", tool_call_id: "a", content: "Error: disk full" },
        { role: "tool", tool_call_id: "b", content: [{ type: "text", text: "Error: no" }, { type: "text", text: "route" }] },
        { role: "tool", tool_call_id: "c", content: "fine" }
      ])
      // The caller's request is left as it was (another deployment may be Claude).
      assert.strictEqual((req.messages[2] as Record<string, unknown>)["is_error"], true)
    }))
})

describe("request body: a tool result's images and files", () => {
  it.effect("follow the run of tool messages in one user message, each led by its call; the tool messages keep their text", () =>
    Effect.sync(() => {
      const call = (id: string): Chat.ToolCall => ({ id, type: "function", function: { name: "f", arguments: "{}" } })
      const image = { type: "image_url" as const, image_url: { url: "data:image/png;base64,AAAA" } }
      const req = request({
        messages: [
          { role: "user", content: "go" },
          { role: "assistant", content: null, tool_calls: [call("a"), call("b"), call("c")] },
          { role: "tool", tool_call_id: "a", content: [{ type: "text", text: "shot" }, image] },
          { role: "tool", tool_call_id: "b", content: "plain" },
          { role: "tool", tool_call_id: "c", content: [image] },
          { role: "user", content: "and?" }
        ]
      })
      const body = RequestBody.make(deployment(), req, { stream: false, streamOptions: true })
      assert.deepStrictEqual((body["messages"] as Array<unknown>).slice(2), [
        { role: "tool", tool_call_id: "a", content: [{ type: "text", text: "shot" }] },
        { role: "tool", tool_call_id: "b", content: "plain" },
        { role: "tool", tool_call_id: "c", content: [{ type: "text", text: "(attached below)" }] },
        {
          role: "user",
          content: [
            { type: "text", text: "Attached to the result of tool call a:" },
            image,
            { type: "text", text: "Attached to the result of tool call c:" },
            image
          ]
        },
        { role: "user", content: "and?" }
      ])
    }))
})

describe("request body: what a Claude conversation carries that OpenAI refuses", () => {
  it.effect("OpenAI and Azure lose Claude's thinking_blocks, reasoning_content and a user over 64 characters; other servers keep them", () =>
    Effect.sync(() => {
      const longUser = "user_" + "a".repeat(64) + "_account__session_0b0e"
      const thinking = [{ type: "thinking", thinking: "hm", signature: "sig" }]
      const req = request({
        user: longUser,
        messages: [
          { role: "user", content: "go" },
          { role: "assistant", content: "ok", thinking_blocks: thinking, reasoning_content: "hm" } as Chat.Message,
          { role: "user", content: "again" }
        ]
      })
      for (const provider of ["openai", "azure"]) {
        const body = RequestBody.make(deployment({ provider }), req, { stream: false, streamOptions: true })
        assert.deepStrictEqual((body["messages"] as Array<unknown>)[1], { role: "assistant", content: "ok" }, provider)
        assert.notProperty(body, "user", provider)
      }
      const proxy = RequestBody.make(deployment({ provider: "hosted_vllm" }), req, { stream: false, streamOptions: true })
      assert.strictEqual(proxy["messages"], req.messages)
      assert.strictEqual(proxy["user"], longUser)
      const short = RequestBody.make(deployment(), request({ user: "u-1" }), { stream: false, streamOptions: true })
      assert.strictEqual(short["user"], "u-1")
    }))

  it.effect("holds max_tokens to the model's output limit on OpenAI (Claude Code asks for 32000), where the catalog knows it", () =>
    Effect.sync(() => {
      const make = (model: string, provider = "openai") =>
        RequestBody.make(deployment({ model, provider }), request({ max_tokens: 32000 }), { stream: false, streamOptions: true })
      assert.strictEqual(make("gpt-4o")["max_tokens"], 16384)
      assert.strictEqual(make("gpt-4.1")["max_tokens"], 32000)
      assert.strictEqual(make("o3")["max_completion_tokens"], 32000)
      assert.strictEqual(make("some-unknown-model")["max_tokens"], 32000)
      assert.strictEqual(make("gpt-4o", "hosted_vllm")["max_tokens"], 32000)
    }))
})

describe("endpoints", () => {
  it.effect("default base URLs per provider, Bearer auth, and what needs an api_base", () =>
    Effect.sync(() => {
      const url = (provider: string, apiBase?: string) => {
        const r = Endpoint.resolve(deployment({ provider, apiBase }))
        return r._tag === "Ok" ? r.endpoint.url : r.problem
      }
      assert.strictEqual(url("openai"), "https://api.openai.com/v1/chat/completions")
      assert.strictEqual(url("groq"), "https://api.groq.com/openai/v1/chat/completions")
      assert.strictEqual(url("mistral"), "https://api.mistral.ai/v1/chat/completions")
      assert.strictEqual(url("deepseek"), "https://api.deepseek.com/v1/chat/completions")
      assert.strictEqual(url("together_ai"), "https://api.together.xyz/v1/chat/completions")
      assert.strictEqual(url("fireworks_ai"), "https://api.fireworks.ai/inference/v1/chat/completions")
      assert.strictEqual(url("xai"), "https://api.x.ai/v1/chat/completions")
      assert.strictEqual(url("openrouter"), "https://openrouter.ai/api/v1/chat/completions")
      assert.strictEqual(url("ollama"), "http://localhost:11434/v1/chat/completions")
      assert.strictEqual(url("ollama_chat", "http://gpu:11434/"), "http://gpu:11434/v1/chat/completions")
      assert.strictEqual(url("hosted_vllm", "http://vllm:8000/v1/"), "http://vllm:8000/v1/chat/completions")
      for (const provider of ["hosted_vllm", "lm_studio", "llamacpp", "openai_compatible", "azure"]) {
        assert.include(url(provider), "no api_base", provider)
      }
      const openai = Endpoint.resolve(deployment({ params: { organization: "org-1", extra_headers: { "X-Title": "demo" } } }))
      assert.strictEqual(openai._tag === "Ok" && openai.endpoint.headers["authorization"], `Bearer ${KEY}`)
      assert.strictEqual(openai._tag === "Ok" && openai.endpoint.headers["openai-organization"], "org-1")
      assert.strictEqual(openai._tag === "Ok" && openai.endpoint.headers["x-title"], "demo")
    }))

  it.effect("Azure: classic path with default api-version; v1 form; the base may end in /openai", () =>
    Effect.sync(() => {
      const azure = (apiBase: string, apiVersion?: string) =>
        Endpoint.resolve(deployment({ provider: "azure", model: "my dep", apiBase, apiVersion }))
      const classic = azure("https://res.openai.azure.com/openai/")
      assert.strictEqual(classic._tag === "Ok" && classic.endpoint.url, "https://res.openai.azure.com/openai/deployments/my%20dep/chat/completions")
      assert.deepStrictEqual(classic._tag === "Ok" && classic.endpoint.urlParams, { "api-version": Endpoint.AZURE_DEFAULT_API_VERSION })
      assert.strictEqual(classic._tag === "Ok" && classic.endpoint.headers["api-key"], KEY)
      assert.isFalse(classic._tag === "Ok" && "authorization" in classic.endpoint.headers)
      const v1 = azure("https://res.openai.azure.com/openai/v1", "2024-10-21")
      assert.strictEqual(v1._tag === "Ok" && v1.endpoint.url, "https://res.openai.azure.com/openai/v1/chat/completions")
      assert.deepStrictEqual(v1._tag === "Ok" && v1.endpoint.urlParams, {})
    }))

  it.effect("validate reports unknown providers, missing bases and missing keys for public APIs only", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(Endpoint.validate(deployment()), [])
      assert.deepStrictEqual(Endpoint.validate(deployment({ provider: "ollama", apiKey: undefined })), [])
      assert.deepStrictEqual(Endpoint.validate(deployment({ apiKey: undefined, apiBase: "http://127.0.0.1:9/v1" })), [])
      assert.lengthOf(Endpoint.validate(deployment({ apiKey: undefined })), 1)
      assert.lengthOf(Endpoint.validate(deployment({ provider: "lm_studio", apiKey: undefined })), 1)
      assert.isTrue(Endpoint.validate(deployment({ provider: "bedrock" })).some((p) => p.includes("bedrock")))
      assert.isTrue(Endpoint.validate(deployment({ apiBase: "ftp://x" })).some((p) => p.includes("http(s)")))
      const problems = Endpoint.validate(deployment({ provider: "azure", apiKey: Redacted.make("k") }))
      assert.isTrue(problems.some((p) => p.includes("api_base")))
    }))
})

describe("error bodies", () => {
  it.effect("retry waits from message text: Go durations and words", () =>
    Effect.sync(() => {
      assert.strictEqual(millis(ErrorBody.retryAfterFromText("Please try again in 644ms.")), 644)
      assert.strictEqual(millis(ErrorBody.retryAfterFromText("Please try again in 1.5s. Visit …")), 1500)
      assert.strictEqual(millis(ErrorBody.retryAfterFromText("Please try again in 6m0s.")), 360_000)
      assert.strictEqual(millis(ErrorBody.retryAfterFromText("Please try again in 1m30.5s")), 90_500)
      assert.strictEqual(millis(ErrorBody.retryAfterFromText("Please retry after 33 seconds.")), 33_000)
      assert.strictEqual(millis(ErrorBody.retryAfterFromText("retry after 1 second")), 1000)
      assert.isUndefined(ErrorBody.retryAfterFromText("Rate limit reached."))
      assert.isUndefined(ErrorBody.retryAfterFromText(undefined))
    }))

  it.effect("extracts type/code/param/message from every shape; numeric codes become a status", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(
        ErrorBody.parse(JSON.stringify({ error: { message: "m", type: "t", param: "p", code: "c" } })),
        { type: "t", code: "c", statusCode: undefined, param: "p", message: "m" }
      )
      assert.deepStrictEqual(ErrorBody.parse(JSON.stringify({ error: "plain" })), { message: "plain" })
      assert.strictEqual(ErrorBody.parse(JSON.stringify({ error: { code: 503, message: "loading" } }))?.statusCode, 503)
      assert.strictEqual(ErrorBody.parse(JSON.stringify({ detail: "Not Found" }))?.message, "Not Found")
      assert.strictEqual(ErrorBody.parse(JSON.stringify([{ error: { message: "arr" } }]))?.message, "arr")
      assert.strictEqual(
        ErrorBody.parse(JSON.stringify({ error: { code: "content_filter", innererror: { code: "ResponsibleAIPolicyViolation" } } }))?.type,
        "ResponsibleAIPolicyViolation"
      )
      assert.isUndefined(ErrorBody.parse("<html>"))
      assert.isUndefined(ErrorBody.parse(""))
      assert.strictEqual(ErrorBody.statusOf({ type: "server_error" }), 500)
      assert.strictEqual(ErrorBody.statusOf({ code: "rate_limit_exceeded" }), 429)
      assert.strictEqual(ErrorBody.statusOf({ type: "exceed_context_size_error", statusCode: 400 }), 400)
      assert.strictEqual(ErrorBody.statusOf({ type: "overloaded_error" }), 503)
    }))

  it.effect("classify: quota versus plain rate limit, and 503 server_is_overloaded", () =>
    Effect.sync(() => {
      const context = { provider: "openai", deployment: "d", secret: KEY }
      const classify = (status: number, error: object) => {
        const body = JSON.stringify({ error })
        return ErrorBody.classify(context, status, body, ErrorBody.parse(body), undefined)
      }
      const quota = classify(429, { message: "You exceeded your current quota, please check your plan and billing details.", type: "insufficient_quota", code: "insufficient_quota" })
      assert.isTrue(quota._tag === "RateLimited" && quota.quotaExhausted === true)
      const plain = classify(429, { message: "Rate limit reached … Visit https://platform.openai.com/account/billing to add a payment method.", type: "requests", code: "rate_limit_exceeded" })
      assert.isTrue(plain._tag === "RateLimited" && plain.quotaExhausted === undefined)
      const overloaded = classify(503, { message: "The server is overloaded or not ready yet.", type: "server_error", code: "server_is_overloaded" })
      assert.strictEqual(overloaded._tag, "ServiceUnavailable")
    }))
})

describe("response bodies", () => {
  it.effect("compatible servers' drift is normalized: missing created/content, Mistral's model_length, tool type", () =>
    Effect.sync(() => {
      const read = ResponseBody.response(JSON.stringify({
        id: "x",
        choices: [{ message: { role: "assistant", tool_calls: [{ id: "t", function: { name: "f", arguments: "{}" } }] }, finish_reason: "model_length" }],
        usage: { prompt_tokens: 3, completion_tokens: 4 }
      }), "fallback-model")
      assert.strictEqual(read._tag, "Ok")
      if (read._tag !== "Ok") return
      assert.strictEqual(read.value.model, "fallback-model")
      assert.strictEqual(read.value.created, 0)
      assert.isNull(read.value.choices[0]?.message.content)
      assert.strictEqual(read.value.choices[0]?.finish_reason, "length")
      assert.strictEqual(read.value.choices[0]?.message.tool_calls?.[0]?.type, "function")
      assert.strictEqual(read.value.usage?.total_tokens, 7)
    }))

  it.effect("chunks: Azure's filter-only chunk is skipped, a usage-only chunk kept, an error object reported", () =>
    Effect.sync(() => {
      const filter = ResponseBody.chunk(JSON.stringify({ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: [] }), "m")
      assert.strictEqual(filter._tag, "Skip")
      const usage = ResponseBody.chunk(JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }), "m")
      assert.strictEqual(usage._tag === "Ok" && usage.value.usage?.total_tokens, 3)
      const error = ResponseBody.chunk(JSON.stringify({ error: { message: "boom", type: "server_error" } }), "m")
      assert.strictEqual(error._tag === "Error" && error.error.message, "boom")
      assert.strictEqual(ResponseBody.chunk("{oops", "m")._tag, "Invalid")
      assert.strictEqual(ResponseBody.chunk(JSON.stringify({ choices: [{ index: 0, delta: { content: "x" }, finish_reason: "error" }] }), "m")._tag, "Invalid")
    }))
})

describe("chunk fast path", () => {
  const base = {
    id: "c",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    x_groq: { id: "extra" },
    choices: [{
      index: 0,
      delta: { role: "assistant", content: "hi", tool_calls: [{ index: 0, id: "t", type: "function", function: { name: "f", arguments: "{" } }] },
      finish_reason: null,
      logprobs: null
    }],
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: null }
  }
  const mutations: Array<(c: any) => void> = [
    (c) => (c.id = 1),
    (c) => (c.object = "chat.completion"),
    (c) => (c.created = -1),
    (c) => (c.created = 1.5),
    (c) => (c.model = null),
    (c) => (c.choices = {}),
    (c) => (c.choices[0].index = "0"),
    (c) => (c.choices[0].delta = null),
    (c) => (c.choices[0].delta.role = "user"),
    (c) => (c.choices[0].delta.content = 5),
    (c) => (c.choices[0].delta.refusal = 5),
    (c) => (c.choices[0].delta.tool_calls = {}),
    (c) => (c.choices[0].delta.tool_calls[0].index = -1),
    (c) => (c.choices[0].delta.tool_calls[0].type = "custom"),
    (c) => (c.choices[0].delta.tool_calls[0].function = { name: 1 }),
    (c) => (c.choices[0].delta.tool_calls[0].function.arguments = null),
    (c) => (c.choices[0].finish_reason = "weird"),
    (c) => (c.usage = { prompt_tokens: "1", completion_tokens: 2, total_tokens: 3 }),
    (c) => (c.usage.total_tokens = undefined),
    (c) => (c.usage.prompt_tokens_details = { cached_tokens: -1 }),
    (c) => (c.usage.completion_tokens_details = { reasoning_tokens: 0.5 }),
    (c) => (c.usage = 7)
  ]
  const schemaAccepts = Schema.is(Chat.ChatChunk)

  it.effect("accepts what the schema accepts and rejects what it rejects", () =>
    Effect.sync(() => {
      assert.isTrue(ResponseBody.isPlainChunk(structuredClone(base)))
      assert.isTrue(schemaAccepts(structuredClone(base)))
      mutations.forEach((mutate, i) => {
        const chunk = structuredClone(base) as Record<string, unknown>
        mutate(chunk)
        assert.isFalse(ResponseBody.isPlainChunk(chunk), `mutation ${i} passes the fast path`)
        assert.isFalse(schemaAccepts(chunk), `mutation ${i} passes the schema`)
      })
    }))
})

describe("response fast path", () => {
  const base = {
    id: "r",
    object: "chat.completion",
    created: 1,
    model: "m",
    system_fingerprint: "fp",
    choices: [{
      index: 0,
      message: { role: "assistant", content: null, refusal: null, annotations: [], tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{}" } }] },
      finish_reason: "tool_calls",
      logprobs: null
    }],
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }
  }
  const mutations: Array<(c: any) => void> = [
    (c) => (c.object = "chat.completion.chunk"),
    (c) => (c.created = "1"),
    (c) => (c.choices[0].finish_reason = "eos"),
    (c) => (c.choices[0].finish_reason = undefined),
    (c) => (c.choices[0].message.role = "user"),
    (c) => (c.choices[0].message.content = undefined),
    (c) => (c.choices[0].message.content = 1),
    (c) => (c.choices[0].message.tool_calls[0].type = "custom"),
    (c) => (c.choices[0].message.tool_calls[0].id = undefined),
    (c) => (c.choices[0].message.tool_calls[0].function.arguments = {}),
    (c) => (c.usage.completion_tokens = -2)
  ]
  const schemaAccepts = Schema.is(Chat.ChatResponse)

  it.effect("accepts what the schema accepts and rejects what it rejects", () =>
    Effect.sync(() => {
      assert.isTrue(ResponseBody.isPlainResponse(structuredClone(base)))
      assert.isTrue(schemaAccepts(structuredClone(base)))
      mutations.forEach((mutate, i) => {
        const response = structuredClone(base) as Record<string, unknown>
        mutate(response)
        assert.isFalse(ResponseBody.isPlainResponse(response), `mutation ${i} passes the fast path`)
        assert.isFalse(schemaAccepts(response), `mutation ${i} passes the schema`)
      })
    }))
})

describe("wire text: an answer already in OpenAI's shape is passed on as written", () => {
  const answer = {
    id: "r",
    object: "chat.completion",
    created: 1,
    model: "m",
    service_tier: "default",
    choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop", logprobs: null }],
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }
  }

  it.effect("a plain response keeps its exact text, formatting and unknown fields included", () =>
    Effect.sync(() => {
      const body = JSON.stringify(answer, null, 2)
      const read = ResponseBody.response(body, "fallback-model")
      assert.strictEqual(read._tag, "Ok")
      if (read._tag !== "Ok") return
      assert.strictEqual(WireJson.stringify(read.value), body)
      assert.deepStrictEqual(read.value as unknown, answer)
    }))

  it.effect("a response that needed repair is serialised from the repaired value", () =>
    Effect.sync(() => {
      const body = JSON.stringify({ ...answer, model: "", created: undefined })
      const read = ResponseBody.response(body, "fallback-model")
      assert.strictEqual(read._tag, "Ok")
      if (read._tag !== "Ok") return
      const sent = WireJson.stringify(read.value)
      assert.notStrictEqual(sent, body)
      assert.deepStrictEqual(JSON.parse(sent), { ...answer, model: "fallback-model", created: 0 })
    }))

  it.effect("a chunk keeps its data, unless the data spans lines (it must go out as one SSE line)", () =>
    Effect.sync(() => {
      const chunk = { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "x" }, finish_reason: null }] }
      const compact = JSON.stringify(chunk).replace("{", "{ ")
      const read = ResponseBody.chunk(compact, "m")
      assert.strictEqual(read._tag === "Ok" && WireJson.stringify(read.value), compact)
      const multiline = JSON.stringify(chunk, null, 1)
      const spread = ResponseBody.chunk(multiline, "m")
      assert.strictEqual(spread._tag, "Ok")
      if (spread._tag !== "Ok") return
      assert.strictEqual(WireJson.stringify(spread.value), JSON.stringify(chunk))
    }))

  it.effect("a copy of a kept answer is not its text: it is serialised", () =>
    Effect.sync(() => {
      const body = JSON.stringify(answer, null, 2)
      const read = ResponseBody.response(body, "m")
      assert.strictEqual(read._tag, "Ok")
      if (read._tag !== "Ok") return
      const copy = { ...read.value, model: "other" }
      assert.strictEqual(WireJson.stringify(copy), JSON.stringify({ ...answer, model: "other" }))
    }))
})

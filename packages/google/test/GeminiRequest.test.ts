import { assert, describe, it } from "@effect/vitest"
import type { Chat } from "@llm-router/core"
import { GeminiRequest, GeminiSchema } from "@llm-router/google"
import type { GeminiWire } from "@llm-router/google"

const origin = { provider: "gemini", deployment: "gemini/test" }

const translate = (request: Omit<Chat.ChatRequest, "model">): GeminiWire.GenerateContentRequest => {
  const result = GeminiRequest.fromChat({ model: "m", ...request } as Chat.ChatRequest, origin)
  if (result._tag === "Failure") throw new Error(`unexpected BadRequest: ${result.failure.message}`)
  return result.success
}

const rejection = (request: Omit<Chat.ChatRequest, "model">) => {
  const result = GeminiRequest.fromChat({ model: "m", ...request } as Chat.ChatRequest, origin)
  if (result._tag === "Success") throw new Error("expected a BadRequest")
  return result.failure
}

describe("GeminiRequest.fromChat", () => {
  it("moves system and developer messages to systemInstruction and maps roles", () => {
    const body = translate({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: [{ type: "text", text: "Prefer JSON." }] },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello" },
        { role: "user", content: "Again" }
      ]
    })
    assert.deepStrictEqual(body.systemInstruction, { parts: [{ text: "Be brief." }, { text: "Prefer JSON." }] })
    assert.deepStrictEqual(body.contents, [
      { role: "user", parts: [{ text: "Hi" }] },
      { role: "model", parts: [{ text: "Hello" }] },
      { role: "user", parts: [{ text: "Again" }] }
    ])
  })

  it("merges consecutive turns of one role, tool results included", () => {
    const body = translate({
      messages: [
        { role: "user", content: "a" },
        { role: "user", content: [{ type: "text", text: "b" }] },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_0", type: "function", function: { name: "weather", arguments: "{\"city\":\"Oslo\"}" } },
            { id: "call_1", type: "function", function: { name: "time", arguments: "{}" } }
          ]
        },
        { role: "tool", tool_call_id: "call_0", content: "{\"temp_c\":3}" },
        { role: "tool", tool_call_id: "call_1", content: "12:00" },
        { role: "user", content: "thanks" }
      ]
    })
    assert.deepStrictEqual(body.contents, [
      { role: "user", parts: [{ text: "a" }, { text: "b" }] },
      {
        role: "model",
        parts: [
          { functionCall: { name: "weather", args: { city: "Oslo" } } },
          { functionCall: { name: "time", args: {} } }
        ]
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "weather", response: { temp_c: 3 } } },
          { functionResponse: { name: "time", response: { output: "12:00" } } },
          { text: "thanks" }
        ]
      }
    ])
  })

  it("names a function response after the latest call with that id (Gemini ids repeat across turns)", () => {
    const call = (name: string): Chat.Message => ({
      role: "assistant",
      tool_calls: [{ id: "call_0", type: "function", function: { name, arguments: "{}" } }]
    })
    const body = translate({
      messages: [
        { role: "user", content: "go" },
        call("first"),
        { role: "tool", tool_call_id: "call_0", content: "1" },
        call("second"),
        { role: "tool", tool_call_id: "call_0", content: "2" }
      ]
    })
    assert.deepStrictEqual(body.contents[2]?.parts, [{ functionResponse: { name: "first", response: { output: 1 } } }])
    assert.deepStrictEqual(body.contents[4]?.parts, [{ functionResponse: { name: "second", response: { output: 2 } } }])
  })

  it("sends a failed tool's result (is_error) under `error`, a JSON object as it is", () => {
    const body = translate({
      messages: [
        { role: "user", content: "go" },
        {
          role: "assistant",
          tool_calls: [
            { id: "call_0", type: "function", function: { name: "f", arguments: "{}" } },
            { id: "call_1", type: "function", function: { name: "g", arguments: "{}" } }
          ]
        },
        { role: "tool", tool_call_id: "call_0", content: "timed out", is_error: true },
        { role: "tool", tool_call_id: "call_1", content: "{\"code\":7}", is_error: true }
      ]
    })
    assert.deepStrictEqual(body.contents[2]?.parts, [
      { functionResponse: { name: "f", response: { error: "timed out" } } },
      { functionResponse: { name: "g", response: { error: { code: 7 } } } }
    ])
  })

  it("returns a thought signature carried in a tool call id to Gemini", () => {
    const body = translate({
      messages: [
        { role: "user", content: "go" },
        { role: "assistant", tool_calls: [{ id: "call_0__thought__c2lnbmF0dXJl", type: "function", function: { name: "f", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "call_0__thought__c2lnbmF0dXJl", content: "{}" }
      ]
    })
    assert.deepStrictEqual(body.contents[1]?.parts, [{ functionCall: { name: "f", args: {} }, thoughtSignature: "c2lnbmF0dXJl" }])
    assert.deepStrictEqual(body.contents[2]?.parts, [{ functionResponse: { name: "f", response: {} } }])
  })

  it("sends data-URI images inline and URLs as fileData", () => {
    const body = translate({
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
          { type: "image_url", image_url: { url: "https://example.com/cat.JPG?size=large", detail: "low" } },
          { type: "image_url", image_url: { url: "https://example.com/image" } }
        ]
      }]
    })
    assert.deepStrictEqual(body.contents[0]?.parts, [
      { text: "What is this?" },
      { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
      { fileData: { fileUri: "https://example.com/cat.JPG?size=large", mimeType: "image/jpeg" } },
      { fileData: { fileUri: "https://example.com/image" } }
    ])
  })

  it("rejects what Gemini cannot take as BadRequest, naming the field", () => {
    const ftp = rejection({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x/y.png" } }] }] })
    assert.strictEqual(ftp._tag, "BadRequest")
    assert.strictEqual(ftp.param, "messages[0].content[0]")
    const notBase64 = rejection({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png,abc" } }] }] })
    assert.strictEqual(notBase64.param, "messages[0].content[0]")
    const badArgs = rejection({
      messages: [
        { role: "user", content: "x" },
        { role: "assistant", tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: "{not json" } }] }
      ]
    })
    assert.strictEqual(badArgs.param, "messages[1].tool_calls[0].function.arguments")
    const orphan = rejection({ messages: [{ role: "user", content: "x" }, { role: "tool", tool_call_id: "nope", content: "1" }] })
    assert.strictEqual(orphan.param, "messages[1].tool_call_id")
    assert.include(orphan.message, "nope")
    assert.strictEqual(orphan.deployment, "gemini/test")
  })

  it("maps tools and every tool_choice", () => {
    const tools: ReadonlyArray<Chat.FunctionTool> = [{
      type: "function",
      function: {
        name: "weather",
        description: "Current weather",
        parameters: {
          $schema: "http://json-schema.org/draft-07/schema#",
          type: "object",
          additionalProperties: false,
          properties: { city: { type: "string" } },
          required: ["city"]
        }
      }
    }]
    const base = { messages: [{ role: "user" as const, content: "x" }], tools }
    const body = translate(base)
    assert.deepStrictEqual(body.tools, [{
      functionDeclarations: [{
        name: "weather",
        description: "Current weather",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
      }]
    }])
    assert.strictEqual(body.toolConfig, undefined)
    assert.deepStrictEqual(translate({ ...base, tool_choice: "auto" }).toolConfig, { functionCallingConfig: { mode: "AUTO" } })
    assert.deepStrictEqual(translate({ ...base, tool_choice: "required" }).toolConfig, { functionCallingConfig: { mode: "ANY" } })
    assert.deepStrictEqual(translate({ ...base, tool_choice: "none" }).toolConfig, { functionCallingConfig: { mode: "NONE" } })
    assert.deepStrictEqual(
      translate({ ...base, tool_choice: { type: "function", function: { name: "weather" } } }).toolConfig,
      { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["weather"] } }
    )
  })

  it("fills generationConfig from sampling options and response_format", () => {
    const body = translate({
      messages: [{ role: "user", content: "x" }],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 100,
      max_completion_tokens: 50,
      stop: "END",
      n: 2,
      seed: 7,
      response_format: { type: "json_object" }
    })
    assert.deepStrictEqual(body.generationConfig, {
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 50,
      stopSequences: ["END"],
      candidateCount: 2,
      seed: 7,
      responseMimeType: "application/json"
    })
    const schema = translate({
      messages: [{ role: "user", content: "x" }],
      max_tokens: 10,
      response_format: {
        type: "json_schema",
        json_schema: { name: "r", schema: { $schema: "x", type: "object", properties: { a: { type: "string" } }, additionalProperties: false } }
      }
    })
    assert.deepStrictEqual(schema.generationConfig, {
      maxOutputTokens: 10,
      responseMimeType: "application/json",
      responseJsonSchema: { type: "object", properties: { a: { type: "string" } }, additionalProperties: false }
    })
    assert.strictEqual(translate({ messages: [{ role: "user", content: "x" }] }).generationConfig, undefined)
  })

  it("sends a JSON schema as responseSchema (the OpenAPI subset) to models before Gemini 2.5", () => {
    const request = {
      model: "m",
      messages: [{ role: "user", content: "x" }],
      response_format: {
        type: "json_schema",
        json_schema: { name: "r", schema: { type: "object", properties: { a: { $ref: "#/$defs/A" } }, additionalProperties: false, $defs: { A: { type: ["string", "null"] } } } }
      }
    } as Chat.ChatRequest
    for (const model of ["gemini-2.0-flash", "gemini-1.5-pro-002", "models/gemini-2.0-flash-lite"]) {
      assert.isFalse(GeminiRequest.takesJsonSchema(model), model)
      const result = GeminiRequest.fromChat(request, origin, { model })
      if (result._tag === "Failure") throw new Error(result.failure.message)
      assert.deepStrictEqual(result.success.generationConfig, {
        responseMimeType: "application/json",
        responseSchema: { type: "object", properties: { a: { type: "string", nullable: true } } }
      })
    }
    for (const model of ["gemini-2.5-flash", "gemini-3-pro-preview", "gemini-flash-latest"]) assert.isTrue(GeminiRequest.takesJsonSchema(model), model)
  })
})

describe("GeminiRequest.fromChat: reasoning_effort", () => {
  const ask = (reasoning_effort: unknown) =>
    ({ messages: [{ role: "user", content: "x" }], reasoning_effort }) as Omit<Chat.ChatRequest, "model">

  // Written out, not read from the constant, so a changed budget fails here.
  const budgets: ReadonlyArray<readonly [string, GeminiWire.ThinkingConfig]> = [
    ["none", { thinkingBudget: 0 }],
    ["minimal", { thinkingBudget: 128, includeThoughts: true }],
    ["low", { thinkingBudget: 1024, includeThoughts: true }],
    ["medium", { thinkingBudget: 2048, includeThoughts: true }],
    ["high", { thinkingBudget: 4096, includeThoughts: true }],
    ["xhigh", { thinkingBudget: 8192, includeThoughts: true }],
    ["max", { thinkingBudget: 16384, includeThoughts: true }]
  ]
  for (const [effort, thinkingConfig] of budgets) {
    it(`maps reasoning_effort ${effort} to thinkingBudget ${thinkingConfig.thinkingBudget}`, () => {
      assert.deepStrictEqual(translate(ask(effort)).generationConfig, { thinkingConfig })
    })
  }

  it("names exactly those efforts in REASONING_EFFORT_THINKING_BUDGET", () => {
    assert.deepStrictEqual(
      Object.entries(GeminiRequest.REASONING_EFFORT_THINKING_BUDGET),
      budgets.map(([effort, config]) => [effort, config.thinkingBudget])
    )
  })

  it("matches efforts case-insensitively", () => {
    assert.deepStrictEqual(translate(ask("HIGH")).generationConfig?.thinkingConfig, { thinkingBudget: 4096, includeThoughts: true })
    assert.deepStrictEqual(translate(ask("Minimal")).generationConfig?.thinkingConfig, { thinkingBudget: 128, includeThoughts: true })
    assert.deepStrictEqual(translate(ask("NoNe")).generationConfig?.thinkingConfig, { thinkingBudget: 0 })
  })

  it("sits beside the sampling options in generationConfig", () => {
    const body = translate({ messages: [{ role: "user", content: "x" }], temperature: 0.5, max_tokens: 300, reasoning_effort: "low" })
    assert.deepStrictEqual(body.generationConfig, {
      temperature: 0.5,
      maxOutputTokens: 300,
      thinkingConfig: { thinkingBudget: 1024, includeThoughts: true }
    })
  })

  it("sends no thinkingConfig when reasoning_effort is absent or null", () => {
    assert.strictEqual(translate({ messages: [{ role: "user", content: "x" }] }).generationConfig, undefined)
    assert.strictEqual(translate(ask(null)).generationConfig, undefined)
    assert.strictEqual(translate({ messages: [{ role: "user", content: "x" }], temperature: 1, reasoning_effort: null }).generationConfig?.thinkingConfig, undefined)
  })

  const wrong: ReadonlyArray<readonly [unknown, string]> = [
    ["extreme", "got \"extreme\""],
    ["", "got \"\""],
    [" high", "got \" high\""],
    ["constructor", "got \"constructor\""],
    ["toString", "got \"toString\""],
    [3, "got 3"],
    [true, "got true"],
    [["high"], "got an array"],
    [{ effort: "high" }, "got a value of type object"]
  ]
  for (const [value, shown] of wrong) {
    it(`rejects reasoning_effort ${JSON.stringify(value)} as BadRequest on param reasoning_effort`, () => {
      const error = rejection(ask(value))
      assert.strictEqual(error._tag, "BadRequest")
      assert.strictEqual(error.param, "reasoning_effort")
      assert.strictEqual(error.provider, "gemini")
      assert.strictEqual(error.deployment, "gemini/test")
      assert.include(error.message, "\"none\", \"minimal\", \"low\", \"medium\", \"high\", \"xhigh\", \"max\"")
      assert.include(error.message, shown)
    })
  }

  it("takes the deployment's reasoning_effort when the request gives none; the request's wins", () => {
    const withDefault = (request: Omit<Chat.ChatRequest, "model">) => {
      const result = GeminiRequest.fromChat({ model: "m", ...request } as Chat.ChatRequest, origin, { reasoningEffort: "high" })
      if (result._tag === "Failure") throw new Error(`unexpected BadRequest: ${result.failure.message}`)
      return result.success.generationConfig?.thinkingConfig
    }
    assert.deepStrictEqual(withDefault({ messages: [{ role: "user", content: "x" }] }), { thinkingBudget: 4096, includeThoughts: true })
    assert.deepStrictEqual(withDefault(ask("none")), { thinkingBudget: 0 })
  })

  it("keeps a long wrong value short in the message", () => {
    const error = rejection(ask("h".repeat(500)))
    assert.strictEqual(error.param, "reasoning_effort")
    assert.isBelow(error.message.length, 250)
    assert.include(error.message, `"${"h".repeat(32)}…"`)
  })
})

describe("GeminiSchema.toParameters", () => {
  it("reduces JSON Schema to Gemini's OpenAPI subset", () => {
    const out = GeminiSchema.toParameters({
      type: "object",
      $defs: { Unit: { type: "string", enum: ["c", "f"] } },
      properties: {
        unit: { $ref: "#/$defs/Unit", description: "unit" },
        when: { type: "string", format: "date-time" },
        url: { type: "string", format: "uri" },
        note: { type: ["string", "null"] },
        kind: { const: "fixed" },
        level: { type: "integer", enum: [1, 2, 3] },
        either: { oneOf: [{ type: "string" }, { type: "number" }] },
        tags: { type: "array", items: { type: "string", additionalProperties: false } }
      },
      required: ["unit", "ghost"],
      additionalProperties: false
    })
    assert.deepStrictEqual(out, {
      type: "object",
      properties: {
        unit: { type: "string", enum: ["c", "f"], description: "unit" },
        when: { type: "string", format: "date-time" },
        url: { type: "string" },
        note: { type: "string", nullable: true },
        kind: { type: "string", enum: ["fixed"] },
        level: { type: "integer", description: "Allowed values: 1, 2, 3." },
        either: { anyOf: [{ type: "string" }, { type: "number" }] },
        tags: { type: "array", items: { type: "string" } }
      },
      required: ["unit"]
    })
  })

  it("omits parameters of a tool without arguments, and survives recursive refs", () => {
    assert.strictEqual(GeminiSchema.toParameters({ type: "object", properties: {} }), undefined)
    const recursive = GeminiSchema.toParameters({
      type: "object",
      definitions: { Node: { type: "object", properties: { next: { $ref: "#/definitions/Node" } } } },
      properties: { head: { $ref: "#/definitions/Node" } }
    })
    assert.strictEqual(recursive?.type, "object")
    assert.notInclude(JSON.stringify(recursive), "$ref")
  })
})

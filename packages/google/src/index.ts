/**
 * @llm-router/google: the Gemini (Google AI Studio) adapter. `Google` is the client
 * (`providers`, `make`); the other namespaces are its translation steps, exported for
 * tests, benchmarks and anyone who needs Gemini's wire format without the client.
 */
export * as GeminiEmbeddings from "./GeminiEmbeddings.ts"
export * as GeminiError from "./GeminiError.ts"
export * as GeminiRequest from "./GeminiRequest.ts"
export * as GeminiResponse from "./GeminiResponse.ts"
export * as GeminiSchema from "./GeminiSchema.ts"
export * as GeminiWire from "./GeminiWire.ts"
export * as Google from "./Google.ts"

/**
 * @llm-router/openai: OpenAI's Chat Completions API and every OpenAI-compatible API
 * (Azure, Groq, Mistral, DeepSeek, Together, Fireworks, xAI, OpenRouter, Ollama, vLLM,
 * LM Studio, llama.cpp) as `LlmClient`s: `import { OpenAi } from "@llm-router/openai"`.
 */
export * as OpenAi from "./OpenAi.ts"
export * as ResponsesRequest from "./ResponsesRequest.ts"
export * as ResponsesResponse from "./ResponsesResponse.ts"
export * as ResponsesStream from "./ResponsesStream.ts"
export * as OpenAiEmbeddings from "./OpenAiEmbeddings.ts"

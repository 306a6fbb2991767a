/**
 * @llm-router/anthropic: the Anthropic Messages API as an `LlmClient`.
 * `Anthropic.make(deployment)` builds the client; the other modules are its translation steps.
 */
export * as Anthropic from "./Anthropic.ts"
export * as AnthropicError from "./AnthropicError.ts"
export * as AnthropicRequest from "./AnthropicRequest.ts"
export * as AnthropicResponse from "./AnthropicResponse.ts"
export * as AnthropicStream from "./AnthropicStream.ts"
export * as InboundRequest from "./InboundRequest.ts"
export * as InboundResponse from "./InboundResponse.ts"
export * as InboundStream from "./InboundStream.ts"
export * as StructuredOutput from "./StructuredOutput.ts"

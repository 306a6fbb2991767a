/**
 * @llm-router/testing: simulated providers for in-memory tests and HTTP mock upstreams that
 * speak each provider's wire format, for tests, chaos runs and the no-keys demo.
 */
export * as AnthropicUpstream from "./upstream/AnthropicUpstream.ts"
export * as GeminiUpstream from "./upstream/GeminiUpstream.ts"
export * as OpenAiUpstream from "./upstream/OpenAiUpstream.ts"
export * as MockUpstream from "./upstream/MockUpstream.ts"
export * as RecordingTracer from "./RecordingTracer.ts"
export * as SchemaFuzz from "./SchemaFuzz.ts"
export * as SimulatedProvider from "./SimulatedProvider.ts"
export * as Synthesize from "./upstream/Synthesize.ts"

/**
 * What the end-to-end tests of the gateway's other APIs (Responses, Messages) share: the three
 * mock upstreams, the gateway started in-process on a free port from a YAML config with the
 * built-in adapters, one plain group per provider, and a helper for calls that must fail.
 */
import { assert } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { AnthropicUpstream, GeminiUpstream, OpenAiUpstream } from "@llm-router/testing"
import * as InProcessGateway from "./InProcessGateway.ts"

export interface Upstreams {
  readonly openai: OpenAiUpstream.OpenAiUpstream
  readonly anthropic: AnthropicUpstream.AnthropicUpstream
  readonly gemini: GeminiUpstream.GeminiUpstream
}

export const upstreams: Effect.Effect<Upstreams, never, Scope.Scope> = Effect.all({
  openai: OpenAiUpstream.make(),
  anthropic: AnthropicUpstream.make(),
  gemini: GeminiUpstream.make()
})

/** One group per provider (`gpt-4o`, `claude`, `flash`), as `model_list` entries. */
export const plainGroups = (m: Upstreams) => `
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${m.openai.baseUrl}", api_key: sk-mock-openai }
    model_info: { id: openai-main }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${m.anthropic.baseUrl}", api_key: sk-ant-mock }
    model_info: { id: anthropic-main }
  - model_name: flash
    litellm_params: { model: gemini/gemini-2.5-flash, api_base: "${m.gemini.baseUrl}", api_key: gemini-mock-key }
    model_info: { id: gemini-main }`

/** Each plain group with the deployment and provider that serve it. */
export const eachProvider = [
  { model: "gpt-4o", deployment: "openai-main", provider: "openai" },
  { model: "claude", deployment: "anthropic-main", provider: "anthropic" },
  { model: "flash", deployment: "gemini-main", provider: "gemini" }
] as const

/** The gateway serving `yaml`, until the scope closes; its origin (`http://127.0.0.1:PORT`). */
export const start = (yaml: string): Effect.Effect<string, unknown, Scope.Scope> => InProcessGateway.origin(yaml)

/** The error a call fails with (the client's own class), or a test failure if it succeeds. */
export const failure = <A>(promise: () => Promise<A>) =>
  Effect.promise(() => promise().then(() => assert.fail("expected the call to fail"), (error: unknown) => error))

/**
 * A gateway for an end-to-end test: `Gateway.layer` started in-process on a free port from a
 * YAML config, with the built-in adapters (chat and embeddings) on the HTTP client
 * `llm-router serve` uses, and the official `openai` client pointed at it. Closed with the
 * test's scope (or its layer).
 */
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import OpenAI from "openai"
import { Gateway, GatewayConfig, Providers } from "@llm-router/server"

export interface Started {
  /** `http://127.0.0.1:PORT/v1`, as the OpenAI SDK's `baseURL` takes it. */
  readonly baseURL: string
  readonly client: OpenAI
}

/** The gateway serving `yaml` until the scope closes; its origin (`http://127.0.0.1:PORT`). */
export const origin = (yaml: string) =>
  Effect.gen(function*() {
    const config = yield* GatewayConfig.parse(yaml, { knownProviders: Providers.builtin.known })
    const context = yield* Layer.build(
      Gateway.layer({
        config,
        clientFor: Providers.builtin.clientFor,
        embeddingClientFor: Providers.builtin.embeddingClientFor,
        port: 0,
        maxRequestBytes: 1024 * 1024
      }).pipe(Layer.provide(Providers.layerHttpClient))
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    return `http://127.0.0.1:${address._tag === "UnixPathAddress" ? 0 : address.port}`
  })

/** The gateway serving `yaml`, with the `openai` client pointed at it. */
export const start = (yaml: string, masterKey: string) =>
  Effect.map(origin(yaml), (at): Started => {
    const baseURL = `${at}/v1`
    return { baseURL, client: new OpenAI({ baseURL, apiKey: masterKey, maxRetries: 0 }) }
  })

/**
 * The gateway started in this process on a free port, from a YAML config, with the real
 * provider adapters and the HTTP client `llm-router serve` calls providers through; closed
 * with the caller's scope.
 */
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { Gateway, GatewayConfig, Providers } from "@llm-router/server"

/** Starts the gateway; returns its base URL (`http://127.0.0.1:PORT`). */
export const start = (yaml: string) =>
  Effect.gen(function*() {
    const config = yield* GatewayConfig.parse(yaml, { knownProviders: Providers.builtin.known })
    const context = yield* Layer.build(
      Gateway.layer({ config, clientFor: Providers.builtin.clientFor, port: 0 }).pipe(Layer.provide(Providers.layerHttpClient))
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    return `http://127.0.0.1:${address._tag === "UnixPathAddress" ? 0 : address.port}`
  })

/**
 * The gateway's side of calling providers: the registry (which adapter calls which deployment)
 * is `@llm-router/providers`'s, re-exported here for the gateway's users, and this module adds
 * the HTTP client the gateway calls providers through.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, Tracer } from "effect"
import { HttpClient } from "effect/http"
import { Providers } from "@llm-router/providers"
import * as UndiciHttpClient from "./UndiciHttpClient.ts"

export type Adapter<R> = Providers.Adapter<R>
export type Registry<R> = Providers.Registry<R>
export const { builtin, make } = Providers

/**
 * The HTTP client the adapters call providers through: undici, one connection pool per
 * origin, through `UndiciHttpClient` (a third of the gateway's per-request CPU less than the
 * stock client; see there for what it hands back to the stock one). When a tracer is
 * installed it makes a client span per call and sends `traceparent`, as the stock client does.
 */
export const layerHttpClient: Layer.Layer<HttpClient.HttpClient> = Layer.effect(HttpClient.HttpClient)(
  Effect.gen(function*() {
    const stock = yield* NodeHttpClient.makeUndici
    const spans = (yield* Tracer.Tracer) !== Tracer.nativeTracer
    return UndiciHttpClient.make(yield* NodeHttpClient.Dispatcher, stock, { spans })
  })
).pipe(Layer.provide(NodeHttpClient.layerDispatcher))

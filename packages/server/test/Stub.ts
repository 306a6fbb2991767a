/**
 * Hand-made provider clients for the gateway's unit tests: each deployment answers as
 * scripted (succeed, fail before content, fail or hang after some chunks), records its
 * calls, and notes when a stream was closed, so disconnect handling can be observed.
 */
import { Context, Effect, Layer, Stream } from "effect"
import type { Scope } from "effect"
import { HttpServer } from "effect/http"
import type { Chat, Deployment, LlmError, RouteInfo } from "@llm-router/core"
import { LlmClient } from "@llm-router/core"
import * as Gateway from "../src/Gateway.ts"
import * as GatewayConfig from "../src/GatewayConfig.ts"

export interface Behaviour {
  /** Fails before any content (chat and stream). */
  readonly fail?: LlmError.LlmError | undefined
  /** Streams this many content chunks, then fails with `error` (or hangs when `error` is absent). */
  readonly afterChunks?: { readonly chunks: number; readonly error?: LlmError.LlmError | undefined } | undefined
  readonly text?: string | undefined
}

export interface Probe {
  readonly calls: Array<{ readonly deployment: string; readonly stream: boolean; readonly request: Chat.ChatRequest }>
  /** Deployments whose stream was closed before it finished (interrupted). */
  readonly closedEarly: Array<string>
}

const routeOf = (d: Deployment.Deployment): RouteInfo.RouteInfo => ({
  group: d.group,
  servedBy: d.group,
  deployment: d.id,
  provider: d.provider,
  model: d.model,
  attempts: 1,
  fallbacks: [],
  latencyMs: 0
})

const chunk = (d: Deployment.Deployment, delta: Chat.Delta, finish: Chat.FinishReason | null = null): Chat.ChatChunk => ({
  id: `chatcmpl-${d.id}`,
  object: "chat.completion.chunk",
  created: 1,
  model: d.model,
  choices: [{ index: 0, delta, finish_reason: finish }]
})

export const client = (d: Deployment.Deployment, behaviour: Behaviour, probe: Probe): LlmClient.Service => {
  const text = behaviour.text ?? `Hello from ${d.id}.`
  return LlmClient.LlmClient.of({
    chat: (request) =>
      Effect.suspend(() => {
        probe.calls.push({ deployment: d.id, stream: false, request })
        if (behaviour.fail) return Effect.fail(behaviour.fail)
        return Effect.succeed({
          response: {
            id: `chatcmpl-${d.id}`,
            object: "chat.completion",
            created: 1,
            model: d.model,
            choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
            usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }
          },
          route: routeOf(d)
        })
      }),
    stream: (request) =>
      Stream.unwrap(Effect.sync(() => {
        probe.calls.push({ deployment: d.id, stream: true, request })
        if (behaviour.fail) return Stream.fail(behaviour.fail)
        const words = text.split(/(?<= )/)
        const start: LlmClient.StreamPart = { _tag: "Start", route: routeOf(d) }
        const preamble: LlmClient.StreamPart = { _tag: "Chunk", chunk: chunk(d, { role: "assistant", content: "" }) }
        const after = behaviour.afterChunks
        const count = after === undefined ? words.length : Math.min(after.chunks, words.length)
        const content = words.slice(0, count).map((word): LlmClient.StreamPart => ({ _tag: "Chunk", chunk: chunk(d, { content: word }) }))
        const head = Stream.fromIterable<LlmClient.StreamPart>([start, preamble, ...content])
        let finished = false
        const tail: Stream.Stream<LlmClient.StreamPart, LlmError.LlmError> = after === undefined
          ? Stream.fromIterable<LlmClient.StreamPart>([
            { _tag: "Chunk", chunk: chunk(d, {}, "stop") },
            { _tag: "Done", route: routeOf(d) }
          ]).pipe(Stream.ensuring(Effect.sync(() => (finished = true))))
          : after.error
          ? Stream.fail(after.error).pipe(Stream.ensuring(Effect.sync(() => (finished = true))))
          : Stream.never
        return Stream.concat(head, tail).pipe(
          Stream.ensuring(Effect.sync(() => {
            if (!finished) probe.closedEarly.push(d.id)
          }))
        )
      }))
  })
}

export const newProbe = (): Probe => ({ calls: [], closedEarly: [] })

/** Starts the gateway on a free port with stub providers; closed with the scope. */
export const start = (
  yaml: string,
  behaviours: Readonly<Record<string, Behaviour>> = {},
  overrides: Partial<Pick<Gateway.Settings, "maxRequestBytes" | "bodyTimeoutMs">> = {}
): Effect.Effect<{ readonly url: string; readonly probe: Probe }, GatewayConfig.GatewayConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* GatewayConfig.parse(yaml)
    const probe = newProbe()
    const context = yield* Layer.build(Gateway.layer({
      config,
      clientFor: (d) => Effect.succeed(client(d, behaviours[d.id] ?? {}, probe)),
      port: 0,
      ...overrides
    })).pipe(Effect.orDie)
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "UnixPathAddress" ? 0 : address.port
    return { url: `http://127.0.0.1:${port}`, probe }
  })

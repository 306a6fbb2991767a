/**
 * OpenTelemetry spans for routed requests, named and attributed after the GenAI semantic
 * conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/):
 *
 *   chat {requested model}    INTERNAL  the whole routed request: retries, fallbacks, and for
 *                                       a stream everything up to its last chunk
 *     chat {provider model}   CLIENT    one attempt on one deployment (for a stream, up to its
 *                                       first content); the HTTP client's span nests inside
 *
 * What the conventions have no name for (the deployment, attempts, fallbacks, cost) is under
 * `llm_router.*`. Prompts and completions are never recorded, and error messages are
 * scrubbed of the deployments' keys before they reach a span.
 *
 * Spans exist only when a tracer other than Effect's native one is installed (an OTLP
 * exporter, say) and the trace is sampled: otherwise a request reads three fields of its
 * fiber here and allocates nothing.
 */
import { Cause, Clock, Effect, Exit, Redacted, Tracer } from "effect"
import type { Fiber } from "effect"
import type { ChatChunk, ChatRequest, ChatResponse } from "./Chat.ts"
import type { Deployment } from "./Deployment.ts"
import type { Completion, Described } from "./LlmClient.ts"
import type { LlmError } from "./LlmError.ts"
import type { RouteInfo } from "./RouteInfo.ts"
import * as Scrub from "./Scrub.ts"

/**
 * Whether spans are worth making in this fiber: a real tracer, tracing not switched off, and
 * not inside a span its sampler dropped (every span under it would be dropped too).
 */
export const enabled = (fiber: Fiber.Fiber<unknown, unknown>): boolean => {
  const { span, tracer, tracerEnabled } = fiber.cache
  return tracer !== undefined && tracer !== Tracer.nativeTracer && tracerEnabled && span?.sampled !== false
}

/**
 * `gen_ai.provider.name`: the conventions' well-known names where ours (LiteLLM's prefixes)
 * differ; any other provider under its own name.
 */
const wellKnownProviders: Readonly<Record<string, string>> = {
  gemini: "gcp.gemini",
  vertex_ai: "gcp.vertex_ai",
  azure: "azure.ai.openai",
  azure_ai: "azure.ai.inference",
  bedrock: "aws.bedrock",
  mistral: "mistral_ai",
  xai: "x_ai",
  watsonx: "ibm.watsonx.ai"
}
export const providerName = (provider: string): string =>
  Object.hasOwn(wellKnownProviders, provider) ? wellKnownProviders[provider]! : provider

/** The request's own parameters, as the conventions name them (`gen_ai.request.*`). */
export const requestAttributes = (request: ChatRequest, streaming: boolean): Record<string, unknown> => {
  const attributes: Record<string, unknown> = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": request.model,
    "llm_router.stream": streaming
  }
  const maxTokens = request.max_completion_tokens ?? request.max_tokens
  if (typeof maxTokens === "number") attributes["gen_ai.request.max_tokens"] = maxTokens
  if (typeof request.temperature === "number") attributes["gen_ai.request.temperature"] = request.temperature
  if (typeof request.top_p === "number") attributes["gen_ai.request.top_p"] = request.top_p
  if (typeof request.n === "number" && request.n !== 1) attributes["gen_ai.request.choice.count"] = request.n
  if (typeof request.stop === "string") attributes["gen_ai.request.stop_sequences"] = [request.stop]
  else if (Array.isArray(request.stop)) attributes["gen_ai.request.stop_sequences"] = request.stop
  return attributes
}

/** Who served, and at what cost: set on the request span when it succeeds. */
export const routeAttributes = (route: RouteInfo): Record<string, unknown> => {
  const attributes: Record<string, unknown> = {
    "gen_ai.provider.name": providerName(route.provider),
    "llm_router.group": route.group,
    "llm_router.served_by": route.servedBy,
    "llm_router.deployment": route.deployment,
    "llm_router.attempts": route.attempts,
    "llm_router.fallbacks": route.fallbacks
  }
  if (route.usage !== undefined) {
    attributes["gen_ai.usage.input_tokens"] = route.usage.prompt_tokens
    attributes["gen_ai.usage.output_tokens"] = route.usage.completion_tokens
  }
  if (route.costUsd !== undefined) attributes["llm_router.cost_usd"] = route.costUsd
  if (route.timeToFirstChunkMs !== undefined) attributes["llm_router.time_to_first_chunk_ms"] = route.timeToFirstChunkMs
  if (route.restarts !== undefined) attributes["llm_router.restarts"] = route.restarts
  return attributes
}

/** What came back: `gen_ai.response.*` (set for a stream from its chunks as they pass). */
export class ResponseAttributes {
  private id: string | undefined
  private model: string | undefined
  private readonly finishReasons: Array<string> = []

  observe(response: Pick<ChatResponse | ChatChunk, "id" | "model" | "choices">): void {
    this.id ??= response.id
    this.model ??= response.model
    for (const choice of response.choices) {
      if (typeof choice.finish_reason === "string") this.finishReasons[choice.index] = choice.finish_reason
    }
  }

  /** What an operation's answer (or one of its streamed items) says of itself (see `LlmClient.Described`). */
  describe(described: Described): void {
    this.id ??= described.responseId
    this.model ??= described.responseModel
    if (described.finishReasons !== undefined && described.finishReasons.length > 0) {
      this.finishReasons.length = 0
      this.finishReasons.push(...described.finishReasons)
    }
  }

  write(span: Tracer.Span): void {
    if (this.id !== undefined) span.attribute("gen_ai.response.id", this.id)
    if (this.model !== undefined) span.attribute("gen_ai.response.model", this.model)
    const reasons = this.finishReasons.filter((r) => r !== undefined)
    if (reasons.length > 0) span.attribute("gen_ai.response.finish_reasons", reasons)
  }
}

/** A provider's error as a span sees it: its tag, and its message without secrets. */
class ScrubbedError extends Error {
  constructor(name: string, message: string) {
    super(message)
    this.name = name
    // The router's own stack says nothing about where a provider failed.
    this.stack = `${name}: ${message}`
  }
}

export interface Spans {
  /** The span of a routed request, under the caller's current span (the gateway's HTTP span). */
  readonly request: (request: ChatRequest, streaming: boolean) => Effect.Effect<Tracer.Span>
  /** `self`, an attempt on `d`, inside its own span under `parent`. */
  readonly attempt: <A, R>(
    parent: Tracer.Span,
    d: Deployment,
    attempt: number,
    self: Effect.Effect<A, LlmError, R>
  ) => Effect.Effect<A, LlmError, R>
  /** A routed chat inside its request span, which ends with it and records who answered. */
  readonly completion: <R>(
    span: Tracer.Span,
    self: Effect.Effect<Completion, LlmError, R>
  ) => Effect.Effect<Completion, LlmError, R>
  /**
   * Another routed operation (a native Responses call…) inside its request span, which ends with
   * it and records who answered and what its answer says of itself (`answered`).
   */
  readonly operated: <A extends { readonly route: RouteInfo; readonly answered: Described }, R>(
    span: Tracer.Span,
    self: Effect.Effect<A, LlmError, R>
  ) => Effect.Effect<A, LlmError, R>
  /** Records who served a finished stream and what it returned, and ends its request span. */
  readonly streamed: (span: Tracer.Span, route: RouteInfo, response: ResponseAttributes) => Effect.Effect<void>
  /** Ends a span with `exit` (once; later calls do nothing): a failure's tag as `error.type`, its message scrubbed. */
  readonly end: (span: Tracer.Span, exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void>
}

const setAll = (span: Tracer.Span, attributes: Record<string, unknown>) => {
  for (const key in attributes) span.attribute(key, attributes[key])
}

/** Spans for a router over `deployments`, whose keys are scrubbed from every error message. */
export const make = (deployments: ReadonlyArray<Deployment>): Spans => {
  const scrub = Scrub.make(deployments.flatMap((d) => (d.apiKey === undefined ? [] : [Redacted.value(d.apiKey)])))

  const scrubbed = (exit: Exit.Exit<unknown, unknown>): Exit.Exit<unknown, unknown> => {
    if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return exit
    const error = Cause.findErrorOption(exit.cause)
    if (error._tag === "None") return exit
    const failure = error.value as { readonly _tag?: unknown; readonly message?: unknown }
    const tag = typeof failure._tag === "string" ? failure._tag : "Error"
    return Exit.fail(new ScrubbedError(tag, scrub(typeof failure.message === "string" ? failure.message : String(failure))))
  }

  // What an attempt's span says of its deployment, worked out once per deployment.
  const byDeployment = new Map<string, Record<string, unknown>>()
  const deploymentAttributes = (d: Deployment): Record<string, unknown> => {
    let attributes = byDeployment.get(d.id)
    if (attributes === undefined) {
      attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": providerName(d.provider),
        "gen_ai.request.model": d.model,
        "llm_router.group": d.group,
        "llm_router.deployment": d.id,
        ...serverAttributes(d.apiBase)
      }
      byDeployment.set(d.id, attributes)
    }
    return attributes
  }

  const end = (span: Tracer.Span, exit: Exit.Exit<unknown, unknown>) =>
    Clock.clockWith((clock) =>
      Effect.sync(() => {
        if (span.status._tag === "Ended") return
        const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
        if (error !== undefined && error._tag === "Some") {
          const tag = (error.value as { readonly _tag?: unknown })._tag
          span.attribute("error.type", typeof tag === "string" ? tag : "Error")
        }
        span.end(clock.currentTimeNanosUnsafe(), scrubbed(exit))
      })
    )

  /** `self` under its request span, which records the route it was served by and ends with it. */
  const served = <A extends { readonly route: RouteInfo }, R>(
    span: Tracer.Span,
    self: Effect.Effect<A, LlmError, R>,
    more?: (answer: A) => void
  ): Effect.Effect<A, LlmError, R> =>
    self.pipe(
      Effect.tap((answer) =>
        Effect.sync(() => {
          setAll(span, routeAttributes(answer.route))
          more?.(answer)
        })
      ),
      Effect.withParentSpan(span),
      Effect.onExit((exit) => end(span, exit))
    )

  return {
    request: (request, streaming) =>
      Effect.makeSpan(`chat ${request.model}`, { kind: "internal", attributes: requestAttributes(request, streaming) }),
    attempt: (parent, d, attempt, self) =>
      Effect.flatMap(
        Effect.makeSpan(`chat ${d.model}`, {
          kind: "client",
          parent,
          attributes: { ...deploymentAttributes(d), "llm_router.attempt": attempt }
        }),
        (span) => self.pipe(Effect.withParentSpan(span), Effect.onExit((exit) => end(span, exit)))
      ),
    completion: (span, self) =>
      served(span, self, (completion) => {
        const response = new ResponseAttributes()
        response.observe(completion.response)
        response.write(span)
      }),
    operated: (span, self) =>
      served(span, self, (operated) => {
        const response = new ResponseAttributes()
        response.describe(operated.answered)
        response.write(span)
      }),
    streamed: (span, route, response) =>
      Effect.suspend(() => {
        setAll(span, routeAttributes(route))
        response.write(span)
        return end(span, Exit.void)
      }),
    end
  }
}

/** `server.address` and `server.port` of a deployment's `api_base`, when it has one. */
const serverAttributes = (apiBase: string | undefined): Record<string, unknown> => {
  if (apiBase === undefined || !URL.canParse(apiBase)) return {}
  const url = new URL(apiBase)
  const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : url.protocol === "http:" ? 80 : undefined
  return { "server.address": url.hostname, ...(port !== undefined ? { "server.port": port } : {}) }
}

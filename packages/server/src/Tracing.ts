/**
 * OpenTelemetry traces from the gateway, configured the standard way, by environment:
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns them on;
 * `OTEL_EXPORTER_OTLP_PROTOCOL` picks `http/protobuf` (the default) or `http/json`;
 * `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME` (default `llm-router`),
 * `OTEL_TRACES_EXPORTER=none` and `OTEL_SDK_DISABLED=true` work as the spec says, and so do
 * `OTEL_TRACES_SAMPLER` (`parentbased_always_on` by default, `traceidratio`, …) and
 * `OTEL_TRACES_SAMPLER_ARG`: a busy gateway can export one request in ten or a hundred.
 *
 * With a tracer installed, each HTTP request gets a server span (joining the caller's trace
 * through `traceparent`), the router its GenAI spans (`RouterTracing` in core), and each
 * provider call an HTTP client span that sends `traceparent` on. Health and metrics scrapes
 * are not traced. Without an endpoint nothing is installed and requests pay nothing.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Config, Effect, Layer, Option, Result, Tracer } from "effect"
import { HttpMiddleware } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { OtlpExporter, OtlpSerialization, OtlpTracer } from "effect/observability"

export type Settings =
  | { readonly _tag: "Off" }
  /** Asked for, but in a way this gateway cannot serve; `reason` says what to change. */
  | { readonly _tag: "Unsupported"; readonly reason: string }
  | {
    readonly _tag: "Otlp"
    /** Where spans are POSTed (the traces endpoint, `…/v1/traces`). */
    readonly url: string
    readonly protocol: "http/protobuf" | "http/json"
    readonly headers: Readonly<Record<string, string>>
    readonly serviceName: string
    readonly sampler: Sampler
  }

/**
 * Which traces are exported: a trace that starts here is kept with probability `ratio`;
 * one that continues a caller's trace follows the caller's decision when `parentBased`.
 */
export interface Sampler {
  readonly ratio: number
  readonly parentBased: boolean
}

/** `key=value,key2=value2`, percent-decoded, as the OTel spec writes headers. */
const parseHeaders = (text: string): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=")
    if (at <= 0) continue
    headers[decodeURIComponent(pair.slice(0, at).trim()).toLowerCase()] = decodeURIComponent(pair.slice(at + 1).trim())
  }
  return headers
}

/** The OTel variables this gateway reads, as given (trimmed; empty counts as unset). */
export interface Environment {
  readonly OTEL_SDK_DISABLED?: string | undefined
  readonly OTEL_TRACES_EXPORTER?: string | undefined
  readonly OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined
  readonly OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: string | undefined
  readonly OTEL_EXPORTER_OTLP_PROTOCOL?: string | undefined
  readonly OTEL_EXPORTER_OTLP_TRACES_HEADERS?: string | undefined
  readonly OTEL_EXPORTER_OTLP_HEADERS?: string | undefined
  readonly OTEL_SERVICE_NAME?: string | undefined
  readonly OTEL_TRACES_SAMPLER?: string | undefined
  readonly OTEL_TRACES_SAMPLER_ARG?: string | undefined
}
const variables = [
  "OTEL_SDK_DISABLED",
  "OTEL_TRACES_EXPORTER",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_SERVICE_NAME",
  "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG"
] as const satisfies ReadonlyArray<keyof Environment>

/** What the OTel environment asks for. */
export const resolve = (env: Environment): Settings => {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === "true") return { _tag: "Off" }
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "otlp").split(",").map((e) => e.trim().toLowerCase())
  if (!exporters.includes("otlp")) {
    return exporters.every((e) => e === "none")
      ? { _tag: "Off" }
      : { _tag: "Unsupported", reason: `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: only otlp (or none) is supported` }
  }
  // The per-signal endpoint is used as given; the general one gets the signal's path (OTel spec).
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base === undefined ? undefined : base.replace(/\/+$/, "") + "/v1/traces")
  if (url === undefined) return { _tag: "Off" }
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    return { _tag: "Unsupported", reason: `the OTLP endpoint "${url}" is not an http(s) URL` }
  }
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf"
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    return {
      _tag: "Unsupported",
      reason: `OTLP protocol "${protocol}" is not supported: use http/protobuf or http/json (port 4318 on most collectors)`
    }
  }
  const sampler = samplerOf(env)
  if (typeof sampler === "string") return { _tag: "Unsupported", reason: sampler }
  const headers = env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS
  return {
    _tag: "Otlp",
    url,
    protocol,
    headers: headers === undefined ? {} : parseHeaders(headers),
    serviceName: env.OTEL_SERVICE_NAME ?? "llm-router",
    sampler
  }
}

/** The spec's samplers (`OTEL_TRACES_SAMPLER`), or what is wrong with the setting. */
const samplerOf = (env: Environment): Sampler | string => {
  const name = (env.OTEL_TRACES_SAMPLER ?? "parentbased_always_on").toLowerCase()
  const parentBased = name.startsWith("parentbased_")
  const kind = parentBased ? name.slice("parentbased_".length) : name
  if (kind === "always_on") return { ratio: 1, parentBased }
  if (kind === "always_off") return { ratio: 0, parentBased }
  if (kind !== "traceidratio") {
    return `OTEL_TRACES_SAMPLER=${env.OTEL_TRACES_SAMPLER} is not supported: use [parentbased_]always_on, always_off or traceidratio`
  }
  const ratio = env.OTEL_TRACES_SAMPLER_ARG === undefined ? 1 : Number(env.OTEL_TRACES_SAMPLER_ARG)
  if (!(ratio >= 0 && ratio <= 1)) return `OTEL_TRACES_SAMPLER_ARG=${env.OTEL_TRACES_SAMPLER_ARG} is not a ratio between 0 and 1`
  return { ratio, parentBased }
}

/**
 * `tracer` with `sampler` deciding which spans are exported (`sampled`); spans under a span
 * inherit its decision, as in Effect. `random` draws in [0, 1). The draw is per trace, not a
 * hash of the trace id: this tracer never sees the id before the span exists.
 */
export const withSampler = (tracer: Tracer.Tracer, sampler: Sampler, random: () => number = Math.random): Tracer.Tracer =>
  sampler.ratio >= 1 && sampler.parentBased ? tracer : Tracer.make({
    span(options) {
      const parent = Option.getOrUndefined(options.parent)
      const draw = () => sampler.ratio > 0 && random() < sampler.ratio
      // Under a span of ours, Effect has already carried the parent's decision into `sampled`.
      const sampled = parent === undefined
        ? options.sampled && draw()
        : parent._tag === "ExternalSpan" && !sampler.parentBased
        ? draw()
        : options.sampled
      return tracer.span({ ...options, sampled })
    },
    ...(tracer.context !== undefined ? { context: tracer.context } : {})
  })

/** Reads the OTel environment through `Config` (so tests can supply their own) and resolves it. */
export const settings: Effect.Effect<Settings> = Effect.map(
  Effect.forEach(variables, (name) =>
    // Unset (or unreadable) is the same as empty: the default applies.
    Effect.map(Effect.result(Config.String(name)), (value) =>
      [name, Result.isSuccess(value) ? value.success.trim() || undefined : undefined] as const)),
  (entries) => resolve(Object.fromEntries(entries))
)

/** The routes that are never traced: probes and scrapes would drown the traces that matter. */
export const untracedUrls = ["/health/liveness", "/health/readiness", "/metrics"]

const namedRoutes = new Set(["/v1/chat/completions", "/chat/completions", "/v1/models", "/models"])

/**
 * Server spans are named `{method} {route}`, as the HTTP conventions recommend; a path that
 * is no route of ours stays just `{method}`, so a scan of random URLs cannot mint span names.
 */
const spanName = (request: HttpServerRequest.HttpServerRequest): string => {
  const path = request.url.split("?")[0] ?? ""
  return namedRoutes.has(path) ? `${request.method} ${path}` : request.method
}

/** The tracer for `settings`, or nothing. Spans are flushed when the layer is released (shutdown). */
export const layer = (settings: Settings): Layer.Layer<OtlpExporter.Flusher> =>
  settings._tag !== "Otlp" ? OtlpExporter.layerFlusher : Layer.effect(
    Tracer.Tracer,
    Effect.map(
      OtlpTracer.make({ url: settings.url, resource: { serviceName: settings.serviceName }, headers: settings.headers }),
      (tracer) => withSampler(tracer, settings.sampler)
    )
  ).pipe(
    Layer.provideMerge(OtlpExporter.layerFlusher),
    Layer.provide(settings.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.merge(HttpMiddleware.layerTracerDisabledForUrls(untracedUrls)),
    Layer.merge(Layer.succeed(HttpMiddleware.SpanNameGenerator, spanName))
  )

/** One line for start-up: where traces go, or why they do not. */
export const describe = (settings: Settings): string | undefined => {
  switch (settings._tag) {
    case "Off":
      return undefined
    case "Unsupported":
      return `tracing off: ${settings.reason}`
    case "Otlp":
      return `tracing: OTLP ${settings.protocol} to ${settings.url} as service "${settings.serviceName}"`
  }
}

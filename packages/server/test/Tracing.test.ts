/**
 * Reading the OTel environment: what turns tracing on, where spans go, and what is refused
 * with a reason rather than silently ignored.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Tracer } from "effect"
import { RecordingTracer } from "@llm-router/testing"
import * as Tracing from "../src/Tracing.ts"

describe("Tracing.resolve", () => {
  it("is off without an endpoint, or when the SDK or the traces exporter is switched off", () => {
    assert.deepStrictEqual(Tracing.resolve({}), { _tag: "Off" })
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }
    assert.deepStrictEqual(Tracing.resolve({ ...endpoint, OTEL_SDK_DISABLED: "TRUE" }), { _tag: "Off" })
    assert.deepStrictEqual(Tracing.resolve({ ...endpoint, OTEL_TRACES_EXPORTER: "none" }), { _tag: "Off" })
  })

  it("sends to the general endpoint's /v1/traces, or to the traces endpoint as given", () => {
    const general = Tracing.resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })
    assert.deepStrictEqual(general, {
      _tag: "Otlp",
      url: "http://collector:4318/v1/traces",
      protocol: "http/protobuf",
      headers: {},
      serviceName: "llm-router",
      sampler: { ratio: 1, parentBased: true }
    })
    const specific = Tracing.resolve({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/custom",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20abc, x-team = llm",
      OTEL_SERVICE_NAME: "gateway-eu"
    })
    assert.deepStrictEqual(specific, {
      _tag: "Otlp",
      url: "https://traces.example/custom",
      protocol: "http/json",
      headers: { authorization: "Bearer abc", "x-team": "llm" },
      serviceName: "gateway-eu",
      sampler: { ratio: 1, parentBased: true }
    })
  })

  it("refuses what it cannot do, saying what to change", () => {
    const grpc = Tracing.resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })
    assert.strictEqual(grpc._tag, "Unsupported")
    assert.include(Tracing.describe(grpc)!, "http/protobuf or http/json")
    const zipkin = Tracing.resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_TRACES_EXPORTER: "zipkin" })
    assert.strictEqual(zipkin._tag, "Unsupported")
    const notHttp = Tracing.resolve({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector:4318" })
    assert.strictEqual(notHttp._tag, "Unsupported")
  })

  it("reads the spec's samplers", () => {
    const sampler = (OTEL_TRACES_SAMPLER?: string, OTEL_TRACES_SAMPLER_ARG?: string) => {
      const settings = Tracing.resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG })
      return settings._tag === "Otlp" ? settings.sampler : settings._tag === "Unsupported" ? settings.reason : settings._tag
    }
    assert.deepStrictEqual(sampler("parentbased_traceidratio", "0.1"), { ratio: 0.1, parentBased: true })
    assert.deepStrictEqual(sampler("traceidratio", "0.25"), { ratio: 0.25, parentBased: false })
    assert.deepStrictEqual(sampler("always_off"), { ratio: 0, parentBased: false })
    assert.deepStrictEqual(sampler("parentbased_always_on"), { ratio: 1, parentBased: true })
    assert.include(sampler("traceidratio", "1.5"), "not a ratio")
    assert.include(sampler("jaeger_remote"), "not supported")
  })

  it.effect("reads the variables through Config, blank counting as unset", () =>
    Effect.gen(function*() {
      const settings = yield* Tracing.settings.pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({
          env: { OTEL_EXPORTER_OTLP_ENDPOINT: " http://127.0.0.1:4318 ", OTEL_SERVICE_NAME: "  " }
        })))
      )
      assert.deepStrictEqual(settings, {
        _tag: "Otlp",
        url: "http://127.0.0.1:4318/v1/traces",
        protocol: "http/protobuf",
        headers: {},
        serviceName: "llm-router",
        sampler: { ratio: 1, parentBased: true }
      })
    }))
})

describe("Tracing.withSampler", () => {
  const recorder = () => {
    const { spans: made, tracer } = RecordingTracer.make()
    return { made, tracer }
  }
  const trace = (tracer: Tracer.Tracer) =>
    Effect.runSync(
      Effect.withSpan(Effect.withSpan(Effect.void, "child"), "root").pipe(Effect.provideService(Tracer.Tracer, tracer))
    )

  it("keeps the share of new traces the ratio says, each trace whole", () => {
    const draws = [0.05, 0.5, 0.09, 0.95]
    const { made, tracer } = recorder()
    const sampled = Tracing.withSampler(tracer, { ratio: 0.1, parentBased: true }, () => draws.shift()!)
    for (let i = 0; i < 4; i++) trace(sampled)
    // Two traces drew under 0.1: their roots and children are kept; the others are not.
    assert.deepStrictEqual(made.map((s) => `${s.name}:${s.sampled}`), [
      "root:true",
      "child:true",
      "root:false",
      "child:false",
      "root:true",
      "child:true",
      "root:false",
      "child:false"
    ])
  })

  it("follows a caller's decision when parent-based, and draws anew for a remote parent otherwise", () => {
    const remote = (sampled: boolean) => Tracer.externalSpan({ traceId: "a".repeat(32), spanId: "b".repeat(16), sampled })
    const under = (tracer: Tracer.Tracer, parent: Tracer.AnySpan) =>
      Effect.runSync(Effect.withSpan(Effect.void, "server", { parent }).pipe(Effect.provideService(Tracer.Tracer, tracer)))
    const parentBased = recorder()
    const never = () => 0.99
    under(Tracing.withSampler(parentBased.tracer, { ratio: 0.1, parentBased: true }, never), remote(true))
    under(Tracing.withSampler(parentBased.tracer, { ratio: 1, parentBased: true }, never), remote(false))
    assert.deepStrictEqual(parentBased.made.map((s) => s.sampled), [true, false])
    const ratioOnly = recorder()
    under(Tracing.withSampler(ratioOnly.tracer, { ratio: 0.1, parentBased: false }, never), remote(true))
    under(Tracing.withSampler(ratioOnly.tracer, { ratio: 0.1, parentBased: false }, () => 0.01), remote(false))
    assert.deepStrictEqual(ratioOnly.made.map((s) => s.sampled), [false, true])
  })
})

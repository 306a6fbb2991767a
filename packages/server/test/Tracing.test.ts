/**
 * Reading the OTel environment: what turns tracing on, where spans go, and what is refused
 * with a reason rather than silently ignored.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
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
      serviceName: "llm-router"
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
      serviceName: "gateway-eu"
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
        serviceName: "llm-router"
      })
    }))
})

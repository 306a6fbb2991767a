import { assert, describe, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { HttpClient, type HttpClientError, HttpClientRequest, HttpClientResponse } from "effect/http"
import * as StreamingHttp from "../src/StreamingHttp.ts"

/** A stock client (`HttpClient.make`) that answers at once and keeps the abort signal of each call. */
const stockClient = () => {
  const signals: Array<AbortSignal> = []
  const client = HttpClient.make((request, _url, signal) => {
    signals.push(signal)
    return Effect.succeed(HttpClientResponse.fromWeb(request, new Response("ok")))
  })
  return { client, signals }
}

const call = <R extends Scope.Scope>(client: HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>) =>
  Effect.scoped(Effect.flatMap(client.execute(HttpClientRequest.get("http://127.0.0.1:1/x")), (r) => r.text))

describe("StreamingHttp.forStreams", () => {
  it.effect("an unmarked client gets withScope: closing the call's scope aborts its request", () =>
    Effect.gen(function*() {
      const { client, signals } = stockClient()
      const streaming = StreamingHttp.forStreams(client)
      assert.notStrictEqual<unknown>(streaming, client)
      assert.strictEqual(yield* call(streaming), "ok")
      assert.isTrue(signals[0]?.aborted)
      // Without it, the stock client leaves a finished call's signal alone.
      assert.strictEqual(yield* call(client), "ok")
      assert.isFalse(signals[1]?.aborted)
    }))

  it.effect("a marked client is used as it is; a combinator's new client is unmarked again", () =>
    Effect.gen(function*() {
      const { client, signals } = stockClient()
      const marked = StreamingHttp.markAbortsWhenBodyStreamCloses(client)
      assert.isTrue(StreamingHttp.abortsWhenBodyStreamCloses(marked))
      assert.strictEqual<unknown>(StreamingHttp.forStreams(marked), marked)
      assert.strictEqual(yield* call(StreamingHttp.forStreams(marked)), "ok")
      assert.isFalse(signals[0]?.aborted)

      const transformed = HttpClient.mapRequest(marked, HttpClientRequest.setHeader("x-extra", "1"))
      assert.isFalse(StreamingHttp.abortsWhenBodyStreamCloses(transformed))
      assert.notStrictEqual<unknown>(StreamingHttp.forStreams(transformed), transformed)
    }))
})

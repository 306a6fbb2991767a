/**
 * `UpstreamLog.logFailures`: every call a deployment's client makes that fails is logged once at
 * warn level, token counts included (the router answers a failed count with its estimate, so the
 * client never sees that failure: the log is the only trace of it).
 */
import { assert, describe, it } from "@effect/vitest"
import { type Deployment, LlmError, type LlmClient } from "@llm-router/core"
import { UpstreamLog } from "@llm-router/server"
import { Effect, Logger, Stream } from "effect"

const claude: Deployment.Deployment = { id: "claude-main", group: "claude", provider: "anthropic", model: "claude-sonnet-4-5", tags: [], params: {} }

const overloaded = new LlmError.ServiceUnavailable({ provider: "anthropic", deployment: "claude-main", status: 529, message: "Overloaded" })

const failing: LlmClient.Service = {
  chat: () => Effect.fail(overloaded),
  stream: () => Stream.fail(overloaded),
  countTokens: () => Effect.fail(overloaded)
}

/** The warnings `effect` logs. */
const warnings = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const logs: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      logs.push(`${logLevel}: ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
    })
    yield* Effect.exit(Effect.provideService(effect, Logger.CurrentLoggers, new Set([logger])))
    return logs
  })

describe("UpstreamLog.logFailures", () => {
  it.effect("logs a failed token count, as it logs a failed chat", () =>
    Effect.gen(function*() {
      const client = yield* UpstreamLog.logFailures(() => Effect.succeed(failing))(claude)
      const ask = { model: "claude", messages: [{ role: "user" as const, content: "hi" }] }
      const line = "Warn: llm-router: upstream call failed: deployment=claude-main provider=anthropic error=ServiceUnavailable status=529"
      assert.deepStrictEqual(yield* warnings(client.chat(ask)), [line])
      assert.isDefined(client.countTokens)
      const error = yield* Effect.flip(client.countTokens!(ask))
      assert.strictEqual(error, overloaded, "the failure passes through unchanged")
      assert.deepStrictEqual(yield* warnings(client.countTokens!(ask)), [line])
    }))

  it.effect("adds no countTokens to a client that has none", () =>
    Effect.gen(function*() {
      const { countTokens: _, ...plain } = failing
      const client = yield* UpstreamLog.logFailures(() => Effect.succeed(plain))(claude)
      assert.isUndefined(client.countTokens)
    }))
})

/**
 * A call's in-flight count is given back on every exit of its attempt: success, failure,
 * interruption and a defect (an adapter that crashes), for chats and for streams. Otherwise
 * `least-busy` would avoid the deployment for good.
 */
import { assert, describe, it } from "@effect/vitest"
import type { LlmClient } from "@llm-router/core"
import { Router, RouterConfig, RouterState } from "@llm-router/core"
import { Effect, Exit, Stream } from "effect"
import { deployment, request } from "./Fixture.ts"

const crashing: LlmClient.Service = {
  chat: () => Effect.die(new Error("the adapter crashed")),
  stream: () => Stream.die(new Error("the adapter crashed"))
}

const routerOver = (client: LlmClient.Service) =>
  Effect.gen(function*() {
    const config = yield* RouterConfig.decode({ model_list: [deployment("gpt", "a")], num_retries: 2 })
    const state = yield* RouterState.makeMemory
    const router = yield* Router.make(config, () => Effect.succeed(client)).pipe(
      Effect.provideService(RouterState.RouterState, state)
    )
    const inFlight = Effect.map(state.snapshot(["a"]), (s) => s.stats.get("a")?.inFlight ?? 0)
    return { router, inFlight }
  })

describe("in-flight calls", () => {
  it.effect("a defect in a chat attempt gives its in-flight count back", () =>
    Effect.gen(function*() {
      const { router, inFlight } = yield* routerOver(crashing)
      const exit = yield* Effect.exit(router.chat(request()))
      assert.isTrue(Exit.isFailure(exit) && !Exit.hasFails(exit), "the defect reaches the caller as a defect")
      assert.strictEqual(yield* inFlight, 0)
    }))

  it.effect("a defect while opening a stream gives its in-flight count back", () =>
    Effect.gen(function*() {
      const { router, inFlight } = yield* routerOver(crashing)
      const exit = yield* Effect.exit(Stream.runDrain(router.stream(request())))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(yield* inFlight, 0)
    }))
})

/**
 * Test fixture for router tests: a router over simulated providers, built from a LiteLLM
 * config, with one call log across all deployments and helpers to run requests on
 * TestClock. Each harness has its own in-memory `RouterState`, so tests never share state.
 */
import { assert } from "@effect/vitest"
import type { Chat, Deployment } from "@llm-router/core"
import { LlmClient, LlmError, Router, RouterConfig, RouterState } from "@llm-router/core"
import { SimulatedProvider } from "@llm-router/testing"
import { Cause, Clock, Duration, Effect, Exit, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"

/** A `model_list` entry with a readable id (`model_info.id`). */
export const deployment = (
  group: string,
  id: string,
  params: Record<string, unknown> = {},
  info: Record<string, unknown> = {}
) => ({ model_name: group, litellm_params: { model: `openai/${id}`, ...params }, model_info: { id, ...info } })

export const request = (model = "gpt", content = "hi", extra: Partial<Chat.ChatRequest> = {}): Chat.ChatRequest => ({
  model,
  messages: [{ role: "user", content }],
  ...extra
})

export interface LoggedCall {
  readonly deployment: string
  readonly group: string
  readonly at: number
  readonly streaming: boolean
}

export type Behaviour = Omit<SimulatedProvider.Options, "deployment">

export interface Harness {
  readonly router: LlmClient.Service
  readonly state: RouterState.Service
  readonly config: RouterConfig.RouterConfig
  readonly sims: ReadonlyMap<string, SimulatedProvider.SimulatedProvider>
  /** Every call the router made, in order, across deployments. */
  readonly log: ReadonlyArray<LoggedCall>
  readonly callsTo: (deployment: string) => number
  /** Deployment ids called, in order. */
  readonly order: () => ReadonlyArray<string>
}

/** Builds a router from `input` (a LiteLLM config) over one simulated provider per deployment. */
export const harness = (
  input: Record<string, unknown>,
  behaviours: Record<string, Behaviour> = {},
  options?: Router.Options
) =>
  Effect.gen(function*() {
    const config = yield* RouterConfig.decode(input)
    const state = yield* RouterState.makeMemory
    const log: Array<LoggedCall> = []
    const sims = new Map<string, SimulatedProvider.SimulatedProvider>()
    for (const d of config.deployments) {
      sims.set(d.id, yield* SimulatedProvider.make({ deployment: d.id, group: d.group, ...behaviours[d.id] }))
    }
    const logged = (sim: SimulatedProvider.SimulatedProvider, group: string): LlmClient.Service => ({
      chat: (req) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) => {
          log.push({ deployment: sim.deployment, group, at, streaming: false })
          return sim.chat(req)
        }),
      stream: (req) =>
        Stream.unwrap(Effect.map(Clock.currentTimeMillis, (at) => {
          log.push({ deployment: sim.deployment, group, at, streaming: true })
          return sim.stream(req)
        }))
    })
    const router = yield* Router.make(config, (d) => Effect.succeed(logged(sims.get(d.id)!, d.group)), options).pipe(
      Effect.provideService(RouterState.RouterState, state)
    )
    const harness: Harness = {
      router,
      state,
      config,
      sims,
      log,
      callsTo: (id) => log.filter((c) => c.deployment === id).length,
      order: () => log.map((c) => c.deployment)
    }
    return harness
  })

/**
 * Runs `effect` in a fiber while TestClock advances by `advance` (every sleep in that window
 * fires in order), and returns its exit. Dies when the effect is still running afterwards,
 * so a hang shows up as a failed test rather than a timeout.
 */
export const onClock = <A, E>(effect: Effect.Effect<A, E>, advance: Duration.Input = "1 hour") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    yield* TestClock.adjust(advance)
    if (fiber.pollUnsafe() === undefined) {
      yield* Fiber.interrupt(fiber)
      return yield* Effect.die(new Error(`still running after ${Duration.format(Duration.fromInputUnsafe(advance))}`))
    }
    return yield* Fiber.await(fiber)
  })

/** Like `onClock`, for an effect that must succeed. */
export const succeedOnClock = <A, E>(effect: Effect.Effect<A, E>, advance?: Duration.Input) =>
  Effect.flatMap(onClock(effect, advance), (exit) => {
    if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
    return Effect.die(new Error(`expected success, got ${Cause.pretty(exit.cause)}`))
  })

/** Like `onClock`, for an effect that must fail with an `LlmError`: returns the error. */
export const failOnClock = <A>(effect: Effect.Effect<A, LlmError.LlmError>, advance?: Duration.Input) =>
  Effect.flatMap(onClock(effect, advance), (exit) => {
    if (Exit.isSuccess(exit)) return Effect.die(new Error(`expected a failure, got ${JSON.stringify(exit.value)}`))
    const error = Cause.findErrorOption(exit.cause)
    if (error._tag === "None") return Effect.die(new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`))
    return Effect.succeed(error.value)
  })

/** What a stream produced before it ended, and how it ended. */
export interface Streamed {
  readonly parts: ReadonlyArray<LlmClient.StreamPart>
  readonly error: LlmError.LlmError | undefined
}

/** Collects a stream's parts on TestClock, keeping those emitted before a failure. */
export const collectStream = (stream: Stream.Stream<LlmClient.StreamPart, LlmError.LlmError>, advance?: Duration.Input) =>
  Effect.gen(function*() {
    const parts: Array<LlmClient.StreamPart> = []
    const exit = yield* onClock(Stream.runForEach(stream, (part) => Effect.sync(() => parts.push(part))), advance)
    if (Exit.isSuccess(exit)) return { parts, error: undefined } satisfies Streamed
    const error = Cause.findErrorOption(exit.cause)
    if (error._tag === "None") return yield* Effect.die(new Error(`stream died: ${Cause.pretty(exit.cause)}`))
    return { parts, error: error.value } satisfies Streamed
  })

/** The text of the chunks after the last `Restarted` part. */
export const streamedText = (parts: ReadonlyArray<LlmClient.StreamPart>): string => {
  let text = ""
  for (const part of parts) {
    if (part._tag === "Restarted") text = ""
    if (part._tag === "Chunk") for (const c of part.chunk.choices) text += c.delta.content ?? ""
  }
  return text
}

export const assertTag = (error: LlmError.LlmError | undefined, tag: LlmError.Tag) =>
  assert.strictEqual(error?._tag, tag, `expected ${tag}, got ${error?._tag}: ${error?.message}`)

export const DEFAULT_TEXT = "Hello from a simulated provider."

export { SimulatedProvider }

/** A deployment value of group "g" as the config decoder makes one, for strategy tests that need no router. */
export const bareDeployment = (id: string, fields: Partial<Deployment.Deployment> = {}): Deployment.Deployment => ({
  id,
  group: "g",
  provider: "openai",
  model: `model-${id}`,
  tags: [],
  params: {},
  ...fields
})

/** The stats of a deployment nothing has happened to. */
export const idleStats: RouterState.DeploymentStats = { cooldownUntil: 0, inFlight: 0, requestsThisMinute: 0, tokensThisMinute: 0, recentFailures: 0 }

/**
 * A chat completion through the router: the operation a chat performs on a deployment (the
 * call under its timeout, an answer with no choice turned into an upstream failure, a content-filtered answer turned into a policy violation when a
 * chain can act on it, the success recorded) and the route it reports. The success path is
 * `flatMap`s rather than `Effect.gen`, as every request takes it: a generator costs about a
 * microsecond per run. The clock and the fiber are read once, and each step reads them where it
 * runs (a `Clock.currentTimeMillis` or `Metric.update` would be steps of their own).
 */
import { Clock, Effect, type Fiber, Result, type Tracer } from "effect"
import type { ChatRequest } from "../Chat.ts"
import type * as LlmClient from "../LlmClient.ts"
import * as LlmError from "../LlmError.ts"
import * as ProviderError from "../ProviderError.ts"
import * as RouterMetrics from "../RouterMetrics.ts"
import * as RouterTracing from "../RouterTracing.ts"
import type { ComplexityRoute } from "../RouteInfo.ts"
import * as TokenEstimate from "../TokenEstimate.ts"
import * as ComplexityRouting from "./ComplexityRouting.ts"
import { admit, newRun } from "./Admission.ts"
import { servedWhole, underRequestTimeout } from "./Calls.ts"
import type { Engine } from "./Engine.ts"
import { contentFilterSelectsFallback, route } from "./Fallbacks.ts"
import * as MockResponse from "./MockResponse.ts"
import { observed } from "./Observed.ts"
import type { Run } from "./Run.ts"

export const chat = (engine: Engine, request: ChatRequest): Effect.Effect<LlmClient.Completion, LlmError.LlmError> =>
  chatRouted(engine, request).pipe(Effect.tapError((error) => RouterMetrics.recordRequestFailure(ComplexityRouting.metricGroup(engine, request.model), error, false)))

const chatRouted = (engine: Engine, asked: ChatRequest): Effect.Effect<LlmClient.Completion, LlmError.LlmError> =>
  ComplexityRouting.onGroup(engine, asked, (group, complexity) => chatOn(engine, asked, group, complexity))

const chatOn = (
  engine: Engine,
  asked: ChatRequest,
  group: string,
  complexity: ComplexityRoute | undefined
): Effect.Effect<LlmClient.Completion, LlmError.LlmError> =>
  withRun(engine, asked, group, complexity, false, (run, fiber, clock) => routeChat(engine, run, fiber, clock), (span, routed) => engine.spans.completion(span, routed))

/**
 * The run of `asked` on `group` (its per-request overrides taken off), given to `go`; with
 * `traced` and tracing on, under the request's span (`traced` adds what the answer says).
 */
export const withRun = <A>(
  engine: Engine,
  asked: ChatRequest,
  group: string,
  complexity: ComplexityRoute | undefined,
  streaming: boolean,
  go: (run: Run<ChatRequest>, fiber: Fiber.Fiber<unknown, unknown>, clock: Clock.Clock) => Effect.Effect<A, LlmError.LlmError>,
  traced?: (span: Tracer.Span, routed: Effect.Effect<A, LlmError.LlmError>) => Effect.Effect<A, LlmError.LlmError>
): Effect.Effect<A, LlmError.LlmError> => {
  // A chat group only (an embedding group refuses chats and other operations alike); LiteLLM's
  // per-request overrides taken off.
  const admitted = admit(engine, group, "chat", asked)
  if (Result.isFailure(admitted)) return Effect.fail(admitted.failure)
  const [request, overrides] = admitted.success
  return Effect.withFiber((fiber) => {
    const clock = fiber.getRef(Clock.Clock)
    if (traced === undefined || !RouterTracing.enabled(fiber)) {
      const run = newRun(engine, fiber, request, group, streaming, clock.currentTimeMillisUnsafe(), undefined, TokenEstimate.ofRequest, overrides, complexity)
      return go(run, fiber, clock)
    }
    return Effect.flatMap(engine.spans.request(request, streaming), (span) => {
      const run = newRun(engine, fiber, request, group, streaming, clock.currentTimeMillisUnsafe(), span, TokenEstimate.ofRequest, overrides, complexity)
      return traced(span, go(run, fiber, clock))
    })
  })
}

const routeChat = (
  engine: Engine,
  run: Run<ChatRequest>,
  fiber: Fiber.Fiber<unknown, unknown>,
  clock: Clock.Clock
): Effect.Effect<LlmClient.Completion, LlmError.LlmError> =>
  Effect.flatMap(
    route(engine, run, (d, inFlight) => {
      // Made when the attempt starts (see `AttemptLoop`).
      const began = clock.currentTimeMillisUnsafe()
      const mock = run.overrides?.mockResponse
      const client = mock === undefined ? engine.clients.get(d.id)! : MockResponse.client(d, mock)
      const call = underRequestTimeout(engine, run, d, client.chat(run.request)).pipe(
        Effect.flatMap((completion) => {
          if (completion.response.choices.length === 0) {
            return Effect.fail(ProviderError.emptyAnswer(d.provider, d.id, "no choices"))
          }
          if (
            completion.response.choices.some((c) => c.finish_reason === "content_filter") &&
            contentFilterSelectsFallback(engine, d.group)
          ) {
            return Effect.fail(
              new LlmError.ContentPolicyViolation({
                provider: d.provider,
                deployment: d.id,
                status: 200,
                message: `${d.id} answered with finish_reason "content_filter"`
              })
            )
          }
          const latencyMs = clock.currentTimeMillisUnsafe() - began
          return inFlight.answered(completion, { latencyMs, tokens: completion.response.usage?.total_tokens ?? 0 })
        })
      )
      // A mock answer says nothing of the deployment's latency.
      if (mock !== undefined) return call
      return observed(engine.latency, d.id, false, began, call, (completion, now) => ({
        latencyMs: now - began,
        outputTokens: completion.response.usage?.completion_tokens
      }))
    }),
    (served) =>
      Effect.succeed({
        response: served.value.response,
        route: servedWhole(engine, run, served, served.value.response.usage, fiber, clock.currentTimeMillisUnsafe())
      })
  )

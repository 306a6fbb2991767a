/**
 * Another kind of call through the router (a native Responses call, say): on each attempt, an
 * `LlmClient.Operation` gets the deployment picked and its client, and whatever it returns is
 * served under the same selection, attempt loop, retries, cooldowns, fallbacks, budgets and
 * metrics as a chat (`Completion.ts`). A chat request stands for the call when routing (its
 * group, size estimate, tags, session and per-request overrides).
 */
import { Clock, Effect, type Fiber } from "effect"
import type { ChatRequest } from "../Chat.ts"
import type * as LlmClient from "../LlmClient.ts"
import * as LlmError from "../LlmError.ts"
import * as RouterMetrics from "../RouterMetrics.ts"
import { withRun } from "./Completion.ts"
import * as ComplexityRouting from "./ComplexityRouting.ts"
import { servedWhole, underRequestTimeout } from "./Calls.ts"
import type { Engine } from "./Engine.ts"
import { contentFilterSelectsFallback, route } from "./Fallbacks.ts"
import * as MockResponse from "./MockResponse.ts"
import { observed } from "./Observed.ts"
import type { Run } from "./Run.ts"

/** A served operation, with what its answer said of itself (for its request span). */
interface Answered<A> extends LlmClient.Operated<A> {
  readonly answered: LlmClient.Described
}

export const operate = <A>(
  engine: Engine,
  request: ChatRequest,
  operation: LlmClient.Operation<A>
): Effect.Effect<LlmClient.Operated<A>, LlmError.LlmError> =>
  ComplexityRouting.onGroup(engine, request, (group, complexity) =>
    withRun(
      engine,
      request,
      group,
      complexity,
      false,
      (run, fiber, clock) => routeOperation(engine, run, fiber, clock, operation),
      (span, routed) => engine.spans.operated(span, routed)
    )).pipe(
      // What the answer said of itself was for the span only.
      Effect.map(({ route, value }): LlmClient.Operated<A> => ({ value, route })),
      Effect.tapError((error) => RouterMetrics.recordRequestFailure(ComplexityRouting.metricGroup(engine, request.model), error, false))
    )

const routeOperation = <A>(
  engine: Engine,
  run: Run<ChatRequest>,
  fiber: Fiber.Fiber<unknown, unknown>,
  clock: Clock.Clock,
  operation: LlmClient.Operation<A>
): Effect.Effect<Answered<A>, LlmError.LlmError> =>
  Effect.flatMap(
    route(engine, run, (d, inFlight) => {
      // Made when the attempt starts (see `AttemptLoop`).
      const began = clock.currentTimeMillisUnsafe()
      const mock = run.overrides?.mockResponse
      const client = mock === undefined ? engine.clients.get(d.id)! : MockResponse.client(d, mock)
      const call = Effect.flatMap(underRequestTimeout(engine, run, d, operation(d, client, run.request)), (answer) =>
        // A filtered answer selects the content-policy chain, as a chat's does (see `Completion`).
        answer.contentFiltered === true && contentFilterSelectsFallback(engine, d.group)
          ? Effect.fail(
            new LlmError.ContentPolicyViolation({
              provider: d.provider,
              deployment: d.id,
              status: 200,
              message: `${d.id} answered that its content was filtered`
            })
          )
          : inFlight.answered(answer, { latencyMs: clock.currentTimeMillisUnsafe() - began, tokens: answer.usage?.total_tokens ?? 0 }))
      return observed(engine.latency, d.id, false, began, call, (answer, now) => ({
        latencyMs: now - began,
        outputTokens: answer.usage?.completion_tokens
      }))
    }),
    (served) =>
      Effect.succeed({
        value: served.value.value,
        answered: served.value,
        route: servedWhole(engine, run, served, served.value.usage, fiber, clock.currentTimeMillisUnsafe())
      })
  )

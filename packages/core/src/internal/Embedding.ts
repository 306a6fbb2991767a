/**
 * Embeddings through the router: the operation an embeddings request performs on a deployment
 * (the call under its timeout, the success recorded) and the route it reports, over the same
 * attempt loop, fallbacks, cooldowns, budgets and metrics as a chat. Only embedding groups
 * (`model_info.mode: embedding`) take it; a chat group asked for embeddings, and an embedding
 * group asked to chat (`Engine.modeRefusal`), is a `BadRequest` naming the group's kind.
 */
import { Clock, Effect, type Fiber, Result } from "effect"
import type * as EmbeddingClient from "../EmbeddingClient.ts"
import * as Embeddings from "../Embeddings.ts"
import * as LlmError from "../LlmError.ts"
import * as RouterMetrics from "../RouterMetrics.ts"
import * as TokenEstimate from "../TokenEstimate.ts"
import { admit, newRun } from "./Admission.ts"
import { servedWhole, underRequestTimeout } from "./Calls.ts"
import { type Engine, resolveGroup, unknownModel } from "./Engine.ts"
import { route } from "./Fallbacks.ts"
import type { Run } from "./Run.ts"

/** The input a request's context-window check weighs: its longest input (each input is embedded on its own). */
const largestInput = (request: Embeddings.EmbeddingRequest): number =>
  Math.max(...Embeddings.inputsOf(request.input).map((item) => (typeof item === "string" ? TokenEstimate.ofText(item) : item.length)))

export const embed = (engine: Engine, request: Embeddings.EmbeddingRequest): Effect.Effect<EmbeddingClient.Embedded, LlmError.LlmError> =>
  embedRouted(engine, request).pipe(
    Effect.tapError((error) => RouterMetrics.recordRequestFailure(resolveGroup(engine, request.model), error, false))
  )

const embedRouted = (engine: Engine, asked: Embeddings.EmbeddingRequest): Effect.Effect<EmbeddingClient.Embedded, LlmError.LlmError> => {
  const group = resolveGroup(engine, asked.model)
  if (group === undefined) return Effect.fail(unknownModel(engine, asked))
  // An embedding group only; LiteLLM's per-request overrides (`timeout`, `num_retries`, `fallbacks`) taken off, as on chat.
  const admitted = admit(engine, group, "embedding", asked)
  if (Result.isFailure(admitted)) return Effect.fail(admitted.failure)
  const [request, overrides] = admitted.success
  return Effect.withFiber((fiber) => {
    const clock = fiber.getRef(Clock.Clock)
    const run = newRun(engine, fiber, request, group, false, clock.currentTimeMillisUnsafe(), undefined, largestInput, overrides)
    return routeEmbedding(engine, run, fiber, clock)
  })
}

const routeEmbedding = (
  engine: Engine,
  run: Run<Embeddings.EmbeddingRequest>,
  fiber: Fiber.Fiber<unknown, unknown>,
  clock: Clock.Clock
): Effect.Effect<EmbeddingClient.Embedded, LlmError.LlmError> =>
  Effect.flatMap(
    route(engine, run, (d, inFlight) => {
      const client = engine.embeddingClients.get(d.id)
      if (client === undefined) {
        return Effect.fail(new LlmError.BadRequest({
          provider: d.provider,
          deployment: d.id,
          message: `No embeddings client for deployment "${d.id}" (provider ${d.provider})`
        }))
      }
      // Made when the attempt starts (see `AttemptLoop`).
      const began = clock.currentTimeMillisUnsafe()
      return underRequestTimeout(engine, run, d, client.embed(run.request)).pipe(
        Effect.flatMap((embedded) =>
          inFlight.answered(embedded, { latencyMs: clock.currentTimeMillisUnsafe() - began, tokens: embedded.response.usage.total_tokens })
        )
      )
    }),
    (served) =>
      Effect.succeed({
        response: served.value.response,
        route: servedWhole(engine, run, served, served.value.route.usage, fiber, clock.currentTimeMillisUnsafe())
      })
  )

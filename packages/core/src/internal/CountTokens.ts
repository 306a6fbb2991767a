/**
 * Counting a request's input tokens through a router (Anthropic's `count_tokens`): a side call,
 * not a completion, so it stays out of the attempt loop. The group is resolved as a chat's
 * would be, and its deployments filtered by the request's tags as a chat's are (with
 * `enable_tag_filtering`; no match is the chat's 400); of those, the healthy ones whose client
 * counts exactly (`LlmClient.countTokens`, a Claude deployment's) are asked one after another,
 * lowest `order` first, then config order, until one answers, within ten seconds in all; when
 * none can or none does, the count is the estimate the router's context-window check uses
 * (`TokenEstimate`). A 400 on the request itself is the answer, as for a chat.
 *
 * It reads the router's state but never writes it: no start, success, failure or latency
 * sample, nothing against rpm/tpm or budgets, no session pin, no served-request metric. A client
 * that counts before every message (Claude Code) would otherwise spend a deployment's rpm, reset
 * its failure count and skew latency routing with calls that serve nothing; and a group whose
 * deployments are all cooling still answers a count (the estimate), never a 429. A failed count
 * falls to the next deployment without cooling the one that failed (a count is not the traffic
 * cooldowns protect); the gateway logs it (`UpstreamLog`).
 */
import { Clock, Effect, Result } from "effect"
import type { ChatRequest } from "../Chat.ts"
import * as Deadline from "../Deadline.ts"
import type { Deployment } from "../Deployment.ts"
import type * as LlmClient from "../LlmClient.ts"
import type * as LlmError from "../LlmError.ts"
import * as Strategy from "../Strategy.ts"
import * as TokenEstimate from "../TokenEstimate.ts"
import { admit, newRun } from "./Admission.ts"
import { routeInfo, underRequestTimeout } from "./Calls.ts"
import * as ComplexityRouting from "./ComplexityRouting.ts"
import type { Engine } from "./Engine.ts"

export const count = (engine: Engine, asked: ChatRequest): Effect.Effect<LlmClient.Counted, LlmError.LlmError> =>
  ComplexityRouting.onGroup(engine, asked, (group, complexity) => {
    // A chat group only, its per-request override fields taken off, as for a chat.
    const admitted = admit(engine, group, "chat", asked)
    if (Result.isFailure(admitted)) return Effect.fail(admitted.failure)
    const [request, overrides] = admitted.success
    const estimate = Effect.sync((): LlmClient.Counted => ({ inputTokens: TokenEstimate.ofRequest(request), route: undefined }))
    // The deployments a chat of this request could reach: its tags as the router filters them
    // (a request tagged for one region is counted there, or refused as its chat would be).
    const members = engine.groups.get(group) ?? []
    const byTags: Strategy.Context = { snapshot: noSnapshot, streaming: false, random: 0, group, isFallback: false, tags: request.metadata?.tags }
    const tagged = engine.settings.enableTagFiltering ? Strategy.matchingTags(members, byTags) : members
    if (tagged.length === 0) return Effect.fail(Strategy.matchingTags.refusal(members, byTags))
    const counters = countersOf(engine, tagged)
    if (counters.length === 0) return estimate
    return Effect.withFiber((fiber) => {
      const clock = fiber.getRef(Clock.Clock)
      // A run for the call's time bound (the request's own `timeout`) and the route it reports.
      const run = newRun(engine, fiber, request, group, false, clock.currentTimeMillisUnsafe(), undefined, TokenEstimate.ofRequest, overrides, complexity)
      return Effect.flatMap(engine.state.snapshot(counters.map((d) => d.id)), (snapshot) => {
        const ready = Strategy.healthy(counters, { snapshot, streaming: false, random: 0, group })
        const from = (i: number): Effect.Effect<LlmClient.Counted, LlmError.LlmError> => {
          const d = ready[i]
          if (d === undefined) return estimate
          run.attempts++
          return underRequestTimeout(engine, run, d, engine.clients.get(d.id)!.countTokens!(request)).pipe(
            Effect.map((inputTokens): LlmClient.Counted => ({
              inputTokens,
              route: routeInfo(run, { deployment: d, group }, clock.currentTimeMillisUnsafe(), undefined)
            })),
            // The request's own fault (a 400 on it) is its answer, as a chat's would be; any other
            // failure is the deployment's, including a 404, 405 or 501 from a server that serves
            // messages but not counts: the next one counts.
            Effect.catchIf((error) => !(error._tag === "BadRequest" && error.status === 400), () => from(i + 1))
          )
        }
        // However the counters fare, a count answers within COUNT_WITHIN_MS (else the estimate).
        return Deadline.timeoutOrElse(from(0), COUNT_WITHIN_MS, () => estimate)
      })
    })
  }, false)

/** How long counting exactly may take before the estimate answers: a count is asked before a message, not instead of it. */
const COUNT_WITHIN_MS = 10_000

/** A snapshot for the tags filter, which reads no state. */
const noSnapshot = { now: 0, stats: new Map() } as const

/** The deployments among `members` whose client counts exactly, lowest `order` first (then config order). */
const countersOf = (engine: Engine, members: ReadonlyArray<Deployment>): ReadonlyArray<Deployment> =>
  members
    .filter((d) => engine.clients.get(d.id)?.countTokens !== undefined)
    .sort((a, b) => (a.order ?? Number.MAX_SAFE_INTEGER) - (b.order ?? Number.MAX_SAFE_INTEGER))

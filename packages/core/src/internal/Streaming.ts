/**
 * A streamed chat through the router. Opening a stream is the operation the attempt loop
 * performs: it reads a deployment's stream up to its first content chunk, holding back the
 * role-only preamble, so a failure until then fails over like any other attempt. After
 * content has gone out, a failure ends the stream, or with `stream_failure_policy: restart`
 * starts it again on another deployment (a `Restarted` part). The idle deadline guards each
 * deployment's pulls after its first content.
 *
 * The same machinery streams an operation of another kind (`operateStream`, a native Responses
 * stream say): its `StreamOperation` says how an attempt opens, which items are content and what
 * usage they report. Such a stream is never restarted: its items cannot be taken back.
 */
import { Cause, Channel, Clock, Effect, Exit, Pull, Scope, Stream } from "effect"
import * as Arr from "effect/Array"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { ChatChunk, ChatRequest, Usage } from "../Chat.ts"
import { chunkHasContent } from "../Chat.ts"
import * as Deadline from "../Deadline.ts"
import type { Deployment } from "../Deployment.ts"
import * as IdleDeadline from "../IdleDeadline.ts"
import type * as LlmClient from "../LlmClient.ts"
import * as LlmError from "../LlmError.ts"
import * as ProviderError from "../ProviderError.ts"
import * as RouterMetrics from "../RouterMetrics.ts"
import * as RouterTracing from "../RouterTracing.ts"
import { firstChunkTimeoutMs, type InFlight, idleTimeoutMs, recordFailure, routeInfo, spend } from "./Calls.ts"
import { withRun } from "./Completion.ts"
import type { Engine } from "./Engine.ts"
import * as ComplexityRouting from "./ComplexityRouting.ts"
import { fallBack, route } from "./Fallbacks.ts"
import * as MockResponse from "./MockResponse.ts"
import { observed } from "./Observed.ts"
import { addTo, resetChains, type Run, type Served } from "./Run.ts"

/**
 * `Stream.toPull` with its scope given, for a pull that one fiber reads in turn: without the
 * context merge and the semaphore `toPull` wraps around every pull (a copy of every service per
 * pull). A stream that fails while opening fails its first pull, as with `toPull`.
 */
const pullIn = <A, E>(
  stream: Stream.Stream<A, E>,
  scope: Scope.Scope
): Effect.Effect<Pull.Pull<NonEmptyReadonlyArray<A>, E>> =>
  Effect.catchCause(Channel.toPullScoped(stream.channel, scope), (cause) => Effect.succeed(Effect.failCause(cause)))

type Pulled<A> = Pull.Pull<NonEmptyReadonlyArray<LlmClient.Part<A>>, LlmError.LlmError>

/** What is streamed: an operation, what a span learns from its items, and whether it may restart. */
interface Kind<A> extends LlmClient.StreamOperation<A> {
  readonly observe: ((item: A, response: RouterTracing.ResponseAttributes) => void) | undefined
  readonly restartable: boolean
}

const chatStream: Kind<ChatChunk> = {
  open: (_, client, request) => client.stream(request),
  isContent: chunkHasContent,
  usageOf: (chunk) => chunk.usage,
  observe: (chunk, response) => response.observe(chunk),
  restartable: true
}

/** A deployment's stream, read up to its first content. */
interface Opened<A> {
  readonly pull: Pulled<A>
  readonly held: Array<A>
  /** The attempt's scope: closing it aborts the upstream call and gives back `inFlight` unless settled. */
  readonly scope: Scope.Closeable
  /** The deployment's in-flight count this attempt holds until the stream ends (`settle`d by its record). */
  readonly inFlight: InFlight
  readonly began: number
  readonly firstChunkAt: number
}

/**
 * Opens a stream on one deployment and reads it up to its first content chunk. The attempt's
 * scope is closed (aborting the upstream call) when the attempt fails. Once it opens, the
 * attempt's scope holds the in-flight count (released when it closes unless recorded first),
 * taken over in the same uninterruptible step that sees the success: whatever interrupts the
 * stream from then on, before or after `streamRun` has it, closes the scope and gives it back.
 */
const openStream = <A>(engine: Engine, run: Run<ChatRequest>, parent: Scope.Scope, kind: Kind<A>) => (d: Deployment, inFlight: InFlight): Effect.Effect<Opened<A>, LlmError.LlmError> =>
  Clock.clockWith((clock) => {
    const began = clock.currentTimeMillisUnsafe()
    const mock = run.overrides?.mockResponse
    const client = mock === undefined ? engine.clients.get(d.id)! : MockResponse.client(d, mock)
    return Effect.flatMap(Scope.fork(parent), (scope) => {
      const held: Array<A> = []
      const readToContent = (pull: Pulled<A>): Effect.Effect<{ pull: Pulled<A>; held: Array<A> }, LlmError.LlmError> =>
        Effect.flatMap(Pull.catchDone(pull, () => Effect.succeed(undefined)), (parts) => {
          if (parts === undefined) {
            // Ended before anything that counts as content (text, a tool call, a finish reason).
            return Effect.fail(ProviderError.emptyAnswer(d.provider, d.id, "the stream ended without content, a tool call or a finish reason"))
          }
          for (const part of parts) if (part._tag === "Chunk") held.push(part.chunk)
          return held.some(kind.isContent) ? Effect.succeed({ pull, held }) : readToContent(pull)
        })
      const timeoutMs = firstChunkTimeoutMs(engine, run, d)
      const opening = Effect.flatMap(pullIn(kind.open(d, client, run.request), scope), readToContent).pipe(
        Deadline.timeoutOrElse(timeoutMs, () =>
          Effect.fail(
            new LlmError.Timeout({
              provider: d.provider,
              deployment: d.id,
              phase: "first-chunk",
              message: `No content from ${d.id} within ${timeoutMs} ms`
            })
          )),
        Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Scope.addFinalizer(scope, inFlight.handOver()))),
        Effect.map((opened) => ({ ...opened, scope, inFlight, began, firstChunkAt: clock.currentTimeMillisUnsafe() }))
      )
      // A mock answer says nothing of the deployment's latency.
      if (mock !== undefined) return opening
      return observed(engine.latency, d.id, true, began, opening, (opened) => ({ latencyMs: opened.firstChunkAt - began }))
    })
  })

/** The run of a stream: its request span, when tracing is on, is ended by the stream itself (`streamRun`). */
const start = (engine: Engine, asked: ChatRequest): Effect.Effect<Run<ChatRequest>, LlmError.LlmError> =>
  ComplexityRouting.onGroup(engine, asked, (group, complexity) =>
    withRun(engine, asked, group, complexity, true, (run) => Effect.succeed(run), (_span, opened) => opened))

export const stream = (engine: Engine, request: ChatRequest): Stream.Stream<LlmClient.StreamPart, LlmError.LlmError> =>
  streamOf(engine, request, chatStream)

/** A streamed operation of another kind (see `LlmClient.operateStream`): never restarted. */
export const operateStream = <A>(
  engine: Engine,
  request: ChatRequest,
  operation: LlmClient.StreamOperation<A>
): Stream.Stream<LlmClient.Part<A>, LlmError.LlmError> =>
  streamOf(engine, request, {
    open: operation.open,
    isContent: operation.isContent,
    usageOf: operation.usageOf,
    observe: describeWith(operation.describe),
    restartable: false
  })

/** A span's reading of an operation's items, from what each says of the answer (if it says anything). */
const describeWith = <A>(describe: LlmClient.StreamOperation<A>["describe"]): Kind<A>["observe"] =>
  describe === undefined ? undefined : (item, response) => {
    const described = describe(item)
    if (described !== undefined) response.describe(described)
  }

const streamOf = <A>(engine: Engine, request: ChatRequest, kind: Kind<A>): Stream.Stream<LlmClient.Part<A>, LlmError.LlmError> =>
  Stream.unwrap(
    Effect.flatMap(start(engine, request), (run) => Effect.flatMap(Effect.scope, (parent) => streamRun(engine, run, parent, kind)))
  ).pipe(Stream.tapError((error) => RouterMetrics.recordRequestFailure(ComplexityRouting.metricGroup(engine, request.model), error, true)))

const streamRun = <A>(engine: Engine, run: Run<ChatRequest>, parent: Scope.Scope, kind: Kind<A>) => {
  const { settings } = engine
  type Part = LlmClient.Part<A>
  type Open = Served<Opened<A>>
  let current: Open | undefined
  /** The current deployment's pull, under the idle deadline. */
  let pullCurrent: Pulled<A> = Cause.done()
  let usage: Usage | undefined
  let restarts = 0
  /** Restarts per group: `num_retries` of them within a group, then its fallbacks, as a plain request's retries. */
  let groupRestarts: Map<string, number> | undefined
  let done = false

  const finalRoute = (open: Open, now: number) =>
    routeInfo(run, open, now, usage, {
      timeToFirstChunkMs: open.value.firstChunkAt - run.startedAt,
      ...(restarts > 0 ? { restarts } : {})
    })
  const response = run.span === undefined ? undefined : new RouterTracing.ResponseAttributes()
  const observe = response === undefined ? undefined : kind.observe
  const emitChunks = (chunks: ReadonlyArray<A>): Array<Part> =>
    chunks.map((chunk) => {
      const reported = kind.usageOf(chunk)
      if (reported) usage = reported
      observe?.(chunk, response!)
      return { _tag: "Chunk", chunk }
    })
  /** The chunk parts of a batch from the source, passed on as they are; its own Start/Done are dropped. */
  const chunkParts = (parts: ReadonlyArray<Part>): Array<Part> => {
    const out: Array<Part> = []
    for (const part of parts) {
      if (part._tag !== "Chunk") continue
      const reported = kind.usageOf(part.chunk)
      if (reported) usage = reported
      observe?.(part.chunk, response!)
      out.push(part)
    }
    return out
  }
  /** The idle deadline on a deployment's pulls after its first content. */
  const idleGuard = (opened: Open) => {
    const d = opened.deployment
    const timeoutMs = idleTimeoutMs(engine, run, d)
    return IdleDeadline.guard(opened.value.pull, timeoutMs, () =>
      Effect.fail(
        new LlmError.Timeout({
          provider: d.provider,
          deployment: d.id,
          phase: "idle",
          message: `${d.id} sent nothing for ${timeoutMs} ms mid-stream`
        })
      ), opened.value.scope)
  }
  // `flatMap`s rather than `Effect.gen` on the steps every stream takes (see `Completion`).
  const opened = (serving: Effect.Effect<Open, LlmError.LlmError>) =>
    Effect.flatMap(serving, (opened) => {
      current = opened
      return Effect.flatMap(idleGuard(opened), (guarded) => {
        pullCurrent = guarded
        return Effect.map(Clock.currentTimeMillis, (now): NonEmptyReadonlyArray<Part> => [
          { _tag: "Start", route: routeInfo(run, opened, now, undefined) },
          ...emitChunks(opened.value.held)
        ])
      })
    })
  const openNext = Effect.suspend(() => opened(route(engine, run, openStream(engine, run, parent, kind))))
  const finish = (open: Open) =>
    Effect.suspend(() => {
      done = true
      return Clock.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        return Effect.flatMap(
          open.value.inFlight.settle(engine.state.onSuccess(open.deployment.id, {
            latencyMs: now - open.value.began,
            timeToFirstChunkMs: open.value.firstChunkAt - open.value.began,
            tokens: usage?.total_tokens ?? 0
          })),
          () => {
            const route = finalRoute(open, now)
            spend(engine, route, now)
            const recorded = RouterMetrics.recordSuccess(route, true)
            return Effect.as(
              run.span === undefined ? recorded : Effect.andThen(recorded, engine.spans.streamed(run.span, route, response!)),
              Arr.of<Part>({ _tag: "Done", route })
            )
          }
        )
      })
    })
  /** After content was sent: end with the error, or restart on another deployment when the policy says so. */
  const failAfterContent = (open: Open, error: LlmError.LlmError) =>
    Effect.gen(function*() {
      // Recorded before the scope closes: closing it first would give the count back as a release.
      yield* open.value.inFlight.settle(recordFailure(engine, open.deployment, open.group, error))
      yield* Scope.close(open.value.scope, Exit.fail(error))
      addTo(run, "failed", open.deployment.id)
      addTo(run, "excluded", open.deployment.id)
      if (settings.streamFailurePolicy !== "restart" || !kind.restartable) return yield* error
      const restartsHere = groupRestarts?.get(open.group) ?? 0
      restarts++
      usage = undefined
      const now = yield* Clock.currentTimeMillis
      const restarted: Part = { _tag: "Restarted", route: finalRoute(open, now), reason: error }
      // The group's restarts are spent, or it has no deployment left: its fallbacks, as for a plain request.
      // Nothing answers: the caller gets the error that broke the stream, not "no deployments".
      const toFallbacks = fallBack(engine, run, open.group, error, openStream(engine, run, parent, kind)).pipe(
        Effect.catchTag("NoDeploymentAvailable", () => Effect.fail(error))
      )
      let next: NonEmptyReadonlyArray<Part>
      if (restartsHere >= settings.numRetries) {
        next = yield* opened(toFallbacks)
      } else {
        ;(groupRestarts ??= new Map()).set(open.group, restartsHere + 1)
        // The restart is a new routing pass: the groups entered before may still hold other deployments.
        resetChains(run)
        next = yield* openNext.pipe(Effect.catchTag("NoDeploymentAvailable", () => opened(toFallbacks)))
      }
      return Arr.prepend(next, restarted)
    })

  type Parts = NonEmptyReadonlyArray<Part>
  const pull: Pull.Pull<Parts, LlmError.LlmError> = Effect.suspend(
    (): Pull.Pull<Parts, LlmError.LlmError> => {
      if (done) return Cause.done()
      if (current === undefined) return openNext
      const active = current
      // One step per chunk (this runs for every chunk): the end, a failure, or the batch's chunks.
      return Effect.matchEffect(pullCurrent, {
        onFailure: (error) => (Cause.isDone(error) ? finish(active) : failAfterContent(active, error)),
        onSuccess: (parts) => {
          // The source may hand back batches without chunks (its own Start/Done): skip them.
          const chunks = chunkParts(parts)
          return chunks.length > 0 ? Effect.succeed(chunks as unknown as Parts) : pull
        }
      })
    }
  )
  const span = run.span
  // A failed stream ends its span at once: the consumer may hold the scope open a while yet.
  const traced = span === undefined
    ? pull
    : Effect.tapCause(pull, (cause) => (Pull.isDoneCause(cause) ? Effect.void : engine.spans.end(span, Exit.failCause(cause))))
  // A consumer that stops reading mid-stream still ends the span; the deployment's in-flight call
  // is ended by its attempt's scope, a child of this one (see `openStream`).
  return span === undefined
    ? Effect.succeed(Stream.fromPull(Effect.succeed(traced)))
    : Effect.as(Effect.addFinalizer((exit) => engine.spans.end(span, exit)), Stream.fromPull(Effect.succeed(traced)))
}

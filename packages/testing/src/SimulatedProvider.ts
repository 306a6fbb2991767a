/**
 * A provider that lives in memory: an `LlmClient` whose behaviour on each call is scripted
 * (succeed, fail with a given error, hang, drop or stall mid-stream) or drawn from rates
 * (latency distribution, failure kinds and rates, outage windows, mid-stream drops). It
 * reads time only from `Clock` and chance only from `Random`, so a test on `TestClock` with
 * a seeded `Random` replays exactly.
 */
import { Chat, LlmClient, LlmError, RouteInfo, TokenEstimate } from "@llm-router/core"
import { Clock, Duration, Effect, Random, Ref, Stream } from "effect"

/** What one call does. */
export type Behavior =
  | { readonly _tag: "Succeed"; readonly text?: string | undefined; readonly finishReason?: Chat.FinishReason | undefined }
  | { readonly _tag: "Fail"; readonly error: ErrorSpec }
  /** Never answers: only a timeout (or interruption) ends the call. */
  | { readonly _tag: "Hang" }
  /** Streams `afterChunks` content chunks, then fails with `error` (a chat call fails at once). */
  | { readonly _tag: "DropMidStream"; readonly afterChunks: number; readonly error: ErrorSpec }
  /** Streams `afterChunks` content chunks, then goes silent forever. */
  | { readonly _tag: "StallMidStream"; readonly afterChunks: number }

/** An error by tag, with the fields that matter for routing; provider and deployment are filled in. */
export interface ErrorSpec {
  readonly tag: Exclude<LlmError.Tag, "NoDeploymentAvailable">
  readonly status?: number | undefined
  readonly retryAfter?: Duration.Input | undefined
  readonly quotaExhausted?: boolean | undefined
  readonly message?: string | undefined
}

export const succeed = (text?: string, finishReason?: Chat.FinishReason): Behavior => ({ _tag: "Succeed", text, finishReason })
export const fail = (tag: ErrorSpec["tag"], fields: Omit<ErrorSpec, "tag"> = {}): Behavior => ({
  _tag: "Fail",
  error: { tag, ...fields }
})
export const hang: Behavior = { _tag: "Hang" }
export const dropMidStream = (afterChunks: number, tag: ErrorSpec["tag"] = "ConnectionFailed"): Behavior => ({
  _tag: "DropMidStream",
  afterChunks,
  error: { tag }
})
export const stallMidStream = (afterChunks: number): Behavior => ({ _tag: "StallMidStream", afterChunks })

export type Latency =
  | { readonly _tag: "Fixed"; readonly ms: number }
  | { readonly _tag: "Uniform"; readonly minMs: number; readonly maxMs: number }
  /** Exponentially distributed around `meanMs`, capped at `maxMs`. */
  | { readonly _tag: "Exponential"; readonly meanMs: number; readonly maxMs: number }
  /**
   * A function of the call: of simulated time, of the calls in flight here (this one
   * included) and of the answer's length, so a provider can slow down, degrade, or grow
   * slower with its load. `jitter` scales each call by a factor drawn from [1 - jitter, 1 + jitter].
   */
  | { readonly _tag: "Dynamic"; readonly ms: (call: LatencyInput) => number; readonly jitter?: number | undefined }

/** What a `Dynamic` latency is computed from, when a call starts. */
export interface LatencyInput {
  /** Epoch milliseconds, from `Clock`. */
  readonly now: number
  /** Calls in flight on this provider, this one included. */
  readonly inFlight: number
  /** Tokens the answer will have. */
  readonly outputTokens: number
  readonly streaming: boolean
}

/** A window of simulated time (epoch ms, from `Clock`) during which every call fails. */
export interface Outage {
  readonly fromMs: number
  readonly toMs: number
  readonly error?: ErrorSpec | undefined
}

export interface Options {
  /** The deployment id and provider name the simulated client reports. */
  readonly deployment: string
  readonly provider?: string | undefined
  readonly model?: string | undefined
  readonly group?: string | undefined
  /** Behaviours for the first calls, in order; after it runs out, `rates` decide. */
  readonly script?: ReadonlyArray<Behavior> | undefined
  readonly latency?: Latency | undefined
  /** Failure rates per error, drawn independently for each call from `Random`. */
  readonly failureRates?: ReadonlyArray<{ readonly error: ErrorSpec; readonly rate: number }> | undefined
  readonly outages?: ReadonlyArray<Outage> | undefined
  /** Chance that a successful stream drops mid-way. */
  readonly midStreamDropRate?: number | undefined
  readonly text?: string | undefined
  /**
   * The answer's length in tokens, per request; the answer is then that many tokens of filler
   * text (replaces `text`). Lets a run mix short and long answers.
   */
  readonly answerTokens?: ((request: Chat.ChatRequest) => number) | undefined
  /** Keep no call log (`calls` stays empty): for long runs such as benchmarks. */
  readonly unlogged?: boolean | undefined
  /** Content chunks of a streamed answer, and the pause between them. */
  readonly chunks?: number | undefined
  readonly chunkIntervalMs?: number | undefined
}

export interface Call {
  readonly at: number
  readonly streaming: boolean
  readonly behavior: Behavior["_tag"]
  readonly request: Chat.ChatRequest
}

export interface SimulatedProvider extends LlmClient.Service {
  readonly deployment: string
  /** Every call received, in order. */
  readonly calls: Effect.Effect<ReadonlyArray<Call>>
  /** Calls in flight right now (a stream until it ends). */
  readonly inFlightUnsafe: () => number
}

const DEFAULT_TEXT = "Hello from a simulated provider."

export const makeError = (spec: ErrorSpec, provider: string, deployment: string): LlmError.LlmError => {
  const origin = {
    provider,
    deployment,
    message: spec.message ?? `simulated ${spec.tag} from ${deployment}`,
    ...(spec.status !== undefined ? { status: spec.status } : {})
  }
  const retryAfter = spec.retryAfter !== undefined ? { retryAfter: Duration.fromInputUnsafe(spec.retryAfter) } : {}
  switch (spec.tag) {
    case "RateLimited":
      return new LlmError.RateLimited({ ...origin, ...retryAfter, ...(spec.quotaExhausted ? { quotaExhausted: true } : {}) })
    case "AuthenticationFailed":
      return new LlmError.AuthenticationFailed(origin)
    case "PermissionDenied":
      return new LlmError.PermissionDenied(origin)
    case "ModelNotFound":
      return new LlmError.ModelNotFound(origin)
    case "BadRequest":
      return new LlmError.BadRequest(origin)
    case "ContextWindowExceeded":
      return new LlmError.ContextWindowExceeded(origin)
    case "ContentPolicyViolation":
      return new LlmError.ContentPolicyViolation(origin)
    case "Timeout":
      return new LlmError.Timeout({ ...origin, phase: "request" })
    case "ConnectionFailed":
      return new LlmError.ConnectionFailed(origin)
    case "ServiceUnavailable":
      return new LlmError.ServiceUnavailable({ ...origin, ...retryAfter })
    case "InternalServerError":
      return new LlmError.InternalServerError({ ...origin, ...retryAfter })
  }
}

export const make = (options: Options): Effect.Effect<SimulatedProvider> =>
  Effect.gen(function*() {
    const provider = options.provider ?? "simulated"
    const model = options.model ?? "sim-model"
    const group = options.group ?? options.deployment
    const log = yield* Ref.make<ReadonlyArray<Call>>([])
    const script = options.script ?? []
    const text = options.text ?? DEFAULT_TEXT
    const chunkCount = Math.max(1, options.chunks ?? 4)
    /** Calls made, when they are not logged. */
    let calls_ = 0

    let inFlight = 0
    const latency = (call: LatencyInput): Effect.Effect<number> => {
      const l = options.latency
      if (!l) return Effect.succeed(0)
      switch (l._tag) {
        case "Fixed":
          return Effect.succeed(l.ms)
        case "Uniform":
          return Random.nextBetween(l.minMs, l.maxMs)
        case "Exponential":
          return Effect.map(Random.next, (u) => Math.min(l.maxMs, -Math.log(1 - u) * l.meanMs))
        case "Dynamic": {
          const ms = Math.max(0, l.ms(call))
          const jitter = l.jitter ?? 0
          return jitter > 0 ? Effect.map(Random.nextBetween(1 - jitter, 1 + jitter), (f) => ms * f) : Effect.succeed(ms)
        }
      }
    }
    /** The answer to a request, and its length in tokens. */
    const answerOf = (request: Chat.ChatRequest, scripted: string | undefined): string => {
      if (scripted !== undefined || options.answerTokens === undefined) return scripted ?? text
      // Four characters make a token (`TokenEstimate.ofText`), so the usage reports exactly this length.
      return "tok ".repeat(Math.max(1, Math.round(options.answerTokens(request))))
    }
    /** Counts the call in flight from now until `effect` ends, however it ends. */
    const counted = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        inFlight++
        return Effect.ensuring(effect, Effect.sync(() => void inFlight--))
      })

    /** Decides the behaviour of the next call: script first, then outages, then rates. */
    const decide = (request: Chat.ChatRequest, streaming: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const calls = yield* Ref.get(log)
        let behavior: Behavior | undefined = script[options.unlogged === true ? calls_ : calls.length]
        if (!behavior) {
          const outage = (options.outages ?? []).find((o) => now >= o.fromMs && now < o.toMs)
          if (outage) behavior = { _tag: "Fail", error: outage.error ?? { tag: "ServiceUnavailable", status: 503 } }
        }
        if (!behavior) {
          for (const { error, rate } of options.failureRates ?? []) {
            if ((yield* Random.next) < rate) {
              behavior = { _tag: "Fail", error }
              break
            }
          }
        }
        if (!behavior && streaming && options.midStreamDropRate !== undefined && (yield* Random.next) < options.midStreamDropRate) {
          behavior = dropMidStream(Math.floor(chunkCount / 2))
        }
        behavior ??= succeed()
        if (options.unlogged !== true) {
          yield* Ref.update(log, (calls) => [...calls, { at: now, streaming, behavior: behavior._tag, request }])
        } else calls_ += 1
        return behavior
      })

    const usageFor = (request: Chat.ChatRequest, answer: string): Chat.Usage => {
      const prompt = TokenEstimate.ofRequest(request)
      const completion = TokenEstimate.ofText(answer)
      return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
    }
    const route = (latencyMs: number, usage?: Chat.Usage): RouteInfo.RouteInfo => ({
      group,
      servedBy: group,
      deployment: options.deployment,
      provider,
      model,
      attempts: 1,
      fallbacks: [],
      latencyMs,
      usage,
      costUsd: undefined
    })
    const error = (spec: ErrorSpec) => makeError(spec, provider, options.deployment)
    const id = (now: number) => `chatcmpl-sim-${options.deployment}-${now}`

    const chat = (request: Chat.ChatRequest): Effect.Effect<LlmClient.Completion, LlmError.LlmError> =>
      counted(Effect.gen(function*() {
        const behavior = yield* decide(request, false)
        const started = yield* Clock.currentTimeMillis
        const answer = answerOf(request, behavior._tag === "Succeed" ? behavior.text : undefined)
        const ms = yield* latency({ now: started, inFlight, outputTokens: TokenEstimate.ofText(answer), streaming: false })
        yield* Effect.sleep(Duration.millis(ms))
        switch (behavior._tag) {
          case "Hang":
            return yield* Effect.never
          case "Fail":
          case "DropMidStream":
            return yield* error(behavior._tag === "Fail" ? behavior.error : behavior.error)
          case "StallMidStream":
            return yield* Effect.never
          case "Succeed": {
            const now = yield* Clock.currentTimeMillis
            const usage = usageFor(request, answer)
            const response: Chat.ChatResponse = {
              id: id(now),
              object: "chat.completion",
              created: Math.floor(now / 1000),
              model,
              choices: [{
                index: 0,
                message: { role: "assistant", content: answer },
                finish_reason: behavior.finishReason ?? "stop"
              }],
              usage
            }
            return { response, route: route(now - started, usage) }
          }
        }
      }))

    const stream = (request: Chat.ChatRequest): Stream.Stream<LlmClient.StreamPart, LlmError.LlmError> =>
      Stream.suspend(() => {
        inFlight++
        return Stream.ensuring(streamCounted(request), Effect.sync(() => void inFlight--))
      })

    const streamCounted = (request: Chat.ChatRequest): Stream.Stream<LlmClient.StreamPart, LlmError.LlmError> =>
      Stream.unwrap(Effect.gen(function*() {
        const behavior = yield* decide(request, true)
        const started = yield* Clock.currentTimeMillis
        const answer = answerOf(request, behavior._tag === "Succeed" ? behavior.text : undefined)
        const ms = yield* latency({ now: started, inFlight, outputTokens: TokenEstimate.ofText(answer), streaming: true })
        yield* Effect.sleep(Duration.millis(ms))
        if (behavior._tag === "Hang") return Stream.never
        if (behavior._tag === "Fail") return Stream.fail(error(behavior.error))
        const words = splitInto(answer, chunkCount)
        const now = yield* Clock.currentTimeMillis
        const chunk = (delta: Chat.Delta, finish: Chat.FinishReason | null = null): Chat.ChatChunk => ({
          id: id(started),
          object: "chat.completion.chunk",
          created: Math.floor(started / 1000),
          model,
          choices: [{ index: 0, delta, finish_reason: finish }]
        })
        const interval = Duration.millis(options.chunkIntervalMs ?? 0)
        const limit = behavior._tag === "Succeed" ? words.length : Math.min(behavior.afterChunks, words.length)
        const content = Stream.fromIterable(words.slice(0, limit)).pipe(
          Stream.mapEffect((word) => Effect.as(Effect.sleep(interval), { _tag: "Chunk", chunk: chunk({ content: word }) } as const))
        )
        const start: LlmClient.StreamPart = { _tag: "Start", route: route(now - started) }
        const preamble: LlmClient.StreamPart = { _tag: "Chunk", chunk: chunk({ role: "assistant", content: "" }) }
        const head = Stream.concat(Stream.make(start, preamble), content)
        if (behavior._tag === "DropMidStream") return Stream.concat(head, Stream.fail(error(behavior.error)))
        if (behavior._tag === "StallMidStream") return Stream.concat(head, Stream.never)
        const usage = usageFor(request, answer)
        const tail = Effect.map(Clock.currentTimeMillis, (end): ReadonlyArray<LlmClient.StreamPart> => [
          { _tag: "Chunk", chunk: chunk({}, behavior.finishReason ?? "stop") },
          { _tag: "Chunk", chunk: { ...chunk({}), choices: [], usage } },
          { _tag: "Done", route: route(end - started, usage) }
        ])
        return Stream.concat(head, Stream.fromIterableEffect(tail))
      }))

    return {
      deployment: options.deployment,
      calls: Ref.get(log),
      inFlightUnsafe: () => inFlight,
      chat,
      stream
    }
  })

/** Splits text into `n` pieces at word boundaries where it can (fewer when there are fewer words). */
const splitInto = (text: string, n: number): ReadonlyArray<string> => {
  const words = text.split(/(?<= )/)
  if (words.length <= n) return words
  // Spread the words evenly: fixed-size slices would give fewer than `n` pieces (5 words in 4 → 3).
  const pieces: Array<string> = []
  for (let i = 0; i < n; i++) {
    pieces.push(words.slice(Math.floor((i * words.length) / n), Math.floor(((i + 1) * words.length) / n)).join(""))
  }
  return pieces
}

/**
 * Reading and checking a request (chat, embeddings) before anything reaches a provider: the body under a
 * size limit (413) and a deadline (408, for slow or stalled clients), then its nesting depth
 * (400, see `JsonDepth`), then JSON (400), then
 * the route's schema with every problem listed and the first field named as
 * OpenAI's `param` (400). Read straight from Node's request so the gateway, not the socket,
 * decides how a refused body ends: the response is sent and the connection closed.
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect, Result, Schema, type SchemaIssue } from "effect"
import type { HttpServerRequest } from "effect/http"
import { Chat, RouterConfig } from "@llm-router/core"
import type { Readable } from "node:stream"
import * as ApiError from "./ApiError.ts"
import * as JsonDepth from "./JsonDepth.ts"
import * as PlainChatRequest from "./PlainChatRequest.ts"
import type * as Turn from "./Turn.ts"

export interface Limits {
  readonly maxBytes: number
  readonly timeoutMs: number
  /** What the bodies of all requests in flight may hold together (see `InFlightBytes`). */
  readonly maxInFlightBytes: number
}

/**
 * The bytes the bodies of the requests in flight hold together, bounded: a body takes its share
 * before it is read (its `content-length`, or each piece of a chunked body as it comes) and
 * gives it back when its response closes, which every request's does, however it ended. Past
 * the bound a request is refused with a 503 rather than the process growing.
 */
class InFlightBytes {
  private held = 0
  private readonly max: number
  constructor(max: number) {
    this.max = max
  }
  take(bytes: number): boolean {
    if (this.held + bytes > this.max) return false
    this.held += bytes
    return true
  }
  give(bytes: number): void {
    this.held -= bytes
  }
}

/** One request's share of `InFlightBytes`, given back once, when its response closes. */
class Share {
  private bytes = 0
  private readonly pool: InFlightBytes
  private readonly request: HttpServerRequest.HttpServerRequest
  constructor(pool: InFlightBytes, request: HttpServerRequest.HttpServerRequest) {
    this.pool = pool
    this.request = request
  }
  take(bytes: number): boolean {
    if (!this.pool.take(bytes)) return false
    if (this.bytes === 0 && bytes > 0) {
      NodeHttpServerRequest.toServerResponse(this.request).once("close", () => this.pool.give(this.bytes))
    }
    this.bytes += bytes
    return true
  }
}

type Resume = (effect: Effect.Effect<Buffer, ApiError.ApiError>) => void

/**
 * Reads request bodies for one gateway: each read gives the whole body as bytes, or the
 * refusal to send instead.
 *
 * The handler runs as soon as Node's parser has a request's headers, before it hands over
 * the body; a small body nearly always came in the same read of the socket. So a body is not
 * read as a stream (data listeners, a flowing stream, a deadline timer) unless it has to be:
 * - The first request of a turn of the event loop (see `Turn`) takes its body as soon as the
 *   parser reports it whole (a `readable` event): an idle gateway answers at once.
 * - The others wait for the end of the turn, then take their bodies from Node's buffers. A
 *   busy gateway so handles the requests that came together in one go, and sends their
 *   upstream calls in one burst: measured in-process at c=32 this took 13–20 µs of CPU off
 *   every request, against 6–9 µs for reading each body as soon as it is whole.
 * - A body that is not whole by the end of its turn is read as it arrives, under the size
 *   limit and the deadline.
 */
export const reader = (limits: Limits, turn: Turn.Turn) => {
  // Never below one body's limit, or a request the size limit allows could never be served.
  const inFlight = new InFlightBytes(Math.max(limits.maxInFlightBytes, limits.maxBytes))
  return (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Buffer, ApiError.ApiError> => {
    const declared = request.headers["content-length"]
    if (declared !== undefined && Number(declared) > limits.maxBytes) return Effect.fail(ApiError.bodyTooLarge(limits.maxBytes))
    const share = new Share(inFlight, request)
    // A chunked body takes its share piece by piece, as it is read (see `readStreaming`).
    if (declared !== undefined && !share.take(Number(declared))) return Effect.fail(ApiError.overloaded())
    return read(request, declared, limits, turn, declared === undefined ? share : undefined)
  }
}

const read = (
  request: HttpServerRequest.HttpServerRequest,
  declared: string | undefined,
  limits: Limits,
  turn: Turn.Turn,
  share: Share | undefined
): Effect.Effect<Buffer, ApiError.ApiError> =>
  Effect.callback<Buffer, ApiError.ApiError>((resume) => {
    const source = NodeHttpServerRequest.toIncomingMessage(request)
    if (request.headers["expect"]?.toLowerCase() === "100-continue") {
      const response = NodeHttpServerRequest.toServerResponse(request)
      if (!response.headersSent && "writeContinue" in response) response.writeContinue()
      return readStreaming(source, limits, resume, share)
    }
    const body = new PendingBody(source, declared === undefined ? undefined : Number(declared), limits, resume, share)
    if (turn.join()) body.takeWhenWhole()
    turn.atEnd(() => body.endOfTurn())
    return Effect.suspend(() => body.cancel())
  })

/** A body waiting in Node's buffer for its request's turn to end (see `reader`). */
class PendingBody {
  /** Taken, handed to `readStreaming`, or given up by an interrupted reader. */
  private settled = false
  /** Whether `onReadable` is attached: Node schedules work on every `readable` removal, even of nothing. */
  private listening = false
  private streaming: Effect.Effect<void> | undefined
  private readonly source: Readable & { readonly complete: boolean }
  private readonly expected: number | undefined
  private readonly limits: Limits
  private readonly resume: Resume
  /** A chunked body's share of what bodies in flight may hold, taken as it is read. */
  private readonly share: Share | undefined

  constructor(
    source: Readable & { readonly complete: boolean },
    expected: number | undefined,
    limits: Limits,
    resume: Resume,
    share: Share | undefined
  ) {
    this.source = source
    this.expected = expected
    this.limits = limits
    this.resume = resume
    this.share = share
  }

  /** The parser has seen the body's end, or all the bytes its `content-length` declared. */
  private get whole(): boolean {
    return this.source.complete || (this.expected !== undefined && this.source.readableLength >= this.expected)
  }

  takeWhenWhole(): void {
    this.listening = true
    this.source.on("readable", this.onReadable)
  }

  private readonly onReadable = (): void => {
    if (!this.settled && this.whole) this.take()
  }

  endOfTurn(): void {
    if (this.settled) return
    if (this.whole) return this.take()
    this.stopListening()
    this.settled = true
    this.streaming = readStreaming(this.source, this.limits, this.resume, this.share)
    // A `readable` listener stops a stream from flowing; the data listeners need it to.
    this.source.resume()
  }

  private take(): void {
    this.settled = true
    this.stopListening()
    let body: Buffer
    try {
      body = (this.source.read() as Buffer | null) ?? Buffer.alloc(0)
    } catch (defect) {
      // Not expected from Node; the request is answered with a 500 rather than left waiting.
      return this.resume(Effect.die(defect))
    }
    if (body.length > this.limits.maxBytes) return this.resume(Effect.fail(ApiError.bodyTooLarge(this.limits.maxBytes)))
    if (this.share !== undefined && !this.share.take(body.length)) return this.resume(Effect.fail(ApiError.overloaded()))
    this.resume(Effect.succeed(body))
  }

  cancel(): Effect.Effect<void> {
    this.settled = true
    this.stopListening()
    return this.streaming ?? Effect.void
  }

  private stopListening(): void {
    if (!this.listening) return
    this.listening = false
    this.source.off("readable", this.onReadable)
  }
}

/** Reads the body as it arrives, under the size limit and the deadline. */
const readStreaming = (source: Readable, limits: Limits, resume: Resume, share: Share | undefined): Effect.Effect<void> => {
  const chunks: Array<Buffer> = []
  let bytes = 0
  // The deadline is a timer on the read, as Node's own `requestTimeout` is, rather than
  // `Effect.timeoutOrElse`, which races the read against a sleep in two new fibers: about
  // 10 µs of CPU on every request, for a deadline that almost never passes.
  const deadline = setTimeout(() => {
    cleanup()
    resume(Effect.fail(ApiError.bodyTimeout(limits.timeoutMs)))
  }, limits.timeoutMs)
  const cleanup = () => {
    clearTimeout(deadline)
    source.off("data", onData)
    source.off("end", onEnd)
    source.off("error", onError)
    source.off("aborted", onError)
    source.pause()
  }
  function onData(chunk: Buffer) {
    bytes += chunk.length
    if (bytes > limits.maxBytes) {
      cleanup()
      return resume(Effect.fail(ApiError.bodyTooLarge(limits.maxBytes)))
    }
    if (share !== undefined && !share.take(chunk.length)) {
      cleanup()
      return resume(Effect.fail(ApiError.overloaded()))
    }
    chunks.push(chunk)
  }
  function onEnd() {
    cleanup()
    resume(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
  }
  function onError() {
    cleanup()
    resume(Effect.fail(ApiError.invalidRequest("The request body could not be read", null)))
  }
  source.on("data", onData)
  source.once("end", onEnd)
  source.once("error", onError)
  source.once("aborted", onError)
  return Effect.sync(cleanup)
}

const decodeChat = Schema.decodeUnknownResult(Chat.ChatRequest)

/** Every role a chat message may have (the members of `Chat.Message`; a test keeps the two in step). */
export const messageRoles = ["system", "developer", "user", "assistant", "tool"] as const

const memberOf: Readonly<Record<(typeof messageRoles)[number], Schema.Decoder<unknown>>> = {
  system: Chat.SystemMessage,
  developer: Chat.SystemMessage,
  user: Chat.UserMessage,
  assistant: Chat.AssistantMessage,
  tool: Chat.ToolMessage
}

/**
 * The problems of each bad message, by its path: an unknown role names every valid role, and a
 * message with a known role is checked against that role's own schema (the union's issue would
 * name only its first member's: \`Expected "system" | "developer"\`).
 */
const messageIssues = (json: Record<string, unknown>): Map<string, ReadonlyArray<{ path: string; text: string }>> => {
  const issues = new Map<string, ReadonlyArray<{ path: string; text: string }>>()
  const messages = json["messages"]
  if (!Array.isArray(messages)) return issues
  messages.forEach((message, i) => {
    const at = `messages[${i}]`
    const role = typeof message === "object" && message !== null ? (message as Record<string, unknown>)["role"] : undefined
    if (!(messageRoles as ReadonlyArray<unknown>).includes(role)) {
      const got = typeof role === "string" ? `"${role.length > 40 ? `${role.slice(0, 40)}…` : role}"` : role === undefined ? "none" : typeof role
      const text = `${at}.role: Expected one of ${messageRoles.map((r) => `"${r}"`).join(", ")} (got ${got})`
      issues.set(at, [{ path: `${at}.role`, text }])
      return
    }
    const decoded = Schema.decodeUnknownResult(memberOf[role as (typeof messageRoles)[number]])(message, { errors: "all" })
    if (Result.isFailure(decoded)) {
      issues.set(at, RouterConfig.issuesOf(decoded.failure.issue, at).map((issue) => ({ path: issue.path, text: `${issue.path}: ${issue.message}` })))
    }
  })
  return issues
}

/** A body parsed as a JSON object, or the 400 to answer. */
export const jsonObject = (bytes: Buffer): Result.Result<Record<string, unknown>, ApiError.ApiError> => {
  if (JsonDepth.exceeds(bytes)) {
    return Result.fail(ApiError.invalidRequest(`The request body nests deeper than ${JsonDepth.MAX_DEPTH} levels of arrays and objects`, null))
  }
  let json: unknown
  try {
    json = JSON.parse(bytes.toString("utf8"))
  } catch (error) {
    return Result.fail(ApiError.invalidJson(error instanceof Error ? error.message : "parse error"))
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Result.fail(ApiError.invalidRequest("The request body must be a JSON object", null))
  }
  return Result.succeed(json as Record<string, unknown>)
}

/** The 400 for a body its Schema refused: every problem listed, the first field named as `param`. */
export const invalidBody = (what: string, issue: SchemaIssue.Issue): ApiError.ApiError => {
  const issues = RouterConfig.issuesOf(issue)
  const list = issues.map((i) => `${i.path || "(body)"}: ${i.message}`).join("; ")
  return ApiError.invalidRequest(`Invalid ${what}: ${list}`, issues[0]?.path || null)
}

/** Parses and checks a chat-completions body; a refusal names the field at fault. */
export const chatRequest = (bytes: Buffer): Result.Result<Chat.ChatRequest, ApiError.ApiError> => {
  const json = jsonObject(bytes)
  if (Result.isFailure(json)) return Result.fail(json.failure)
  // Most bodies have a shape the fast path decodes exactly as the Schema would.
  const plain = PlainChatRequest.decode(json.success)
  if (plain !== undefined) return Result.succeed(plain)
  const decoded = decodeChat(json.success, { errors: "all" })
  if (Result.isSuccess(decoded)) return Result.succeed(decoded.success)
  const badMessages = messageIssues(json.success)
  if (badMessages.size === 0) return Result.fail(invalidBody("chat completion request", decoded.failure.issue))
  // A bad message is reported by its own role's schema (or with every valid role), not the union's first member.
  const inBadMessage = (path: string) => [...badMessages.keys()].some((at) => path === at || path.startsWith(`${at}.`) || path.startsWith(`${at}[`))
  const issues = [
    ...[...badMessages.values()].flat(),
    ...RouterConfig.issuesOf(decoded.failure.issue)
      .filter((i) => !inBadMessage(i.path))
      .map((i) => ({ path: i.path, text: `${i.path || "(body)"}: ${i.message}` }))
  ]
  return Result.fail(ApiError.invalidRequest(`Invalid chat completion request: ${issues.map((i) => i.text).join("; ")}`, issues[0]?.path || null))
}

/** A body checked by `schema` (embeddings, ...): its JSON object decoded, or the 400 naming the field at fault. */
export const decoder = <A>(schema: Schema.Decoder<A>, what: string) => {
  const decode = Schema.decodeUnknownResult(schema)
  return (bytes: Buffer): Result.Result<A, ApiError.ApiError> => {
    const json = jsonObject(bytes)
    if (Result.isFailure(json)) return Result.fail(json.failure)
    const decoded = decode(json.success, { errors: "all" })
    return Result.isSuccess(decoded) ? Result.succeed(decoded.success) : Result.fail(invalidBody(what, decoded.failure.issue))
  }
}

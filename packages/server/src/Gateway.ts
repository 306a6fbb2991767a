/**
 * The OpenAI-compatible HTTP gateway: chat completions (plain and SSE) and embeddings
 * (`EmbeddingsRoute`) through the router, the model list, health, and Prometheus metrics, on `effect/http`'s `HttpRouter`.
 *
 * Every response carries `x-request-id` and, for chat, the `x-llm-router-*` route headers.
 * A streamed answer holds its status and headers until the router has the first content
 * chunk, so a failure before any content still fails over, or becomes a real HTTP error;
 * after content has been sent a failure ends the stream with an SSE error event. When the
 * client goes away the handler is interrupted, which aborts the upstream request.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Cause, Clock, Console, type Context, Duration, Effect, Layer, Metric, Option, Random, Redacted, Result } from "effect"
import type { Scope } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { EmbeddingClient, LlmClient, LlmError, ResponseLimit, Router, RouterState, WireJson } from "@llm-router/core"
import type { Chat } from "@llm-router/core"
import { RedisRouterState } from "@llm-router/redis"
import { createServer } from "node:http"
import * as AccessLog from "./AccessLog.ts"
import * as ApiError from "./ApiError.ts"
import * as Auth from "./Auth.ts"
import * as Drain from "./Drain.ts"
import * as ProcessMetrics from "./ProcessMetrics.ts"
import * as EmbeddingsRoute from "./EmbeddingsRoute.ts"
import type { GatewayConfig } from "./GatewayConfig.ts"
import * as RequestBody from "./RequestBody.ts"
import * as RequestTags from "./RequestTags.ts"
import * as MessagesRoute from "./MessagesRoute.ts"
import * as ResponsesRoute from "./ResponsesRoute.ts"
import * as ResponseStore from "./ResponseStore.ts"
import * as RouteHeaders from "./RouteHeaders.ts"
import * as SharedResponseStore from "./SharedResponseStore.ts"
import { type Dialect, inSession, json, openAiDialect, type RouteKit, sse, type SseEncoder } from "./RouteKit.ts"
import { safeUrl } from "./RoutingTable.ts"
import * as Turn from "./Turn.ts"
import * as UnsupportedGroups from "./UnsupportedGroups.ts"

// ---------------------------------------------------------------------------------------
// Gateway-level metrics (the router records its own: requests, failures, retries, …)
// ---------------------------------------------------------------------------------------

const httpRequestsOptions = {
  description: "HTTP requests answered by the gateway, by route and status",
  incremental: true
} as const
export const httpRequests = Metric.counter("llm_router_http_requests_total", httpRequestsOptions)
/**
 * One counter instance per (route, status), made on first use: Effect caches one series key
 * per instance, and a single instance shared through `withAttributes` re-serialises its
 * labels whenever consecutive requests differ (see `RouterMetrics`).
 */
const boundHttp = new Map<string, Metric.Metric<number, unknown>>()
/** Counts one answered request, in the calling fiber's `context` (what `Metric.update` reads). */
const countHttpUnsafe = (route: string, status: number, context: Context.Context<never>): void => {
  const key = `${route} ${status}`
  let metric = boundHttp.get(key)
  if (metric === undefined) {
    metric = Metric.counter("llm_router_http_requests_total", {
      ...httpRequestsOptions,
      attributes: { route, status: String(status) }
    })
    boundHttp.set(key, metric)
  }
  metric.updateUnsafe(1, context)
}

// ---------------------------------------------------------------------------------------
// Request ids
// ---------------------------------------------------------------------------------------

const validRequestId = /^[\x21-\x7e]{1,200}$/

/**
 * Request ids: the caller's `x-request-id` when it sent a sane one, else a per-process
 * random prefix (from `Random`, drawn once) and a counter: unique, and free per request.
 */
export const makeRequestIds: Effect.Effect<(request: HttpServerRequest.HttpServerRequest) => string> = Effect.map(
  Effect.all([Random.next, Random.next]),
  ([a, b]) => {
    const prefix = "req_" + Math.floor(a * 0x10000000000000).toString(16).padStart(13, "0") +
      Math.floor(b * 0x1000000).toString(16).padStart(6, "0")
    let counter = 0
    return (request) => {
      const given = request.headers["x-request-id"]
      if (given !== undefined && validRequestId.test(given)) return given
      counter = (counter + 1) % 0x100000000
      return prefix + counter.toString(16).padStart(8, "0")
    }
  }
)

/**
 * The caller's session, for session affinity: `x-session-id`, or LiteLLM's
 * `x-litellm-session-id`. The router also reads `prompt_cache_key` and `metadata.session_id`
 * from the body (see `SessionAffinity`).
 */
const sessionOf = (request: HttpServerRequest.HttpServerRequest): string | undefined =>
  request.headers["x-session-id"] ?? request.headers["x-litellm-session-id"]

/** The `x-llm-router-tier` header forces a complexity router's tier, as `metadata.complexity_tier` does (the header wins). */
const withForcedTier = (chatRequest: Chat.ChatRequest, request: HttpServerRequest.HttpServerRequest): Chat.ChatRequest => {
  const tier = request.headers[RouteHeaders.names.tier]
  return tier === undefined ? chatRequest : { ...chatRequest, metadata: { ...chatRequest.metadata, complexity_tier: tier } }
}

// ---------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------

/**
 * Refused bodies close the connection: the rest of a huge or stalled body is not worth reading.
 * So does a refusal while shutting down or overloaded: the client should retry, maybe elsewhere.
 */
const closesConnection = (error: ApiError.ApiError) =>
  error.status === 413 || error.status === 408 || error.code === ApiError.SHUTTING_DOWN || error.code === ApiError.OVERLOADED ||
  error.code === ApiError.BAD_FRAMING

/**
 * HTTP/1.0 has no chunked encoding: a 1.0 message with `Transfer-Encoding` has faulty framing,
 * and RFC 9112 (6.1) says to treat it so and close the connection (a smuggling vector otherwise).
 */
const badFraming = (request: HttpServerRequest.HttpServerRequest): boolean =>
  NodeHttpServerRequest.toIncomingMessage(request).httpVersion === "1.0"

const errorResponse = (error: ApiError.ApiError, headers: Record<string, string>, dialect: Dialect = openAiDialect) =>
  json(dialect.errorBody(error), error.status, closesConnection(error) ? { ...headers, connection: "close" } : headers)

/**
 * A chunk for a client that did not ask for usage (`stream_options.include_usage`): as from
 * OpenAI, no usage chunk (no choices, only usage) and no usage on other chunks. The adapters
 * always ask their upstream for usage, which cost and the metrics need, so the answer has it
 * either way. `usage: null`, which OpenAI-compatible upstreams put on every other chunk once
 * asked, says nothing and stays (the chunk then goes out as the upstream wrote it).
 */
const withoutUsage = (chunk: Chat.ChatChunk): Chat.ChatChunk | undefined => {
  if (chunk.usage === undefined || chunk.usage === null) return chunk
  if (chunk.choices.length === 0) return undefined
  const { usage: _usage, ...rest } = chunk
  return rest
}

const sseData = (value: object) => `data: ${WireJson.stringify(value)}\n\n`

/** SSE comments never reach a client's parser; they make the wire readable with `curl`. */
const sseComment = (text: string) => `: ${text.replace(/[\r\n]+/g, " ")}\n\n`

/**
 * The visible mark of a restarted stream (router policy `stream_failure_policy: restart`):
 * an SSE comment for people, and a chunk with no choices and an `llm_router` extension
 * field for programs. Clients should drop what they have received so far: the answer
 * starts again, from its first token, on another deployment.
 */
export const restartMarker = (
  part: Extract<LlmClient.StreamPart, { _tag: "Restarted" }>,
  lastChunk: Chat.ChatChunk | undefined,
  scrub: (text: string) => string,
  nowSeconds: number
): string => {
  const error = ApiError.fromLlmError(part.reason, scrub)
  return sseComment(`llm-router: ${part.route.deployment} failed mid-stream (${part.reason._tag}); restarting on another deployment`) +
    sseData({
      id: lastChunk?.id ?? "llm-router-restart",
      object: "chat.completion.chunk",
      created: lastChunk?.created ?? nowSeconds,
      model: lastChunk?.model ?? part.route.model,
      choices: [],
      llm_router: {
        event: "restarted",
        failed_deployment: part.route.deployment,
        error: ApiError.body(error).error
      }
    })
}

// ---------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------

export interface Settings {
  readonly config: GatewayConfig
  /** Overrides the config's body limits (tests). */
  readonly maxRequestBytes?: number | undefined
  readonly bodyTimeoutMs?: number | undefined
  /** One JSON line per answered request on stdout (see `AccessLog`). */
  readonly accessLog?: boolean | undefined
  /** Shutdown in progress: requests are refused with a 503 (see `Drain`). */
  readonly drain?: Drain.Drain | undefined
}

const secretsOf = (config: GatewayConfig): Array<string> => {
  const secrets: Array<string> = []
  if (config.masterKey !== undefined) secrets.push(Redacted.value(config.masterKey))
  for (const d of config.router.deployments) if (d.apiKey !== undefined) secrets.push(Redacted.value(d.apiKey))
  return secrets
}

const noEmbeddings: EmbeddingClient.Service = {
  embed: (request) =>
    Effect.fail(new LlmError.BadRequest({ provider: "llm-router", message: `This gateway serves no embeddings (model "${request.model.slice(0, 200)}")`, param: "model" }))
}

/** The gateway's routes, registered into `HttpRouter`; needs the router (`LlmClient`), its state and the Responses store. */
export const routes = (
  settings: Settings
): Layer.Layer<never, never, HttpRouter.HttpRouter | LlmClient.LlmClient | RouterState.RouterState | ResponseStore.ResponseStore> =>
  HttpRouter.use((router) =>
    Effect.gen(function*() {
      const { config } = settings
      const client = yield* LlmClient.LlmClient
      const state = yield* RouterState.RouterState
      // The router's embeddings; a gateway built on a chat-only client answers that it has none.
      const embeddings = Option.getOrElse(yield* Effect.serviceOption(EmbeddingClient.EmbeddingClient), () => noEmbeddings)
      // Present when replicas share cooldowns through Redis (`layerState`).
      const sharing = yield* Effect.serviceOption(RedisRouterState.Status)
      const scrub = ApiError.makeScrubber(secretsOf(config))
      const requestIdOf = yield* makeRequestIds
      const checkAuth = Auth.make(config.masterKey)
      // What can wait for the end of a turn of the event loop is done there together (see `Turn`).
      const services = yield* Effect.context<never>()
      const turn = Turn.make((defect) =>
        Effect.runForkWith(services)(Effect.logError("llm-router: work at the end of an event-loop turn failed", Cause.die(defect)))
      )
      const readBody = RequestBody.reader({
        maxBytes: settings.maxRequestBytes ?? config.maxRequestBytes,
        timeoutMs: settings.bodyTimeoutMs ?? config.bodyTimeoutMs,
        maxInFlightBytes: config.maxInFlightRequestBytes
      }, turn)
      const startedAt = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const groups = new Map<string, Array<string>>()
      for (const d of config.router.deployments) {
        const ids = groups.get(d.group)
        if (ids) ids.push(d.id)
        else groups.set(d.group, [d.id])
      }
      const allIds = config.router.deployments.map((d) => d.id)

      const authorize = (request: HttpServerRequest.HttpServerRequest, dialect: Dialect): ApiError.ApiError | undefined => {
        const result = checkAuth(dialect.authorization(request))
        if (result === "ok") return undefined
        return ApiError.unauthorized(
          result === "missing"
            ? "Missing API key: send it as \"Authorization: Bearer <key>\""
            : "Incorrect API key provided"
        )
      }

      /** Wraps a handler: request id, auth, errors in OpenAI's shape, and the HTTP metric. */
      const handle = (
        route: string,
        protectedRoute: boolean,
        f: (request: HttpServerRequest.HttpServerRequest, requestId: string, started: number) => Effect.Effect<
          HttpServerResponse.HttpServerResponse,
          ApiError.ApiError,
          Scope.Scope
        >,
        dialect: Dialect = openAiDialect
      ) =>
      (request: HttpServerRequest.HttpServerRequest) =>
        // One step in and one out on the success path, which every request takes: each
        // `flatMap`, `tap` or `catch` is a turn of Effect's run loop, and a generator costs about
        // a microsecond per run. What a failure needs is built only when one happens.
        Effect.withFiber((fiber) => {
          const clock = fiber.getRef(Clock.Clock)
          const started = clock.currentTimeMillisUnsafe()
          const requestId = requestIdOf(request)
          const denied = settings.drain?.draining() === true
            ? ApiError.shuttingDown()
            : request.headers["transfer-encoding"] !== undefined && badFraming(request)
            ? ApiError.badFraming()
            : protectedRoute
            ? authorize(request, dialect)
            : undefined
          let handled: Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError.ApiError, Scope.Scope>
          if (denied !== undefined) handled = Effect.fail(denied)
          else {
            // A handler that throws is a bug like any other: answered below with a 500.
            try {
              handled = f(request, requestId, started)
            } catch (defect) {
              handled = Effect.die(defect)
            }
          }
          // The answer goes out at once when it is the first thing this turn, otherwise with the
          // others at the turn's end (see `Turn`).
          const answered = (response: HttpServerResponse.HttpServerResponse) => {
            countHttpUnsafe(route, response.status, fiber.context)
            const logged = settings.accessLog === true
              ? Effect.as(Console.log(AccessLog.line(request, response, requestId, started, clock.currentTimeMillisUnsafe())), response)
              : Effect.succeed(response)
            return turn.join()
              ? logged
              : Effect.callback<HttpServerResponse.HttpServerResponse>((resume) => turn.atEnd(() => resume(logged)))
          }
          return Effect.matchCauseEffect(handled, {
            onSuccess: answered,
            onFailure: (cause) =>
              Effect.failCause(cause).pipe(
                Effect.catchTag("ApiError", (error) =>
                  Effect.succeed(
                    errorResponse(
                      error,
                      RouteHeaders.ofError(error, undefined, clock.currentTimeMillisUnsafe() - started, requestId),
                      dialect
                    )
                  )),
                Effect.catchCause((cause) =>
                  // A bug, not input: logged (the cause holds no request body or secret), answered with a 500.
                  Cause.hasInterruptsOnly(cause)
                    ? Effect.failCause(cause)
                    : Effect.as(
                      Effect.logError(`llm-router: request ${requestId} failed unexpectedly`, cause),
                      errorResponse(ApiError.internal(), { [RouteHeaders.names.requestId]: requestId }, dialect)
                    )),
                Effect.flatMap(answered)
              )
          })
        })

      // -- chat completions ----------------------------------------------------------------

      const llmFailure = (error: LlmError.LlmError, group: string, started: number, requestId: string) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const apiError = ApiError.fromLlmError(error, scrub)
          return errorResponse(apiError, RouteHeaders.ofError(apiError, group, now - started, requestId))
        })

      const unsupportedGroup = UnsupportedGroups.make(config)
      // For LiteLLM's x-litellm-model-api-base: each deployment's configured base, without credentials.
      const apiBases = new Map(config.router.deployments.flatMap((d) => d.apiBase === undefined ? [] : [[d.id, safeUrl(d.apiBase)] as const]))
      const chat = (request: HttpServerRequest.HttpServerRequest, requestId: string, started: number) =>
        Effect.flatMap(readBody(request), (bytes) => {
          const decoded = RequestBody.chatRequest(bytes)
          if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
          const chatRequest = RequestTags.merge(withForcedTier(decoded.success, request), request.headers[RequestTags.HEADER])
          const refused = unsupportedGroup(chatRequest.model)
          if (refused !== undefined) return llmFailure(refused, chatRequest.model, started, requestId)
          const session = sessionOf(request)
          if (chatRequest.stream === true) return streamed(chatRequest, requestId, started, session)
          return Effect.matchEffect(inSession(client.chat(chatRequest), session), {
            onSuccess: (completion) =>
              Effect.succeed(json(completion.response, 200, RouteHeaders.ofRoute(completion.route, requestId, apiBases.get(completion.route.deployment)))),
            onFailure: (error) => llmFailure(error, chatRequest.model, started, requestId)
          })
        })

      const streamed = (chatRequest: Chat.ChatRequest, requestId: string, started: number, session: string | undefined) =>
        Clock.clockWith((clock) =>
          sse({
            stream: client.stream(chatRequest),
            session,
            requestId,
            apiBaseOf: (deployment) => apiBases.get(deployment),
            onFailure: (error) => llmFailure(error, chatRequest.model, started, requestId),
            makeEncoder: () => chatEncoder(clock, chatRequest.stream_options?.include_usage === true)
          })
        )

      /** Chat's SSE: OpenAI's chunks, restarts made visible, `[DONE]` at the end, an error event on a failure. */
      const chatEncoder = (clock: Clock.Clock, wantsUsage: boolean): SseEncoder => {
        let lastChunk: Chat.ChatChunk | undefined
        let seenStart = false
        return {
          parts: (batch) => {
            let out = ""
            for (const part of batch) {
              switch (part._tag) {
                case "Chunk": {
                  lastChunk = part.chunk
                  const chunk = wantsUsage ? part.chunk : withoutUsage(part.chunk)
                  if (chunk !== undefined) out += sseData(chunk)
                  break
                }
                case "Start":
                  // A second Start follows a restart: say who answers now.
                  if (seenStart) out += sseComment(`llm-router: now serving from ${part.route.deployment}`)
                  seenStart = true
                  break
                case "Restarted":
                  out += restartMarker(part, lastChunk, scrub, Math.floor(clock.currentTimeMillisUnsafe() / 1000))
                  break
                case "Done":
                  break
              }
            }
            return out
          },
          end: Effect.succeed("data: [DONE]\n\n"),
          fail: (error) => sseData(ApiError.body(ApiError.fromLlmError(error, scrub)))
        }
      }

      // -- models, health, metrics ---------------------------------------------------------

      const modelIds = [
        ...groups.keys(),
        ...[...config.router.settings.aliases].filter(([, alias]) => !alias.hidden).map(([name]) => name),
        ...(config.router.settings.complexityRouters?.keys() ?? [])
      ]
      const modelObject = (id: string) => ({ id, object: "model", created: startedAt, owned_by: "llm-router" })
      const modelList = JSON.stringify({ object: "list", data: modelIds.map(modelObject) })
      const modelsById = new Map(modelIds.map((id) => [id, JSON.stringify(modelObject(id))]))
      /** `GET /v1/models/{id}`: the id may hold slashes (`openai/gpt-4o` is a fine group name). */
      const model = (request: HttpServerRequest.HttpServerRequest, requestId: string) => {
        const path = request.url.split("?")[0] ?? ""
        let id: string
        try {
          id = decodeURIComponent(path.replace(/^(\/v1)?\/models\//, ""))
        } catch {
          id = path
        }
        const found = modelsById.get(id)
        if (found === undefined) return Effect.fail(ApiError.modelNotFound(id))
        return Effect.succeed(HttpServerResponse.text(found, { contentType: "application/json", headers: { [RouteHeaders.names.requestId]: requestId } }))
      }
      const models = (_request: HttpServerRequest.HttpServerRequest, requestId: string) =>
        Effect.succeed(
          HttpServerResponse.text(modelList, {
            contentType: "application/json",
            headers: { [RouteHeaders.names.requestId]: requestId }
          })
        )

      const liveness = (_request: HttpServerRequest.HttpServerRequest, requestId: string) =>
        Effect.succeed(json({ status: "ok" }, 200, { [RouteHeaders.names.requestId]: requestId }))

      const readiness = (_request: HttpServerRequest.HttpServerRequest, requestId: string) =>
        Effect.gen(function*() {
          const snapshot = yield* state.snapshot(allIds)
          const cooldowns = new Map((yield* state.cooldowns).map((c) => [c.deployment, c]))
          const report: Record<string, unknown> = {}
          let ready = 0
          for (const [group, ids] of groups) {
            const cooling = ids.filter((id) => (snapshot.stats.get(id)?.cooldownUntil ?? 0) > 0)
            const available = ids.length - cooling.length
            if (available > 0) ready++
            report[group] = {
              available,
              total: ids.length,
              cooling_down: cooling.map((id) => ({
                deployment: id,
                until: new Date(snapshot.stats.get(id)?.cooldownUntil ?? 0).toISOString(),
                reason: cooldowns.get(id)?.reason ?? "unknown"
              }))
            }
          }
          const status = ready === groups.size ? "ready" : ready > 0 ? "degraded" : "unavailable"
          // Informational: a replica without Redis still routes, so it stays ready.
          const sharedState = Option.isNone(sharing)
            ? { store: "memory" }
            : { store: "redis", connected: yield* sharing.value.connected }
          return json(
            { status, config_loaded: true, groups: report, shared_state: sharedState },
            status === "unavailable" ? 503 : 200,
            { [RouteHeaders.names.requestId]: requestId }
          )
        })

      const updateProcessMetrics = yield* ProcessMetrics.make
      /**
       * LiteLLM's `/health` shape (`healthy_endpoints`, `unhealthy_endpoints` and their counts),
       * from the router's state rather than a test call to every deployment: a deployment that is
       * cooling down is unhealthy, with the reason it was cooled. `api_base` is the header's,
       * without credentials or query.
       */
      const health = (_request: HttpServerRequest.HttpServerRequest, requestId: string) =>
        Effect.gen(function*() {
          const snapshot = yield* state.snapshot(allIds)
          const cooldowns = new Map((yield* state.cooldowns).map((c) => [c.deployment, c]))
          const healthy: Array<Record<string, unknown>> = []
          const unhealthy: Array<Record<string, unknown>> = []
          for (const d of config.router.deployments) {
            const endpoint = { model: `${d.provider}/${d.model}`, model_name: d.group, model_id: d.id, ...(apiBases.has(d.id) ? { api_base: apiBases.get(d.id) } : {}) }
            if ((snapshot.stats.get(d.id)?.cooldownUntil ?? 0) > 0) unhealthy.push({ ...endpoint, error: cooldowns.get(d.id)?.reason ?? "cooling down" })
            else healthy.push(endpoint)
          }
          return json(
            { healthy_endpoints: healthy, unhealthy_endpoints: unhealthy, healthy_count: healthy.length, unhealthy_count: unhealthy.length },
            200,
            { [RouteHeaders.names.requestId]: requestId }
          )
        })

      const metrics = (_request: HttpServerRequest.HttpServerRequest, requestId: string) =>
        Effect.map(Effect.andThen(updateProcessMetrics, PrometheusMetrics.format()), (text) =>
          HttpServerResponse.text(text, {
            contentType: "text/plain; version=0.0.4; charset=utf-8",
            headers: { [RouteHeaders.names.requestId]: requestId }
          }))

      const notFound = (request: HttpServerRequest.HttpServerRequest) =>
        Effect.fail(ApiError.routeNotFound(request.method, request.url.split("?")[0] ?? ""))

      const chatHandler = handle("/v1/chat/completions", true, chat)
      const modelsHandler = handle("/v1/models", true, models)
      const modelHandler = handle("/v1/models/{id}", true, model)
      // One route takes `/v1/models` and `/v1/models/{id}`: the router counts the bare path as the wildcard's.
      const modelsOrModel = (request: HttpServerRequest.HttpServerRequest) =>
        /^(\/v1)?\/models\/?(\?|$)/.test(request.url) ? modelsHandler(request) : modelHandler(request)
      const livenessHandler = handle("/health/liveness", false, liveness)
      yield* router.add("POST", "/v1/chat/completions", chatHandler)
      yield* router.add("POST", "/chat/completions", chatHandler)
      yield* router.add("GET", "/v1/models/*", modelsOrModel)
      yield* router.add("GET", "/models/*", modelsOrModel)
      yield* router.add("GET", "/health/liveness", livenessHandler)
      // LiteLLM's spelling, for probes written against it; and its `/health`, from the router's state.
      yield* router.add("GET", "/health/liveliness", livenessHandler)
      yield* router.add("GET", "/health", handle("/health", true, health))
      yield* router.add("GET", "/health/readiness", handle("/health/readiness", false, readiness))
      yield* router.add("GET", "/metrics", handle("/metrics", config.requireAuthForMetrics, metrics))
      // Routes in files of their own (the Responses API, Anthropic's Messages API, embeddings).
      const kit: RouteKit = {
        client,
        readBody,
        scrub,
        handle: (route, dialect, f) => handle(route, true, f, dialect),
        sessionOf,
        apiBaseOf: (deployment) => apiBases.get(deployment)
      }
      yield* ResponsesRoute.register(router, kit)
      yield* MessagesRoute.register(router, kit)
      yield* EmbeddingsRoute.register(router, kit, embeddings)
      yield* router.add("*", "*", handle("unmatched", false, notFound))
    })
  )

// ---------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------

export interface ServeOptions<E, R> extends Settings {
  /** The client for each deployment: the provider registry, or a stub in tests. */
  readonly clientFor: Router.ClientFor<E, R>
  /** The embeddings client for each embedding deployment (`Providers.builtin.embeddingClientFor`); none, no embeddings. */
  readonly embeddingClientFor?: Router.EmbeddingClientFor<E, R> | undefined
  readonly host?: string | undefined
  /** 0 picks a free port; read it from `HttpServer.address`. */
  readonly port?: number | undefined
}

/**
 * What the gateway remembers between requests (the router's state, and the Responses API's
 * stored answers): this replica's memory, or, with `router_settings.redis_*`, that memory with
 * cooldowns shared across the fleet through Redis, and the stored answers in that Redis.
 */
export const layerState = (config: GatewayConfig): Layer.Layer<RouterState.RouterState | ResponseStore.ResponseStore> =>
  config.sharedState === undefined
    ? Layer.merge(RouterState.layerMemory, ResponseStore.layerMemory())
    : SharedResponseStore.layer({ prefix: config.sharedState.keyPrefix }).pipe(
      Layer.provideMerge(RedisRouterState.layerNode(config.sharedState, { prefix: config.sharedState.keyPrefix }))
    )

/** The routes with their router: needs `HttpRouter` and whatever `clientFor` needs. */
export const layerRoutes = <E, R>(
  options: Settings & {
    readonly clientFor: Router.ClientFor<E, R>
    readonly embeddingClientFor?: Router.EmbeddingClientFor<E, R> | undefined
  }
) =>
  routes(options).pipe(
    Layer.provide(Router.layer(options.config.router, options.clientFor, { embeddingClientFor: options.embeddingClientFor })),
    Layer.provide(layerState(options.config))
  )

/**
 * The gateway listening on Node's HTTP server. On shutdown it drains (see `Drain`): stops
 * accepting, closes idle connections, answers what is in flight with `Connection: close` and
 * refuses the rest with a 503, for at most `gracefulShutdownMs`; then interrupts what is left.
 */
export const layer = <E, R>(options: ServeOptions<E, R>) =>
  Layer.unwrap(Effect.sync(() => {
    const { config } = options
    const bodyTimeoutMs = options.bodyTimeoutMs ?? config.bodyTimeoutMs
    const server = createServer({
      // Node's own bound on receiving a request stays behind the gateway's body timeout.
      requestTimeout: Math.max(300_000, bodyTimeoutMs + 10_000),
      keepAliveTimeout: 65_000
    })
    const drain = Drain.make(server)
    const grace = Duration.millis(config.gracefulShutdownMs)
    // Built after the routes are served, so released before them: the drain runs first, and
    // the server's own shutdown then finds nothing left to wait for.
    const drainOnShutdown = Layer.effectDiscard(Effect.addFinalizer(() => drain.drain(grace)))
    return drainOnShutdown.pipe(
      Layer.provideMerge(HttpRouter.serve(layerRoutes({ ...options, drain }), { disableLogger: true, disableListenLog: true })),
      Layer.provideMerge(NodeHttpServer.layer(() => server, {
        host: options.host ?? "127.0.0.1",
        port: options.port ?? 4000,
        gracefulShutdownTimeout: grace
      })),
      // Every call to a provider, made from the requests' fibers, reads its answers under this bound.
      Layer.provide(Layer.succeed(ResponseLimit.MaxResponseBytes, config.maxResponseBytes))
    )
  }))

/**
 * The gateway's config file: LiteLLM's proxy `config.yaml`, so a LiteLLM user brings theirs
 * as is. `model_list`, `router_settings` and the routing part of `litellm_settings` are
 * merged into the core router config (LiteLLM's `Router(...)` names) and decoded by it;
 * `general_settings` holds the gateway's own (master key, request limits). `os.environ/NAME`
 * values are read through Effect `Config` (so tests can swap the provider). Keys this
 * project does not act on are returned as one warning; every problem in an invalid file
 * is reported at once, each with the path a user can find in their YAML.
 */
import { Config, Effect, FileSystem, Redacted, Result, Schema } from "effect"
import { Yaml } from "effect/encoding"
import { ComplexityRouter, Deployment, RouterConfig } from "@llm-router/core"
import type { RedisRouterState } from "@llm-router/redis"

export interface GatewayConfig {
  readonly router: RouterConfig.RouterConfig
  /** When set, every route but health needs `Authorization: Bearer <key>`. */
  readonly masterKey: Redacted.Redacted<string> | undefined
  readonly maxRequestBytes: number
  /** What an upstream answer read whole may hold (see `ResponseLimit`). */
  readonly maxResponseBytes: number
  /** What the bodies of the requests in flight may hold together; beyond it new ones get a 503. */
  readonly maxInFlightRequestBytes: number
  /** How long a client may take to send its request body. */
  readonly bodyTimeoutMs: number
  /** How long in-flight requests may take to finish on shutdown. */
  readonly gracefulShutdownMs: number
  readonly requireAuthForMetrics: boolean
  /**
   * `litellm_settings.callbacks` names `otel`. Traces go wherever the OTel environment says
   * (see `Tracing`); this only lets start-up warn when that environment is missing.
   */
  readonly otelCallback: boolean
  /**
   * `router_settings.redis_*`: the Redis through which replicas share cooldowns
   * (`@llm-router/redis`); `undefined` when each replica keeps its own.
   */
  readonly sharedState: SharedState | undefined
  /** Keys present in the file that this gateway does not act on (paths), for one start-up warning. */
  readonly unsupportedKeys: ReadonlyArray<string>
}

export interface SharedState extends RedisRouterState.Connection {
  /** `router_settings.redis_key_prefix` (ours): one per fleet sharing a Redis. */
  readonly keyPrefix: string
}

export const defaults = {
  maxRequestMb: 10,
  maxResponseMb: 32,
  maxInFlightRequestMb: 256,
  bodyTimeoutSeconds: 30,
  gracefulShutdownSeconds: 20
} as const

export interface Issue {
  readonly path: string
  readonly message: string
}

export class GatewayConfigError extends Schema.TaggedError<GatewayConfigError>()("GatewayConfigError", {
  message: Schema.String,
  issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
}) {
  static fromIssues(issues: ReadonlyArray<Issue>, source?: string): GatewayConfigError {
    const where = source === undefined ? "" : ` ${source}`
    return new GatewayConfigError({
      message: `Invalid config${where}:\n${issues.map((i) => `  - ${i.path || "(root)"}: ${i.message}`).join("\n")}`,
      issues
    })
  }
}

/** The one warning to print at start-up, or `undefined` when every key is acted on. */
export const unsupportedWarning = (config: Pick<GatewayConfig, "unsupportedKeys">): string | undefined =>
  config.unsupportedKeys.length === 0
    ? undefined
    : `Ignoring config keys this gateway does not support: ${config.unsupportedKeys.join(", ")}`

const ENV_PREFIX = "os.environ/"

const routerKeys = new Set(Object.keys(RouterConfig.RouterConfigInput.fields).filter((k) => k !== "model_list"))
/** `litellm_settings` keys that configure the router, and the router's name for each. */
const litellmRouterKeys: Readonly<Record<string, string>> = {
  num_retries: "num_retries",
  request_timeout: "timeout",
  fallbacks: "fallbacks",
  context_window_fallbacks: "context_window_fallbacks",
  content_policy_fallbacks: "content_policy_fallbacks",
  default_fallbacks: "default_fallbacks"
}
/** LiteLLM's Router takes its Redis as `redis_url`, or `redis_host` with `redis_port` and `redis_password`. */
const redisKeys = new Set(["redis_url", "redis_host", "redis_port", "redis_password", "redis_key_prefix"])
const entryKeys = new Set(Object.keys(RouterConfig.DeploymentEntry.fields))
/**
 * `litellm_params` keys something here acts on: the router's own, and the provider parameters
 * the adapters send or read (sampling defaults, headers, Anthropic's thinking, Gemini's safety
 * settings). Any other is named in the start-up warning, so a typo such as `api_kye` shows.
 */
const litellmParamKeys = new Set([
  ...Object.keys(RouterConfig.LitellmParams.schema.fields),
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "seed",
  "presence_penalty",
  "frequency_penalty",
  "reasoning_effort",
  "response_format",
  "user",
  "service_tier",
  "extra_headers",
  "organization",
  "thinking",
  "safety_settings"
])
const topLevelKeys = new Set(["model_list", "router_settings", "litellm_settings", "general_settings"])

const Seconds = Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(86_400))
const GeneralSettings = Schema.Struct({
  master_key: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  /** LiteLLM's name. */
  max_request_size_mb: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1024))),
  /** Ours: seconds a client may take to send its body. */
  request_body_timeout: Schema.optionalKey(Seconds),
  /** Ours: seconds in-flight requests get to finish on SIGTERM. */
  graceful_shutdown_timeout: Schema.optionalKey(Seconds),
  /** Ours: MB an upstream's non-streamed answer may have. */
  max_response_size_mb: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(4096))),
  /** Ours: MB the bodies of all requests in flight may hold together. */
  max_in_flight_request_size_mb: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(65536)))
})
const generalKeys = new Set(Object.keys(GeneralSettings.fields))

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const firstSegment = (path: string): string => {
  const match = /^[^.[]+/.exec(path)
  return match ? match[0] : path
}

/** Reads `os.environ/NAME` through the current `ConfigProvider`. */
const readEnv = <A>(name: string, config: (name: string) => Config.Config<A>, path: string) =>
  Effect.map(Effect.result(config(name)), (result) =>
    Result.isSuccess(result)
      ? Result.succeed(result.success)
      : Result.fail<Issue>({ path, message: `environment variable ${name} is not set (from "${ENV_PREFIX}${name}")` }))

const envName = (value: unknown): string | undefined =>
  typeof value === "string" && value.startsWith(ENV_PREFIX) ? value.slice(ENV_PREFIX.length).trim() : undefined

export interface Options {
  /** Provider prefixes the gateway can call (`openai`, `anthropic`, …); others are a config error. */
  readonly knownProviders?: ReadonlyArray<string> | undefined
  /** The file name, for messages. */
  readonly source?: string | undefined
}

/**
 * Turns a parsed config document into the gateway's config, or every problem with it.
 * Needs no services but the `ConfigProvider` (environment) that `Effect` always has.
 */
export const fromUnknown = (document: unknown, options: Options = {}): Effect.Effect<GatewayConfig, GatewayConfigError> =>
  Effect.gen(function*() {
    const issues: Array<Issue> = []
    const unsupported: Array<string> = []
    const fail = () => Effect.fail(GatewayConfigError.fromIssues(issues, options.source))

    const root = document === null || document === undefined ? {} : document
    if (!isRecord(root)) {
      issues.push({ path: "", message: "the config file must be a YAML mapping with a model_list" })
      return yield* fail()
    }
    const section = (name: string): Readonly<Record<string, unknown>> => {
      const value = root[name]
      if (value === undefined || value === null) return {}
      if (!isRecord(value)) {
        issues.push({ path: name, message: "expected a mapping" })
        return {}
      }
      return value
    }
    for (const key of Object.keys(root)) if (!topLevelKeys.has(key)) unsupported.push(key)
    const routerSettings = section("router_settings")
    const litellmSettings = section("litellm_settings")
    const generalSettings = section("general_settings")

    // The router's input, and where in the file each of its keys came from.
    const input: Record<string, unknown> = {}
    const origin = new Map<string, string>([["model_list", "model_list"]])
    let callbacks: unknown
    for (const [key, value] of Object.entries(litellmSettings)) {
      const target = litellmRouterKeys[key]
      if (target !== undefined) {
        input[target] = value
        origin.set(target, `litellm_settings.${key}`)
      } else if (key === "callbacks") {
        callbacks = value
      } else if (key !== "require_auth_for_metrics_endpoint") unsupported.push(`litellm_settings.${key}`)
    }
    // LiteLLM's logging callbacks: `otel` (traces, see `Tracing`) and `prometheus` (`/metrics`,
    // always on) are what this gateway has; any other is named in the warning.
    const callbackNames = typeof callbacks === "string" ? [callbacks] : Array.isArray(callbacks) ? callbacks : []
    if (callbacks !== undefined && callbacks !== null && !Array.isArray(callbacks) && typeof callbacks !== "string") {
      issues.push({ path: "litellm_settings.callbacks", message: "expected a list of callback names" })
    }
    for (const name of callbackNames) {
      if (name !== "otel" && name !== "prometheus") unsupported.push(`litellm_settings.callbacks: ${String(name)}`)
    }
    // router_settings wins over litellm_settings, as in LiteLLM's proxy.
    const redisSettings: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(routerSettings)) {
      if (redisKeys.has(key)) {
        redisSettings[key] = value
      } else if (routerKeys.has(key)) {
        input[key] = value
        origin.set(key, `router_settings.${key}`)
      } else unsupported.push(`router_settings.${key}`)
    }
    const requireAuthForMetrics = litellmSettings["require_auth_for_metrics_endpoint"]
    if (requireAuthForMetrics !== undefined && typeof requireAuthForMetrics !== "boolean") {
      issues.push({ path: "litellm_settings.require_auth_for_metrics_endpoint", message: "expected true or false" })
    }

    // model_list: check providers, resolve os.environ/ values; the schema checks the rest.
    const secrets = new Map<string, Redacted.Redacted<string>>()
    const knownProviders = options.knownProviders
    const modelList = root["model_list"]
    if (Array.isArray(modelList)) {
      input["model_list"] = yield* Effect.forEach(modelList, (entry, index) =>
        Effect.gen(function*() {
          if (!isRecord(entry)) return entry
          for (const key of Object.keys(entry)) if (!entryKeys.has(key)) unsupported.push(`model_list[${index}].${key}`)
          const params = entry["litellm_params"]
          if (!isRecord(params)) return entry
          const resolved: Record<string, unknown> = { ...params }
          for (const key of Object.keys(params)) {
            if (!litellmParamKeys.has(key)) unsupported.push(`model_list[${index}].litellm_params.${key}`)
          }
          const model = params["model"]
          if (typeof model === "string" && knownProviders !== undefined && model !== ComplexityRouter.MODEL) {
            const { provider } = Deployment.parseModel(model)
            if (!knownProviders.includes(provider)) {
              issues.push({
                path: `model_list[${index}].litellm_params.model`,
                message: `unknown provider "${provider}" in "${model}" (known: ${knownProviders.join(", ")})`
              })
            }
          }
          for (const [key, value] of Object.entries(params)) {
            const name = envName(value)
            if (name === undefined) continue
            const path = `model_list[${index}].litellm_params.${key}`
            if (name.length === 0) {
              issues.push({ path, message: `"${ENV_PREFIX}" needs a variable name` })
              continue
            }
            if (key === "api_key") {
              const secret = yield* readEnv(name, Config.Redacted, path)
              if (Result.isSuccess(secret)) secrets.set(path, secret.success)
              else issues.push(secret.failure)
            } else {
              const text = yield* readEnv(name, Config.String, path)
              if (Result.isSuccess(text)) resolved[key] = text.success
              else issues.push(text.failure)
            }
          }
          // Keys named in the warning are not the router's: it refuses unknown keys.
          const known = Object.fromEntries(Object.entries(entry).filter(([key]) => entryKeys.has(key)))
          return { ...known, litellm_params: resolved }
        }))
    } else if (modelList !== undefined) input["model_list"] = modelList

    // general_settings: the gateway's own.
    const general: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(generalSettings)) {
      if (generalKeys.has(key)) general[key] = value
      else unsupported.push(`general_settings.${key}`)
    }
    let masterKey: Redacted.Redacted<string> | undefined
    const decodedGeneral = Schema.decodeUnknownResult(GeneralSettings)(general, { errors: "all" })
    if (Result.isFailure(decodedGeneral)) {
      issues.push(...RouterConfig.issuesOf(decodedGeneral.failure.issue, "general_settings"))
    } else {
      const key = decodedGeneral.success.master_key
      const name = envName(key)
      if (name !== undefined) {
        const secret = yield* readEnv(name, Config.Redacted, "general_settings.master_key")
        if (Result.isSuccess(secret)) masterKey = secret.success
        else issues.push(secret.failure)
      } else if (key !== undefined) masterKey = Redacted.make(key)
    }

    const sharedState = yield* redisSettingsOf(redisSettings, issues)

    const decoded = yield* Effect.result(RouterConfig.decode(input, {
      resolveSecret: (value, path) => secrets.get(path) ?? Redacted.make(value)
    }))
    if (Result.isFailure(decoded)) {
      for (const issue of decoded.failure.issues) {
        const head = firstSegment(issue.path)
        const from = origin.get(head)
        issues.push({ path: from === undefined ? issue.path : from + issue.path.slice(head.length), message: issue.message })
      }
    }
    if (issues.length > 0 || Result.isFailure(decoded) || Result.isFailure(decodedGeneral)) return yield* fail()
    const settings = decodedGeneral.success
    return {
      router: decoded.success,
      masterKey,
      maxRequestBytes: Math.floor((settings.max_request_size_mb ?? defaults.maxRequestMb) * 1024 * 1024),
      maxResponseBytes: Math.floor((settings.max_response_size_mb ?? defaults.maxResponseMb) * 1024 * 1024),
      maxInFlightRequestBytes: Math.floor((settings.max_in_flight_request_size_mb ?? defaults.maxInFlightRequestMb) * 1024 * 1024),
      bodyTimeoutMs: (settings.request_body_timeout ?? defaults.bodyTimeoutSeconds) * 1000,
      gracefulShutdownMs: (settings.graceful_shutdown_timeout ?? defaults.gracefulShutdownSeconds) * 1000,
      requireAuthForMetrics: requireAuthForMetrics === true,
      otelCallback: callbackNames.includes("otel"),
      sharedState,
      unsupportedKeys: unsupported
    }
  })

/**
 * `router_settings.redis_*`, each a value or `os.environ/NAME`: where the fleet's Redis is.
 * Problems go to `issues`; `undefined` when no Redis is configured (or it is not valid).
 */
const redisSettingsOf = (settings: Readonly<Record<string, unknown>>, issues: Array<Issue>) =>
  Effect.gen(function*() {
    if (Object.keys(settings).length === 0) return undefined
    const before = issues.length
    const value = (key: string, secret: boolean) =>
      Effect.gen(function*() {
        const raw = settings[key]
        const path = `router_settings.${key}`
        const name = envName(raw)
        if (name === undefined) return raw === undefined || raw === null ? undefined : secret && typeof raw === "string" ? Redacted.make(raw) : raw
        const read: Result.Result<unknown, Issue> = secret
          ? yield* readEnv(name, Config.Redacted, path)
          : yield* readEnv(name, Config.String, path)
        if (Result.isSuccess(read)) return read.success
        issues.push(read.failure)
        return undefined
      })
    const text = (key: string, raw: unknown, check: (s: string) => boolean, expected: string): string | undefined => {
      if (raw === undefined) return undefined
      const s = Redacted.isRedacted(raw) ? Redacted.value(raw) : raw
      if (typeof s === "string" && check(s)) return s
      issues.push({ path: `router_settings.${key}`, message: expected })
      return undefined
    }
    const url = text("redis_url", yield* value("redis_url", true), (s) => /^rediss?:\/\/./.test(s), "expected a redis:// or rediss:// URL")
    const host = text("redis_host", yield* value("redis_host", false), (s) => s.trim().length > 0, "expected a host name")
    const portValue = yield* value("redis_port", false)
    const port = portValue === undefined ? undefined : Number(portValue)
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
      issues.push({ path: "router_settings.redis_port", message: "expected a port number (1-65535)" })
    }
    const password = text("redis_password", yield* value("redis_password", true), (s) => s.length > 0, "expected a password")
    const keyPrefix = text("redis_key_prefix", yield* value("redis_key_prefix", false), (s) => /^\S+$/.test(s), "expected a key prefix without spaces")
    if (url === undefined && host === undefined && issues.length === before) {
      issues.push({ path: "router_settings", message: "redis_port, redis_password and redis_key_prefix need redis_host (or redis_url)" })
    }
    if (issues.length > before) return undefined
    const shared: SharedState = {
      ...(url !== undefined ? { url: Redacted.make(url) } : { host, port, ...(password !== undefined ? { password: Redacted.make(password) } : {}) }),
      keyPrefix: keyPrefix ?? "llm-router"
    }
    return shared
  })

/** Parses YAML text (JSON is YAML too). */
export const parse = (text: string, options: Options = {}): Effect.Effect<GatewayConfig, GatewayConfigError> =>
  Effect.suspend(() => {
    let document: unknown
    try {
      document = Yaml.parse(text)
    } catch (error) {
      return Effect.fail(GatewayConfigError.fromIssues(
        [{ path: "", message: `not valid YAML: ${error instanceof Error ? error.message : String(error)}` }],
        options.source
      ))
    }
    return fromUnknown(document, options)
  })

/** Reads and parses a config file. */
export const load = (
  path: string,
  options: Omit<Options, "source"> = {}
): Effect.Effect<GatewayConfig, GatewayConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((error) =>
        GatewayConfigError.fromIssues([{ path: "", message: `cannot read the file: ${error.message}` }], path))
    )
    return yield* parse(text, { ...options, source: path })
  })

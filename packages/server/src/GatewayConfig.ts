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
  /**
   * Where each deployment's key comes from, by deployment id: `the file`,
   * `os.environ/NAME`, or `NAME` (the provider's standard variable, as LiteLLM reads it); absent
   * when it has none. For `check`; never the key itself.
   */
  readonly keySources: ReadonlyMap<string, string>
  /** Deployments on a provider LiteLLM speaks and this gateway does not (their calls fail with 501). */
  readonly unsupportedDeployments: ReadonlyArray<UnsupportedDeployment>
}

export interface UnsupportedDeployment {
  readonly id: string
  readonly group: string
  readonly provider: string
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

/** One warning per deployment on a provider the gateway cannot call, for start-up and `check`. */
export const unsupportedProviderWarnings = (config: Pick<GatewayConfig, "unsupportedDeployments">): ReadonlyArray<string> =>
  config.unsupportedDeployments.map((d) =>
    `deployment "${d.id}" of model group "${d.group}" is on provider "${d.provider}", which this gateway does not support: ` +
    `its requests fail with 501 (the group's other deployments and fallbacks still serve)`
  )

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
  // LiteLLM's docs put these under litellm_settings too (router_settings still wins).
  allowed_fails: "allowed_fails",
  allowed_fails_policy: "allowed_fails_policy",
  cooldown_time: "cooldown_time",
  disable_cooldowns: "disable_cooldowns",
  retry_after: "retry_after",
  max_fallbacks: "max_fallbacks",
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
  ...Deployment.samplingDefaultKeys,
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

/** A variable that could not be read; `empty` when it is set to "" (which LiteLLM takes as unset). */
interface EnvIssue extends Issue {
  readonly empty: boolean
}

/**
 * Reads `os.environ/NAME` through the current `ConfigProvider`, which reports a variable set
 * to "" as missing; the process environment tells the two apart.
 */
const readEnv = <A>(name: string, config: (name: string) => Config.Config<A>, path: string) =>
  Effect.map(Effect.result(config(name)), (result): Result.Result<A, EnvIssue> => {
    if (Result.isSuccess(result)) return Result.succeed(result.success)
    const empty = process.env[name]?.trim() === ""
    return Result.fail({
      path,
      message: `environment variable ${name} is ${empty ? "empty" : "not set"} (from "${ENV_PREFIX}${name}")`,
      empty
    })
  })

const issueOf = ({ message, path }: EnvIssue): Issue => ({ path, message })

const envName = (value: unknown): string | undefined =>
  typeof value === "string" && value.startsWith(ENV_PREFIX) ? value.slice(ENV_PREFIX.length).trim() : undefined

/** LiteLLM treats an empty value (`api_key:`, `redis_password: ""`) as unset. */
const isEmpty = (value: unknown): boolean => value === null || (typeof value === "string" && value.trim() === "")

/** The first of `names` set to a non-empty value, through the current `ConfigProvider`. */
const firstSetEnv = (names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    for (const name of names) {
      const value = yield* Effect.result(Config.String(name))
      if (Result.isSuccess(value) && value.success.trim() !== "") return { name, value: value.success }
    }
    return undefined
  })

/** What the config needs to know of the provider registry (`Providers.builtin`). */
export interface ProviderRegistry {
  readonly known: ReadonlyArray<string>
  readonly unsupported: ReadonlyArray<string>
  readonly environment: (provider: string) => {
    readonly apiKey: ReadonlyArray<string>
    readonly apiBase?: ReadonlyArray<string> | undefined
    readonly apiVersion?: ReadonlyArray<string> | undefined
  } | undefined
}

export interface Options {
  /** Provider prefixes the gateway can call (`openai`, `anthropic`, …); others are a config error. */
  readonly knownProviders?: ReadonlyArray<string> | undefined
  /**
   * The registry (supersedes `knownProviders`): a deployment without `api_key` (or `api_base`,
   * `api_version`) reads its provider's standard variables, and one on an `unsupported`
   * provider is kept (its calls fail with 501) rather than refused.
   */
  readonly registry?: ProviderRegistry | undefined
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
    // An empty value is unset, as in LiteLLM.
    const withoutEmpty = (settings: Readonly<Record<string, unknown>>) =>
      Object.fromEntries(Object.entries(settings).filter(([, value]) => !isEmpty(value)))
    const routerSettings = withoutEmpty(section("router_settings"))
    const litellmSettings = withoutEmpty(section("litellm_settings"))
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

    // model_list: check providers, resolve os.environ/ values and the providers' standard
    // variables; the schema checks the rest.
    const secrets = new Map<string, Redacted.Redacted<string>>()
    const registry = options.registry
    const knownProviders = registry?.known ?? options.knownProviders
    /** By model_list index: where the key came from, and the provider when the gateway cannot call it. */
    const keySourceAt = new Map<number, string>()
    const unsupportedAt = new Map<number, string>()
    /** The model_list indices that become deployments (not a complexity router's), in order. */
    const deploymentIndices: Array<number> = []
    const modelList = root["model_list"]
    if (Array.isArray(modelList)) {
      input["model_list"] = yield* Effect.forEach(modelList, (entry, index) =>
        Effect.gen(function*() {
          if (!isRecord(entry)) return entry
          for (const key of Object.keys(entry)) if (!entryKeys.has(key)) unsupported.push(`model_list[${index}].${key}`)
          const params = entry["litellm_params"]
          if (!isRecord(params)) return entry
          const resolved: Record<string, unknown> = withoutEmpty(params)
          const model = params["model"]
          if (model !== ComplexityRouter.MODEL) deploymentIndices.push(index)
          const provider = typeof model === "string" && model !== ComplexityRouter.MODEL ? Deployment.parseModel(model).provider : undefined
          if (provider !== undefined && registry?.unsupported.includes(provider)) {
            // Never called: its credentials (AWS keys, a Vertex project…) are not read, so an unset one is no error.
            unsupportedAt.set(index, provider)
            return { ...entry, litellm_params: Object.fromEntries(Object.entries(resolved).filter(([, value]) => envName(value) === undefined)) }
          } else if (provider !== undefined && knownProviders !== undefined && !knownProviders.includes(provider)) {
            issues.push({
              path: `model_list[${index}].litellm_params.model`,
              message: `unknown provider "${provider}" in "${String(model)}" (known: ${knownProviders.join(", ")})`
            })
          }
          // (A deployment the gateway cannot call is not warned about: its provider's own keys are expected.)
          for (const key of Object.keys(params)) {
            if (!litellmParamKeys.has(key)) unsupported.push(`model_list[${index}].litellm_params.${key}`)
          }
          for (const [key, value] of Object.entries(resolved)) {
            const name = envName(value)
            if (name === undefined) continue
            const path = `model_list[${index}].litellm_params.${key}`
            if (name.length === 0) {
              issues.push({ path, message: `"${ENV_PREFIX}" needs a variable name` })
              continue
            }
            if (key === "api_key") {
              const secret = yield* readEnv(name, Config.Redacted, path)
              // A variable set to "" is unset: the provider's standard variable may still apply.
              if (Result.isFailure(secret) && secret.failure.empty) delete resolved[key]
              else if (Result.isFailure(secret)) issues.push(issueOf(secret.failure))
              else if (Redacted.value(secret.success).trim() === "") delete resolved[key]
              else {
                secrets.set(path, secret.success)
                keySourceAt.set(index, `${ENV_PREFIX}${name}`)
              }
            } else {
              const text = yield* readEnv(name, Config.String, path)
              if (Result.isFailure(text) && text.failure.empty) delete resolved[key]
              else if (Result.isFailure(text)) issues.push(issueOf(text.failure))
              else if (text.success.trim() === "") delete resolved[key]
              else resolved[key] = text.success
            }
          }
          if (resolved["api_key"] !== undefined && !keySourceAt.has(index)) keySourceAt.set(index, "the file")
          // No key (base, version) in the file: the provider's standard variables, as LiteLLM reads them.
          const environment = provider === undefined ? undefined : registry?.environment(provider)
          if (environment !== undefined) {
            if (resolved["api_key"] === undefined) {
              const found = yield* firstSetEnv(environment.apiKey)
              if (found !== undefined) {
                const path = `model_list[${index}].litellm_params.api_key`
                secrets.set(path, Redacted.make(found.value))
                resolved["api_key"] = `${ENV_PREFIX}${found.name}`
                keySourceAt.set(index, found.name)
              }
            }
            for (const [key, names] of [["api_base", environment.apiBase], ["api_version", environment.apiVersion]] as const) {
              if (resolved[key] !== undefined || names === undefined) continue
              const found = yield* firstSetEnv(names)
              if (found !== undefined) resolved[key] = found.value
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
        // Strict even when empty: an empty master key must not quietly open the gateway.
        const secret = yield* readEnv(name, Config.Redacted, "general_settings.master_key")
        if (Result.isSuccess(secret)) masterKey = secret.success
        else issues.push(issueOf(secret.failure))
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
    // The router makes one deployment per model_list entry in order, a complexity router's entry excepted.
    const deploymentAt = new Map(deploymentIndices.map((index, k) => [index, decoded.success.deployments[k]] as const))
    const keySources = new Map<string, string>()
    for (const [index, source] of keySourceAt) {
      const d = deploymentAt.get(index)
      if (d !== undefined) keySources.set(d.id, source)
    }
    const unsupportedDeployments = [...unsupportedAt].flatMap(([index, provider]) => {
      const d = deploymentAt.get(index)
      return d === undefined ? [] : [{ id: d.id, group: d.group, provider }]
    })
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
      unsupportedKeys: unsupported,
      keySources,
      unsupportedDeployments
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
        if (name === undefined) return isEmpty(raw) || raw === undefined ? undefined : secret && typeof raw === "string" ? Redacted.make(raw) : raw
        const read: Result.Result<unknown, EnvIssue> = secret
          ? yield* readEnv(name, Config.Redacted, path)
          : yield* readEnv(name, Config.String, path)
        // A variable set to "" is unset, as in LiteLLM.
        if (Result.isSuccess(read)) return isEmpty(Redacted.isRedacted(read.success) ? Redacted.value(read.success) : read.success) ? undefined : read.success
        if (!read.failure.empty) issues.push(issueOf(read.failure))
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

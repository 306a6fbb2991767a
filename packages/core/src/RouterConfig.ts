/**
 * The router's configuration, in LiteLLM's names so a LiteLLM user's `model_list` and
 * router settings work as written. `decode` checks the shape (every problem with its
 * field path) and the cross-references (fallbacks to groups that exist), and produces
 * the resolved `RouterConfig` the router runs on: deployments plus settings in milliseconds.
 */
import { Effect, Redacted, Schedule, Schema, SchemaIssue } from "effect"
import * as Budget from "./Budget.ts"
import * as ComplexityRouter from "./ComplexityRouter.ts"
import type { Deployment } from "./Deployment.ts"
import type * as LatencyRouting from "./LatencyRouting.ts"
import { isChat, type Mode, modes, parseModel } from "./Deployment.ts"
import type { LlmError, Tag } from "./LlmError.ts"
import * as ModelCatalog from "./ModelCatalog.ts"
import * as RetryPolicy from "./RetryPolicy.ts"

const Rest = [Schema.Record(Schema.String, Schema.Unknown)] as const
const between = (min: number, max: number) =>
  Schema.Finite.check(Schema.isGreaterThanOrEqualTo(min), Schema.isLessThanOrEqualTo(max))
const intBetween = (min: number, max: number) =>
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(min), Schema.isLessThanOrEqualTo(max))
const DAY_SECONDS = 86_400
/** Seconds, as LiteLLM takes them; zero and beyond a day are refused as mistakes. */
const Seconds = Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(DAY_SECONDS))
const NonEmpty = Schema.String.check(Schema.isMinLength(1))

export const LitellmParams = Schema.StructWithRest(
  Schema.Struct({
    model: NonEmpty,
    api_key: Schema.optionalKey(Schema.String),
    api_base: Schema.optionalKey(Schema.String),
    api_version: Schema.optionalKey(Schema.String),
    weight: Schema.optionalKey(between(0, 1e6)),
    order: Schema.optionalKey(intBetween(0, 1000)),
    rpm: Schema.optionalKey(intBetween(0, 1e9)),
    tpm: Schema.optionalKey(intBetween(0, 1e12)),
    timeout: Schema.optionalKey(Seconds),
    stream_timeout: Schema.optionalKey(Seconds),
    cooldown_time: Schema.optionalKey(between(0, DAY_SECONDS)),
    tags: Schema.optionalKey(Schema.Array(Schema.String)),
    max_input_tokens: Schema.optionalKey(intBetween(1, 1e9)),
    input_cost_per_token: Schema.optionalKey(between(0, 1)),
    output_cost_per_token: Schema.optionalKey(between(0, 1)),
    /** LiteLLM's deployment budget: USD per `budget_duration` (see `Budget`). */
    max_budget: Schema.optionalKey(between(0, 1e9)),
    budget_duration: Schema.optionalKey(Schema.String),
    /** LiteLLM's complexity router (with `model: auto_router/complexity_router`; see `ComplexityRouter`). */
    complexity_router_config: Schema.optionalKey(ComplexityRouter.ConfigInput),
    complexity_router_default_model: Schema.optionalKey(Schema.String)
  }),
  Rest
)

export const DeploymentEntry = Schema.Struct({
  model_name: NonEmpty,
  litellm_params: LitellmParams,
  model_info: Schema.optionalKey(Schema.StructWithRest(
    Schema.Struct({
      id: Schema.optionalKey(NonEmpty),
      max_input_tokens: Schema.optionalKey(intBetween(1, 1e9)),
      input_cost_per_token: Schema.optionalKey(between(0, 1)),
      output_cost_per_token: Schema.optionalKey(between(0, 1)),
      /** LiteLLM's marker of what the model does: `embedding`, `image_generation`, ... (default chat). */
      mode: Schema.optionalKey(Schema.Literals(modes)),
      /** LiteLLM's: the model behind a deployment named otherwise (an Azure deployment's name). */
      base_model: Schema.optionalKey(NonEmpty),
      /** LiteLLM's: whether the model reasons, whatever its name. */
      supports_reasoning: Schema.optionalKey(Schema.Boolean)
    }),
    Rest
  )),
  /** LiteLLM copies top-level rpm/tpm into litellm_params. */
  rpm: Schema.optionalKey(intBetween(0, 1e9)),
  tpm: Schema.optionalKey(intBetween(0, 1e12))
})
export type DeploymentEntry = typeof DeploymentEntry.Type

/** `[{ "gpt-4o": ["claude-sonnet"] }, …]`, LiteLLM's list of single-key maps. */
const FallbackList = Schema.Array(Schema.Record(Schema.String, Schema.Array(Schema.String)))

export const RoutingStrategy = Schema.Literals([
  "simple-shuffle",
  "least-busy",
  "latency-based-routing",
  "cost-based-routing",
  "usage-based-routing",
  "usage-based-routing-v2"
])
export type RoutingStrategy = typeof RoutingStrategy.Type

/** LiteLLM's `allowed_fails_policy` keys, and the error tags each one governs. */
const allowedFailsKeys: Readonly<Record<string, ReadonlyArray<Tag>>> = {
  BadRequestErrorAllowedFails: ["BadRequest", "ContextWindowExceeded"],
  AuthenticationErrorAllowedFails: ["AuthenticationFailed", "PermissionDenied"],
  TimeoutErrorAllowedFails: ["Timeout"],
  RateLimitErrorAllowedFails: ["RateLimited"],
  ContentPolicyViolationErrorAllowedFails: ["ContentPolicyViolation"],
  InternalServerErrorAllowedFails: ["InternalServerError", "ConnectionFailed"],
  ServiceUnavailableErrorAllowedFails: ["ServiceUnavailable"],
  BadGatewayErrorAllowedFails: ["InternalServerError"],
  NotFoundErrorAllowedFails: ["ModelNotFound"]
}

export const StreamFailurePolicy = Schema.Literals(["fail", "restart"])
export type StreamFailurePolicy = typeof StreamFailurePolicy.Type

/** What LiteLLM's `Router(...)` takes, by the same names. */
export const RouterConfigInput = Schema.Struct({
  model_list: Schema.Array(DeploymentEntry).check(Schema.isMinLength(1)),
  routing_strategy: Schema.optionalKey(RoutingStrategy),
  /** LiteLLM's, for `latency-based-routing`: `ttl` in seconds, `lowest_latency_buffer` a fraction, `max_latency_list_size`. */
  routing_strategy_args: Schema.optionalKey(Schema.Struct({
    ttl: Schema.optionalKey(between(0, 30 * DAY_SECONDS)),
    lowest_latency_buffer: Schema.optionalKey(between(0, 100)),
    max_latency_list_size: Schema.optionalKey(intBetween(1, 10_000))
  })),
  num_retries: Schema.optionalKey(intBetween(0, 20)),
  allowed_fails: Schema.optionalKey(intBetween(0, 10_000)),
  // Any subset of LiteLLM's keys (a Record over literal keys would demand all of them); unknown keys are reported by `resolve`.
  allowed_fails_policy: Schema.optionalKey(Schema.Record(Schema.String, intBetween(0, 10_000))),
  cooldown_time: Schema.optionalKey(between(0, DAY_SECONDS)),
  disable_cooldowns: Schema.optionalKey(Schema.Boolean),
  retry_after: Schema.optionalKey(between(0, 3600)),
  fallbacks: Schema.optionalKey(FallbackList),
  context_window_fallbacks: Schema.optionalKey(FallbackList),
  content_policy_fallbacks: Schema.optionalKey(FallbackList),
  default_fallbacks: Schema.optionalKey(Schema.Array(Schema.String)),
  max_fallbacks: Schema.optionalKey(intBetween(0, 50)),
  timeout: Schema.optionalKey(Seconds),
  stream_timeout: Schema.optionalKey(Seconds),
  enable_pre_call_checks: Schema.optionalKey(Schema.Boolean),
  /** LiteLLM's: a request's tags choose among a group's deployments only when this is true. */
  enable_tag_filtering: Schema.optionalKey(Schema.Boolean),
  model_group_alias: Schema.optionalKey(Schema.Record(
    Schema.String,
    Schema.Union([Schema.String, Schema.Struct({ model: Schema.String, hidden: Schema.optionalKey(Schema.Boolean) })])
  )),
  /** Ours: what a stream does when its deployment fails after content was sent. */
  stream_failure_policy: Schema.optionalKey(StreamFailurePolicy),
  /** Ours: longest silence between two chunks of a stream, in seconds. */
  stream_idle_timeout: Schema.optionalKey(Seconds),
  /** Ours: the longest provider `Retry-After` the router will wait for before a retry, in seconds. */
  max_retry_after: Schema.optionalKey(between(0, 3600)),
  /** Ours: the longest cooldown a provider's `Retry-After` may ask for, in seconds. */
  max_cooldown_from_retry_after: Schema.optionalKey(between(0, DAY_SECONDS)),
  /** LiteLLM's: how long a session keeps its deployment without a request, in seconds; 0 turns affinity off. */
  session_affinity_ttl_seconds: Schema.optionalKey(between(0, DAY_SECONDS)),
  /** LiteLLM's retries per error kind (`RateLimitErrorRetries`…), over `num_retries` (see `RetryPolicy`). */
  retry_policy: Schema.optionalKey(Schema.Record(Schema.String, intBetween(0, 20))),
  /** LiteLLM's `retry_policy` per model group, over `retry_policy`. */
  model_group_retry_policy: Schema.optionalKey(Schema.Record(Schema.String, Schema.Record(Schema.String, intBetween(0, 20)))),
  /** LiteLLM's provider budgets: per provider, `budget_limit` USD per `time_period` (see `Budget`). */
  provider_budget_config: Schema.optionalKey(Schema.Record(
    Schema.String,
    Schema.Struct({ budget_limit: between(0, 1e9), time_period: Schema.String })
  ))
})
export type RouterConfigInput = typeof RouterConfigInput.Type

export interface Settings {
  /** `provider_budget_config`, resolved; empty when there is none. */
  readonly providerBudgets: ReadonlyMap<string, Budget.ProviderBudget>
  readonly routingStrategy: RoutingStrategy
  /** `routing_strategy_args`, for `latency-based-routing` (see `LatencyRouting`). */
  readonly latencyArgs?: LatencyRouting.Args | undefined
  readonly numRetries: number
  readonly allowedFails: number
  /** Per error tag, overriding `allowedFails`. */
  readonly allowedFailsByTag: Readonly<Partial<Record<Tag, number>>>
  readonly cooldownMs: number
  readonly disableCooldowns: boolean
  /** Floor for a retry's wait (LiteLLM's `retry_after`). */
  readonly minRetryDelayMs: number
  /** Cap on how long a provider's `retryAfter` may hold a retry. */
  readonly maxRetryAfterMs: number
  /** Cap on how long a provider's `retryAfter` may cool a deployment (a cooldown shared through Redis too). */
  readonly maxCooldownFromRetryAfterMs: number
  readonly fallbacks: ReadonlyMap<string, ReadonlyArray<string>>
  readonly contextWindowFallbacks: ReadonlyMap<string, ReadonlyArray<string>>
  readonly contentPolicyFallbacks: ReadonlyMap<string, ReadonlyArray<string>>
  readonly defaultFallbacks: ReadonlyArray<string>
  readonly maxFallbacks: number
  readonly timeoutMs: number
  readonly streamTimeoutMs?: number | undefined
  readonly streamIdleTimeoutMs?: number | undefined
  readonly enablePreCallChecks: boolean
  /** `enable_tag_filtering`: a request's tags select deployments by their `tags` (see `Strategy.matchingTags`). */
  readonly enableTagFiltering: boolean
  readonly aliases: ReadonlyMap<string, { readonly group: string; readonly hidden: boolean }>
  readonly streamFailurePolicy: StreamFailurePolicy
  /** How long a session's pin outlives its last request (see `SessionAffinity`); 0: no affinity. */
  readonly sessionAffinityTtlMs: number
  /** Backoff between retries when no other deployment is healthy; fed the error that caused it. */
  readonly retrySchedule: Schedule.Schedule<unknown, LlmError>
  /** `retry_policy` and `model_group_retry_policy`, over `numRetries` and `retrySchedule`. */
  readonly retryPolicies?: RetryPolicy.RetryPolicies | undefined
  /** The `auto_router/complexity_router` entries of `model_list`, by the model name they answer to. */
  readonly complexityRouters?: ReadonlyMap<string, ComplexityRouter.ComplexityRouter> | undefined
}

export interface RouterConfig {
  readonly deployments: ReadonlyArray<Deployment>
  readonly settings: Settings
}

export const defaultRetrySchedule: Schedule.Schedule<unknown, LlmError> = Schedule.exponential("500 millis").pipe(
  Schedule.jittered,
  Schedule.setInputType<LlmError>()
)

export const defaults = {
  routingStrategy: "simple-shuffle",
  numRetries: 2,
  allowedFails: 3,
  cooldownSeconds: 5,
  maxFallbacks: 5,
  timeoutSeconds: 600,
  maxRetryAfterSeconds: 60,
  maxCooldownFromRetryAfterSeconds: 300,
  /** LiteLLM's default for `session_affinity_ttl_seconds`. */
  sessionAffinityTtlSeconds: 3600
} as const

export interface ConfigIssue {
  readonly path: string
  readonly message: string
}

export class RouterConfigError extends Schema.TaggedError<RouterConfigError>()("RouterConfigError", {
  message: Schema.String,
  issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
}) {
  static fromIssues(issues: ReadonlyArray<ConfigIssue>): RouterConfigError {
    return new RouterConfigError({
      message: `Invalid router config:\n${issues.map((i) => `  - ${i.path || "(root)"}: ${i.message}`).join("\n")}`,
      issues
    })
  }
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join("")

const schemaIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** Turns a schema failure into issues that each name the field path and what was wrong. */
export const issuesOf = (issue: SchemaIssue.Issue, prefix = ""): ReadonlyArray<ConfigIssue> =>
  schemaIssues(issue).issues.map((i) => {
    const path = formatPath((i.path ?? []).map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p)))
    const message = i.message === "Expected no excess property" ? "unknown key" : i.message
    return { path: prefix && path ? `${prefix}.${path}` : prefix || path, message }
  })

/** `group` resolves aliases, so the router's chains name groups only (a chain may name an alias on either side). */
const toMap = (
  list: ReadonlyArray<Readonly<Record<string, ReadonlyArray<string>>>> | undefined,
  group: (name: string) => string = (name) => name
) => {
  const map = new Map<string, ReadonlyArray<string>>()
  for (const entry of list ?? []) {
    for (const [from, targets] of Object.entries(entry)) map.set(from === "*" ? from : group(from), targets.map(group))
  }
  return map
}

/**
 * Resolves decoded input into deployments and settings, reporting every cross-reference
 * problem. `resolveSecret` turns an `api_key` value (e.g. `os.environ/NAME`) into a secret.
 */
export const resolve = (
  input: RouterConfigInput,
  options: { readonly resolveSecret?: (value: string, path: string) => Redacted.Redacted<string> } = {}
): Effect.Effect<RouterConfig, RouterConfigError> =>
  Effect.suspend(() => {
    const issues: Array<ConfigIssue> = []
    const ids = new Map<string, number>()
    const isComplexityRouter = (entry: DeploymentEntry) => entry.litellm_params.model === ComplexityRouter.MODEL
    const deployments = input.model_list.flatMap((entry, index): ReadonlyArray<Deployment> => {
      if (isComplexityRouter(entry)) return []
      const params = entry.litellm_params
      const { provider, model } = parseModel(params.model)
      const {
        model: _model, api_key, api_base, api_version, weight, order, rpm, tpm, timeout, stream_timeout,
        cooldown_time, tags, max_input_tokens, input_cost_per_token, output_cost_per_token, max_budget, budget_duration,
        complexity_router_config: _complexityConfig, complexity_router_default_model: _complexityDefault,
        ...rest
      } = params
      let id = entry.model_info?.id ?? `${entry.model_name}/${params.model}`
      if (entry.model_info?.id === undefined) {
        const seen = ids.get(id) ?? 0
        ids.set(id, seen + 1)
        if (seen > 0) id = `${id}#${seen + 1}`
      } else if (ids.has(id)) {
        issues.push({ path: `model_list[${index}].model_info.id`, message: `duplicate deployment id "${id}"` })
      } else ids.set(id, 1)
      const maxInputTokens = entry.model_info?.max_input_tokens ?? max_input_tokens ??
        ModelCatalog.lookup(model, provider)?.contextWindow
      const secretPath = `model_list[${index}].litellm_params.api_key`
      const budget = budgetOf(max_budget, budget_duration, `model_list[${index}].litellm_params`, "max_budget", "budget_duration", issues)
      return [{
        id,
        group: entry.model_name,
        provider,
        model,
        apiKey: api_key === undefined ? undefined : options.resolveSecret?.(api_key, secretPath) ?? Redacted.make(api_key),
        apiBase: api_base,
        apiVersion: api_version,
        weight,
        order,
        rpm: rpm ?? entry.rpm,
        tpm: tpm ?? entry.tpm,
        timeoutMs: timeout !== undefined ? timeout * 1000 : undefined,
        streamTimeoutMs: stream_timeout !== undefined ? stream_timeout * 1000 : undefined,
        cooldownMs: cooldown_time !== undefined ? cooldown_time * 1000 : undefined,
        tags: tags ?? [],
        maxInputTokens,
        inputCostPerToken: entry.model_info?.input_cost_per_token ?? input_cost_per_token,
        outputCostPerToken: entry.model_info?.output_cost_per_token ?? output_cost_per_token,
        budget,
        ...(entry.model_info?.mode !== undefined ? { mode: entry.model_info.mode } : {}),
        ...(entry.model_info?.base_model !== undefined ? { baseModel: entry.model_info.base_model } : {}),
        ...(entry.model_info?.supports_reasoning !== undefined ? { supportsReasoning: entry.model_info.supports_reasoning } : {}),
        params: rest
      }]
    })

    const groups = new Set(deployments.map((d) => d.group))
    // A group is one kind of model: its deployments agree on `model_info.mode` (chat-like modes count as one).
    const kindOf = (mode: Mode | undefined) => (isChat(mode) ? "chat" : mode!)
    const groupKinds = new Map<string, string>()
    deployments.forEach((d, index) => {
      const kind = kindOf(d.mode)
      const first = groupKinds.get(d.group)
      if (first === undefined) groupKinds.set(d.group, kind)
      else if (first !== kind) {
        issues.push({
          path: `model_list[${index}].model_info.mode`,
          message: `model group "${d.group}" mixes ${first} and ${kind} deployments: a group is one kind of model`
        })
      }
    })
    const aliases = new Map<string, { group: string; hidden: boolean }>()
    for (const [alias, target] of Object.entries(input.model_group_alias ?? {})) {
      const group = typeof target === "string" ? target : target.model
      const hidden = typeof target === "string" ? false : target.hidden ?? false
      if (!groups.has(group)) {
        issues.push({ path: `model_group_alias.${alias}`, message: `alias points to unknown model group "${group}"` })
      }
      aliases.set(alias, { group, hidden })
    }
    const known = (name: string) => groups.has(name) || aliases.has(name)
    const knownList = () => [...groups].join(", ")
    const complexityRouters = new Map<string, ComplexityRouter.ComplexityRouter>()
    input.model_list.forEach((entry, index) => {
      if (!isComplexityRouter(entry)) return
      const path = `model_list[${index}].litellm_params`
      if (known(entry.model_name) || complexityRouters.has(entry.model_name)) {
        issues.push({ path: `model_list[${index}].model_name`, message: `"${entry.model_name}" names a model group already; a complexity router needs a name of its own` })
      }
      const { router, issues: routerIssues } = ComplexityRouter.resolve(
        entry.model_name,
        entry.litellm_params.complexity_router_config,
        entry.litellm_params.complexity_router_default_model,
        (group) => known(group),
        path
      )
      issues.push(...routerIssues)
      complexityRouters.set(entry.model_name, router)
    })
    // A fallback may name one deployment by its id (`model_info.id`), as LiteLLM allows.
    const deploymentIds = new Set(deployments.map((d) => d.id))
    const knownTarget = (name: string) => known(name) || deploymentIds.has(name)
    const checkChains = (field: string, list: RouterConfigInput["fallbacks"]) =>
      (list ?? []).forEach((entry, i) => {
        const keys = Object.keys(entry)
        if (keys.length !== 1) {
          issues.push({ path: `${field}[${i}]`, message: `each entry maps one model group to its fallbacks; got ${keys.length} keys` })
        }
        for (const [group, targets] of Object.entries(entry)) {
          if (group !== "*" && !known(group)) {
            issues.push({ path: `${field}[${i}].${group}`, message: `unknown model group "${group}" (known: ${knownList()})` })
          }
          targets.forEach((target, j) => {
            if (!knownTarget(target)) {
              issues.push({ path: `${field}[${i}].${group}[${j}]`, message: `fallback to unknown model group or deployment id "${target}" (known groups: ${knownList()})` })
            } else if (target === group) {
              issues.push({ path: `${field}[${i}].${group}[${j}]`, message: `a group cannot fall back to itself` })
            } else if (groups.has(group) && groups.has(target) && groupKinds.get(group) !== groupKinds.get(target)) {
              issues.push({
                path: `${field}[${i}].${group}[${j}]`,
                message: `a ${groupKinds.get(group)} group cannot fall back to "${target}", a ${groupKinds.get(target)} group`
              })
            }
          })
        }
      })
    checkChains("fallbacks", input.fallbacks)
    checkChains("context_window_fallbacks", input.context_window_fallbacks)
    checkChains("content_policy_fallbacks", input.content_policy_fallbacks)
    ;(input.default_fallbacks ?? []).forEach((target, i) => {
      if (!knownTarget(target)) {
        issues.push({ path: `default_fallbacks[${i}]`, message: `fallback to unknown model group or deployment id "${target}" (known groups: ${knownList()})` })
      }
    })
    for (const key of Object.keys(input.allowed_fails_policy ?? {})) {
      // `hasOwn`, not `in`: "constructor" is an unknown key, not Object.prototype's member.
      if (!Object.hasOwn(allowedFailsKeys, key)) {
        issues.push({ path: `allowed_fails_policy.${key}`, message: `unknown key (known: ${Object.keys(allowedFailsKeys).join(", ")})` })
      }
    }
    const checkRetryPolicy = (path: string, policy: Readonly<Record<string, number>>) => {
      for (const key of Object.keys(policy)) {
        if (!Object.hasOwn(RetryPolicy.litellmKeys, key)) {
          issues.push({ path: `${path}.${key}`, message: `unknown key (known: ${Object.keys(RetryPolicy.litellmKeys).join(", ")})` })
        }
      }
    }
    checkRetryPolicy("retry_policy", input.retry_policy ?? {})
    for (const [group, policy] of Object.entries(input.model_group_retry_policy ?? {})) {
      if (!known(group)) {
        issues.push({ path: `model_group_retry_policy.${group}`, message: `unknown model group "${group}" (known: ${knownList()})` })
      }
      checkRetryPolicy(`model_group_retry_policy.${group}`, policy)
    }
    const providerBudgets = new Map<string, Budget.ProviderBudget>()
    for (const [provider, { budget_limit, time_period }] of Object.entries(input.provider_budget_config ?? {})) {
      const budget = budgetOf(budget_limit, time_period, `provider_budget_config.${provider}`, "budget_limit", "time_period", issues)
      if (budget !== undefined) providerBudgets.set(provider, budget)
    }
    if (issues.length > 0) return Effect.fail(RouterConfigError.fromIssues(issues))

    const allowedFailsByTag: Partial<Record<Tag, number>> = {}
    for (const [key, limit] of Object.entries(input.allowed_fails_policy ?? {})) {
      for (const tag of allowedFailsKeys[key] ?? []) allowedFailsByTag[tag] = limit
    }
    const groupOf = (name: string) => aliases.get(name)?.group ?? name
    const fallbacks = toMap(input.fallbacks, groupOf)
    const settings: Settings = {
      routingStrategy: input.routing_strategy ?? defaults.routingStrategy,
      latencyArgs: latencyArgsOf(input.routing_strategy_args),
      numRetries: input.num_retries ?? defaults.numRetries,
      allowedFails: input.allowed_fails ?? defaults.allowedFails,
      allowedFailsByTag,
      cooldownMs: (input.cooldown_time ?? defaults.cooldownSeconds) * 1000,
      disableCooldowns: input.disable_cooldowns ?? false,
      minRetryDelayMs: (input.retry_after ?? 0) * 1000,
      maxRetryAfterMs: (input.max_retry_after ?? defaults.maxRetryAfterSeconds) * 1000,
      maxCooldownFromRetryAfterMs: (input.max_cooldown_from_retry_after ?? defaults.maxCooldownFromRetryAfterSeconds) * 1000,
      fallbacks,
      contextWindowFallbacks: toMap(input.context_window_fallbacks, groupOf),
      contentPolicyFallbacks: toMap(input.content_policy_fallbacks, groupOf),
      defaultFallbacks: input.default_fallbacks?.map(groupOf) ?? fallbacks.get("*") ?? [],
      maxFallbacks: input.max_fallbacks ?? defaults.maxFallbacks,
      timeoutMs: (input.timeout ?? defaults.timeoutSeconds) * 1000,
      streamTimeoutMs: input.stream_timeout !== undefined ? input.stream_timeout * 1000 : undefined,
      streamIdleTimeoutMs: input.stream_idle_timeout !== undefined ? input.stream_idle_timeout * 1000 : undefined,
      enablePreCallChecks: input.enable_pre_call_checks ?? true,
      enableTagFiltering: input.enable_tag_filtering ?? false,
      aliases,
      streamFailurePolicy: input.stream_failure_policy ?? "fail",
      sessionAffinityTtlMs: (input.session_affinity_ttl_seconds ?? defaults.sessionAffinityTtlSeconds) * 1000,
      providerBudgets,
      retrySchedule: defaultRetrySchedule,
      retryPolicies: {
        default: RetryPolicy.fromLitellm(input.retry_policy ?? {}),
        byGroup: new Map(Object.entries(input.model_group_retry_policy ?? {}).map(([group, policy]) => [groupOf(group), RetryPolicy.fromLitellm(policy)]))
      },
      complexityRouters
    }
    return Effect.succeed({ deployments, settings })
  })

/** LiteLLM's `routing_strategy_args` in the units `LatencyRouting` takes; only the keys given. */
const latencyArgsOf = (args: RouterConfigInput["routing_strategy_args"]): LatencyRouting.Args | undefined =>
  args === undefined ? undefined : {
    ...(args.ttl !== undefined ? { ttlMs: args.ttl * 1000 } : {}),
    ...(args.lowest_latency_buffer !== undefined ? { lowestLatencyBuffer: args.lowest_latency_buffer } : {}),
    ...(args.max_latency_list_size !== undefined ? { maxLatencyListSize: args.max_latency_list_size } : {})
  }

/** A limit and its period, both or neither; a bad period is an issue at `path.periodKey`. */
const budgetOf = (
  limitUsd: number | undefined,
  period: string | undefined,
  path: string,
  limitKey: string,
  periodKey: string,
  issues: Array<ConfigIssue>
): Budget.ProviderBudget | undefined => {
  if (limitUsd === undefined && period === undefined) return undefined
  if (limitUsd === undefined) {
    issues.push({ path: `${path}.${limitKey}`, message: `${periodKey} needs ${limitKey} (USD)` })
    return undefined
  }
  if (period === undefined) {
    issues.push({ path: `${path}.${periodKey}`, message: `${limitKey} needs ${periodKey} (e.g. "1d", "30d", "1h")` })
    return undefined
  }
  const periodMs = Budget.parseDuration(period)
  if (periodMs === undefined) {
    issues.push({ path: `${path}.${periodKey}`, message: `expected a duration like "30s", "10m", "1h", "1d", "2w" or "1mo"; got "${period}"` })
    return undefined
  }
  return { limitUsd, periodMs, period: period.trim() }
}

/** Decodes and resolves an untrusted config value (parsed YAML or JSON). */
export const decode = (
  input: unknown,
  options?: Parameters<typeof resolve>[1]
): Effect.Effect<RouterConfig, RouterConfigError> =>
  // Unknown keys are refused with their path (a `num_retry` typo must not pass silently);
  // `litellm_params` and `model_info` take any key (provider parameters, LiteLLM's extras).
  Schema.decodeUnknownEffect(RouterConfigInput)(input, { errors: "all", onExcessProperty: "error" }).pipe(
    Effect.mapError((error) => RouterConfigError.fromIssues(issuesOf(error.issue))),
    Effect.flatMap((decoded) => resolve(decoded, options))
  )

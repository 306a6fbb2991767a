/**
 * The `llm-router` command line, on `effect/cli`:
 *   llm-router serve --config FILE [--port N] [--host H]   run the gateway (default 127.0.0.1:4000)
 *   llm-router check --config FILE                        validate, print the routing table
 *   llm-router classify --config FILE [PROMPT…]           what the complexity router does with each prompt
 *                                                         (or with each JSONL chat request on stdin)
 * An invalid config prints every problem and exits with code 2; SIGTERM/SIGINT stop the
 * server gracefully and exit 0.
 */
import { Cause, Console, Effect, Exit, Layer, Logger, Option, Schema } from "effect"
import type { Runtime } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { HttpServer } from "effect/http"
import * as path from "node:path"
import * as Classify from "./Classify.ts"
import * as Gateway from "./Gateway.ts"
import * as GatewayConfig from "./GatewayConfig.ts"
import * as Providers from "./Providers.ts"
import * as RoutingTable from "./RoutingTable.ts"
import * as StartupError from "./StartupError.ts"
import * as Tracing from "./Tracing.ts"
import * as UpstreamLog from "./UpstreamLog.ts"

export const version = "0.1.0"

/** Exit code for an invalid config file (as the issue asks; 1 stays "something else failed"). */
export const CONFIG_ERROR_EXIT_CODE = 2

/** `check` on a valid file with deployments the gateway cannot call: listed, and exit 1 so CI can be strict. */
export class UnsupportedProviders extends Schema.TaggedError<UnsupportedProviders>()("UnsupportedProviders", {
  message: Schema.String
}) {}

/**
 * Where a relative `--config` is resolved. `pnpm llm-router …` runs the script from the
 * repository root; pnpm keeps the directory it was typed in as `INIT_CWD`.
 */
const baseDirectory = (): string =>
  process.env["npm_lifecycle_event"] === "llm-router" && process.env["INIT_CWD"]
    ? process.env["INIT_CWD"]
    : process.cwd()

export const resolveConfigPath = (file: string): string => path.resolve(baseDirectory(), file)

export const loadConfig = (file: string) =>
  GatewayConfig.load(resolveConfigPath(file), { registry: Providers.builtin }).pipe(
    Effect.tapError((error) => Console.error(error.message))
  )

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`

const configFlag = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withDescription("Path to the config file (LiteLLM's proxy config.yaml shape)")
)

const warnUnsupported = (config: GatewayConfig.GatewayConfig) => {
  const warning = GatewayConfig.unsupportedWarning(config)
  return Effect.forEach(
    [...GatewayConfig.unsupportedProviderWarnings(config).map((w) => `WARNING: ${w}`), ...(warning === undefined ? [] : [`warning: ${warning}`])],
    (line) => Console.error(line),
    { discard: true }
  )
}

export const defaultPort = 4000
export const defaultHost = "127.0.0.1"

/** What `serve --help` says the gateway reads from the environment. */
const environmentHelp = [
  "Run the OpenAI-compatible gateway (default http://127.0.0.1:4000).",
  "",
  "Environment read:",
  "  PORT                          port when --port is not given",
  "  os.environ/NAME               every variable the config file names that way",
  "  OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, AZURE_API_KEY, AZURE_API_BASE, AZURE_API_VERSION, …",
  "                                a provider's key (and base) for deployments without api_key, as in LiteLLM",
  "  OTEL_EXPORTER_OTLP_ENDPOINT   export traces over OTLP/HTTP (and OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS,",
  "                                OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG)",
  "",
  "A failed upstream call is logged on stderr at warn level (--log-level error hides it)."
].join("\n")

const serve = Command.make(
  "serve",
  {
    config: configFlag,
    port: Flag.Int("port").pipe(
      Flag.optional,
      Flag.withDescription(`Port to listen on (default: $PORT, else ${defaultPort}; 0 picks a free one)`)
    ),
    host: Flag.String("host").pipe(
      Flag.withDefault(defaultHost),
      Flag.withDescription(`Interface to listen on (default ${defaultHost}; 0.0.0.0 for every interface)`)
    ),
    accessLog: Flag.Boolean("access-log").pipe(
      Flag.withDefault(false),
      Flag.withDescription("Print one JSON line per answered request (method, path, status, route, latency) on stdout")
    )
  },
  ({ accessLog, config: file, host, port: portFlag }) =>
    Effect.gen(function*() {
      const port = Option.isSome(portFlag)
        ? yield* StartupError.checkPort(portFlag.value, `--port ${portFlag.value}`)
        : (yield* StartupError.portFromEnv()) ?? defaultPort
      const config = yield* loadConfig(file)
      yield* warnUnsupported(config)
      const tracing = yield* Tracing.settings
      const tracingNote = Tracing.describe(tracing)
      if (tracingNote !== undefined) yield* (tracing._tag === "Otlp" ? Console.log(tracingNote) : Console.error(`warning: ${tracingNote}`))
      if (config.otelCallback && tracing._tag === "Off") {
        yield* Console.error(
          "warning: litellm_settings.callbacks asks for otel, but no OTLP endpoint is set: set OTEL_EXPORTER_OTLP_ENDPOINT " +
            "(LiteLLM's OTEL_ENDPOINT), e.g. http://127.0.0.1:4318, to export traces"
        )
      }
      const groups = new Set(config.router.deployments.map((d) => d.group)).size
      const announce = Layer.effectDiscard(Effect.gen(function*() {
        const server = yield* HttpServer.HttpServer
        const address = server.address
        const where = address._tag === "UnixPathAddress"
          ? address.path
          : `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`
        yield* Console.log(
          `llm-router listening on ${where} (${plural(groups, "model group")}, ${plural(config.router.deployments.length, "deployment")}` +
            `${config.masterKey === undefined ? ", no master key" : ""})`
        )
        if (config.sharedState !== undefined) yield* Console.log(`llm-router shared state: ${RoutingTable.sharedState(config)}`)
        yield* Effect.addFinalizer(() => Console.log("llm-router shutting down: finishing in-flight requests"))
      }))
      return yield* Layer.launch(announce.pipe(
        Layer.provide(Gateway.layer({
          config,
          clientFor: UpstreamLog.logFailures(Providers.builtin.clientFor),
          embeddingClientFor: Providers.builtin.embeddingClientFor,
          host,
          port,
          accessLog
        })),
        Layer.provide(Providers.layerHttpClient),
        // Outermost: every layer above is built with the tracer in place, and it flushes last.
        Layer.provide(Tracing.layer(tracing))
      )).pipe(
        StartupError.explainListen("the gateway", host, port, "pick another with --port N (or PORT=N), or 0 for any free port"),
        // stdout carries the access log; logs go to stderr.
        Effect.provideService(Logger.LogToStderr, true)
      )
    })
).pipe(Command.withDescription(environmentHelp))

const check = Command.make(
  "check",
  { config: configFlag },
  ({ config: file }) =>
    Effect.gen(function*() {
      const config = yield* loadConfig(file)
      yield* Console.log(RoutingTable.format(config, file))
      // Traces come from the environment, not the file: say what this shell would get.
      const tracing = Tracing.describe(yield* Tracing.settings)
      yield* Console.log(
        tracing === undefined
          ? `Tracing: off${config.otelCallback ? " (callbacks name otel: set OTEL_EXPORTER_OTLP_ENDPOINT)" : " (set OTEL_EXPORTER_OTLP_ENDPOINT to export traces)"}`
          : `T${tracing.slice(1)}`
      )
      if (config.unsupportedDeployments.length > 0) {
        return yield* new UnsupportedProviders({
          message: `${plural(config.unsupportedDeployments.length, "deployment")} on providers this gateway does not support (listed above)`
        })
      }
    })
).pipe(Command.withDescription("Validate a config file and print the resolved routing table"))

const classify = Command.make(
  "classify",
  {
    config: configFlag,
    router: Flag.String("router").pipe(
      Flag.optional,
      Flag.withDescription("The complexity router's model name, when the config has several")
    ),
    prompts: Argument.String("prompt").pipe(
      Argument.variadic(),
      Argument.withDescription("Prompts to classify; none: read JSONL chat requests from standard input")
    )
  },
  ({ config: file, prompts, router: name }) =>
    Effect.gen(function*() {
      const config = yield* loadConfig(file)
      const router = Classify.routerOf(config, name._tag === "Some" ? name.value : undefined)
      if (router instanceof Classify.ClassifyError) {
        yield* Console.error(router.message)
        return yield* router
      }
      yield* Classify.run(router, prompts).pipe(Effect.tapError((e) => Console.error(e.message)))
    })
).pipe(Command.withDescription("Print the tier, score and signals the complexity router gives each prompt, and a histogram"))

export const command = Command.make("llm-router").pipe(
  Command.withDescription("An Effect-native LLM router and OpenAI-compatible gateway"),
  Command.withSubcommands([serve, check, classify])
)

/** Runs the command line on `process.argv` (through `Stdio`). */
export const run = Command.run(command, { version })

/** Exit codes: 0 on success or a signal (graceful stop), 2 for an invalid config, else 1. */
export const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return onExit(0)
  const error = Cause.squash(exit.cause)
  return onExit(error instanceof GatewayConfig.GatewayConfigError ? CONFIG_ERROR_EXIT_CODE : 1)
}

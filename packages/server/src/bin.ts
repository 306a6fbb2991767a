#!/usr/bin/env node
/**
 * The `llm-router` executable: the command line in `Cli.ts`, on Node's runtime, which
 * turns SIGTERM/SIGINT into an interruption (the server then drains gracefully).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect } from "effect"
import { CliError } from "effect/cli"
import * as Cli from "./Cli.ts"
import { GatewayConfigError } from "./GatewayConfig.ts"
import { StartupError } from "./StartupError.ts"

Cli.run.pipe(
  // Config problems and command-line mistakes are already printed, readably; anything else is not.
  Effect.tapCause((cause) => {
    if (Cause.hasInterruptsOnly(cause)) return Effect.void
    const error = Cause.squash(cause)
    if (error instanceof GatewayConfigError || CliError.isCliError(error)) return Effect.void
    // One line a person can act on (a port in use, a bad port), without a stack.
    if (error instanceof StartupError || error instanceof Cli.UnsupportedProviders) return Console.error(`llm-router: ${error.message}`)
    return Console.error(Cause.pretty(cause))
  }),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ disableErrorReporting: true, teardown: Cli.teardown })
)

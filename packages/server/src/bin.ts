#!/usr/bin/env node
/**
 * The `llm-router` executable: the command line in `Cli.ts`, on Node's runtime, which
 * turns SIGTERM/SIGINT into an interruption (the server then drains gracefully); a second
 * signal ends the process at once.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect } from "effect"
import * as os from "node:os"
import { CliError } from "effect/cli"
import { ClassifyError } from "./Classify.ts"
import * as Cli from "./Cli.ts"
import { GatewayConfigError } from "./GatewayConfig.ts"
import { StartupError } from "./StartupError.ts"

// The first SIGTERM/SIGINT drains (the runtime interrupts the program); a second one means
// "now": the process ends at once, with the shell's code for a process ended by that signal.
let signals = 0
const onSignal = (signal: NodeJS.Signals) => {
  if (++signals > 1) process.exit(128 + (os.constants.signals[signal] ?? 15))
}
process.on("SIGTERM", onSignal)
process.on("SIGINT", onSignal)

Cli.run.pipe(
  // Config problems and command-line mistakes are already printed, readably; anything else is not.
  Effect.tapCause((cause) => {
    if (Cause.hasInterruptsOnly(cause)) return Effect.void
    const error = Cause.squash(cause)
    if (error instanceof GatewayConfigError || error instanceof ClassifyError || CliError.isCliError(error)) return Effect.void
    // One line a person can act on (a port in use, a bad port), without a stack.
    if (error instanceof StartupError || error instanceof Cli.UnsupportedProviders) return Console.error(`llm-router: ${error.message}`)
    return Console.error(Cause.pretty(cause))
  }),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ disableErrorReporting: true, teardown: Cli.teardown })
)

/**
 * Why the gateway (or the demo) could not start, as one line a person can act on: a port in
 * use (which one, and how to pick another), a port number out of range, a host that is not
 * a local address. `bin.ts` prints the message alone, without a stack, and exits 1.
 */
import { Effect, Schema } from "effect"
import { HttpServerError } from "effect/http"

export class StartupError extends Schema.TaggedError<StartupError>()("StartupError", {
  message: Schema.String
}) {}

/** A port from the command line or the environment: an integer from 0 (any free port) to 65535. */
export const checkPort = (port: number, from: string): Effect.Effect<number, StartupError> =>
  Number.isInteger(port) && port >= 0 && port <= 65535
    ? Effect.succeed(port)
    : Effect.fail(new StartupError({ message: `${from} is not a port number: use 0 to 65535 (0 picks a free port)` }))

/** `PORT` from the environment, when set (an empty value is unset). */
export const portFromEnv = (env: NodeJS.ProcessEnv = process.env): Effect.Effect<number | undefined, StartupError> => {
  const raw = env["PORT"]?.trim()
  if (raw === undefined || raw === "") return Effect.succeed(undefined)
  return checkPort(/^\d+$/.test(raw) ? Number(raw) : Number.NaN, `PORT=${raw}`)
}

const codeOf = (error: unknown): string | undefined => {
  const cause = error instanceof HttpServerError.ServeError ? error.cause : error
  return typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : undefined
}

/**
 * The one line for a failure to listen on `host:port` (`what` names the server, e.g. "the
 * gateway"; `otherPort` says how to choose another port, e.g. "pick another with --port N"),
 * or `undefined` when the failure is not one of listening's known ones.
 */
export const listenFailure = (error: unknown, what: string, host: string, port: number, otherPort: string): StartupError | undefined => {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`
  switch (codeOf(error)) {
    case "EADDRINUSE":
      return new StartupError({
        message: `${what} cannot listen on ${where}: port ${port} is already in use (another llm-router or \`pnpm start\`?); ${otherPort}`
      })
    case "EACCES":
      return new StartupError({
        message: `${what} cannot listen on ${where}: permission denied (ports below 1024 need privileges); ${otherPort}`
      })
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
      return new StartupError({ message: `${what} cannot listen on ${where}: ${host} is not an address of this machine (--host)` })
    default:
      return undefined
  }
}

/** Turns a listening failure of `effect` (typed or a defect) into its `StartupError`; anything else passes through. */
export const explainListen = (what: string, host: string, port: number, otherPort: string) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | StartupError, R> =>
  effect.pipe(
    Effect.catchCause((cause): Effect.Effect<never, E | StartupError> => {
      for (const reason of cause.reasons) {
        const error = reason._tag === "Fail" ? reason.error : reason._tag === "Die" ? reason.defect : undefined
        const failure = error === undefined ? undefined : listenFailure(error, what, host, port, otherPort)
        if (failure !== undefined) return Effect.fail(failure)
      }
      return Effect.failCause(cause)
    })
  )

/**
 * A failed call to an upstream provider, logged on stderr at warn level (shown by default;
 * `--log-level error` hides it): which deployment and provider, the error's tag and the
 * upstream's HTTP status. Never a key, a message or a body (an upstream's text can echo
 * either). It wraps the registry's `clientFor`, so every attempt the router makes is seen,
 * retried and failed-over ones included, and token counts (`countTokens`), whose failure the
 * client never sees (the router answers an estimate instead); a client's own disconnect is not
 * a failure.
 */
import { Effect, Stream } from "effect"
import type { LlmError, Router } from "@llm-router/core"

/** The log line's text for one failed call. */
export const describe = (deployment: { readonly id: string; readonly provider: string }, error: LlmError.LlmError): string =>
  `llm-router: upstream call failed: deployment=${deployment.id} provider=${deployment.provider} error=${error._tag}` +
  (error.status !== undefined ? ` status=${error.status}` : "") +
  (error._tag === "Timeout" ? ` phase=${error.phase}` : "")

/** `clientFor` whose clients log each failed call (plain or streamed) before failing as before. */
export const logFailures = <E, R>(clientFor: Router.ClientFor<E, R>): Router.ClientFor<E, R> => (deployment) =>
  Effect.map(clientFor(deployment), (client) => {
    const warn = (error: LlmError.LlmError) => Effect.logWarning(describe(deployment, error))
    return {
      ...client,
      chat: (request) => Effect.tapError(client.chat(request), warn),
      stream: (request) => Stream.tapError(client.stream(request), warn),
      ...(client.countTokens !== undefined ? { countTokens: (request) => Effect.tapError(client.countTokens!(request), warn) } : {}),
      ...(client.responses !== undefined ? { responses: (body: Readonly<Record<string, unknown>>) => Effect.tapError(client.responses!(body), warn) } : {}),
      ...(client.responsesStream !== undefined
        ? { responsesStream: (body: Readonly<Record<string, unknown>>) => Stream.tapError(client.responsesStream!(body), warn) }
        : {})
    }
  })

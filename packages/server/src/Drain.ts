/**
 * Graceful shutdown as a load balancer expects it: on the first SIGTERM/SIGINT the gateway
 * stops accepting connections, closes idle keep-alive connections at once, answers each
 * request still in flight with `Connection: close` (a stream whose headers have gone closes
 * its connection when it ends), refuses requests that still arrive on old connections with a
 * 503 in OpenAI's shape, and lets the process exit as soon as nothing is in flight (or the
 * grace period has passed). It watches Node's server directly: the requests it counts are
 * Node's, whether or not they have reached a handler yet.
 */
import { type Duration, Effect } from "effect"
import type * as Http from "node:http"
import type * as Net from "node:net"

export interface Drain {
  /** True once shutdown has begun: the gateway refuses new requests. */
  readonly draining: () => boolean
  /** Requests received and not yet answered (or abandoned). */
  readonly inFlight: () => number
  /**
   * Begins draining and waits until nothing is in flight, for at most `grace`. Safe to run
   * more than once: later runs wait with the first.
   */
  readonly drain: (grace: Duration.Duration) => Effect.Effect<void>
}

export const make = (server: Http.Server): Drain => {
  let draining = false
  const inFlight = new Set<Http.ServerResponse>()
  const whenIdle = new Set<() => void>()

  /** A response whose head has gone keep-alive: its connection closes once its body has. */
  const closeAfter = (response: Http.ServerResponse) => {
    const socket: Net.Socket | null = response.socket
    if (socket !== null) response.once("finish", () => socket.end())
  }

  const settled = (response: Http.ServerResponse) => () => {
    inFlight.delete(response)
    if (draining && inFlight.size === 0) for (const resume of whenIdle) resume()
  }

  // One listener for every request, before the gateway's: a request is counted from Node's
  // `request` event until its response closes (finished or abandoned), whatever happens between.
  const track = (_request: Http.IncomingMessage, response: Http.ServerResponse) => {
    inFlight.add(response)
    response.once("close", settled(response))
    if (draining) response.shouldKeepAlive = false
  }
  server.prependListener("request", track)
  server.prependListener("checkContinue", track)

  const begin = () => {
    if (draining) return
    draining = true
    // Stops accepting; Node also closes the connections that are idle between requests now.
    if (server.listening) server.close()
    server.closeIdleConnections()
    for (const response of inFlight) {
      if (response.headersSent) closeAfter(response)
      else response.shouldKeepAlive = false
    }
  }

  const drain = (grace: Duration.Duration): Effect.Effect<void> =>
    Effect.callback<void>((resume) => {
      begin()
      if (inFlight.size === 0) return resume(Effect.void)
      const done = () => {
        whenIdle.delete(done)
        resume(Effect.void)
      }
      whenIdle.add(done)
      return Effect.sync(() => whenIdle.delete(done))
    }).pipe(Effect.timeoutOrElse({ duration: grace, orElse: () => Effect.void }))

  return { draining: () => draining, inFlight: () => inFlight.size, drain }
}

/**
 * A turn of Node's event loop, as the gateway sees it: the requests and upstream answers that
 * came in one poll for I/O. Work that can wait for the end of the turn (the check phase, one
 * `setImmediate` for all of it) is done there together. The first piece of work in a turn
 * goes at once, so an idle gateway never waits; under load the others are done in one burst,
 * whose writes wake the processes on the other end of the sockets once rather than once each.
 * On a machine where the load, the gateway and the upstream share cores that was worth
 * 15–40 µs of the gateway's CPU per request at c=32 (`bench/gateway/profile.ts`, paired).
 */
export interface Turn {
  /** Joins the current turn: true for the first to join it, which should go on at once. */
  readonly join: () => boolean
  /**
   * Runs `f` at the end of the current turn, after everything its I/O brought. `f` should not
   * throw; one that does (a bug) goes to `make`'s `onDefect`, and the rest of the turn's work
   * still runs.
   */
  readonly atEnd: (f: () => void) => void
}

export const make = (onDefect: (defect: unknown) => void): Turn => {
  let queue: Array<() => void> | undefined
  const flush = () => {
    const work = queue!
    queue = undefined
    for (const f of work) {
      try {
        f()
      } catch (defect) {
        onDefect(defect)
      }
    }
  }
  const start = () => {
    queue = []
    setImmediate(flush)
    return queue
  }
  return {
    join: () => {
      if (queue !== undefined) return false
      start()
      return true
    },
    atEnd: (f) => {
      const work = queue ?? start()
      work.push(f)
    }
  }
}

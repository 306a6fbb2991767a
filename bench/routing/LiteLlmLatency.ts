/**
 * LiteLLM's `latency-based-routing` re-stated for the routing benchmark, from its
 * `litellm/router_strategy/lowest_latency.py` (BerriAI/litellm), run in-process as its
 * in-memory cache runs it:
 *
 * - On success a sample is the call's seconds divided by its completion tokens (raw seconds
 *   when there is no usage). A deployment's list keeps `max_latency_list_size` (10) samples; when
 *   full, LiteLLM writes `latency[: size - 1] + [sample]`: the first size − 1 samples stay and
 *   only the newest slot changes. (`asDocumented` slides the window instead, dropping the
 *   oldest, as LiteLLM's docs and the issue describe "the last 10".)
 * - A `Timeout` appends a 1000 s penalty sample; other failures are not recorded.
 * - The group's map is written back with `ttl` (1 h) on every update, so it expires only after
 *   an hour without any success in the group.
 * - Choosing: a deployment not in the map gets the list `[0]` (an int, stored in the live map:
 *   it counts in the list's length, not in its sum); the mean is the sum of the float samples
 *   over the list's length; deployments within `lowest_latency_buffer` (0) of the lowest mean are
 *   the valid ones and one is chosen at random (`random.choice`, so ties are uniform).
 * - rpm/tpm filtering is left out: the benchmark's deployments have no limits.
 *
 * - Streams are recorded at their end (LiteLLM's success callback runs then), with the whole
 *   stream's seconds per completion token in the latency list and the time to the first chunk
 *   per completion token in a second list kept the same way (`time_to_first_token`); a streamed
 *   request is ranked by the mean of that list when it has samples, else by the latency list.
 *   The router's observer tells of a stream at its first chunk, so the benchmark calls
 *   `streamEnded` itself when a stream ends.
 */
import type { Deployment, LatencyRouting } from "@llm-router/core"

/** A sample as the Python list holds it: `int` 0 for the seed entry, else a float. */
type Sample = { readonly seed: true } | number

export interface Options {
  readonly ttlMs?: number
  readonly buffer?: number
  readonly size?: number
  /** Slide the window (drop the oldest) instead of LiteLLM's `[: size - 1] + [new]`. */
  readonly asDocumented?: boolean
}

/** LiteLLM's algorithm, and what the benchmark tells it when a stream ends. */
export interface LiteLlmLatency extends LatencyRouting.LatencyRouting {
  readonly streamEnded: (deployment: string, startedAt: number, firstChunkAt: number, now: number, completionTokens: number) => void
}

/** A deployment's entry in the group's map: its latency list, and its time-to-first-token list. */
interface Entry {
  readonly latency: Array<Sample>
  readonly ttft: Array<number>
}

export const make = (options: Options = {}): LiteLlmLatency => {
  const ttlMs = options.ttlMs ?? 3_600_000
  const buffer = options.buffer ?? 0
  const size = options.size ?? 10
  let map = new Map<string, Entry>()
  let expiresAt = Number.POSITIVE_INFINITY

  const read = (now: number) => {
    if (now >= expiresAt) map = new Map()
    return map
  }
  const appended = <A>(list: ReadonlyArray<A>, value: A): Array<A> =>
    list.length < size ? [...list, value] : options.asDocumented ? [...list.slice(1), value] : [...list.slice(0, size - 1), value]
  const append = (id: string, value: number, now: number, ttft?: number) => {
    const entry = read(now).get(id) ?? { latency: [], ttft: [] }
    map.set(id, { latency: appended(entry.latency, value), ttft: ttft === undefined ? entry.ttft : appended(entry.ttft, ttft) })
    expiresAt = now + ttlMs
  }
  const mean = (list: ReadonlyArray<Sample>) => {
    let total = 0
    for (const x of list) if (typeof x === "number") total += x
    return total / list.length
  }

  const pick = (
    candidates: ReadonlyArray<Deployment.Deployment>,
    context: { readonly snapshot: { readonly now: number }; readonly random: number; readonly streaming: boolean }
  ) => {
    const current = read(context.snapshot.now)
    const scored = candidates.map((d) => {
      let entry = current.get(d.id)
      if (entry === undefined) {
        entry = { latency: [{ seed: true }], ttft: [] }
        current.set(d.id, entry)
      }
      return { d, latency: context.streaming && entry.ttft.length > 0 ? mean(entry.ttft) : mean(entry.latency) }
    })
    const lowest = Math.min(...scored.map((s) => s.latency))
    const valid = scored.filter((s) => s.latency <= lowest + buffer * lowest)
    return valid[Math.floor(context.random * valid.length)]!.d
  }

  return {
    pick,
    observer: {
      started: (deployment, streaming, now) => ({ deployment, streaming, startedAt: now, load: 1 }),
      answered: (pending, sample, now) => {
        // A stream is recorded at its end (`streamEnded`).
        if (pending.streaming) return
        const seconds = sample.latencyMs / 1000
        append(pending.deployment, sample.outputTokens !== undefined && sample.outputTokens > 0 ? seconds / sample.outputTokens : seconds, now)
      },
      failed: (pending, error, now) => {
        if (error === "Timeout") append(pending.deployment, 1000, now)
      },
      released: () => {}
    },
    estimate: (deployment, streaming, now) => {
      const entry = read(now).get(deployment)
      if (entry === undefined) return undefined
      return (streaming && entry.ttft.length > 0 ? mean(entry.ttft) : mean(entry.latency)) * 1000
    },
    streamEnded: (deployment, startedAt, firstChunkAt, now, completionTokens) => {
      const tokens = Math.max(1, completionTokens)
      append(deployment, (now - startedAt) / 1000 / tokens, now, (firstChunkAt - startedAt) / 1000 / tokens)
    }
  }
}

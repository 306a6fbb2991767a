// The load generator and the statistics of the gateway benchmark: fixed-size
// blocks of requests over keep-alive connections, each request timed with
// `process.hrtime.bigint()` from just before it is sent to its first body byte
// (TTFB) and to the end of its body (latency).
//
// Requests go through undici's `dispatch` (the handler API under `fetch` and
// `request`), not `node:http`'s client: on the 2-core machines this runs on, the
// load generator shares the CPU with the server it measures, and `node:http`
// spent about 53 µs per request against undici's 29 (measured against the mock
// at c=32). That was enough to cap the direct mock's own requests/s and to take
// CPU from whichever gateway was under load.
import * as Undici from "undici"

/** One place to send chat requests to: the mock directly, or a gateway in front of it. */
export interface Target {
  readonly key: string
  readonly label: string
  readonly port: number
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly model: string
  /** The API spoken at `path`: chat completions (the default), OpenAI's Responses API, or embeddings. */
  readonly api?: "chat" | "responses" | "embeddings" | undefined
  readonly pool: Undici.Pool
}

export interface Shape {
  readonly stream: boolean
  readonly concurrency: number
  readonly count: number
  /** A block stops early when it has run this long (so one slow target cannot stall the run). */
  readonly maxMs: number
}

export interface Block {
  /** Milliseconds, one per successful request. */
  readonly latency: ReadonlyArray<number>
  readonly ttfb: ReadonlyArray<number>
  readonly errors: number
  readonly firstError: string | undefined
  readonly elapsedMs: number
  readonly completed: number
}

export const makeTarget = (t: Omit<Target, "pool">): Target => ({
  ...t,
  // One connection per concurrent worker (no pipelining), kept alive across blocks, as a real client pool would.
  pool: new Undici.Pool(`http://127.0.0.1:${t.port}`, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 })
})

const bodies = new Map<string, Buffer>()
const bodyFor = (model: string, stream: boolean, api: Target["api"]): Buffer => {
  const key = `${model}\u0000${stream}\u0000${api}`
  let body = bodies.get(key)
  if (body === undefined) {
    body = Buffer.from(JSON.stringify(
      api === "embeddings" ? { model, input: "Say hello.", encoding_format: "float" } : {
        model,
        ...(api === "responses" ? { input: "Say hello.", store: false } : { messages: [{ role: "user", content: "Say hello." }] }),
        ...(stream ? { stream: true } : {})
      }
    ))
    bodies.set(key, body)
  }
  return body
}

interface One {
  readonly ok: boolean
  readonly latency: number
  readonly ttfb: number
  readonly error?: string
}

const toMs = (ns: bigint): number => Number(ns) / 1e6

/** Sends one request and checks the answer is the mock's (so a fast error never counts as a fast success). */
export const once = (target: Target, stream: boolean): Promise<One> =>
  new Promise((resolve) => {
    const body = bodyFor(target.model, stream, target.api)
    const parts: Array<Buffer> = []
    let status = 0
    let tFirst = 0n
    const failed = (error: string): void => resolve({ ok: false, latency: 0, ttfb: 0, error })
    const t0 = process.hrtime.bigint()
    target.pool.dispatch({
      method: "POST",
      path: target.path,
      headers: { ...target.headers, "content-type": "application/json", "content-length": String(body.length) },
      body
    }, {
      onRequestStart() {},
      onResponseStart(_controller, statusCode) {
        status = statusCode
      },
      onResponseData(_controller, chunk) {
        if (tFirst === 0n) tFirst = process.hrtime.bigint()
        parts.push(chunk)
      },
      onResponseEnd() {
        const t1 = process.hrtime.bigint()
        const text = Buffer.concat(parts).toString("utf8")
        const ok = status === 200 && (target.api === "embeddings"
          ? text.includes("\"embedding\":[")
          : text.includes("bench mock") && (target.api === "responses"
            ? (stream ? text.includes("event: response.completed") : text.includes("\"object\":\"response\""))
            : stream ? text.trimEnd().endsWith("data: [DONE]") : text.includes("\"chat.completion\"")))
        if (ok) resolve({ ok, latency: toMs(t1 - t0), ttfb: toMs((tFirst === 0n ? t1 : tFirst) - t0) })
        else failed(`status ${status}: ${text.slice(0, 200)}`)
      },
      onResponseError(_controller, error) {
        failed(String(error))
      }
    })
  })

/** Runs `count` requests with `concurrency` workers in flight at all times. */
export const block = async (target: Target, shape: Shape): Promise<Block> => {
  const latency: Array<number> = []
  const ttfb: Array<number> = []
  let errors = 0
  let firstError: string | undefined
  let next = 0
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(shape.maxMs) * 1_000_000n
  const worker = async (): Promise<void> => {
    while (next < shape.count && process.hrtime.bigint() < deadline) {
      next++
      const r = await once(target, shape.stream)
      if (r.ok) {
        latency.push(r.latency)
        ttfb.push(r.ttfb)
      } else {
        errors++
        firstError ??= r.error
      }
    }
  }
  await Promise.all(Array.from({ length: shape.concurrency }, worker))
  const elapsedMs = toMs(process.hrtime.bigint() - start)
  return { latency, ttfb, errors, firstError, elapsedMs, completed: latency.length }
}

/** Nearest-rank percentile (q in 0..1) of unsorted values; NaN when empty. */
export const percentile = (values: ReadonlyArray<number>, q: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export const median = (values: ReadonlyArray<number>): number => {
  const finite = values.filter(Number.isFinite)
  if (finite.length === 0) return Number.NaN
  const sorted = [...finite].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

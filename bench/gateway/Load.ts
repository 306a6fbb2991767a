// The load generator and the statistics of the gateway benchmark: fixed-size
// blocks of requests over keep-alive `node:http` connections, each request timed
// with `process.hrtime.bigint()` from just before it is sent to its first body
// byte (TTFB) and to the end of its body (latency).
import * as Http from "node:http"

/** One place to send chat requests to: the mock directly, or a gateway in front of it. */
export interface Target {
  readonly key: string
  readonly label: string
  readonly port: number
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly model: string
  readonly agent: Http.Agent
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

export const makeTarget = (t: Omit<Target, "agent">): Target => ({
  ...t,
  // One socket per concurrent worker, kept alive across blocks, as a real client pool would.
  agent: new Http.Agent({ keepAlive: true, maxSockets: 64, keepAliveMsecs: 30_000 })
})

const bodies = new Map<string, Buffer>()
const bodyFor = (model: string, stream: boolean): Buffer => {
  const key = `${model}\u0000${stream}`
  let body = bodies.get(key)
  if (body === undefined) {
    body = Buffer.from(JSON.stringify({
      model,
      messages: [{ role: "user", content: "Say hello." }],
      ...(stream ? { stream: true } : {})
    }))
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
    const body = bodyFor(target.model, stream)
    const t0 = process.hrtime.bigint()
    let tFirst = 0n
    const req = Http.request({
      host: "127.0.0.1",
      port: target.port,
      method: "POST",
      path: target.path,
      agent: target.agent,
      headers: { ...target.headers, "content-type": "application/json", "content-length": body.length }
    }, (res) => {
      const parts: Array<Buffer> = []
      res.on("data", (b: Buffer) => {
        if (tFirst === 0n) tFirst = process.hrtime.bigint()
        parts.push(b)
      })
      res.on("end", () => {
        const t1 = process.hrtime.bigint()
        const text = Buffer.concat(parts).toString("utf8")
        const ok = res.statusCode === 200 && text.includes("bench mock") &&
          (stream ? text.trimEnd().endsWith("data: [DONE]") : text.includes("\"chat.completion\""))
        resolve(ok
          ? { ok, latency: toMs(t1 - t0), ttfb: toMs((tFirst === 0n ? t1 : tFirst) - t0) }
          : { ok, latency: 0, ttfb: 0, error: `status ${res.statusCode}: ${text.slice(0, 200)}` })
      })
      res.on("error", (e) => resolve({ ok: false, latency: 0, ttfb: 0, error: String(e) }))
    })
    req.on("error", (e) => resolve({ ok: false, latency: 0, ttfb: 0, error: String(e) }))
    req.end(body)
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

/**
 * `node --expose-gc bench/hardening.ts [labels] [drain] [huge]`: the figures issue 13 asks to
 * re-run (each part alone when named; all three by default). Loopback only, bounded loops.
 *
 * - labels: 20,000 requests, each for a distinct unknown model, through the gateway in this
 *   process; then the number of series `/metrics` exposes and the live heap after a full GC,
 *   against the same figures before the requests.
 * - drain: `llm-router serve` as a child process in front of a mock OpenAI upstream (100 ms per
 *   answer), 32 keep-alive connections sending requests in a loop; after 3 s, SIGTERM. The time
 *   from the signal to the process's exit, and what became of every request: answered 200,
 *   refused cleanly (a 503 `shutting_down`, or a connection refused before anything was sent),
 *   or lost (a request sent that got no answer).
 * - huge: `llm-router serve` as a child process in front of an upstream whose one non-streamed
 *   answer is 1 GB; one request. The child's peak RSS (VmHWM), what the client got, and how much
 *   of the gigabyte the upstream wrote before the gateway let go.
 */
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { Gateway, GatewayConfig, Providers } from "@llm-router/server"
import { OpenAiUpstream } from "@llm-router/testing"

const root = Path.resolve(import.meta.dirname, "..")
const bin = Path.join(root, "packages/server/bin/llm-router.js")
const parts = process.argv.slice(2)
const wanted = (name: string) => parts.length === 0 || parts.includes(name)
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const gc = () => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error("run with node --expose-gc")
  collect()
  collect()
}

const post = (agent: Http.Agent, port: number, body: string) =>
  new Promise<{ status: number; text: string } | { error: string; sent: boolean }>((resolve) => {
    let sent = false
    const request = Http.request({ host: "127.0.0.1", port, method: "POST", path: "/v1/chat/completions", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => (text += chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }))
      response.on("error", (e) => resolve({ error: e.message, sent: true }))
    })
    request.on("finish", () => (sent = true))
    request.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, sent }))
    request.end(body)
  })

const chat = (model: string) => JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] })

const serveChild = (config: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "llm-router-hardening-"))
  Fs.writeFileSync(Path.join(dir, "config.yaml"), config)
  const child = ChildProcess.spawn(process.execPath, [bin, "serve", "--config", "config.yaml", "--port", "0"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  child.stdout.on("data", (d) => (out += d))
  child.stderr.on("data", (d) => (out += d))
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on("exit", (code) => resolve({ code, at: performance.now() })))
  const port = new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const found = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (found) {
        clearInterval(timer)
        resolve(Number(found[1]))
      }
    }, 20)
    void exited.then(() => {
      clearInterval(timer)
      reject(new Error(`llm-router exited: ${out}`))
    })
  })
  return { child, port, exited, output: () => out }
}

const peakRss = (pid: number) => {
  const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
}

// -- labels ------------------------------------------------------------------------------

const labels = Effect.gen(function*() {
  const upstream = yield* OpenAiUpstream.make()
  const config = yield* GatewayConfig.parse(`
model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${upstream.baseUrl}", api_key: sk-x }
`, { knownProviders: Providers.builtin.known })
  const context = yield* Layer.build(
    Gateway.layer({ config, clientFor: Providers.builtin.clientFor, port: 0 }).pipe(Layer.provide(Providers.layerHttpClient))
  )
  const address = Context.get(context, HttpServer.HttpServer).address
  const port = address._tag === "UnixPathAddress" ? 0 : address.port
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 32 })
  const scrape = () => yield_(fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()))
  const series = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length
  // Warm up (one 404 and one scrape), then measure.
  yield* Effect.promise(() => post(agent, port, chat("warm-up-unknown")))
  yield* scrape()
  gc()
  const before = { series: series(yield* scrape()), heap: process.memoryUsage().heapUsed }
  const N = 20_000
  let next = 0
  let notFound = 0
  yield* Effect.promise(() =>
    Promise.all(Array.from({ length: 32 }, async () => {
      while (next < N) {
        const i = next++
        const reply = await post(agent, port, chat(`unknown-model-${i}-${"x".repeat(i % 50)}`))
        if ("status" in reply && reply.status === 404) notFound++
      }
    }))
  )
  const text = yield* scrape()
  gc()
  const after = { series: series(text), heap: process.memoryUsage().heapUsed, bytes: text.length }
  agent.destroy()
  console.log(`labels: ${N} requests for distinct unknown models, ${notFound} answered 404`)
  console.log(`  /metrics series: ${before.series} before, ${after.series} after (${after.bytes} bytes of text)`)
  console.log(`  live heap after GC: ${mb(before.heap)} before, ${mb(after.heap)} after (${mb(after.heap - before.heap)} more)`)
}).pipe(Effect.scoped)

const yield_ = <A>(promise: Promise<A>) => Effect.promise(() => promise)

// -- drain -------------------------------------------------------------------------------

const drain = Effect.gen(function*() {
  const upstream = yield* OpenAiUpstream.make({ latencyMs: 100 })
  const server = serveChild(`
model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${upstream.baseUrl}", api_key: sk-x }
general_settings:
  graceful_shutdown_timeout: 20
`)
  yield* Effect.addFinalizer(() => Effect.sync(() => server.child.kill("SIGKILL")))
  const port = yield* yield_(server.port)
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 32 })
  const counts = { ok: 0, shuttingDown: 0, refusedAtConnect: 0, lost: 0, other: 0 }
  const lostErrors = new Map<string, number>()
  let stop = false
  let signalledAt = 0
  const workers = Array.from({ length: 32 }, async () => {
    while (!stop) {
      const reply = await post(agent, port, chat("gpt-4o"))
      if ("status" in reply) {
        if (reply.status === 200) counts.ok++
        else if (reply.status === 503 && reply.text.includes("shutting_down")) {
          counts.shuttingDown++
          return
        } else counts.other++
      } else if (reply.error === "ECONNREFUSED" && !reply.sent) {
        counts.refusedAtConnect++
        return
      } else {
        counts.lost++
        lostErrors.set(reply.error, (lostErrors.get(reply.error) ?? 0) + 1)
        // A load balancer would stop sending to a backend that resets connections.
        if (signalledAt > 0) return
      }
    }
  })
  yield* Effect.sleep("3 seconds")
  const okBeforeSignal = counts.ok
  signalledAt = performance.now()
  server.child.kill("SIGTERM")
  const exit = yield* yield_(server.exited)
  stop = true
  yield* yield_(Promise.all(workers))
  agent.destroy()
  console.log(`drain: SIGTERM after 3 s of load at c=32 (keep-alive, 100 ms upstream); ${okBeforeSignal} answered before it`)
  console.log(`  exited with code ${exit.code} ${(exit.at - signalledAt).toFixed(0)} ms after SIGTERM (grace period 20 s)`)
  console.log(`  after SIGTERM: ${counts.ok - okBeforeSignal} answered 200; ${counts.shuttingDown} refused with 503 shutting_down; ` +
    `${counts.refusedAtConnect} connections refused; ${counts.lost} lost${lostErrors.size > 0 ? ` (${[...lostErrors].map(([e, n]) => `${e} ×${n}`).join(", ")})` : ""}; ${counts.other} other`)
}).pipe(Effect.scoped)

// -- huge --------------------------------------------------------------------------------

const huge = Effect.gen(function*() {
  const GB = 1024 * 1024 * 1024
  let written = 0
  const upstream = yield* Effect.acquireRelease(
    Effect.callback<Http.Server>((resume) => {
      const server = Http.createServer((request, response) => {
        request.resume()
        response.writeHead(200, { "content-type": "application/json", "content-length": String(GB) })
        const head = `{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"`
        const tail = `"}}]}`
        response.write(head)
        written = head.length
        const piece = Buffer.alloc(1024 * 1024, "a")
        const pump = () => {
          while (written + piece.length + tail.length <= GB && !response.destroyed) {
            written += piece.length
            if (!response.write(piece)) return void response.once("drain", pump)
          }
          if (!response.destroyed) response.end("a".repeat(GB - written - tail.length) + tail)
        }
        pump()
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.sync(() => {
      server.closeAllConnections()
      server.close()
    })
  )
  const server = serveChild(`
model_list:
  - model_name: huge
    litellm_params: { model: openai/gpt-4o, api_base: "http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1", api_key: sk-x }
router_settings:
  num_retries: 0
`)
  yield* Effect.addFinalizer(() => Effect.sync(() => server.child.kill("SIGKILL")))
  const port = yield* yield_(server.port)
  const idle = peakRss(server.child.pid!)
  const agent = new Http.Agent({ keepAlive: false })
  const started = performance.now()
  const reply = yield* yield_(post(agent, port, chat("huge")))
  const took = performance.now() - started
  const peak = peakRss(server.child.pid!)
  console.log(`huge: one non-streamed upstream answer of 1 GB (default max_response_size_mb: 32)`)
  console.log(`  gateway peak RSS ${mb(peak)} (${mb(idle)} at idle); the upstream wrote ${mb(written)} before the gateway let go`)
  console.log(`  the client got, after ${took.toFixed(0)} ms: ${"status" in reply ? `${reply.status} ${reply.text.slice(0, 300)}` : reply.error}`)
}).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  console.log(`load: ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")} (${Os.cpus().length} cores)`)
  if (wanted("labels")) yield* labels
  if (wanted("drain")) yield* drain
  if (wanted("huge")) yield* huge
  console.log(`load: ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")}`)
})

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})

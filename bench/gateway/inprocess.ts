// The gateway's own CPU cost per request, measured in one process: an instant mock, the
// gateway (`Gateway.layer` on Node's HTTP server, the adapters on `Providers.layerHttpClient`,
// as `llm-router serve` runs it) and the load generator share one thread, so there are no
// cross-process wake-ups and the number depends little on what else the machine is doing.
// Each round sends the same load to the mock directly and through the gateway; the
// difference in CPU time per request is what the gateway adds. With --compare=DIR, a second
// build (another checkout's packages, e.g. `git archive HEAD | tar -x -C DIR`) runs beside
// this one in the same process, in alternating blocks, and the paired differences are
// reported. CPU is the main thread's (`process.threadCpuUsage`): GC and compiler threads
// only add noise on a 2-core machine, and the main thread is what a Node server saturates.
// The build started first measures a few µs better (seen on identical builds: -4 to -15 µs),
// so run a comparison twice, the second time with --compare-first, and average the two.
// For guidance while working on the hot path (run under `node --cpu-prof` for a profile);
// `sealed.sh` stays the verdict.
//   node bench/gateway/inprocess.ts [--rounds=N] [--count=N] [--concurrency=N] [--stream]
//                                   [--paced] [--chunks=N] [--raw] [--compare=DIR [--compare-first]] [--responses] [--embeddings]
// --responses adds the same gateway's Responses API route (`POST /v1/responses`, sent natively to
// the mock's `/v1/responses`) and --embeddings its `/v1/embeddings`, each beside its chat route and
// each measured against the same API asked of the mock directly, so the routes compare side by side.
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import * as Http from "node:http"
import * as Path from "node:path"
import * as Canned from "./Canned.ts"
import * as Load from "./Load.ts"

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const hit = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  return hit === undefined ? undefined : hit.includes("=") ? hit.slice(hit.indexOf("=") + 1) : ""
}
const rounds = Number(flag("rounds") ?? 5)
const count = Number(flag("count") ?? 5_000)
const concurrency = Number(flag("concurrency") ?? 8)
const stream = flag("stream") !== undefined
// --raw: a bare node:http + undici proxy instead of the gateway, the floor any Node gateway pays.
const raw = flag("raw") !== undefined
const compare = flag("compare")
// --paced: the mock writes a stream one event per turn of the event loop (each chunk its own
// read, as from a model), with --chunks=N more content chunks: the per-chunk cost of a stream.
const paced = flag("paced") !== undefined
const extraChunks = Number(flag("chunks") ?? 0)
const responses = flag("responses") !== undefined
const embeddings = flag("embeddings") !== undefined

// -- the mock (the answers of mock.ts) -----------------------------------------------------

const mock = Http.createServer((req, res) => {
  const parts: Array<Buffer> = []
  req.on("data", (b: Buffer) => parts.push(b))
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as { stream?: boolean; stream_options?: { include_usage?: boolean } }
    const path = (req.url ?? "").split("?")[0]!
    if (path.endsWith("/embeddings")) return void json(res, Canned.embeddings)
    if (path.endsWith("/responses")) {
      if (body.stream !== true) return void json(res, Canned.response)
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      return void res.end(Canned.responsesStream)
    }
    if (body.stream === true) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      const answer = Canned.stream(body.stream_options?.include_usage === true)
      if (!paced) return void res.end(answer)
      // One event per write, a turn of the event loop apart, as a model streams tokens.
      const events = answer.split(/(?<=\n\n)/)
      const hello = events.find((e) => e.includes("\"Hello\""))!
      events.splice(events.indexOf(hello) + 1, 0, ...Array.from({ length: extraChunks }, () => hello.replace("\"Hello\"", "\" and\"")))
      const next = () => {
        const event = events.shift()
        if (event === undefined) return void res.end()
        res.write(event)
        setImmediate(next)
      }
      next()
    } else {
      json(res, Canned.completion)
    }
  })
})
function json(res: Http.ServerResponse, text: string) {
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}
mock.keepAliveTimeout = 60_000
await new Promise<void>((resolve) => mock.listen(0, "127.0.0.1", resolve))
const mockPort = (mock.address() as { port: number }).port
const configText = Canned.gatewayConfig(`http://127.0.0.1:${mockPort}/v1`)

/** The floor: parse, rewrite the model, forward with undici, parse the answer, send it back. */
async function rawProxy(upstream: number): Promise<number> {
  const { Agent } = await import("@effect/platform-node/Undici")
  const agent = new Agent({})
  const server = Http.createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (b: Buffer) => parts.push(b))
    req.on("end", async () => {
      const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>
      body["model"] = "bench-model"
      const answer = await agent.request({
        origin: `http://127.0.0.1:${upstream}`,
        path: "/v1/chat/completions",
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer x" },
        body: JSON.stringify(body)
      })
      if (body["stream"] === true) {
        res.writeHead(200, { "content-type": "text/event-stream", "x-request-id": "req" })
        for await (const part of answer.body) res.write(part)
        res.end()
        return
      }
      const out = JSON.stringify(JSON.parse(await answer.body.text()))
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out), "x-request-id": "req" })
      res.end(out)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return (server.address() as { port: number }).port
}

// -- the gateways -------------------------------------------------------------------------

/**
 * Starts the gateway of the checkout at `root` as its CLI would, on a free port. Builds
 * without `Providers.layerHttpClient` get `NodeHttpClient.layerUndici`, as their CLI did.
 */
const startGateway = async (root: string): Promise<number> => {
  const server = await import(Path.join(root, "packages/server/src/index.ts"))
  const { Gateway, GatewayConfig, Providers } = server
  const config = await Effect.runPromise(GatewayConfig.parse(configText, { knownProviders: Providers.builtin.known }) as Effect.Effect<unknown>)
  let port = 0
  const fiber = Effect.runFork(Layer.launch(
    Layer.effectDiscard(Effect.gen(function*() {
      const http = yield* HttpServer.HttpServer
      if (http.address._tag !== "UnixPathAddress") port = http.address.port
    })).pipe(
      Layer.provide(Gateway.layer({ config, clientFor: Providers.builtin.clientFor, embeddingClientFor: Providers.builtin.embeddingClientFor, host: "127.0.0.1", port: 0 })),
      Layer.provide(Providers.layerHttpClient ?? NodeHttpClient.layerUndici)
    ) as Layer.Layer<never>
  ))
  for (let i = 0; port === 0; i++) {
    if (i > 500 || fiber.pollUnsafe() !== undefined) throw new Error(`the gateway at ${root} did not start: ${String(fiber.pollUnsafe())}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  return port
}

const here = Path.resolve(import.meta.dirname, "../..")
const direct = Load.makeTarget({ key: "direct", label: "direct", port: mockPort, path: "/v1/chat/completions", headers: {}, model: "bench-model" })
// B (the --compare build) is started first with --compare-first, to cancel the first-started bias.
const compareFirst = compare !== undefined && flag("compare-first") !== undefined
const portB = compareFirst ? await startGateway(Path.resolve(compare)) : undefined
const gateways: Array<Load.Target> = [
  Load.makeTarget({
    key: "A",
    label: raw ? "raw node:http + undici proxy" : here,
    port: raw ? await rawProxy(mockPort) : await startGateway(here),
    path: "/v1/chat/completions",
    headers: {},
    model: "bench"
  })
]
/** Each gateway target's baseline: the same API asked of the mock directly (chat unless listed). */
const baselines = new Map<string, Load.Target>()
const directs: Array<Load.Target> = [direct]
if (responses) {
  const chat = gateways[0]!
  gateways.push(Load.makeTarget({ key: "R", label: `${chat.label} (Responses API)`, port: chat.port, path: "/v1/responses", headers: {}, model: "bench", api: "responses" }))
  const base = Load.makeTarget({ key: "direct-R", label: "direct (Responses API)", port: mockPort, path: "/v1/responses", headers: {}, model: "bench-model", api: "responses" })
  baselines.set("R", base)
  directs.push(base)
}
if (embeddings) {
  const chat = gateways[0]!
  gateways.push(Load.makeTarget({ key: "E", label: `${chat.label} (embeddings)`, port: chat.port, path: "/v1/embeddings", headers: {}, model: "bench-embed", api: "embeddings" }))
  const base = Load.makeTarget({ key: "direct-E", label: "direct (embeddings)", port: mockPort, path: "/v1/embeddings", headers: {}, model: "bench-embedding-model", api: "embeddings" })
  baselines.set("E", base)
  directs.push(base)
}
if (compare !== undefined) {
  const root = Path.resolve(compare)
  gateways.push(Load.makeTarget({ key: "B", label: root, port: portB ?? await startGateway(root), path: "/v1/chat/completions", headers: {}, model: "bench" }))
}

// -- measure ------------------------------------------------------------------------------

const shape: Load.Shape = { stream, concurrency, count, maxMs: 60_000 }
/** Median latency (ms) of each target's blocks, to report beside the CPU. */
const latencies = new Map<string, Array<number>>()
const cpuPerRequest = async (target: Load.Target): Promise<number> => {
  const before = process.threadCpuUsage()
  const block = await Load.block(target, shape)
  const used = process.threadCpuUsage(before)
  if (block.errors > 0) throw new Error(`${target.label}: ${block.firstError}`)
  latencies.set(target.key, [...(latencies.get(target.key) ?? []), Load.median(block.latency)])
  return (used.user + used.system) / block.completed
}

for (const target of [...directs, ...gateways]) await cpuPerRequest(target)
latencies.clear()
const added = new Map<string, Array<number>>(gateways.map((g) => [g.key, []]))
for (let round = 0; round < rounds; round++) {
  // Rotate the order every round so drift lands on every target alike.
  const all = [...directs, ...gateways]
  const order = all.map((_, i) => all[(i + round) % all.length]!)
  const cpu = new Map<string, number>()
  for (const target of order) cpu.set(target.key, await cpuPerRequest(target))
  const line = gateways.map((g) => {
    const base = cpu.get(baselines.get(g.key)?.key ?? "direct")!
    added.get(g.key)!.push(cpu.get(g.key)! - base)
    return `${g.key} adds ${(cpu.get(g.key)! - base).toFixed(1)} µs`
  })
  process.stdout.write(`round ${round + 1}: direct ${directs.map((d) => cpu.get(d.key)!.toFixed(1)).join(" / ")} µs/request; ${line.join(", ")}\n`)
}
const median = (xs: ReadonlyArray<number>) => Load.median(xs)
const kind = `${stream ? "streamed" : "plain"}, c=${concurrency}`
for (const g of gateways) {
  process.stdout.write(`median CPU the gateway adds per request (${kind}): ${median(added.get(g.key)!).toFixed(1)} µs  [${g.key}: ${g.label}]\n`)
}
for (const target of [...directs, ...gateways]) {
  process.stdout.write(`median latency per request (${kind}, blocks' medians): ${median(latencies.get(target.key)!).toFixed(3)} ms  [${target.key}: ${target.label}]\n`)
}
if (compare !== undefined) {
  const a = added.get("A")!
  const b = added.get("B")!
  process.stdout.write(
    `paired difference A - B, median over rounds: ${median(a.map((x, i) => x - b[i]!)).toFixed(1)} µs` +
      ` (${compareFirst ? "B" : "A"} started first)\n`
  )
}
// The servers and agents are not tracked one by one: end here rather than wait for their sockets.
process.exit(0)

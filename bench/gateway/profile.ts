// A quick driver for working on the gateway's hot path: starts the instant mock and one or
// more builds of `llm-router serve` (optionally under `--cpu-prof`), runs the benchmark's
// scenarios against the mock directly and through each gateway in interleaved rounds, and
// prints medians of the added latency, c=32 throughput and the gateway process's CPU time per
// request (from /proc: steadier than latency on a shared machine). No Portkey, so it needs no
// sealed namespace (everything listens on 127.0.0.1). The sealed benchmark stays the verdict.
//   node bench/gateway/profile.ts [--rounds=N] [--prof=DIR] [--only=c1,c1s,c32]
//                                 [--gateway-bin=FILE] [--compare=FILE]   (A/B two builds)
//                                 [--traced[=http/json|http/protobuf]] [--sample=RATIO]
// --traced runs a second gateway (the --compare build, or the same one) with OTLP tracing on,
// exporting to a collector sink in this process: what tracing costs, paired with it off.
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Canned from "./Canned.ts"
import * as Load from "./Load.ts"
import * as Processes from "./Processes.ts"

const root = Path.resolve(import.meta.dirname, "../..")
const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const hit = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  return hit === undefined ? undefined : hit.includes("=") ? hit.slice(hit.indexOf("=") + 1) : ""
}
const rounds = Number(flag("rounds") ?? 3)
const profDir = flag("prof")
const only = new Set((flag("only") ?? "c1,c1s,c32").split(","))
const traced = flag("traced")
const gatewayBin = flag("gateway-bin") ?? "packages/server/src/bin.ts"
const bins = [gatewayBin, ...(flag("compare") ? [flag("compare")!] : traced !== undefined ? [gatewayBin] : [])]
  .map((bin) => Path.resolve(root, bin))

/** With --traced: an OTLP/HTTP sink that takes every export, and the environment pointing B at it. */
const tracedEnv = async (): Promise<Record<string, string>> => {
  const sink = Http.createServer((req, res) => {
    req.resume()
    req.on("end", () => res.end("{}"))
  })
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve))
  // It takes the gateway's last flush on shutdown, but must not keep this process alive.
  sink.unref()
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as { port: number }).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: traced === "" || traced === undefined ? "http/protobuf" : traced,
    ...(flag("sample") !== undefined
      ? { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: flag("sample")! }
      : {})
  }
}
const envB = traced === undefined ? {} : await tracedEnv()

const logDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "llm-router-profile-"))
const mockPort = await Processes.freePort()
const mock = Processes.start("mock", [Path.join(import.meta.dirname, "mock.ts"), `--port=${mockPort}`], logDir, root)
const mockUp = await Processes.waitReady(mock, mockPort, "/health", 10_000)
if (mockUp !== undefined) throw new Error(mockUp)

const config = Path.join(logDir, "gateway.yaml")
Fs.writeFileSync(config, Canned.gatewayConfig(`http://127.0.0.1:${mockPort}/v1`))
const nodeArgs = profDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-interval=100", `--cpu-prof-dir=${Path.resolve(profDir)}`]

interface Gateway {
  readonly label: string
  readonly child: Processes.Child
  readonly target: Load.Target
}
const gateways: Array<Gateway> = []
for (const [i, bin] of bins.entries()) {
  const port = await Processes.freePort()
  const env = i === 1 ? envB : {}
  const label = bins.length === 1
    ? "gateway"
    : `${String.fromCharCode(65 + i)} ${Path.relative(root, bin)}${i === 1 && traced !== undefined ? ` traced (${env["OTEL_EXPORTER_OTLP_PROTOCOL"]}${flag("sample") ? `, sampled ${flag("sample")}` : ""})` : ""}`
  const child = Processes.start(
    `llm-router-${i}`,
    [...nodeArgs, bin, "serve", "--config", config, "--port", String(port), "--host", "127.0.0.1"],
    logDir,
    root,
    env
  )
  const up = await Processes.waitReady(child, port, "/health/liveness", 30_000)
  if (up !== undefined) throw new Error(`${up}\n${Processes.logTail(child)}`)
  const target = Load.makeTarget({ key: `gw${i}`, label, port, path: "/v1/chat/completions", headers: {}, model: "bench" })
  gateways.push({ label, child, target })
}
const direct = Load.makeTarget({ key: "direct", label: "direct", port: mockPort, path: "/v1/chat/completions", headers: {}, model: "bench-model" })
for (const t of [direct, ...gateways.map((g) => g.target)]) {
  const r = await Load.once(t, false)
  const s = await Load.once(t, true)
  if (!r.ok || !s.ok) throw new Error(`${t.label}: ${r.error ?? s.error}`)
}

const scenarios = [
  { key: "c1", shape: { stream: false, concurrency: 1, count: 1_000, maxMs: 5_000 } },
  { key: "c1s", shape: { stream: true, concurrency: 1, count: 300, maxMs: 5_000 } },
  { key: "c32", shape: { stream: false, concurrency: 32, count: 3_000, maxMs: 5_000 } }
].filter((s) => only.has(s.key))

for (const s of scenarios) {
  for (const t of [direct, ...gateways.map((g) => g.target)]) await Load.block(t, { ...s.shape, count: Math.ceil(s.shape.count / 2) })
}

/**
 * CPU time (user + system) a process has used, in ms (Linux only): all its threads (GC and
 * compiler threads included), or with --main-thread only the JavaScript thread.
 */
const mainThread = flag("main-thread") !== undefined
const cpuMs = (pid: number | undefined): number => {
  try {
    const file = mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`
    const fields = Fs.readFileSync(file, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 1000 / 100
  } catch {
    return Number.NaN
  }
}

const median = (xs: ReadonlyArray<number>) => Load.median(xs)
type Row = { added: Array<number>; rps: Array<number>; cpu: Array<number> }
const rows = new Map<string, Row>()
const row = (scenario: string, label: string): Row => {
  const key = `${scenario} ${label}`
  let r = rows.get(key)
  if (!r) rows.set(key, r = { added: [], rps: [], cpu: [] })
  return r
}

const load0 = Os.loadavg()
for (let round = 0; round < rounds; round++) {
  for (const s of scenarios) {
    const all = [undefined, ...gateways]
    const order = all.map((_, i) => all[(i + round) % all.length])
    const blocks = new Map<Gateway | undefined, { block: Load.Block; cpu: number }>()
    for (const g of order) {
      const before = g === undefined ? 0 : cpuMs(g.child.process.pid)
      const block = await Load.block(g === undefined ? direct : g.target, s.shape)
      const cpu = g === undefined ? 0 : (cpuMs(g.child.process.pid) - before) / block.completed
      blocks.set(g, { block, cpu })
    }
    const d = blocks.get(undefined)!.block
    for (const g of gateways) {
      const { block, cpu } = blocks.get(g)!
      const r = row(s.key, g.label)
      r.cpu.push(cpu)
      r.rps.push(block.completed / (block.elapsedMs / 1000))
      const field = s.key === "c1s" ? "ttfb" : "latency"
      r.added.push(Load.percentile(block[field], 0.5) - Load.percentile(d[field], 0.5))
    }
  }
  process.stderr.write(`round ${round + 1}/${rounds}\n`)
}
await Processes.stopAll()

const what: Record<string, string> = { c1: "c=1 plain: added p50", c1s: "c=1 streamed: added first byte p50", c32: "c=32 plain: added p50" }
for (const s of scenarios) {
  for (const g of gateways) {
    const r = row(s.key, g.label)
    process.stdout.write(
      `${what[s.key]} ${median(r.added).toFixed(3)} ms, ${median(r.rps).toFixed(0)} req/s, gateway CPU ${
        median(r.cpu).toFixed(3)
      } ms/request  [${g.label}]  (rounds: ${r.cpu.map((c) => c.toFixed(2)).join(" ")})\n`
    )
  }
}
process.stdout.write(`load ${load0.map((l) => l.toFixed(2)).join(" ")} -> ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n`)
if (profDir !== undefined) process.stdout.write(`profile in ${Path.resolve(profDir)}\n`)

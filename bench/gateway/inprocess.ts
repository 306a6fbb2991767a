// The gateway's own CPU cost per request, measured in one process: an instant mock, the
// gateway (`Gateway.layer` on Node's HTTP server, the OpenAI adapter on undici, exactly as
// `llm-router serve` runs it) and the load generator share one thread, so there are no
// cross-process wake-ups and the number barely depends on what else the machine is doing.
// Each round sends the same load to the mock directly and through the gateway; the
// difference in CPU time per request is what the gateway adds. For guidance while working
// on the hot path (with `node --cpu-prof` for a profile); `sealed.sh` stays the verdict.
//   node [--cpu-prof] bench/gateway/inprocess.ts [--rounds=N] [--count=N] [--concurrency=N] [--stream]
import { Gateway, GatewayConfig, Providers } from "@llm-router/server"
import { Effect, Fiber, Layer } from "effect"
import { HttpServer } from "effect/http"
import * as Http from "node:http"
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

// -- the mock (the same answers as mock.ts) ---------------------------------------------

const completion = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "bench-model",
  system_fingerprint: "fp_bench",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello from the bench mock.", refusal: null }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 }
})
const chunk = (delta: object, finish: string | null, usage?: object): string =>
  "data: " + JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "bench-model",
    system_fingerprint: "fp_bench",
    choices: usage === undefined ? [{ index: 0, delta, logprobs: null, finish_reason: finish }] : [],
    ...(usage === undefined ? {} : { usage })
  }) + "\n\n"
const streamBody = (usage: boolean) =>
  chunk({ role: "assistant", content: "" }, null) + chunk({ content: "Hello" }, null) +
  chunk({ content: " from the bench mock." }, null) + chunk({}, "stop") +
  (usage ? chunk({}, null, { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 }) : "") + "data: [DONE]\n\n"

let shown = false
const mock = Http.createServer((req, res) => {
  if (process.env["SHOW_HEADERS"] && !shown && req.headers.authorization !== undefined) {
    shown = true
    process.stdout.write(`upstream request headers: ${JSON.stringify(req.headers)}\n`)
  }
  const parts: Array<Buffer> = []
  req.on("data", (b: Buffer) => parts.push(b))
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as { stream?: boolean; stream_options?: { include_usage?: boolean } }
    if (body.stream === true) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      res.end(streamBody(body.stream_options?.include_usage === true))
    } else {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(completion) })
      res.end(completion)
    }
  })
})
mock.keepAliveTimeout = 60_000
let connections = 0
mock.on("connection", () => connections++)
await new Promise<void>((resolve) => mock.listen(0, "127.0.0.1", resolve))
const mockPort = (mock.address() as { port: number }).port

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

// -- the gateway -------------------------------------------------------------------------

const config = await Effect.runPromise(GatewayConfig.parse([
  "model_list:",
  "  - model_name: bench",
  "    litellm_params:",
  "      model: openai/bench-model",
  `      api_base: http://127.0.0.1:${mockPort}/v1`,
  "      api_key: x",
  ""
].join("\n"), { knownProviders: Providers.builtin.known }))

let gatewayPort = 0
const gateway = raw ? Effect.runFork(Effect.never) : Effect.runFork(Layer.launch(
  Layer.effectDiscard(Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    if (server.address._tag !== "UnixPathAddress") gatewayPort = server.address.port
  })).pipe(
    Layer.provide(Gateway.layer({ config, clientFor: Providers.builtin.clientFor, host: "127.0.0.1", port: 0 })),
    Layer.provide(Providers.layerHttpClient)
  )
))
if (raw) gatewayPort = await rawProxy(mockPort)
for (let i = 0; gatewayPort === 0; i++) {
  if (i > 500 || gateway.pollUnsafe() !== undefined) throw new Error(`the gateway did not start: ${String(gateway.pollUnsafe())}`)
  await new Promise((r) => setTimeout(r, 10))
}

// -- measure ------------------------------------------------------------------------------

const direct = Load.makeTarget({ key: "direct", label: "direct", port: mockPort, path: "/v1/chat/completions", headers: {}, model: "bench-model" })
const through = Load.makeTarget({ key: "gateway", label: "gateway", port: gatewayPort, path: "/v1/chat/completions", headers: {}, model: "bench" })
const shape: Load.Shape = { stream, concurrency, count, maxMs: 60_000 }

// --user: count user time only (system time, mostly loopback TCP, is the noisiest part).
const userOnly = flag("user") !== undefined
const cpuPerRequest = async (target: Load.Target): Promise<{ cpuUs: number; block: Load.Block }> => {
  const before = process.cpuUsage()
  const block = await Load.block(target, shape)
  const used = process.cpuUsage(before)
  if (block.errors > 0) throw new Error(`${target.label}: ${block.firstError}`)
  return { cpuUs: (used.user + (userOnly ? 0 : used.system)) / block.completed, block }
}

await cpuPerRequest(direct)
await cpuPerRequest(through)
const added: Array<number> = []
// --ab (experiments): alternate rounds with `globalThis.LLM_ROUTER_AB` true and false, so code under
// test can compare two variants in one process, under the same conditions.
const ab = flag("ab") !== undefined
const arms: Record<string, Array<number>> = { A: [], B: [] }
for (let round = 0; round < rounds * (ab ? 2 : 1); round++) {
  ;(globalThis as Record<string, unknown>)["LLM_ROUTER_AB"] = ab && round % 2 === 1
  const d = await cpuPerRequest(direct)
  const g = await cpuPerRequest(through)
  added.push(g.cpuUs - d.cpuUs)
  if (ab) arms[round % 2 === 1 ? "B" : "A"]!.push(g.cpuUs - d.cpuUs)
  process.stdout.write(
    `round ${round + 1}: direct ${d.cpuUs.toFixed(1)} µs/request, through the gateway ${g.cpuUs.toFixed(1)} µs/request: ` +
      `the gateway adds ${(g.cpuUs - d.cpuUs).toFixed(1)} µs\n`
  )
}
const med = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
if (ab) process.stdout.write(`A (flag off) ${med(arms["A"]!).toFixed(1)} µs, B (flag on) ${med(arms["B"]!).toFixed(1)} µs, B-A per round: ${arms["B"]!.map((b, i) => (b - arms["A"]![i]!).toFixed(0)).join(" ")}\n`)
if (process.env["SHOW_CONNECTIONS"]) process.stdout.write(`connections the mock accepted: ${connections}\n`)
const sorted = [...added].sort((a, b) => a - b)
process.stdout.write(
  `median added CPU per request (${stream ? "streamed" : "plain"}, c=${concurrency}): ${sorted[sorted.length >> 1]!.toFixed(1)} µs\n`
)
await Effect.runPromise(Fiber.interrupt(gateway))
mock.close()
direct.agent.destroy()
through.agent.destroy()
// The raw proxy's server and agent are not tracked: end here rather than wait for their sockets.
process.exit(0)

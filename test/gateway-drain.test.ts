/**
 * Graceful shutdown as a load balancer expects it (issue 13, item 2), on the `llm-router`
 * process: after SIGTERM idle keep-alive connections close at once, no new connection is
 * accepted, a request in flight is answered with `Connection: close`, a request that still
 * arrives on an old connection gets a 503 in OpenAI's shape, and the process exits 0 as soon
 * as nothing is in flight, long before its grace period. A second signal ends it at once.
 * `pnpm llm-router serve` exits 0 on SIGTERM too.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { OpenAiUpstream } from "@llm-router/testing"
import { listeningUrl, run, waitFor } from "./CliProcess.ts"

const configFile = (upstream: OpenAiUpstream.OpenAiUpstream) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llm-router-drain-"))
  fs.writeFileSync(path.join(dir, "config.yaml"), `
model_list:
  - model_name: slow
    litellm_params: { model: openai/gpt-4o, api_base: "${upstream.baseUrl}", api_key: sk-whatever }
general_settings:
  # Far longer than any test waits: an exit that waits for it fails the test.
  graceful_shutdown_timeout: 120
`)
  return dir
}

/** A raw HTTP/1.1 connection: what it has received, and whether the server closed it. */
interface Connection {
  readonly socket: net.Socket
  readonly received: () => string
  readonly closed: Promise<void>
}
const connect = (url: string): Promise<Connection> =>
  new Promise((resolve, reject) => {
    const { port } = new URL(url)
    const socket = net.connect(Number(port), "127.0.0.1")
    let received = ""
    socket.setEncoding("utf8")
    socket.on("data", (data: string) => (received += data))
    const closed = new Promise<void>((done) => socket.on("close", () => done()))
    socket.once("error", reject)
    socket.once("connect", () => {
      socket.off("error", reject)
      socket.on("error", () => {})
      resolve({ socket, received: () => received, closed })
    })
  })

const chatBody = JSON.stringify({ model: "slow", messages: [{ role: "user", content: "hi" }] })
const chatHead = `POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n`
const chatRest = `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(chatBody)}\r\n\r\n${chatBody}`

const headerOf = (response: string, name: string) =>
  new RegExp(`^${name}: (.*)$`, "im").exec(response.split("\r\n\r\n")[0] ?? "")?.[1]?.trim()

describe("llm-router serve: shutdown", () => {
  it.live("drains keep-alive traffic on SIGTERM and exits 0 once nothing is in flight", () =>
    Effect.gen(function*() {
      const upstream = yield* OpenAiUpstream.make({ latencyMs: 3_000 })
      const server = run(["serve", "--config", "config.yaml", "--port", "0"], { cwd: configFile(upstream) })
      yield* Effect.addFinalizer(() => Effect.sync(() => server.child.kill("SIGKILL")))
      const url = yield* listeningUrl(server, 60_000)

      const outcome = yield* Effect.promise(async () => {
        // An idle keep-alive connection, one with a request in flight, one halfway through a request's head.
        const idle = await connect(url)
        idle.socket.write("GET /health/liveness HTTP/1.1\r\nHost: gateway\r\n\r\n")
        const busy = await connect(url)
        busy.socket.write(chatHead + chatRest)
        const late = await connect(url)
        late.socket.write(chatHead)
        while (!idle.received().includes("\"ok\"") || upstream.requests.length === 0) await new Promise((r) => setTimeout(r, 10))

        server.child.kill("SIGTERM")
        await idle.closed
        const idleClosedBeforeAnswer = busy.received() === ""
        const refused = await new Promise<string>((resolve) => {
          const socket = net.connect(Number(new URL(url).port), "127.0.0.1")
          socket.once("connect", () => resolve("accepted"))
          socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"))
        })
        // The rest of the late request arrives after SIGTERM, on a connection opened before.
        late.socket.write(chatRest)
        await late.closed
        await busy.closed
        return {
          idleClosedBeforeAnswer,
          refused,
          late: late.received(),
          busy: busy.received(),
          exitCode: await server.exit
        }
      })
      assert.isTrue(outcome.idleClosedBeforeAnswer)
      assert.strictEqual(outcome.refused, "ECONNREFUSED")

      assert.match(outcome.late, /^HTTP\/1\.1 503 /)
      assert.strictEqual(headerOf(outcome.late, "connection"), "close")
      assert.strictEqual(headerOf(outcome.late, "retry-after"), "1")
      const error = JSON.parse(outcome.late.slice(outcome.late.indexOf("\r\n\r\n") + 4)).error
      assert.deepStrictEqual({ type: error.type, code: error.code }, { type: "server_error", code: "shutting_down" })

      assert.match(outcome.busy, /^HTTP\/1\.1 200 /)
      assert.strictEqual(headerOf(outcome.busy, "connection"), "close")
      assert.include(outcome.busy, "Hello from the mock.")
      assert.strictEqual(outcome.exitCode, 0)
    }).pipe(Effect.scoped), 60_000)

  it.live("a second SIGTERM ends the process at once", () =>
    Effect.gen(function*() {
      const upstream = yield* OpenAiUpstream.make({ latencyMs: 100_000 })
      const server = run(["serve", "--config", "config.yaml", "--port", "0"], { cwd: configFile(upstream) })
      yield* Effect.addFinalizer(() => Effect.sync(() => server.child.kill("SIGKILL")))
      const url = yield* listeningUrl(server, 60_000)
      const busy = yield* Effect.promise(() => connect(url))
      busy.socket.write(chatHead + chatRest)
      yield* waitFor(() => (upstream.requests.length > 0 ? "arrived" : undefined), "the request upstream")
      server.child.kill("SIGTERM")
      yield* waitFor(() => (server.stdout().includes("shutting down") ? "draining" : undefined), "the drain to begin")
      server.child.kill("SIGTERM")
      const exitCode = yield* Effect.promise(() => server.exit)
      assert.strictEqual(exitCode, 143)
    }).pipe(Effect.scoped), 60_000)

  it.live("pnpm llm-router serve exits 0 on SIGTERM", () =>
    Effect.gen(function*() {
      const upstream = yield* OpenAiUpstream.make()
      const dir = configFile(upstream)
      const child = spawn("pnpm", ["--silent", "llm-router", "serve", "--config", path.join(dir, "config.yaml"), "--port", "0"], {
        cwd: path.resolve(import.meta.dirname, ".."),
        stdio: ["ignore", "pipe", "pipe"]
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      let stdout = ""
      child.stdout.on("data", (chunk) => (stdout += chunk))
      const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      yield* waitFor(() => (/listening on/.test(stdout) ? "listening" : undefined), "the listening line", 30_000)
      child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => exit), 0)
    }).pipe(Effect.scoped), 60_000)
})

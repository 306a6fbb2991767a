/**
 * A newcomer's first minutes, as processes: a too-old Node gets one line naming the version
 * and the command to run instead (for `pnpm start`, `pnpm test` and `llm-router`); start-up
 * failures are one line without a stack (a port in use, a bad port); `--help` shows the
 * defaults and the environment read; a failed upstream call is logged on stderr at warn level,
 * naming the deployment, never its key.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import OpenAI from "openai"
import { OpenAiUpstream } from "@llm-router/testing"
import * as NodeVersion from "../packages/server/bin/NodeVersion.js"
import { listeningUrl, run, tempDir, waitFor } from "./CliProcess.ts"

const root = path.resolve(import.meta.dirname, "..")
const COMMAND = "npx -y -p node@24 -p pnpm@12 -c 'pnpm install && pnpm"

/** A `node` on PATH too old to run the sources (CI has the machine's Node 20 behind the npx one), if any. */
const oldNode = ((): string | undefined => {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, "node")
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      const version = execFileSync(candidate, ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "")
      if (NodeVersion.problem(version, undefined) !== undefined) return candidate
    } catch {
      // not there, or not runnable
    }
  }
  return undefined
})()

/** Runs `node args…` and collects what it printed. */
const runNode = (node: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(node, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (c) => (stdout += c))
      child.stderr.on("data", (c) => (stderr += c))
      child.on("exit", (code) => resolve({ code, stdout, stderr }))
    })
  )

/** A port some other process holds for the test's length. */
const busyPort = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<net.Server>((resolve) => {
      const server = net.createServer()
      server.listen(0, "127.0.0.1", () => resolve(server))
    })
  ),
  (server) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
).pipe(Effect.map((server) => (server.address() as net.AddressInfo).port))

const CONFIG = `
model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_key: sk-newcomer-never-printed }
`

/** The one line a failure printed: stderr holds exactly one non-empty line, with no stack frame. */
const oneLine = (stderr: string): string => {
  const lines = stderr.split("\n").filter((l) => l.trim().length > 0)
  assert.lengthOf(lines, 1, stderr)
  assert.notMatch(stderr, /^\s+at /m, "no stack")
  return lines[0]!
}

describe("a too-old Node", () => {
  it("is told the version needed and the command for what it ran", () => {
    const line = NodeVersion.problem("20.20.2", "test")
    assert.include(line, "needs Node.js 22.19 or newer")
    assert.include(line, "this is Node.js 20.20.2")
    assert.include(line, `${COMMAND} test'`)
    assert.include(NodeVersion.problem("18.0.0", "start"), `${COMMAND} start'`)
    assert.include(NodeVersion.problem("22.18.1", "llm-router", ["check", "-c", "x.yaml"]), `${COMMAND} llm-router check -c x.yaml'`)
    assert.isUndefined(NodeVersion.problem("22.19.0", "start"))
    assert.isUndefined(NodeVersion.problem("24.1.0", "test"))
    assert.isUndefined(NodeVersion.problem("26.0.0", "test"))
  })

  it.live.skipIf(oldNode === undefined)("gets one line before any .ts loads: pnpm start, pnpm test, llm-router", () =>
    Effect.gen(function*() {
      const node = oldNode!
      // What `pnpm start`, `pnpm test` and `pnpm llm-router …` run (package.json), and the executable.
      const start = yield* runNode(node, ["--import", "./packages/server/bin/NodeVersion.js", "examples/demo.ts"], { npm_lifecycle_event: "start" })
      const test = yield* runNode(node, ["packages/server/bin/NodeVersion.js"], { npm_lifecycle_event: "test" })
      const cli = yield* runNode(node, ["packages/server/bin/llm-router.js", "serve", "--help"], { npm_lifecycle_event: "" })
      for (const [result, script] of [[start, "start"], [test, "test"], [cli, "llm-router serve --help"]] as const) {
        assert.strictEqual(result.code, 1)
        const line = oneLine(result.stderr)
        assert.match(line, /^llm-router needs Node\.js 22\.19 or newer .*this is Node\.js \d+\./)
        assert.include(line, `${COMMAND} ${script}'`)
      }
      const scripts = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts as Record<string, string>
      assert.include(scripts["start"], "--import ./packages/server/bin/NodeVersion.js")
      assert.match(scripts["test"]!, /^node packages\/server\/bin\/NodeVersion\.js && /)
      // `exec`: node replaces pnpm's shell, so a SIGTERM drain's exit code 0 is what pnpm sees (gateway-drain.test.ts).
      assert.strictEqual(scripts["llm-router"], "exec node packages/server/bin/llm-router.js")
    }))
})

describe("start-up failures", () => {
  it.live("a port in use is one line naming the port and --port / PORT, exit 1", () =>
    Effect.gen(function*() {
      const port = yield* busyPort
      const dir = yield* tempDir("llm-router-newcomer-")
      fs.writeFileSync(path.join(dir, "config.yaml"), CONFIG)
      const byFlag = run(["serve", "--config", "config.yaml", "--port", String(port)], { cwd: dir })
      const byEnv = run(["serve", "--config", "config.yaml"], { cwd: dir, env: { PORT: String(port) } })
      const codes = yield* Effect.promise(() => Promise.all([byFlag.exit, byEnv.exit]))
      assert.deepStrictEqual(codes, [1, 1])
      for (const server of [byFlag, byEnv]) {
        const line = oneLine(server.stderr())
        assert.include(line, `port ${port} is already in use`)
        assert.include(line, "--port N (or PORT=N)")
      }
    }).pipe(Effect.scoped))

  it.live("a bad port number is one line, from the flag or from PORT", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("llm-router-newcomer-")
      fs.writeFileSync(path.join(dir, "config.yaml"), CONFIG)
      const flag = run(["serve", "--config", "config.yaml", "--port", "70000"], { cwd: dir })
      const env = run(["serve", "--config", "config.yaml"], { cwd: dir, env: { PORT: "http" } })
      const codes = yield* Effect.promise(() => Promise.all([flag.exit, env.exit]))
      assert.deepStrictEqual(codes, [1, 1])
      assert.include(oneLine(flag.stderr()), "--port 70000 is not a port number")
      assert.include(oneLine(env.stderr()), "PORT=http is not a port number")
    }))

  it.live("serve --help shows the defaults and the environment it reads", () =>
    Effect.gen(function*() {
      const help = run(["serve", "--help"], { cwd: root })
      assert.strictEqual(yield* Effect.promise(() => help.exit), 0)
      const out = help.stdout()
      for (const text of ["default http://127.0.0.1:4000", "default: $PORT, else 4000", "default 127.0.0.1", "OPENAI_API_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT", "os.environ/NAME"]) {
        assert.include(out, text)
      }
    }))
})

describe("a failed upstream call", () => {
  it.live("is logged on stderr at warn level: deployment, error, status; never the key", () =>
    Effect.gen(function*() {
      const upstream = yield* OpenAiUpstream.make()
      const dir = yield* tempDir("llm-router-newcomer-")
      fs.writeFileSync(path.join(dir, "config.yaml"), `
model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${upstream.faultUrl("server-error")}", api_key: sk-upstream-log-secret, order: 1 }
    model_info: { id: broken-openai }
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_base: "${upstream.baseUrl}", api_key: sk-upstream-log-secret, order: 2 }
    model_info: { id: healthy-openai }
`)
      const server = run(["serve", "--config", "config.yaml", "--port", "0"], { cwd: dir })
      yield* Effect.addFinalizer(() => Effect.sync(() => server.child.kill("SIGKILL")))
      const url = yield* listeningUrl(server, 60_000)
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "any", maxRetries: 0 })
      const answer = yield* Effect.promise(() => client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }))
      assert.include(answer.choices[0]?.message.content, "Hello from the mock.")
      const line = yield* waitFor(() => server.stderr().split("\n").find((l) => l.includes("upstream call failed")), "the warning")
      assert.match(line, /WARN/)
      assert.include(line, "deployment=broken-openai provider=openai error=InternalServerError status=500")
      assert.notInclude(server.stderr() + server.stdout(), "sk-upstream-log-secret")
    }).pipe(Effect.scoped))
})

/**
 * The `llm-router` command as a child process, for tests that run it as a user would: its
 * output collected, its exit awaited, and a way to wait for a line it prints.
 */
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const bin = path.resolve(import.meta.dirname, "../packages/server/src/bin.ts")

/** A new directory under the system's temp dir (named `prefix…`), removed with its files when the test's scope closes. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

export interface Run {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exit: Promise<number | null>
}

/** Starts `llm-router args…` in `cwd`, with `env` added to this process's environment and `stdin` as its input. */
export const run = (
  args: ReadonlyArray<string>,
  options: { cwd: string; env?: Record<string, string>; stdin?: string }
): Run => {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd,
    // Not under `pnpm llm-router`: paths are relative to `cwd`.
    env: { ...process.env, npm_lifecycle_event: "", ...options.env },
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"]
  })
  if (options.stdin !== undefined) child.stdin!.end(options.stdin)
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => (stdout += chunk))
  child.stderr!.on("data", (chunk) => (stderr += chunk))
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { child, stdout: () => stdout, stderr: () => stderr, exit }
}

/** Polls `check` until it finds something (and returns it), failing after `timeoutMs`. */
export const waitFor = (check: () => string | undefined, what: string, timeoutMs = 10_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const found = check()
      if (found !== undefined) return found
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error(`timed out waiting for ${what}`)
  })

/**
 * The base URL `serve` announces once it listens. Start-up alone takes 6-12 s when the machine
 * is loaded (two cores shared by many test processes), hence the generous default wait.
 */
export const listeningUrl = (server: Run, timeoutMs = 60_000) =>
  waitFor(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stdout())?.[1], `the listening line (stderr: ${server.stderr()})`, timeoutMs)

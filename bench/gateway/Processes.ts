// Child processes of the gateway benchmark (the mock, our gateway, Portkey):
// started with the same Node as the runner, their output sent to log files,
// ready once they answer HTTP, and always stopped when the runner ends.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Path from "node:path"

export interface Child {
  readonly name: string
  readonly logFile: string
  readonly process: ChildProcess.ChildProcess
  /** Set once the process has exited; a bench target whose process died is reported, not awaited. */
  exited: string | undefined
}

const children: Array<Child> = []

/** Starts `node args…` with its output in `logDir`; `env` is added to this process's environment. */
export const start = (
  name: string,
  args: ReadonlyArray<string>,
  logDir: string,
  cwd: string,
  env: Readonly<Record<string, string>> = {}
): Child => {
  const logFile = Path.join(logDir, `${name}.log`)
  const fd = Fs.openSync(logFile, "w")
  const process_ = ChildProcess.spawn(process.execPath, args, { cwd, stdio: ["ignore", fd, fd], env: { ...process.env, ...env } })
  Fs.closeSync(fd)
  const child: Child = { name, logFile, process: process_, exited: undefined }
  process_.on("exit", (code, signal) => {
    child.exited = `exited (code ${code}, signal ${signal})`
  })
  process_.on("error", (e) => {
    child.exited = `failed to start: ${e.message}`
  })
  children.push(child)
  return child
}

export const stopAll = async (): Promise<void> => {
  await Promise.all(children.map((c) =>
    new Promise<void>((resolve) => {
      if (c.exited !== undefined || c.process.exitCode !== null) return resolve()
      const kill = setTimeout(() => c.process.kill("SIGKILL"), 3_000)
      c.process.once("exit", () => {
        clearTimeout(kill)
        resolve()
      })
      c.process.kill("SIGTERM")
    })
  ))
}

/** A port that was free a moment ago on 127.0.0.1 (in the sealed namespace nothing else races for it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const get = (port: number, path: string): Promise<number> =>
  new Promise((resolve) => {
    const req = Http.get({ host: "127.0.0.1", port, path, agent: false, timeout: 1_000 }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.statusCode ?? 0))
    })
    req.on("timeout", () => req.destroy())
    req.on("error", () => resolve(0))
  })

/** Polls `GET path` until it answers 2xx, the child dies, or `timeoutMs` passes. */
export const waitReady = async (child: Child, port: number, path: string, timeoutMs: number): Promise<string | undefined> => {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child.exited !== undefined) return `${child.name} ${child.exited}; see ${child.logFile}`
    const status = await get(port, path)
    if (status >= 200 && status < 300) return undefined
    await new Promise((r) => setTimeout(r, 100))
  }
  return `${child.name} did not answer GET ${path} on port ${port} within ${timeoutMs} ms; see ${child.logFile}`
}

export const logTail = (child: Child, lines = 15): string => {
  try {
    return Fs.readFileSync(child.logFile, "utf8").split("\n").slice(-lines).join("\n")
  } catch {
    return "(no log)"
  }
}

/**
 * CPU time (user + system) a child has used so far, in milliseconds, from `/proc` (Linux;
 * `undefined` elsewhere or once it has gone): every thread's, or with `mainThread` only its
 * JavaScript thread's (whose id is the process id).
 */
export const cpuMillis = (child: Child, options: { readonly mainThread?: boolean } = {}): number | undefined => {
  const pid = child.process.pid
  if (pid === undefined) return undefined
  try {
    const stat = Fs.readFileSync(options.mainThread === true ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, "utf8")
    // Fields after the command name (which may hold spaces) start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15)
    return Number.isFinite(ticks) ? ticks * (1000 / CLOCK_TICKS_PER_SECOND) : undefined
  } catch {
    return undefined
  }
}
/** `getconf CLK_TCK`: 100 on every Linux Node supports. */
const CLOCK_TICKS_PER_SECOND = 100

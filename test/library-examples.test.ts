/**
 * The library examples are what an Effect app would write: they must run over core, the
 * adapters (through `@llm-router/providers`) and `@llm-router/ai`, never the gateway. The
 * first test follows every import of each example, through the workspace packages it reaches,
 * and fails on any path into `@llm-router/server`; the second runs each `effect/ai` example as
 * its `pnpm example:…` script would, on its in-process mock upstreams (a process start under
 * load can take many seconds: the generous limit is for that, not a timing claim).
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const LIBRARY_EXAMPLES = ["library.ts", "ai-generate-text.ts", "ai-toolkit.ts", "ai-generate-object.ts"]

/** Every import specifier in a TypeScript source (static, type-only and dynamic). */
const specifiers = (source: string): Array<string> =>
  [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm)].map((m) => m[1]!)

/** The workspace file a specifier names, or undefined for a third-party or built-in module. */
const resolve = (from: string, specifier: string): string | undefined => {
  if (specifier.startsWith(".")) return path.resolve(path.dirname(from), specifier)
  const workspace = /^@llm-router\/([^/]+)$/.exec(specifier)
  if (workspace === null) return undefined
  const dir = path.join(root, "packages", workspace[1]!)
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { exports: { ".": string } }
  return path.join(dir, manifest.exports["."])
}

/** The workspace files `entry` reaches, each with the chain of imports that led to it. */
const reachable = (entry: string): Map<string, ReadonlyArray<string>> => {
  const seen = new Map<string, ReadonlyArray<string>>([[entry, [path.relative(root, entry)]]])
  const queue = [entry]
  while (queue.length > 0) {
    const file = queue.shift()!
    for (const specifier of specifiers(fs.readFileSync(file, "utf8"))) {
      const target = resolve(file, specifier)
      if (target === undefined || seen.has(target) || !target.endsWith(".ts")) continue
      seen.set(target, [...seen.get(file)!, `${specifier} (${path.relative(root, target)})`])
      queue.push(target)
    }
  }
  return seen
}

describe("library examples", () => {
  it.each(LIBRARY_EXAMPLES)("%s never reaches @llm-router/server", (example) => {
    const files = reachable(path.join(root, "examples", example))
    // The walk does reach the packages the example is built on.
    assert.isTrue([...files.keys()].some((f) => f.includes(`${path.sep}packages${path.sep}core${path.sep}`)))
    assert.isTrue([...files.keys()].some((f) => f.includes(`${path.sep}packages${path.sep}openai${path.sep}`)))
    const server = [...files].find(([file]) => file.startsWith(path.join(root, "packages", "server")))
    assert.isUndefined(server, `imports the gateway: ${server?.[1].join(" -> ")}`)
  })

  const runs: ReadonlyArray<{ readonly example: string; readonly expected: RegExp }> = [
    { example: "ai-generate-text.ts", expected: /Hello from Claude, via the fallback\.\n[\s\S]*fallbacks: claude/ },
    { example: "ai-toolkit.ts", expected: /the handler answered \{"city":"Paris"[\s\S]*the model: It is 21 °C and sunny in Paris\./ },
    { example: "ai-generate-object.ts", expected: /decoded: \{"country":[\s\S]*served by capitals\/openai\/gpt-4o-mini after 2 attempts/ }
  ]
  it.each(runs)("$example runs on its mock upstreams, with no keys", async ({ example, expected }) => {
    const stdout = await new Promise<string>((resolveRun, reject) =>
      execFile(process.execPath, [path.join(root, "examples", example)], { cwd: root, timeout: 80_000 }, (error, out, err) =>
        error === null ? resolveRun(out) : reject(new Error(`${example} failed: ${error.message}\n${err}`))))
    assert.match(stdout, expected)
  }, 90_000)
})

/**
 * The Node.js version check that runs before any `.ts` file is loaded: plain JavaScript that
 * any Node parses, so a too-old Node (which cannot run TypeScript sources) gets one line
 * naming the version needed and the command that brings it, instead of
 * `Unknown file extension ".ts"` or a crash minutes into a test run.
 *
 * Loaded first by `pnpm start`, `pnpm test`, `pnpm llm-router` (`node --import …`, or as the
 * first step of the script) and by the `llm-router` executable (`llm-router.js`).
 */

/** Node runs `.ts` sources by type stripping, unflagged from 22.18; the project tests on 22.19+ and 24. */
export const required = { major: 22, minor: 19 }

/** What to type instead, for the command that was run (a pnpm script name, or the executable). */
export const suggestion = (script, args) => {
  const simple = args.every((a) => /^[\w./=:@-]+$/.test(a))
  const command = script === "test" || script === "start"
    ? `pnpm ${script}`
    : `pnpm llm-router${args.length > 0 && simple ? ` ${args.join(" ")}` : args.length > 0 ? " …" : ""}`
  return `npx -y -p node@24 -p pnpm@12 -c 'pnpm install && ${command}'`
}

/** The one line to print for `version` (e.g. "20.20.2"), or `undefined` when it is new enough. */
export const problem = (version, script, args = []) => {
  const [major = 0, minor = 0] = version.split(".").map(Number)
  if (major > required.major || (major === required.major && minor >= required.minor)) return undefined
  return `llm-router needs Node.js ${required.major}.${required.minor} or newer (Node 24 recommended); this is Node.js ${version}. ` +
    `Run it with Node 24 fetched for this shell only: ${suggestion(script, args)}`
}

const line = problem(process.versions.node, process.env.npm_lifecycle_event, process.argv.slice(2))
if (line !== undefined) {
  process.stderr.write(`${line}\n`)
  process.exit(1)
}

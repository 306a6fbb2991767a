/**
 * `llm-router classify` as a user runs it: prompts as arguments or JSONL chat requests on
 * standard input, a line per prompt (tier, score, group, signals) and a tier histogram; a bad
 * line is reported and makes the exit code 1 without stopping the others.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { run, tempDir } from "./CliProcess.ts"

const CONFIG = `
model_list:
  - model_name: cheap
    litellm_params: { model: openai/gpt-4o-mini, api_key: sk-test }
  - model_name: strong
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_key: sk-test }
  - model_name: thinker
    litellm_params: { model: openai/o3, api_key: sk-test }
  - model_name: auto
    litellm_params:
      model: auto_router/complexity_router
      complexity_router_config:
        tiers: { SIMPLE: cheap, MEDIUM: cheap, COMPLEX: strong, REASONING: thinker }
      complexity_router_default_model: cheap
`

/** A directory holding `config.yaml`, removed when the test ends. */
const configDir = Effect.tap(tempDir("llm-router-classify-"), (dir) => Effect.sync(() => fs.writeFileSync(path.join(dir, "config.yaml"), CONFIG)))

describe("llm-router classify", () => {
  it.live("classifies prompts given as arguments and prints a histogram", () =>
    Effect.gen(function*() {
      const cli = run(["classify", "--config", "config.yaml", "Hello, how are you?", "Prove that there are infinitely many primes."], {
        cwd: yield* configDir
      })
      const code = yield* Effect.promise(() => cli.exit)
      assert.strictEqual(code, 0, cli.stderr())
      const out = cli.stdout()
      assert.match(out, /^SIMPLE\s+\d\.\d\d\s+cheap\s+\[.*\]\s+"Hello, how are you\?"$/m)
      assert.match(out, /^REASONING\s+\d\.\d\d\s+thinker\s+\[.*proof.*\]\s+"Prove that there are infinitely many primes\."$/m)
      assert.match(out, /2 prompts:\n\s+SIMPLE\s+1\s+50\.0 %/)
      assert.match(out, /REASONING\s+1\s+50\.0 %/)
    }))

  it.live("reads JSONL chat requests on stdin, reports a bad line and exits 1", () =>
    Effect.gen(function*() {
      const lines = [
        JSON.stringify({ model: "auto", messages: [{ role: "user", content: "Write a TypeScript function that deep-merges two objects." }] }),
        "not json",
        JSON.stringify({ messages: [{ role: "system", content: "You are a helpful bot." }] }),
        JSON.stringify({ messages: [{ role: "user", content: "hi" }], metadata: { complexity_tier: "reasoning" } })
      ]
      const cli = run(["classify", "--config", "config.yaml"], { cwd: yield* configDir, stdin: lines.join("\n") + "\n" })
      const code = yield* Effect.promise(() => cli.exit)
      assert.strictEqual(code, 1)
      const out = cli.stdout()
      assert.match(out, /^COMPLEX\s+\d\.\d\d\s+strong\s/m)
      assert.match(out, /^default\s+-\s+cheap\s+\[no-user-text\]/m)
      assert.match(out, /^REASONING\s+-\s+thinker\s+\[forced\]\s+"hi"$/m)
      assert.match(out, /3 prompts:/)
      assert.match(cli.stderr(), /line 2: not JSON/)
      assert.match(cli.stderr(), /1 input could not be classified/)
    }))

  it.live("says so when the config has no complexity router", () =>
    Effect.gen(function*() {
      const dir = yield* configDir
      fs.writeFileSync(path.join(dir, "plain.yaml"), "model_list:\n  - model_name: a\n    litellm_params: { model: openai/gpt-4o, api_key: k }\n")
      const cli = run(["classify", "--config", "plain.yaml", "hello"], { cwd: dir })
      assert.strictEqual(yield* Effect.promise(() => cli.exit), 1)
      assert.match(cli.stderr(), /no complexity router/)
    }))
})

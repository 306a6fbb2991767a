import { defineConfig } from "vitest/config"
import type { Reporter } from "vitest/node"

/** Ends the run with one plain "N passed, N failed" line that any CI log reader understands. */
const summaryLine: Reporter = {
  onTestRunEnd(testModules) {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === "passed") passed++
        else if (state === "failed") failed++
        else skipped++
      }
    }
    console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
  }
}

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    reporters: ["default", summaryLine]
  }
})

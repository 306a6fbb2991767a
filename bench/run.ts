/**
 * `pnpm bench`: the router's own overhead, then each provider adapter's overhead per call,
 * each against its baseline in the same process. The gateway-vs-Portkey comparison needs a
 * sealed network namespace and runs separately: `pnpm bench:gateway`.
 */
import os from "node:os"
import * as Complexity from "./complexity.ts"
import * as Router from "./router.ts"
import { type Result, table } from "./Stats.ts"

const section = async (title: string, run: () => Promise<ReadonlyArray<Result>>) => {
  console.log(`\n## ${title}\n`)
  console.log(table(await run()))
}

console.log(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`)

await section("Router overhead: chat through a 3-deployment router vs the provider directly", async () => {
  const rows = await Router.run()
  console.log(`ratio (median): ${(rows[1]!.medianUs / rows[0]!.medianUs).toFixed(1)}×, target: under 20 µs added at the median`)
  return rows
})

for (const adapter of ["openai", "anthropic", "google"]) {
  await section(`Adapter overhead: ${adapter} (translate + decode, instant mock)`, async () => {
    const module = (await import(`./adapters/${adapter}.ts`)) as { run: () => Promise<ReadonlyArray<Result>> }
    return module.run()
  })
}

await section("Complexity classification: per prompt, ours vs LiteLLM's rules restated", async () => {
  const rows = await Complexity.run()
  console.log("targets: 100 chars ≤ 20 µs, 20,000 chars ≤ 500 µs at the median (ours)")
  return rows
})

/**
 * Complexity classification: our classifier (`Complexity.classifier`) against LiteLLM's scoring
 * rules restated (`LiteLlmComplexity.make()`, its default keyword lists), on a 100-character prompt
 * and a 20,000-character one, interleaved so the machine's noise hits both alike. Each sample
 * times a batch of calls and reports the time per call.
 *
 * Run: node bench/complexity.ts   (part of `pnpm bench`)
 */
import { Complexity, LiteLlmComplexity } from "@llm-router/core"
import { type Result, summarize } from "./Stats.ts"

const SHORT = "Write a Python function that checks whether a string is a palindrome, ignoring case and spaces."
  .padEnd(100, ".")

/** 20,000 characters of a realistic long prompt: an ask, a pasted file, a stack trace, notes. */
const LONG = (() => {
  const ask = "Our checkout service times out under load. Review the code below, find the cause and propose a fix.\n\n"
  const code = [
    "export async function checkout(cart: Cart, user: User): Promise<Receipt> {",
    "  const prices = await Promise.all(cart.items.map((item) => pricing.quote(item.sku, user.region)))",
    "  const total = prices.reduce((sum, p) => sum + p.amount, 0)",
    "  if (total > user.creditLimit) throw new CheckoutError(\"credit limit exceeded\")",
    "  return payments.charge(user.id, total)",
    "}",
    ""
  ].join("\n")
  const trace = "Error: connect ETIMEDOUT 10.0.3.7:5432\n    at TCPConnectWrap.afterConnect (node:net:1555:16)\n"
  const notes = "The timeouts started after we doubled the number of workers; the database pool size is still 10. "
  let text = ask
  while (text.length < 20_000) text += code + trace + notes
  return text.slice(0, 20_000)
})()

const ours = Complexity.classifier
const liteLlm = LiteLlmComplexity.make()

const timePerCall = (classify: Complexity.Classifier, prompt: Complexity.Prompt, batch: number): number => {
  const start = process.hrtime.bigint()
  for (let i = 0; i < batch; i++) classify(prompt)
  return Number(process.hrtime.bigint() - start) / 1000 / batch
}

const measure = (label: string, user: string, batch: number, samples: number): ReadonlyArray<Result> => {
  const prompt: Complexity.Prompt = { system: "", user }
  for (let i = 0; i < 200; i++) (timePerCall(ours, prompt, batch), timePerCall(liteLlm, prompt, batch))
  const a: Array<number> = []
  const b: Array<number> = []
  for (let i = 0; i < samples; i++) {
    if (i % 2 === 0) (a.push(timePerCall(ours, prompt, batch)), b.push(timePerCall(liteLlm, prompt, batch)))
    else (b.push(timePerCall(liteLlm, prompt, batch)), a.push(timePerCall(ours, prompt, batch)))
  }
  return [summarize(`ours, ${label}`, a), summarize(`LiteLLM's rules restated, ${label}`, b)]
}

export const run = async (): Promise<ReadonlyArray<Result>> => [
  ...measure(`${SHORT.length} chars`, SHORT, 50, 2_000),
  ...measure(`${LONG.length} chars`, LONG, 2, 1_000)
]

export const tiers = () => ({ short: ours({ system: "", user: SHORT }).tier, long: ours({ system: "", user: LONG }).tier })

if (import.meta.main) {
  const { table } = await import("./Stats.ts")
  console.log(table(await run()))
}

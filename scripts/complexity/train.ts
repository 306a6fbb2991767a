/**
 * Trains the complexity classifier: a multinomial logistic regression over the features of
 * `packages/core/src/internal/ComplexityFeatures.ts`, on the training part of
 * `packages/core/data/complexity/prompts.jsonl`, and reports accuracy on the held-out part (one
 * prompt in five, chosen by a hash of its text). Writes the weights the package ships
 * (`packages/core/src/internal/ComplexityModel.ts`) and the report (`packages/core/data/complexity/REPORT.md`).
 *
 *   node scripts/complexity/train.ts
 *
 * Deterministic: no randomness, full-batch Adam from zero weights.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as LiteLlmComplexity from "../../packages/core/src/LiteLlmComplexity.ts"
import { isHeldOut } from "./HeldOut.ts"
import { BUCKETS, extract, FEATURE_COUNT, HAND_FEATURES } from "../../packages/core/src/internal/ComplexityFeatures.ts"

const TIERS = ["SIMPLE", "MEDIUM", "COMPLEX", "REASONING"] as const
type Tier = typeof TIERS[number]
const K = TIERS.length

const dataDir = path.join(import.meta.dirname, "../../packages/core/data/complexity")
const rows = fs.readFileSync(path.join(dataDir, "prompts.jsonl"), "utf8").split("\n").filter((l) => l !== "")
  .map((l) => JSON.parse(l) as { text: string; tier: Tier; source: string })


interface Example {
  readonly index: Int32Array
  readonly value: Float64Array
  readonly label: number
  readonly source: string
  readonly text: string
}

const toExample = (r: { text: string; tier: Tier; source: string }): Example => {
  const f = extract(r.text)
  const n = f.touchedCount + HAND_FEATURES.length
  const index = new Int32Array(n)
  const value = new Float64Array(n)
  for (let i = 0; i < f.touchedCount; i++) {
    index[i] = f.touched[i]!
    value[i] = f.bucketValues[f.touched[i]!]!
  }
  for (let j = 0; j < HAND_FEATURES.length; j++) {
    index[f.touchedCount + j] = BUCKETS + j
    value[f.touchedCount + j] = f.hand[j]!
  }
  return { index, value, label: TIERS.indexOf(r.tier), source: r.source, text: r.text }
}

const all = rows.map(toExample)
const train = all.filter((e) => !isHeldOut(e.text))
const dev = all.filter((e) => isHeldOut(e.text))

const L2_VOCABULARY = Number(process.env["L2_VOCABULARY"] ?? 3e-3)
const L2_HAND = Number(process.env["L2_HAND"] ?? 3e-5)
const EPOCHS = Number(process.env["EPOCHS"] ?? 300)
const RATE = 0.05

const scores = (w: Float64Array, e: Example, into: Float64Array) => {
  into.fill(0)
  for (let i = 0; i < e.index.length; i++) {
    const base = e.index[i]! * K
    const v = e.value[i]!
    for (let k = 0; k < K; k++) into[k]! += w[base + k]! * v
  }
  return into
}

const softmax = (s: Float64Array) => {
  let max = -Infinity
  for (const x of s) max = Math.max(max, x)
  let sum = 0
  for (let k = 0; k < s.length; k++) sum += (s[k] = Math.exp(s[k]! - max))
  for (let k = 0; k < s.length; k++) s[k]! /= sum
  return s
}

/**
 * Prior knowledge the data cannot teach (it holds few proofs, few explicit requests for
 * step-by-step reasoning, little math notation and few technical explanations, and LiteLLM's users
 * rely on all of them): these weights are set, not learned.
 * Per hand feature, its weight toward each tier.
 */
export const PRIORS: ReadonlyArray<readonly [string, readonly [number, number, number, number]]> = [
  ["proof", [-1.5, -1.5, 0, 4]],
  ["reasoning-request", [-0.5, -0.5, 0, 2]],
  ["technical", [-1, -0.5, 1.5, 0.5]],
  ["formula", [-1, -1, 0, 2.5]],
  ["math-notation", [-1, -1, 0, 2]]
]
const frozen = new Set<number>()
const applyPriors = (w: Float64Array) => {
  for (const [name, values] of PRIORS) {
    const base = (BUCKETS + HAND_FEATURES.indexOf(name as typeof HAND_FEATURES[number])) * K
    values.forEach((v, k) => {
      w[base + k] = v
      frozen.add(base + k)
    })
  }
}

/** Full-batch Adam on the mean cross-entropy plus L2; classes weighed so each tier counts the same. */
const fit = (examples: ReadonlyArray<Example>): Float64Array => {
  const w = new Float64Array(FEATURE_COUNT * K)
  applyPriors(w)
  const m = new Float64Array(w.length)
  const v = new Float64Array(w.length)
  const g = new Float64Array(w.length)
  const perClass = TIERS.map((_, k) => examples.filter((e) => e.label === k).length)
  const classWeight = perClass.map((n) => examples.length / (K * Math.max(1, n)))
  const s = new Float64Array(K)
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    g.fill(0)
    for (const e of examples) {
      softmax(scores(w, e, s))
      const cw = classWeight[e.label]! / examples.length
      for (let k = 0; k < K; k++) s[k] = (s[k]! - (k === e.label ? 1 : 0)) * cw
      for (let i = 0; i < e.index.length; i++) {
        const base = e.index[i]! * K
        const x = e.value[i]!
        for (let k = 0; k < K; k++) g[base + k]! += s[k]! * x
      }
    }
    const b1 = 0.9, b2 = 0.999
    for (let j = 0; j < w.length; j++) {
      const grad = g[j]! + (j < BUCKETS * K ? L2_VOCABULARY : L2_HAND) * w[j]!
      if ((grad === 0 && m[j] === 0) || frozen.has(j)) continue
      m[j] = b1 * m[j]! + (1 - b1) * grad
      v[j] = b2 * v[j]! + (1 - b2) * grad * grad
      const mh = m[j]! / (1 - b1 ** epoch)
      const vh = v[j]! / (1 - b2 ** epoch)
      w[j]! -= RATE * mh / (Math.sqrt(vh) + 1e-8)
    }
  }
  return w
}

const predict = (w: Float64Array, e: Example) => {
  const s = scores(w, e, new Float64Array(K))
  let best = 0
  for (let k = 1; k < K; k++) if (s[k]! > s[best]!) best = k
  return best
}

const evaluate = (w: Float64Array, examples: ReadonlyArray<Example>) => {
  const confusion = TIERS.map(() => TIERS.map(() => 0))
  let right = 0
  let cheapRight = 0
  for (const e of examples) {
    const p = predict(w, e)
    confusion[e.label]![p]!++
    if (p === e.label) right++
    if ((p >= 2) === (e.label >= 2)) cheapRight++
  }
  const predicted = TIERS.map((_, j) => confusion.reduce((a, row) => a + row[j]!, 0))
  return { n: examples.length, fourWay: right / examples.length, cheapVsExpensive: cheapRight / examples.length, confusion, predicted }
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`

/** LiteLLM's default rules on the same held-out prompts, for comparison. */
const liteLlmOnDev = (() => {
  const liteLlm = LiteLlmComplexity.make()
  const confusion = TIERS.map(() => TIERS.map(() => 0))
  let right = 0
  let cheapRight = 0
  for (const e of dev) {
    const p = TIERS.indexOf(liteLlm({ system: "", user: e.text }).tier)
    confusion[e.label]![p]!++
    if (p === e.label) right++
    if ((p >= 2) === (e.label >= 2)) cheapRight++
  }
  return { fourWay: right / dev.length, cheapVsExpensive: cheapRight / dev.length, confusion }
})()

const weights = fit(train)
const result = evaluate(weights, dev)
const trainResult = evaluate(weights, train)

// Generalisation check: train without one source at a time, test on that source alone.
const sources = [...new Set(all.map((e) => e.source))]
const leaveOneOut = process.env["SKIP_LEAVE_ONE_OUT"] !== undefined ? [] : sources.map((source) => {
  const w = fit(all.filter((e) => e.source !== source))
  const r = evaluate(w, all.filter((e) => e.source === source))
  return { source, tier: TIERS[all.find((e) => e.source === source)!.label]!, ...r }
})

const confusionTable = (confusion: ReadonlyArray<ReadonlyArray<number>>) => {
  const lines = [`| labelled \\ predicted | ${TIERS.join(" | ")} | recall |`, `|---|${TIERS.map(() => "---:").join("|")}|---:|`]
  TIERS.forEach((tier, i) => {
    const row = confusion[i]!
    const total = row.reduce((a, b) => a + b, 0)
    lines.push(`| ${tier} | ${row.join(" | ")} | ${pct(row[i]! / Math.max(1, total))} |`)
  })
  const precision = TIERS.map((_, j) => {
    const col = confusion.reduce((a, row) => a + row[j]!, 0)
    return pct(confusion[j]![j]! / Math.max(1, col))
  })
  lines.push(`| precision | ${precision.join(" | ")} | |`)
  return lines.join("\n")
}

const report = `# Complexity classifier: training report

Generated by \`node scripts/complexity/train.ts\` (do not edit by hand).

- Prompts: ${all.length} (${train.length} to train, ${dev.length} held out: one in five by a hash of the text).
- Held-out four-way accuracy: **${pct(result.fourWay)}**; cheap (SIMPLE/MEDIUM) vs expensive (COMPLEX/REASONING): **${pct(result.cheapVsExpensive)}**.
- Training-part accuracy (for comparison): four-way ${pct(trainResult.fourWay)}, cheap vs expensive ${pct(trainResult.cheapVsExpensive)}.

## Held-out confusion matrix

${confusionTable(result.confusion)}

## LiteLLM's default rules on the same held-out prompts

Four-way ${pct(liteLlmOnDev.fourWay)}, cheap vs expensive ${pct(liteLlmOnDev.cheapVsExpensive)} (\`LiteLlmComplexity.make()\`, its v1
heuristic with its default keywords, weights and boundaries).

${confusionTable(liteLlmOnDev.confusion)}

## Leave one source out

Each row trains on every other source and classifies the left-out source only: how the model does on a
kind of prompt it has never seen (harder than the held-out split, whose sources appear in training).

| source | tier | prompts | four-way | cheap vs expensive | predicted S / M / C / R |
|---|---|---:|---:|---:|---|
${leaveOneOut.map((r) => `| ${r.source} | ${r.tier} | ${r.n} | ${pct(r.fourWay)} | ${pct(r.cheapVsExpensive)} | ${r.predicted.join(" / ")} |`).join("\n")}

Mean over sources: four-way ${pct(leaveOneOut.reduce((a, r) => a + r.fourWay, 0) / leaveOneOut.length)}, cheap vs expensive ${pct(leaveOneOut.reduce((a, r) => a + r.cheapVsExpensive, 0) / leaveOneOut.length)}.
`
const dryRun = process.env["DRY_RUN"] !== undefined
if (dryRun) {
  console.log(report)
  process.exit(0)
}
fs.writeFileSync(path.join(dataDir, "REPORT.md"), report)

// Shipped weights: float32, little-endian, base64; feature-major (weights[feature * 4 + tier]).
const f32 = new Float32Array(weights)
const base64 = Buffer.from(f32.buffer).toString("base64")
const model = `/**
 * The complexity classifier's weights, generated by \`node scripts/complexity/train.ts\` from
 * \`packages/core/data/complexity/prompts.jsonl\` (see that folder's README for sources and licences,
 * and REPORT.md for held-out accuracy). Do not edit by hand.
 */

/** Features × tiers, float32 little-endian, base64. */
export const WEIGHTS = "${base64}"

export const FEATURES = ${FEATURE_COUNT}

export const HELD_OUT = { fourWay: ${result.fourWay.toFixed(4)}, cheapVsExpensive: ${result.cheapVsExpensive.toFixed(4)}, prompts: ${dev.length} } as const
`
fs.writeFileSync(path.join(import.meta.dirname, "../../packages/core/src/internal/ComplexityModel.ts"), model)
console.log(report)

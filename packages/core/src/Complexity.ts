/**
 * How hard a prompt is, in LiteLLM's four tiers (SIMPLE, MEDIUM, COMPLEX, REASONING), so a complexity
 * router can send simple prompts to a cheap model and hard ones to a strong one. The classifier is
 * a pure function: local, deterministic, no model call, one bounded pass over the text. It is a
 * linear model over hashed words and word pairs plus named hand features (code, arithmetic, requests
 * for proofs or step-by-step reasoning, constraints, design, writing, small talk, length), trained
 * offline by `scripts/complexity/train.ts` on public prompt collections
 * (`packages/core/data/complexity/`); its weights ship with the package.
 *
 * `scoredPrompt` says what of a chat request is classified: the system prompt and the last user turn
 * that has text, with agent-harness noise (`<system-reminder>` blocks) removed.
 */
import type { ChatRequest, Content } from "./Chat.ts"
import { BUCKETS, extract, FEATURE_COUNT, HAND_FEATURES } from "./internal/ComplexityFeatures.ts"
import { FEATURES, WEIGHTS } from "./internal/ComplexityModel.ts"

export const TIERS = ["SIMPLE", "MEDIUM", "COMPLEX", "REASONING"] as const
export type Tier = typeof TIERS[number]

export const isTier = (value: unknown): value is Tier => typeof value === "string" && (TIERS as ReadonlyArray<string>).includes(value)

/** A tier's place on the ladder: 0 (SIMPLE) to 3 (REASONING). */
export const rank = (tier: Tier): number => TIERS.indexOf(tier)

export interface Classification {
  readonly tier: Tier
  /** 0 (surely SIMPLE) to 1 (surely REASONING); for our classifier the expected tier over its probabilities, divided by 3. */
  readonly score: number
  /** What pushed the prompt to its tier, strongest first (hand-feature names, or LiteLLM's dimension names). */
  readonly signals: ReadonlyArray<string>
}

/** What a complexity router classifies of a request (see `scoredPrompt`). */
export interface Prompt {
  /** The system (or developer) prompt; "" when there is none. */
  readonly system: string
  /** The user's ask. */
  readonly user: string
}

/** Classifies a prompt: our model (`classifier`) or LiteLLM's rules (`LiteLlmComplexity.make`). */
export type Classifier = (prompt: Prompt) => Classification

const decodeWeights = (): Float32Array => {
  if (FEATURES !== FEATURE_COUNT) throw new Error("ComplexityModel.ts does not match ComplexityFeatures.ts: re-run scripts/complexity/train.ts")
  const binary = atob(WEIGHTS)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return new Float32Array(bytes.buffer)
}

/** Decoded on first use, so a process that never classifies pays nothing at start-up. */
let decoded: Float32Array | undefined
const K = TIERS.length

/** A hand feature must add at least this much (in logits, over the other tiers' mean) to be named a signal. */
const SIGNAL_THRESHOLD = 0.2
const MAX_SIGNALS = 5

/** Our classifier on one text (see the module comment). */
export const classify = (text: string): Classification => {
  const weights = decoded ??= decodeWeights()
  const f = extract(text)
  let w0 = 0, w1 = 0, w2 = 0, w3 = 0
  for (let i = 0; i < f.touchedCount; i++) {
    const b = f.touched[i]!
    const v = f.bucketValues[b]!
    const base = b * K
    w0 += weights[base]! * v
    w1 += weights[base + 1]! * v
    w2 += weights[base + 2]! * v
    w3 += weights[base + 3]! * v
  }
  let s0 = w0, s1 = w1, s2 = w2, s3 = w3
  const hand = f.hand
  for (let j = 0; j < hand.length; j++) {
    const v = hand[j]!
    if (v === 0) continue
    const base = (BUCKETS + j) * K
    s0 += weights[base]! * v
    s1 += weights[base + 1]! * v
    s2 += weights[base + 2]! * v
    s3 += weights[base + 3]! * v
  }
  let best = 0
  let bestScore = s0
  if (s1 > bestScore) (best = 1, bestScore = s1)
  if (s2 > bestScore) (best = 2, bestScore = s2)
  if (s3 > bestScore) (best = 3, bestScore = s3)
  const e0 = Math.exp(s0 - bestScore), e1 = Math.exp(s1 - bestScore), e2 = Math.exp(s2 - bestScore), e3 = Math.exp(s3 - bestScore)
  const score = (e1 + 2 * e2 + 3 * e3) / (3 * (e0 + e1 + e2 + e3))
  return { tier: TIERS[best]!, score, signals: signalsOf(weights, hand, best, [w0, w1, w2, w3]) }
}

/** Our classifier on a request's prompt: the system prompt, then the user's ask. */
export const classifier: Classifier = (prompt) => classify(prompt.system === "" ? prompt.user : `${prompt.system}\n\n${prompt.user}`)

/** The hand features (and the vocabulary as "wording") that favour `tier` most over the other tiers. */
const signalsOf = (
  weights: Float32Array,
  hand: Float64Array,
  tier: number,
  vocabulary: ReadonlyArray<number>
): ReadonlyArray<string> => {
  const found: Array<{ name: string; lift: number }> = []
  const lift = (values: ReadonlyArray<number>) => {
    let others = 0
    for (let k = 0; k < K; k++) if (k !== tier) others += values[k]!
    return values[tier]! - others / (K - 1)
  }
  const vocabularyLift = lift(vocabulary)
  if (vocabularyLift > SIGNAL_THRESHOLD) found.push({ name: "wording", lift: vocabularyLift })
  for (let j = 1; j < hand.length; j++) {
    const v = hand[j]!
    if (v === 0) continue
    const base = (BUCKETS + j) * K
    const l = lift([weights[base]! * v, weights[base + 1]! * v, weights[base + 2]! * v, weights[base + 3]! * v])
    if (l > SIGNAL_THRESHOLD) found.push({ name: HAND_FEATURES[j]!, lift: l })
  }
  return found.sort((a, b) => b.lift - a.lift).slice(0, MAX_SIGNALS).map((s) => s.name)
}

// ── What of a request is classified ──

const REMINDER_OPEN = "<system-reminder>"
const REMINDER_CLOSE = "</system-reminder>"

/**
 * Removes agent-harness noise: `<system-reminder>…</system-reminder>` blocks (Claude Code and others
 * inject them into user turns), matched without regard to case; an unclosed block runs to the end.
 */
export const stripHarnessNoise = (text: string): string => {
  const lower = text.toLowerCase()
  let at = lower.indexOf(REMINDER_OPEN)
  if (at < 0) return text
  let out = ""
  let from = 0
  while (at >= 0) {
    out += text.slice(from, at)
    const close = lower.indexOf(REMINDER_CLOSE, at + REMINDER_OPEN.length)
    if (close < 0) return out
    from = close + REMINDER_CLOSE.length
    at = lower.indexOf(REMINDER_OPEN, from)
  }
  return out + text.slice(from)
}

const textOf = (content: Content | null | undefined): string => {
  if (content == null) return ""
  if (typeof content === "string") return content
  let text = ""
  for (const part of content) {
    if (part.type === "text" && typeof part.text === "string") text += (text === "" ? "" : "\n") + part.text
  }
  return text
}

/**
 * What a complexity router classifies: the last system (or developer) message and the last user
 * message that has text once harness noise is removed. Earlier turns, assistant turns and tool
 * results do not count, so every step of an agent's loop is routed by the user's ask. `undefined`
 * when no user message has text (the router then uses its default model).
 */
export const scoredPrompt = (request: Pick<ChatRequest, "messages">): Prompt | undefined => {
  const messages = request.messages
  let user: string | undefined
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.role !== "user") continue
    const text = stripHarnessNoise(textOf(m.content)).trim()
    if (text !== "") {
      user = text
      break
    }
  }
  if (user === undefined) return undefined
  for (let j = messages.length - 1; j >= 0; j--) {
    const m = messages[j]!
    if (m.role === "system" || m.role === "developer") return { system: stripHarnessNoise(textOf(m.content)).trim(), user }
  }
  return { system: "", user }
}

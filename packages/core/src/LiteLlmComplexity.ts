/**
 * LiteLLM's complexity scoring rules (its `auto_router/complexity_router`, heuristic v1), restated
 * so that a config that sets LiteLLM's `tier_boundaries`, `token_thresholds`, `dimension_weights` or
 * keyword lists gets LiteLLM's rules with those values. Everyone else gets our classifier
 * (`Complexity.classifier`), which is far more accurate.
 *
 * The rules: the last system prompt and the last user message, lower-cased, are scored on seven
 * dimensions, each a value times its weight, summed:
 *   tokenCount          −1 when the user text has fewer than `simple` estimated tokens (length / 4),
 *                       +1 above `complex`, else 0
 *   codePresence        code keywords: ≥2 hits 1.0, 1 hit 0.5
 *   reasoningMarkers    reasoning keywords in the user text only: ≥2 hits 1.0, 1 hit 0.7
 *   technicalTerms      technical keywords: ≥4 hits 1.0, ≥2 hits 0.5
 *   simpleIndicators    simple keywords: any hit −1.0
 *   multiStepPatterns   "first … then", "step 1", "1. ", "a) ": 0.5
 *   questionComplexity  more than three "?": 0.5
 * Two or more reasoning keywords force REASONING; otherwise the score falls between the tier
 * boundaries (SIMPLE < simple_medium ≤ MEDIUM < medium_complex ≤ COMPLEX < complex_reasoning ≤
 * REASONING). A keyword with a space matches as a substring; a single word matches on word
 * boundaries ("capital" does not count as "api", "poetry" not as "try"). A hit is a distinct keyword.
 */
import type { Classification, Classifier, Tier } from "./Complexity.ts"

export const DIMENSIONS = [
  "tokenCount",
  "codePresence",
  "reasoningMarkers",
  "technicalTerms",
  "simpleIndicators",
  "multiStepPatterns",
  "questionComplexity"
] as const
export type Dimension = typeof DIMENSIONS[number]

export const DEFAULT_WEIGHTS: Readonly<Record<Dimension, number>> = {
  tokenCount: 0.10,
  codePresence: 0.30,
  reasoningMarkers: 0.25,
  technicalTerms: 0.25,
  simpleIndicators: 0.05,
  multiStepPatterns: 0.03,
  questionComplexity: 0.02
}

export interface TierBoundaries {
  readonly simple_medium: number
  readonly medium_complex: number
  readonly complex_reasoning: number
}
export const DEFAULT_BOUNDARIES: TierBoundaries = { simple_medium: 0.15, medium_complex: 0.35, complex_reasoning: 0.60 }

export interface TokenThresholds {
  readonly simple: number
  readonly complex: number
}
export const DEFAULT_TOKEN_THRESHOLDS: TokenThresholds = { simple: 15, complex: 400 }

export const DEFAULT_CODE_KEYWORDS: ReadonlyArray<string> = (
  "function class def const let var import export return async await try catch exception error debug api endpoint " +
  "request response database sql query schema algorithm implement refactor optimize python javascript typescript " +
  "java rust golang react vue angular node docker kubernetes git commit merge branch"
).split(" ").concat(["pull request"])

export const DEFAULT_REASONING_KEYWORDS: ReadonlyArray<string> = [
  "step by step", "think through", "let's think", "reason through", "analyze this", "break down",
  "explain your reasoning", "show your work", "chain of thought", "think carefully", "consider all", "evaluate",
  "pros and cons", "compare and contrast", "weigh the options", "logical", "deduce", "infer", "conclude"
]

export const DEFAULT_TECHNICAL_KEYWORDS: ReadonlyArray<string> = (
  "architecture distributed scalable microservice encryption authentication authorization performance latency " +
  "throughput benchmark concurrency parallel threading memory cpu gpu optimization protocol tcp http grpc websocket " +
  "container orchestration"
).split(" ").concat(["machine learning", "neural network", "deep learning"])

export const DEFAULT_SIMPLE_KEYWORDS: ReadonlyArray<string> = [
  "what is", "what's", "define", "definition of", "who is", "who was", "when did", "when was", "where is",
  "where was", "how many", "how much", "yes or no", "true or false", "simple", "brief", "short", "quick", "hello",
  "hi", "hey", "thanks", "thank you", "goodbye", "bye", "okay"
]

/** LiteLLM's `complexity_router_config` values that shape the scoring; each one left out keeps LiteLLM's default. */
export interface Options {
  readonly tierBoundaries?: Partial<TierBoundaries> | undefined
  readonly tokenThresholds?: Partial<TokenThresholds> | undefined
  /** When given, a dimension it does not name weighs 0 (LiteLLM does not renormalise). */
  readonly dimensionWeights?: Partial<Record<Dimension, number>> | undefined
  readonly codeKeywords?: ReadonlyArray<string> | undefined
  readonly reasoningKeywords?: ReadonlyArray<string> | undefined
  readonly technicalKeywords?: ReadonlyArray<string> | undefined
  readonly simpleKeywords?: ReadonlyArray<string> | undefined
}

/** A keyword list compiled for counting distinct hits in one pass over the text's words. */
interface KeywordMatcher {
  /** Single words made of word characters only: matched against the text's set of words. */
  readonly words: ReadonlyArray<string>
  /** Phrases (with a space): substrings. */
  readonly phrases: ReadonlyArray<string>
  /** Single "words" with other characters ("c++", "node.js"): a word-boundary regex each. */
  readonly patterns: ReadonlyArray<RegExp>
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const compile = (keywords: ReadonlyArray<string>): KeywordMatcher => {
  const words: Array<string> = []
  const phrases: Array<string> = []
  const patterns: Array<RegExp> = []
  for (const raw of new Set(keywords.map((k) => k.trim().toLowerCase()))) {
    if (raw === "") continue
    if (raw.includes(" ")) phrases.push(raw)
    else if (/^\w+$/.test(raw)) words.push(raw)
    else patterns.push(new RegExp(`\\b${escapeRegExp(raw)}\\b`))
  }
  return { words, phrases, patterns }
}

const hits = (matcher: KeywordMatcher, text: string, words: ReadonlySet<string>, found?: Array<string>): number => {
  let n = 0
  for (const w of matcher.words) if (words.has(w)) (n++, found?.push(w))
  for (const p of matcher.phrases) if (text.includes(p)) (n++, found?.push(p))
  for (const r of matcher.patterns) if (r.test(text)) (n++, found?.push(r.source))
  return n
}

const wordsOf = (text: string): Set<string> => new Set(text.split(/\W+/))

const MULTI_STEP = [/first.*?then/, /step\s*\d/, /\d+\.\s/, /[a-z]\)\s/]

/** LiteLLM's scorer with the given values (LiteLLM's defaults for what is left out). */
export const make = (options: Options = {}): Classifier => {
  const weights: Record<Dimension, number> = options.dimensionWeights === undefined
    ? { ...DEFAULT_WEIGHTS }
    : Object.fromEntries(DIMENSIONS.map((d) => [d, options.dimensionWeights?.[d] ?? 0])) as Record<Dimension, number>
  const boundaries = { ...DEFAULT_BOUNDARIES, ...options.tierBoundaries }
  const thresholds = { ...DEFAULT_TOKEN_THRESHOLDS, ...options.tokenThresholds }
  const code = compile(options.codeKeywords ?? DEFAULT_CODE_KEYWORDS)
  const reasoning = compile(options.reasoningKeywords ?? DEFAULT_REASONING_KEYWORDS)
  const technical = compile(options.technicalKeywords ?? DEFAULT_TECHNICAL_KEYWORDS)
  const simple = compile(options.simpleKeywords ?? DEFAULT_SIMPLE_KEYWORDS)

  return ({ system, user }): Classification => {
    const userText = user.toLowerCase()
    const text = system === "" ? userText : `${system.toLowerCase()} ${userText}`
    const words = wordsOf(text)
    const userWords = system === "" ? words : wordsOf(userText)
    const estimatedTokens = Math.floor(user.length / 4)
    const reasoningFound: Array<string> = []
    const reasoningHits = hits(reasoning, userText, userWords, reasoningFound)
    const codeHits = hits(code, text, words)
    const technicalHits = hits(technical, text, words)
    let questions = 0
    for (let i = text.indexOf("?"); i >= 0 && questions <= 3; i = text.indexOf("?", i + 1)) questions++
    const values: Record<Dimension, number> = {
      tokenCount: estimatedTokens < thresholds.simple ? -1 : estimatedTokens > thresholds.complex ? 1 : 0,
      codePresence: codeHits >= 2 ? 1 : codeHits === 1 ? 0.5 : 0,
      reasoningMarkers: reasoningHits >= 2 ? 1 : reasoningHits === 1 ? 0.7 : 0,
      technicalTerms: technicalHits >= 4 ? 1 : technicalHits >= 2 ? 0.5 : 0,
      simpleIndicators: hits(simple, text, words) >= 1 ? -1 : 0,
      multiStepPatterns: MULTI_STEP.some((r) => r.test(text)) ? 0.5 : 0,
      questionComplexity: questions > 3 ? 0.5 : 0
    }
    let score = 0
    const fired: Array<{ name: string; contribution: number }> = []
    for (const d of DIMENSIONS) {
      const contribution = values[d] * weights[d]
      score += contribution
      if (contribution !== 0) fired.push({ name: d, contribution })
    }
    fired.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
    const signals = fired.map((f) => f.name)
    if (reasoningHits >= 2) return { tier: "REASONING", score, signals: ["reasoningMarkers", ...signals.filter((s) => s !== "reasoningMarkers")] }
    const tier: Tier = score < boundaries.simple_medium
      ? "SIMPLE"
      : score < boundaries.medium_complex
      ? "MEDIUM"
      : score < boundaries.complex_reasoning
      ? "COMPLEX"
      : "REASONING"
    return { tier, score, signals }
  }
}

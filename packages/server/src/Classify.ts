/**
 * `llm-router classify --config FILE [PROMPT…]`: what a config's complexity router would do with
 * each prompt (given as arguments, or as JSONL chat requests on standard input), so a user can
 * check it on their own traffic before deploying: the tier, the score, the signals that fired and
 * the model group per prompt, then a tier histogram.
 */
import { Chat, Complexity, ComplexityRouter } from "@llm-router/core"
import { Console, Effect, Schema, Stdio, Stream } from "effect"
import type * as GatewayConfig from "./GatewayConfig.ts"

export class ClassifyError extends Schema.TaggedError<ClassifyError>()("ClassifyError", { message: Schema.String }) {}

/** The config's complexity router named `name`, or its only one. */
export const routerOf = (
  config: GatewayConfig.GatewayConfig,
  name: string | undefined
): ComplexityRouter.ComplexityRouter | ClassifyError => {
  const routers = config.router.settings.complexityRouters ?? new Map<string, ComplexityRouter.ComplexityRouter>()
  if (name !== undefined) {
    return routers.get(name) ??
      new ClassifyError({ message: `no complexity router named "${name}" (the config has: ${[...routers.keys()].join(", ") || "none"})` })
  }
  if (routers.size === 1) return [...routers.values()][0]!
  return new ClassifyError({
    message: routers.size === 0
      ? `the config has no complexity router (a model_list entry with litellm_params.model: ${ComplexityRouter.MODEL})`
      : `the config has ${routers.size} complexity routers (${[...routers.keys()].join(", ")}): choose one with --router`
  })
}

export interface Line {
  readonly decision: ComplexityRouter.Decision
  /** The prompt as shown: its user text, cut short. */
  readonly preview: string
}

const PREVIEW_CHARS = 60

const preview = (request: Chat.ChatRequest): string => {
  const text = Complexity.scoredPrompt(request)?.user ?? ""
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > PREVIEW_CHARS ? `${flat.slice(0, PREVIEW_CHARS - 1)}…` : flat
}

/** Classifies one request as the router would, every group taken as available. */
export const classifyRequest = (router: ComplexityRouter.ComplexityRouter, request: Chat.ChatRequest): Line | ClassifyError => {
  const decision = ComplexityRouter.decide(router, request, () => true)
  return decision instanceof ComplexityRouter.InvalidTier
    ? new ClassifyError({ message: decision.message })
    : { decision, preview: preview(request) }
}

export const formatLine = ({ decision, preview }: Line): string =>
  `${(decision.tier ?? "default").padEnd(9)}  ${decision.score === undefined ? "   -" : decision.score.toFixed(2)}  ` +
  `${decision.group}  [${decision.signals.join(", ")}]  ${JSON.stringify(preview)}`

export const histogram = (lines: ReadonlyArray<Line>): string => {
  const total = lines.length
  const rows = [...Complexity.TIERS, undefined].map((tier) => {
    const n = lines.filter((l) => l.decision.tier === tier).length
    const share = total === 0 ? 0 : (100 * n) / total
    return `  ${(tier ?? "default (no user text)").padEnd(22)} ${String(n).padStart(6)}  ${share.toFixed(1).padStart(5)} %  ${"#".repeat(Math.round(share / 2))}`
  })
  return [`${total} prompt${total === 1 ? "" : "s"}:`, ...rows].join("\n")
}

const decodeRequest = Schema.decodeUnknownResult(Chat.ChatRequest)

/** One JSONL line: a chat request (its `model` may be left out). */
export const parseLine = (text: string): Chat.ChatRequest | ClassifyError => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return new ClassifyError({ message: "not JSON" })
  }
  if (typeof value === "object" && value !== null && !("model" in value)) value = { ...value, model: "classify" }
  const decoded = decodeRequest(value)
  return decoded._tag === "Success"
    ? decoded.success
    : new ClassifyError({ message: "not a chat request (expected {\"messages\": [{\"role\": \"user\", \"content\": …}]})" })
}

/**
 * Classifies the prompts given, or each JSONL line of standard input when none is, printing a
 * line per prompt and the histogram; fails when a line could not be read (after the others).
 */
export const run = (router: ComplexityRouter.ComplexityRouter, prompts: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const lines: Array<Line> = []
    let bad = 0
    const report = (result: Line | ClassifyError, where: string) => {
      if (result instanceof ClassifyError) {
        bad++
        return Console.error(`${where}: ${result.message}`)
      }
      lines.push(result)
      return Console.log(formatLine(result))
    }
    yield* Console.log(`complexity router "${router.name}" (${ComplexityRouter.describeRules(router)})`)
    if (prompts.length > 0) {
      for (const [i, prompt] of prompts.entries()) {
        yield* report(classifyRequest(router, { model: router.name, messages: [{ role: "user", content: prompt }] }), `prompt ${i + 1}`)
      }
    } else {
      const stdio = yield* Stdio.Stdio
      let n = 0
      yield* stdio.stdin.pipe(
        Stream.decodeText,
        Stream.splitLines,
        Stream.runForEach((text) => {
          n++
          if (text.trim() === "") return Effect.void
          const request = parseLine(text)
          return report(request instanceof ClassifyError ? request : classifyRequest(router, request), `line ${n}`)
        })
      )
    }
    yield* Console.log(histogram(lines))
    if (bad > 0) return yield* new ClassifyError({ message: `${bad} input${bad === 1 ? "" : "s"} could not be classified` })
  })

import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import type { ChatRequest } from "../src/Chat.ts"
import * as ComplexityRouter from "../src/ComplexityRouter.ts"
import * as RouterConfig from "../src/RouterConfig.ts"

const group = (name: string) => ({ model_name: name, litellm_params: { model: `openai/${name}`, api_key: "k" } })

const auto = (config: Record<string, unknown>, defaultModel?: string) => ({
  model_name: "auto",
  litellm_params: {
    model: ComplexityRouter.MODEL,
    complexity_router_config: config,
    ...(defaultModel === undefined ? {} : { complexity_router_default_model: defaultModel })
  }
})

const tiers = { SIMPLE: "cheap", MEDIUM: "mid", COMPLEX: "strong", REASONING: "thinker" }

const decodeConfig = (entries: ReadonlyArray<unknown>) =>
  Effect.runSync(Effect.exit(RouterConfig.decode({ model_list: entries })))

const routerOf = (entries: ReadonlyArray<unknown>): ComplexityRouter.ComplexityRouter => {
  const exit = decodeConfig(entries)
  if (!Exit.isSuccess(exit)) throw new Error(String(exit.cause))
  return exit.value.settings.complexityRouters!.get("auto")!
}

const all = [group("cheap"), group("mid"), group("strong"), group("thinker")]
const ask = (content: string, metadata?: Record<string, unknown>): ChatRequest => ({
  model: "auto",
  messages: [{ role: "user", content }],
  ...(metadata === undefined ? {} : { metadata })
})
const everything = () => true

describe("ComplexityRouter config (LiteLLM's shape)", () => {
  it("reads auto_router/complexity_router entries as routers, not deployments", () => {
    const exit = decodeConfig([...all, auto({ tiers }, "mid")])
    expect(Exit.isSuccess(exit)).toBe(true)
    if (!Exit.isSuccess(exit)) return
    expect(exit.value.deployments.map((d) => d.group)).toEqual(["cheap", "mid", "strong", "thinker"])
    const router = exit.value.settings.complexityRouters!.get("auto")!
    expect(router.tiers).toEqual({ SIMPLE: ["cheap"], MEDIUM: ["mid"], COMPLEX: ["strong"], REASONING: ["thinker"] })
    expect(router.defaultModel).toBe("mid")
    expect(router.rules).toBe("ours")
  })

  it("uses LiteLLM's rules when the config sets LiteLLM's weights, boundaries or keywords", () => {
    expect(routerOf([...all, auto({ tiers, dimension_weights: { codePresence: 0.5 } })]).rules).toBe("litellm")
    expect(routerOf([...all, auto({ tiers, tier_boundaries: { simple_medium: 0.1 } })]).rules).toBe("litellm")
    expect(routerOf([...all, auto({ tiers, code_keywords: ["kotlin"] })]).rules).toBe("litellm")
    // With LiteLLM's rules, a prompt no keyword matches scores 0 → SIMPLE (its known weakness).
    const litellm = routerOf([...all, auto({ tiers, tier_boundaries: { simple_medium: 0.15 } })])
    const decision = ComplexityRouter.decide(litellm, ask("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?"), everything)
    expect(decision).toMatchObject({ tier: "SIMPLE", group: "cheap" })
    const ours = routerOf([...all, auto({ tiers })])
    expect(ComplexityRouter.decide(ours, ask("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?"), everything))
      .toMatchObject({ tier: "REASONING", group: "thinker" })
  })

  it("reports unknown groups, unknown tiers and dimensions, and a name taken by a group", () => {
    const exit = decodeConfig([
      ...all,
      auto({ tiers: { SIMPLE: "cheap", HARD: "strong", COMPLEX: ["strong", "nope"] }, dimension_weights: { vibes: 1 } }, "missing"),
      { model_name: "cheap", litellm_params: { model: ComplexityRouter.MODEL, complexity_router_config: { tiers: { SIMPLE: "mid" } } } }
    ])
    expect(Exit.isFailure(exit)).toBe(true)
    const message = String(Exit.isFailure(exit) ? exit.cause : "")
    expect(message).toContain("model_list[4].litellm_params.complexity_router_config.tiers.HARD: unknown tier")
    expect(message).toContain("model_list[4].litellm_params.complexity_router_config.tiers.COMPLEX[1]: unknown model group \"nope\"")
    expect(message).toContain("model_list[4].litellm_params.complexity_router_default_model: unknown model group \"missing\"")
    expect(message).toContain("dimension_weights.vibes: unknown dimension")
    expect(message).toContain("model_list[5].model_name: \"cheap\" names a model group already")
  })
})

describe("ComplexityRouter.decide", () => {
  const router = routerOf([...all, auto({ tiers: { ...tiers, COMPLEX: ["strong", "mid"] } }, "mid")])

  it("sends each prompt to its tier's group", () => {
    expect(ComplexityRouter.decide(router, ask("Hello, how are you?"), everything)).toMatchObject({ tier: "SIMPLE", group: "cheap", forced: false })
    expect(ComplexityRouter.decide(router, ask("Write a Go function that reverses a linked list in place."), everything))
      .toMatchObject({ tier: "COMPLEX", group: "strong" })
  })

  it("climbs the ladder, never down, when a tier's groups have nothing available, then takes the default", () => {
    const hello = ask("Hello, how are you?")
    expect(ComplexityRouter.decide(router, hello, (g) => g !== "cheap")).toMatchObject({ tier: "SIMPLE", group: "mid" })
    expect(ComplexityRouter.decide(router, hello, (g) => g === "thinker")).toMatchObject({ tier: "SIMPLE", group: "thinker" })
    const code = ask("Write a Go function that reverses a linked list in place.")
    // A tier's list is tried in order before climbing.
    expect(ComplexityRouter.decide(router, code, (g) => g !== "strong")).toMatchObject({ tier: "COMPLEX", group: "mid" })
    // Never down: a COMPLEX prompt with only "cheap" up goes to the default, not to SIMPLE's group.
    expect(ComplexityRouter.decide(router, code, (g) => g === "cheap" || g === "mid")).toMatchObject({ group: "mid" })
    const noDefault = routerOf([...all, auto({ tiers })])
    expect(ComplexityRouter.decide(noDefault, code, (g) => g === "cheap")).toMatchObject({ tier: "COMPLEX", group: "strong" })
  })

  it("honours a forced tier in metadata.complexity_tier, in any case, and rejects an unknown one", () => {
    expect(ComplexityRouter.decide(router, ask("Hello", { complexity_tier: "reasoning" }), everything))
      .toMatchObject({ tier: "REASONING", group: "thinker", forced: true, signals: ["forced"] })
    const bad = ComplexityRouter.decide(router, ask("Hello", { complexity_tier: "HUGE" }), everything)
    expect(bad).toBeInstanceOf(ComplexityRouter.InvalidTier)
    expect((bad as ComplexityRouter.InvalidTier).message).toContain("SIMPLE, MEDIUM, COMPLEX, REASONING")
  })

  it("sends a conversation without user text to the default model", () => {
    const request: ChatRequest = { model: "auto", messages: [{ role: "system", content: "You are terse." }] }
    expect(ComplexityRouter.decide(router, request, everything)).toEqual({
      group: "mid", tier: undefined, score: undefined, signals: ["no-user-text"], forced: false
    })
  })
})

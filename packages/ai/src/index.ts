/**
 * @llm-router/ai: the router under `effect/ai`. A routed model group is a `LanguageModel`
 * (and a `Model`), so `LanguageModel.generateText` / `streamText` / `generateObject` and
 * toolkits run over the router with its failover:
 * `import { RouterLanguageModel } from "@llm-router/ai"` then `RouterLanguageModel.model("gpt-4o")`.
 */
export * as RouterLanguageModel from "./RouterLanguageModel.ts"

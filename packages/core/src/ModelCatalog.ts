/**
 * What the router knows about models it did not configure: context windows (for the
 * pre-call check) and per-token prices (for cost). Prices come from `@pydantic/genai-prices`
 * (maintained, embedded data, no network); `model_prices.json` (31 models gathered
 * 2026-11-23 with sources) fills in what that package lacks, such as max output tokens.
 * A deployment's own `model_info` and cost fields always win over both.
 *
 * Lookups are memoised per provider and model: the package prices one usage in ~20 µs,
 * too slow for every response, so unit prices are derived once and multiplied after.
 */
import { calcPrice } from "@pydantic/genai-prices"
import prices from "./model_prices.json" with { type: "json" }

export interface ModelInfo {
  readonly model: string
  readonly inputPerToken?: number | undefined
  readonly outputPerToken?: number | undefined
  readonly cacheReadPerToken?: number | undefined
  readonly cacheWritePerToken?: number | undefined
  readonly contextWindow?: number | undefined
  readonly maxOutputTokens?: number | undefined
}

interface PriceRow {
  readonly model: string
  readonly input_per_mtok_usd: number
  readonly output_per_mtok_usd: number
  readonly cache_read_per_mtok_usd?: number | null
  readonly cache_write_per_mtok_usd?: number | null
  readonly context_window?: number | null
  readonly max_output_tokens?: number | null
  readonly aliases?: ReadonlyArray<string>
}

const vendored = new Map<string, ModelInfo>()
for (const row of prices as ReadonlyArray<PriceRow>) {
  const info: ModelInfo = {
    model: row.model,
    inputPerToken: row.input_per_mtok_usd / 1e6,
    outputPerToken: row.output_per_mtok_usd / 1e6,
    cacheReadPerToken: row.cache_read_per_mtok_usd != null ? row.cache_read_per_mtok_usd / 1e6 : undefined,
    cacheWritePerToken: row.cache_write_per_mtok_usd != null ? row.cache_write_per_mtok_usd / 1e6 : undefined,
    contextWindow: row.context_window ?? undefined,
    maxOutputTokens: row.max_output_tokens ?? undefined
  }
  for (const name of [row.model, ...(row.aliases ?? [])]) {
    const key = name.toLowerCase()
    vendored.set(key, info)
    // Some rows are keyed `provider/model`: answer to the bare model name too.
    if (key.includes("/")) vendored.set(key.slice(key.indexOf("/") + 1), info)
  }
}

/** LiteLLM provider prefixes → genai-prices provider ids. Unlisted prefixes are matched by model name alone. */
const priceProvider: Readonly<Record<string, string>> = {
  openai: "openai",
  azure: "azure",
  anthropic: "anthropic",
  gemini: "google",
  vertex_ai: "google",
  groq: "groq",
  mistral: "mistral",
  deepseek: "deepseek",
  together_ai: "together",
  fireworks_ai: "fireworks",
  xai: "x-ai",
  openrouter: "openrouter",
  bedrock: "aws"
}

/** Unit prices are read at a small usage, below any long-context tier (see `exactCost`). */
const UNIT = 1_000

const fromPackage = (provider: string | undefined, model: string): ModelInfo | undefined => {
  const options = provider && priceProvider[provider] ? { providerId: priceProvider[provider] } : {}
  const input = calcPrice({ input_tokens: UNIT }, model, options)
  if (input === null) return undefined
  const output = calcPrice({ output_tokens: UNIT }, model, options)
  const cacheRead = calcPrice({ input_tokens: UNIT, cache_read_tokens: UNIT }, model, options)
  const cacheWrite = calcPrice({ input_tokens: UNIT, cache_write_tokens: UNIT }, model, options)
  return {
    model: input.model.id,
    inputPerToken: input.input_price / UNIT,
    outputPerToken: output ? output.output_price / UNIT : undefined,
    cacheReadPerToken: cacheRead ? cacheRead.input_price / UNIT : undefined,
    cacheWritePerToken: cacheWrite ? cacheWrite.input_price / UNIT : undefined,
    contextWindow: input.model.context_window
  }
}

const fromVendored = (model: string): ModelInfo | undefined => {
  const name = model.toLowerCase()
  const bare = name.includes("/") ? name.slice(name.lastIndexOf("/") + 1) : name
  return vendored.get(name) ?? vendored.get(bare) ?? vendored.get(bare.replace(/-\d{4}-?\d{2}-?\d{2}$/, ""))
}

/**
 * Lookups kept, this many at most, the oldest dropped first: a wildcard group's deployments
 * take their model name from the request, so the names looked up are the clients' to choose.
 */
const MEMO_MAX = 1_024
const memo = new Map<string, ModelInfo | undefined>()

/**
 * Finds a model by its provider-side name (a `provider/` prefix and a date suffix are
 * tolerated); `provider` is the LiteLLM prefix, when known, to pick the right price list.
 */
export const lookup = (model: string, provider?: string): ModelInfo | undefined => {
  const key = `${provider ?? ""}\u0000${model}`
  if (memo.has(key)) return memo.get(key)
  const packaged = fromPackage(provider, model)
  const local = fromVendored(model)
  const info = packaged || local
    ? {
      model: packaged?.model ?? local!.model,
      inputPerToken: packaged?.inputPerToken ?? local?.inputPerToken,
      outputPerToken: packaged?.outputPerToken ?? local?.outputPerToken,
      cacheReadPerToken: packaged?.cacheReadPerToken ?? local?.cacheReadPerToken,
      cacheWritePerToken: packaged?.cacheWritePerToken ?? local?.cacheWritePerToken,
      contextWindow: packaged?.contextWindow ?? local?.contextWindow,
      maxOutputTokens: local?.maxOutputTokens
    }
    : undefined
  if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value!)
  memo.set(key, info)
  return info
}

/** Prompts this large may cross a long-context price tier: price them exactly, not by unit price. */
export const LONG_CONTEXT_TOKENS = 128_000

/**
 * The package's exact price for one usage, tiers included (~20 µs: used only for long
 * prompts). `undefined` when the package does not know the model.
 */
export const exactCost = (
  model: string,
  provider: string | undefined,
  usage: { readonly input: number; readonly output: number; readonly cacheRead: number; readonly cacheWrite: number }
): number | undefined => {
  const options = provider && priceProvider[provider] ? { providerId: priceProvider[provider] } : {}
  const price = calcPrice(
    { input_tokens: usage.input, output_tokens: usage.output, cache_read_tokens: usage.cacheRead, cache_write_tokens: usage.cacheWrite },
    model,
    options
  )
  return price?.total_price
}

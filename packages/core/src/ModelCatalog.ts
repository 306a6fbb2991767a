/**
 * What the router knows about models it did not configure: context windows (for the
 * pre-call check) and prices (for cost). Built from `model_prices.json` (31 models,
 * gathered 2026-11-23 with sources); a deployment's own `model_info` and cost fields win.
 */
import prices from "./model_prices.json" with { type: "json" }

export interface ModelInfo {
  readonly model: string
  readonly provider: string
  readonly inputPerToken: number
  readonly outputPerToken: number
  readonly cacheReadPerToken?: number | undefined
  readonly contextWindow?: number | undefined
  readonly maxOutputTokens?: number | undefined
}

interface PriceRow {
  readonly model: string
  readonly provider: string
  readonly input_per_mtok_usd: number
  readonly output_per_mtok_usd: number
  readonly cache_read_per_mtok_usd?: number | null
  readonly context_window?: number | null
  readonly max_output_tokens?: number | null
  readonly aliases?: ReadonlyArray<string>
}

const byName = new Map<string, ModelInfo>()
for (const row of prices as ReadonlyArray<PriceRow>) {
  const info: ModelInfo = {
    model: row.model,
    provider: row.provider,
    inputPerToken: row.input_per_mtok_usd / 1e6,
    outputPerToken: row.output_per_mtok_usd / 1e6,
    cacheReadPerToken: row.cache_read_per_mtok_usd != null ? row.cache_read_per_mtok_usd / 1e6 : undefined,
    contextWindow: row.context_window ?? undefined,
    maxOutputTokens: row.max_output_tokens ?? undefined
  }
  for (const name of [row.model, ...(row.aliases ?? [])]) {
    const key = name.toLowerCase()
    byName.set(key, info)
    // LiteLLM keys some rows by `provider/model`: also answer to the bare model name.
    if (key.includes("/")) byName.set(key.slice(key.indexOf("/") + 1), info)
  }
}

/** Finds a model by its provider-side name, ignoring a provider prefix and a date suffix. */
export const lookup = (model: string): ModelInfo | undefined => {
  const name = model.toLowerCase()
  const bare = name.includes("/") ? name.slice(name.lastIndexOf("/") + 1) : name
  return byName.get(name) ?? byName.get(bare) ?? byName.get(bare.replace(/-\d{4}-?\d{2}-?\d{2}$/, ""))
}

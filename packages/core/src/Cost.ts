/**
 * The price of one response, in USD, from its usage and the deployment's (or the model
 * catalog's) per-token prices. Cached prompt tokens are billed at the cache-read price and
 * cache writes at the cache-write price when the catalog knows them. Unknown prices give
 * `undefined`, never a silent 0.
 */
import type { Usage } from "./Chat.ts"
import type { Deployment } from "./Deployment.ts"
import * as ModelCatalog from "./ModelCatalog.ts"

/** The catalog's prices for a deployment, looked up once per deployment (every answer is priced). */
const catalogPrices = new WeakMap<Deployment, ModelCatalog.ModelInfo | null>()
const pricesOf = (deployment: Deployment): ModelCatalog.ModelInfo | undefined => {
  let known = catalogPrices.get(deployment)
  if (known === undefined) {
    known = ModelCatalog.lookup(deployment.model, deployment.provider) ?? null
    catalogPrices.set(deployment, known)
  }
  return known ?? undefined
}

export const ofUsage = (deployment: Deployment, usage: Usage | null | undefined): number | undefined => {
  if (!usage) return undefined
  const overridden = deployment.inputCostPerToken !== undefined && deployment.outputCostPerToken !== undefined
  const known = overridden ? undefined : pricesOf(deployment)
  const input = deployment.inputCostPerToken ?? known?.inputPerToken
  const output = deployment.outputCostPerToken ?? known?.outputPerToken
  if (input === undefined || output === undefined) return undefined
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0
  const written = usage.prompt_tokens_details?.cache_write_tokens ?? 0
  if (!overridden && usage.prompt_tokens > ModelCatalog.LONG_CONTEXT_TOKENS) {
    const exact = ModelCatalog.exactCost(deployment.model, deployment.provider, {
      input: usage.prompt_tokens,
      output: usage.completion_tokens,
      cacheRead: cached,
      cacheWrite: written
    })
    if (exact !== undefined) return exact
  }
  const uncached = Math.max(0, usage.prompt_tokens - cached - written)
  return uncached * input +
    cached * (known?.cacheReadPerToken ?? input) +
    written * (known?.cacheWritePerToken ?? input) +
    usage.completion_tokens * output
}

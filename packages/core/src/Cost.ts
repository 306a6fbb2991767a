/**
 * The price of one response, in USD, from its usage and the deployment's (or the model
 * catalog's) per-token prices. Unknown prices give `undefined`, never a silent 0.
 */
import type { Usage } from "./Chat.ts"
import type { Deployment } from "./Deployment.ts"
import * as ModelCatalog from "./ModelCatalog.ts"

export const ofUsage = (deployment: Deployment, usage: Usage | null | undefined): number | undefined => {
  if (!usage) return undefined
  const known = ModelCatalog.lookup(deployment.model)
  const input = deployment.inputCostPerToken ?? known?.inputPerToken
  const output = deployment.outputCostPerToken ?? known?.outputPerToken
  if (input === undefined || output === undefined) return undefined
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0
  const cacheRead = deployment.inputCostPerToken ?? known?.cacheReadPerToken ?? input
  return (usage.prompt_tokens - cached) * input + cached * cacheRead + usage.completion_tokens * output
}

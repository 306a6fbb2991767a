import { assert, describe, it } from "@effect/vitest"
import { Cost, ModelCatalog, RouterConfig } from "@llm-router/core"
import { Effect } from "effect"
import prices from "../src/model_prices.json" with { type: "json" }

const deploymentOf = (litellm_params: Record<string, unknown>) =>
  Effect.map(RouterConfig.decode({ model_list: [{ model_name: "g", litellm_params }] }), (c) => c.deployments[0]!)

describe("ModelCatalog and Cost", () => {
  it("agrees with the gathered price table for the models both know", () => {
    // The package is the source; the shared table (gathered with sources) is the check.
    for (const row of prices.filter((r) => ["openai", "anthropic", "google"].includes(r.provider) && !r.model.startsWith("text-"))) {
      const provider = row.provider === "google" ? "gemini" : row.provider
      const info = ModelCatalog.lookup(row.model, provider)
      assert.isDefined(info, row.model)
      assert.closeTo(info!.inputPerToken! * 1e6, row.input_per_mtok_usd, 1e-9, `${row.model} input`)
      assert.closeTo(info!.outputPerToken! * 1e6, row.output_per_mtok_usd, 1e-9, `${row.model} output`)
    }
  })

  it("knows context windows, also for dated model names", () => {
    assert.strictEqual(ModelCatalog.lookup("gpt-4o", "openai")?.contextWindow, 128_000)
    assert.strictEqual(ModelCatalog.lookup("gpt-4o-2024-08-06", "openai")?.contextWindow, 128_000)
    assert.strictEqual(ModelCatalog.lookup("gemini-2.5-flash", "gemini")?.contextWindow, 1_048_576)
    assert.isUndefined(ModelCatalog.lookup("no-such-model-anywhere", "openai"))
  })

  it.effect("prices a response from its usage, cached tokens at the cache-read price", () =>
    Effect.gen(function*() {
      const d = yield* deploymentOf({ model: "openai/gpt-4o" })
      const cost = Cost.ofUsage(d, {
        prompt_tokens: 1000,
        completion_tokens: 500,
        total_tokens: 1500,
        prompt_tokens_details: { cached_tokens: 400 }
      })
      // gpt-4o: $2.50 in, $1.25 cached in, $10 out per million tokens.
      assert.closeTo(cost!, (600 * 2.5 + 400 * 1.25 + 500 * 10) / 1e6, 1e-12)
    }))

  it.effect("prices a long prompt at the model's long-context tier", () =>
    Effect.gen(function*() {
      const d = yield* deploymentOf({ model: "anthropic/claude-sonnet-4-5" })
      const short = Cost.ofUsage(d, { prompt_tokens: 100_000, completion_tokens: 0, total_tokens: 100_000 })!
      const long = Cost.ofUsage(d, { prompt_tokens: 300_000, completion_tokens: 0, total_tokens: 300_000 })!
      assert.closeTo(short, 100_000 * 3 / 1e6, 1e-9)
      // Above 200k input tokens the whole prompt is billed at the higher rate.
      assert.isAbove(long, 3 * short)
    }))

  it.effect("uses the deployment's own prices over the catalog", () =>
    Effect.gen(function*() {
      const d = yield* deploymentOf({ model: "openai/gpt-4o", input_cost_per_token: 0.001, output_cost_per_token: 0.002 })
      assert.closeTo(Cost.ofUsage(d, { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 })!, 0.02, 1e-12)
    }))

  it.effect("says unknown, not 0, for a model without a price", () =>
    Effect.gen(function*() {
      const d = yield* deploymentOf({ model: "hosted_vllm/my-finetune" })
      assert.isUndefined(Cost.ofUsage(d, { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }))
      assert.isUndefined(Cost.ofUsage(d, undefined))
    }))
})

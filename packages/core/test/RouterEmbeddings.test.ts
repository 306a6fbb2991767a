/**
 * Embeddings through the router's engine: the same attempt loop, cooldowns, fallbacks and
 * budgets as chat, over embedding groups only; a chat group asked for embeddings and an
 * embedding group asked to chat are `BadRequest`s; a config that mixes kinds in a group, or
 * falls back across kinds, is refused. Deployments are scripted embedding clients.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Deployment, type EmbeddingClient, type Embeddings, LlmError, RouteInfo, Router, RouterConfig, RouterState } from "@llm-router/core"
import { Effect, Exit, Stream } from "effect"

/** An embedding client per deployment that fails while `down` names it, and records every call. */
const scripted = (down: Set<string>, calls: Array<string>) => (d: Deployment.Deployment): Effect.Effect<EmbeddingClient.Service> =>
  Effect.succeed({
    embed: (_request: Embeddings.EmbeddingRequest) =>
      Effect.suspend(() => {
        calls.push(d.id)
        if (down.has(d.id)) return Effect.fail(new LlmError.ServiceUnavailable({ provider: d.provider, deployment: d.id, status: 503, message: "down" }))
        const usage = { prompt_tokens: 1000, total_tokens: 1000 }
        return Effect.succeed({
          response: { object: "list" as const, data: [{ object: "embedding" as const, index: 0, embedding: [0.5] }], model: d.model, usage },
          route: RouteInfo.ofDeployment(d, 1, { prompt_tokens: 1000, completion_tokens: 0, total_tokens: 1000 })
        })
      })
  })

/** Chat deployments are never called here. */
const noChat = () => Effect.succeed({ chat: () => Effect.die("no chat in this test"), stream: () => Stream.die("no chat in this test") })

/** A deployment entry; `mode` null leaves `model_info.mode` out (a chat deployment). */
const entry = (group: string, id: string, extra: Record<string, unknown> = {}, mode: string | null = "embedding") => ({
  model_name: group,
  litellm_params: { model: `openai/text-embedding-3-small`, ...extra },
  model_info: { id, ...(mode !== null ? { mode } : {}) }
})

const setup = (config: unknown, down: Set<string>) =>
  Effect.gen(function*() {
    const calls: Array<string> = []
    const decoded = yield* RouterConfig.decode(config)
    const services = yield* Router.makeServices(decoded, noChat, { embeddingClientFor: scripted(down, calls) })
    return { ...services, calls }
  }).pipe(Effect.provide(RouterState.layerMemory))

const ask = (model: string): Embeddings.EmbeddingRequest => ({ model, input: ["a", "b"] })

describe("Router embeddings", () => {
  it.effect("fails over within a group, cools the failed deployment, and falls back to another embedding group", () =>
    Effect.gen(function*() {
      const down = new Set(["e1"])
      const { embeddings, calls } = yield* setup({
        model_list: [entry("embed", "e1", { order: 1 }), entry("embed", "e2", { order: 2 }), entry("spare", "s1")],
        fallbacks: [{ embed: ["spare"] }],
        num_retries: 1,
        allowed_fails: 0
      }, down)
      const first = yield* embeddings.embed(ask("embed"))
      assert.deepStrictEqual(calls, ["e1", "e2"])
      assert.strictEqual(first.route.deployment, "e2")
      assert.strictEqual(first.route.attempts, 2)
      assert.strictEqual(first.route.group, "embed")
      // text-embedding-3-small: $0.02 per million tokens.
      assert.closeTo(first.route.costUsd ?? -1, 1000 * 0.02 / 1e6, 1e-12)
      // e1 is cooling down: the next request goes straight to e2.
      yield* embeddings.embed(ask("embed"))
      assert.deepStrictEqual(calls, ["e1", "e2", "e2"])
      // The whole group down: the fallback group answers, and the route says so.
      down.add("e2")
      const fallen = yield* embeddings.embed(ask("embed"))
      assert.strictEqual(fallen.route.deployment, "s1")
      assert.deepStrictEqual(fallen.route.fallbacks, ["spare"])
    }))

  it.effect("spends budgets: a deployment over its budget is skipped for the next", () =>
    Effect.gen(function*() {
      const { embeddings, calls } = yield* setup({
        model_list: [
          entry("embed", "capped", { order: 1, max_budget: 0.00001, budget_duration: "1h" }),
          entry("embed", "open", { order: 2 })
        ]
      }, new Set())
      yield* embeddings.embed(ask("embed"))
      yield* embeddings.embed(ask("embed"))
      assert.deepStrictEqual(calls, ["capped", "open"])
    }))

  it.effect("a chat group asked for embeddings, and an embedding group asked to chat, are BadRequests naming the kind", () =>
    Effect.gen(function*() {
      const { llm, embeddings, calls } = yield* setup({
        model_list: [entry("embed", "e1"), entry("chat", "c1", {}, null), entry("art", "i1", {}, "image_generation")]
      }, new Set())
      const wrongWay = yield* Effect.flip(embeddings.embed(ask("chat")))
      assert.strictEqual(wrongWay._tag, "BadRequest")
      assert.match(wrongWay.message, /"chat" is a chat model group/)
      const chatToEmbed = yield* Effect.flip(llm.chat({ model: "embed", messages: [{ role: "user", content: "hi" }] }))
      assert.strictEqual(chatToEmbed._tag, "BadRequest")
      assert.match(chatToEmbed.message, /"embed" is an embedding model group/)
      const images = yield* Effect.exit(llm.chat({ model: "art", messages: [{ role: "user", content: "hi" }] }))
      assert.isTrue(Exit.isFailure(images))
      assert.deepStrictEqual(calls, [])
    }))

  it.effect("a group that mixes kinds, or a fallback across kinds, is a config error", () =>
    Effect.gen(function*() {
      const mixed = yield* Effect.flip(RouterConfig.decode({ model_list: [entry("g", "a"), entry("g", "b", {}, null)] }))
      assert.match(mixed.message, /mixes embedding and chat deployments/)
      const across = yield* Effect.flip(RouterConfig.decode({
        model_list: [entry("embed", "a"), entry("chat", "b", {}, "chat")],
        fallbacks: [{ embed: ["chat"] }]
      }))
      assert.match(across.message, /an? embedding group cannot fall back to "chat", a chat group/)
      const unknownMode = yield* Effect.flip(RouterConfig.decode({ model_list: [entry("g", "a", {}, "telepathy")] }))
      assert.match(unknownMode.message, /mode/)
    }))
})

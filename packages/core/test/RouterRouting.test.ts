/**
 * Choosing a deployment: weighted shuffle (statistically, with a seeded `Random`), `order`,
 * the other strategies through the router, tags, the pre-call context-window check, unknown
 * groups and aliases, and the `RouteInfo` every response carries.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chat, LlmClient, Router, RouterConfig, RouterState } from "@llm-router/core"
import { Effect, Layer, Random, Stream } from "effect"
import { TestClock } from "effect/testing"
import {
  assertTag,
  collectStream,
  DEFAULT_TEXT,
  deployment,
  failOnClock,
  harness,
  request,
  SimulatedProvider,
  succeedOnClock
} from "./Fixture.ts"

/** Sends `n` requests one after another and counts who served them. */
const serve = (router: LlmClient.Service, n: number, req = request()) =>
  Effect.gen(function*() {
    const counts = new Map<string, number>()
    for (let i = 0; i < n; i++) {
      const { route } = yield* router.chat(req)
      counts.set(route.deployment, (counts.get(route.deployment) ?? 0) + 1)
    }
    return (id: string) => (counts.get(id) ?? 0) / n
  })

describe("simple-shuffle through the router", () => {
  it.effect("weights 1:3 share traffic about 25/75", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a", { weight: 1 }), deployment("gpt", "b", { weight: 3 })] })
      const share = yield* serve(h.router, 4000)
      assert.closeTo(share("a"), 0.25, 0.03)
      assert.closeTo(share("b"), 0.75, 0.03)
    }).pipe(Random.withSeed(42)))

  it.effect("rpm weights when no weight is set; uniform when nothing is", () =>
    Effect.gen(function*() {
      const byRpm = yield* harness({
        model_list: [deployment("gpt", "a", { rpm: 100 }), deployment("gpt", "b", { rpm: 400 }), deployment("gpt", "c", { rpm: 500 })]
      })
      const rpm = yield* serve(byRpm.router, 4000)
      assert.closeTo(rpm("a"), 0.1, 0.03)
      assert.closeTo(rpm("b"), 0.4, 0.03)
      assert.closeTo(rpm("c"), 0.5, 0.03)
      const plain = yield* harness({ model_list: [deployment("gpt", "a"), deployment("gpt", "b"), deployment("gpt", "c")] })
      const uniform = yield* serve(plain.router, 3000)
      for (const id of ["a", "b", "c"]) assert.closeTo(uniform(id), 1 / 3, 0.04)
    }).pipe(Random.withSeed("uniform")))

  it.effect("the same seed gives the same sequence of choices", () =>
    Effect.gen(function*() {
      const run = Effect.gen(function*() {
        const h = yield* harness({ model_list: [deployment("gpt", "a"), deployment("gpt", "b"), deployment("gpt", "c")] })
        yield* serve(h.router, 50)
        return h.order()
      })
      const first = yield* run.pipe(Random.withSeed(7))
      const second = yield* run.pipe(Random.withSeed(7))
      const other = yield* run.pipe(Random.withSeed(8))
      assert.deepStrictEqual(first, second)
      assert.notDeepEqual(first, other)
    }))
})

describe("order", () => {
  it.effect("order 2 gets traffic only while every order-1 deployment is cooling or failing", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [
            deployment("gpt", "a", { order: 1 }),
            deployment("gpt", "b", { order: 1 }),
            deployment("gpt", "c", { order: 2 })
          ],
          cooldown_time: 10
        },
        {
          // Request 101 and onwards: both order-1 deployments answer 429 once (cooling them at once).
          a: { script: [...Array(100).fill(SimulatedProvider.succeed()), SimulatedProvider.fail("RateLimited")] },
          b: { script: [...Array(100).fill(SimulatedProvider.succeed()), SimulatedProvider.fail("RateLimited")] }
        }
      )
      // Healthy: all traffic on order 1, shared.
      for (let i = 0; i < 200; i++) {
        const { route } = yield* h.router.chat(request())
        assert.notStrictEqual(route.deployment, "c")
        if (h.callsTo("a") === 100 || h.callsTo("b") === 100) break
      }
      assert.strictEqual(h.callsTo("c"), 0)
      // Drain one of them to its failing call, then the other: while one order-1 deployment is healthy, c gets nothing.
      while (h.callsTo("a") < 101 || h.callsTo("b") < 101) {
        const { route } = yield* h.router.chat(request())
        if (h.callsTo("a") < 101 || h.callsTo("b") < 101) assert.notStrictEqual(route.deployment, "c")
      }
      // Both are cooling now: c serves, at once (no wait) and alone.
      const cooling = yield* h.router.chat(request())
      assert.strictEqual(cooling.route.deployment, "c")
      assert.strictEqual(cooling.route.attempts, 1)
      // After the cooldown, order 1 is back and c is idle again.
      yield* TestClock.adjust("10 seconds")
      const before = h.callsTo("c")
      const back = yield* serve(h.router, 20)
      assert.strictEqual(back("c"), 0)
      assert.strictEqual(h.callsTo("c"), before)
    }).pipe(Random.withSeed(1)))

  it.effect("a failing order-1 deployment hands the retry to order 2 without waiting", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })] },
        { a: { script: [SimulatedProvider.fail("InternalServerError")] } }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request()), 0)
      assert.deepStrictEqual(h.order(), ["a", "b"])
      assert.strictEqual(route.deployment, "b")
      assert.strictEqual(route.attempts, 2)
      assert.strictEqual(route.latencyMs, 0)
    }))
})

describe("other strategies through the router", () => {
  it.effect("latency-based-routing moves traffic to the faster deployment once measured", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "slow"), deployment("gpt", "fast")], routing_strategy: "latency-based-routing" },
        { slow: { latency: { _tag: "Fixed", ms: 800 } }, fast: { latency: { _tag: "Fixed", ms: 50 } } }
      )
      // Unmeasured deployments go first, so both are tried early.
      for (let i = 0; i < 2; i++) yield* succeedOnClock(h.router.chat(request()), "1 second")
      assert.strictEqual(h.callsTo("slow"), 1)
      assert.strictEqual(h.callsTo("fast"), 1)
      for (let i = 0; i < 10; i++) yield* succeedOnClock(h.router.chat(request()), "1 second")
      assert.strictEqual(h.callsTo("slow"), 1)
      assert.strictEqual(h.callsTo("fast"), 11)
    }).pipe(Random.withSeed(3)))

  it.effect("least-busy spreads concurrent calls", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a"), deployment("gpt", "b"), deployment("gpt", "c")], routing_strategy: "least-busy" },
        { a: { latency: { _tag: "Fixed", ms: 1000 } }, b: { latency: { _tag: "Fixed", ms: 1000 } }, c: { latency: { _tag: "Fixed", ms: 1000 } } }
      )
      const results = yield* succeedOnClock(Effect.all(Array.from({ length: 6 }, () => h.router.chat(request())), { concurrency: 6 }), "2 seconds")
      assert.strictEqual(results.length, 6)
      for (const id of ["a", "b", "c"]) assert.strictEqual(h.callsTo(id), 2, id)
      // Nothing is left in flight once the calls are over.
      const snap = yield* h.state.snapshot(["a", "b", "c"])
      for (const id of ["a", "b", "c"]) assert.strictEqual(snap.stats.get(id)?.inFlight, 0)
    }).pipe(Random.withSeed(4)))

  it.effect("cost-based-routing picks the cheapest deployment", () =>
    Effect.gen(function*() {
      const h = yield* harness({
        model_list: [
          deployment("gpt", "dear", { input_cost_per_token: 1e-5, output_cost_per_token: 3e-5 }),
          deployment("gpt", "cheap", { input_cost_per_token: 1e-7, output_cost_per_token: 4e-7 })
        ],
        routing_strategy: "cost-based-routing"
      })
      const share = yield* serve(h.router, 20)
      assert.strictEqual(share("cheap"), 1)
    }))
})

describe("tags", () => {
  const tagged = {
    model_list: [
      deployment("gpt", "eu", { tags: ["eu", "gdpr"] }),
      deployment("gpt", "us", { tags: ["us"] }),
      deployment("gpt", "dflt", { tags: ["default"] })
    ],
    enable_tag_filtering: true
  }
  const withTags = (tags: ReadonlyArray<string>) => request("gpt", "hi", { metadata: { tags } })

  it.effect("a request's tags select deployments with any overlapping tag", () =>
    Effect.gen(function*() {
      const h = yield* harness(tagged)
      assert.strictEqual((yield* serve(h.router, 20, withTags(["gdpr", "nope"])))("eu"), 1)
      assert.strictEqual((yield* serve(h.router, 20, withTags(["us"])))("us"), 1)
      const both = yield* serve(h.router, 200, withTags(["us", "eu"]))
      assert.strictEqual(both("dflt"), 0)
      assert.isAbove(both("eu"), 0.3)
      assert.isAbove(both("us"), 0.3)
    }).pipe(Random.withSeed(5)))

  it.effect("an untagged request goes to deployments tagged default, or to all when none is", () =>
    Effect.gen(function*() {
      const h = yield* harness(tagged)
      assert.strictEqual((yield* serve(h.router, 20))("dflt"), 1)
      const plain = yield* harness({ model_list: [deployment("gpt", "eu", { tags: ["eu"] }), deployment("gpt", "x")], enable_tag_filtering: true })
      const share = yield* serve(plain.router, 200)
      assert.isAbove(share("eu"), 0.3)
      assert.isAbove(share("x"), 0.3)
    }).pipe(Random.withSeed(6)))

  it.effect("an unmatched tag goes to the deployments tagged default, as in LiteLLM", () =>
    Effect.gen(function*() {
      const h = yield* harness(tagged)
      assert.strictEqual((yield* serve(h.router, 20, withTags(["apac"])))("dflt"), 1)
    }))

  it.effect("no deployment with a matching tag (and none tagged default): a BadRequest naming the group and tags, without a call", () =>
    Effect.gen(function*() {
      const h = yield* harness({
        model_list: [deployment("gpt", "eu", { tags: ["eu"] }), deployment("gpt", "us", { tags: ["us"] })],
        model_group_alias: { smart: "gpt" },
        enable_tag_filtering: true
      })
      const error = yield* failOnClock(h.router.chat(request("smart", "hi", { metadata: { tags: ["apac", "jp"] } })))
      assertTag(error, "BadRequest")
      assert.strictEqual(error.status, 400)
      assert.strictEqual(error._tag === "BadRequest" ? error.param : undefined, "tags")
      assert.include(error.message, `model group "gpt"`)
      assert.include(error.message, `["apac","jp"]`)
      assert.strictEqual(h.log.length, 0)
    }))

  it.effect("a fallback group without the tags is skipped: the error is the requested group's own", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "eu", { tags: ["eu"] }), deployment("backup", "us", { tags: ["us"] })],
          fallbacks: [{ gpt: ["backup"] }],
          num_retries: 0,
          enable_tag_filtering: true
        },
        { eu: { failureRates: [{ error: { tag: "ServiceUnavailable" }, rate: 1 }] } }
      )
      const error = yield* failOnClock(h.router.chat(withTags(["eu"])))
      assertTag(error, "ServiceUnavailable")
      assert.deepStrictEqual(h.order(), ["eu"])
    }))

  it.effect("without enable_tag_filtering (LiteLLM's default) tags do not filter", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: tagged.model_list })
      const share = yield* serve(h.router, 300, withTags(["apac"]))
      for (const id of ["eu", "us", "dflt"]) assert.isAbove(share(id), 0.2)
    }).pipe(Random.withSeed(7)))
})

describe("pre-call context-window check", () => {
  // ~4 chars a token: 2000 characters are about 500 tokens.
  const long = "x".repeat(2000)

  it.effect("skips deployments whose context window cannot hold the request", () =>
    Effect.gen(function*() {
      const h = yield* harness({
        model_list: [
          deployment("gpt", "small", {}, { max_input_tokens: 100 }),
          deployment("gpt", "small2", { max_input_tokens: 200 }),
          deployment("gpt", "big", {}, { max_input_tokens: 100_000 })
        ]
      })
      const share = yield* serve(h.router, 30, request("gpt", long))
      assert.strictEqual(share("big"), 1)
      // A short request fits everywhere.
      const short = yield* serve(h.router, 200, request("gpt", "hi"))
      assert.isAbove(short("small"), 0.2)
      assert.isAbove(short("small2"), 0.2)
    }).pipe(Random.withSeed(9)))

  it.effect("uses the model catalog's context window", () =>
    Effect.gen(function*() {
      const h = yield* harness({
        model_list: [{ model_name: "gpt", litellm_params: { model: "openai/gpt-4o" }, model_info: { id: "catalog" } }]
      })
      // gpt-4o holds 128k tokens: 600k characters do not fit.
      const error = yield* failOnClock(h.router.chat(request("gpt", "y".repeat(600_000))))
      assertTag(error, "ContextWindowExceeded")
      assert.strictEqual(h.log.length, 0)
    }))

  it.effect("nothing fits: ContextWindowExceeded without a call, then the context-window fallbacks", () =>
    Effect.gen(function*() {
      const small = { model_list: [deployment("gpt", "small", {}, { max_input_tokens: 100 })] }
      const alone = yield* harness(small)
      const error = yield* failOnClock(alone.router.chat(request("gpt", long)))
      assertTag(error, "ContextWindowExceeded")
      assert.strictEqual(error.provider, "llm-router")
      assert.strictEqual(alone.log.length, 0)

      const h = yield* harness({
        model_list: [...small.model_list, deployment("long", "huge", {}, { max_input_tokens: 1_000_000 }), deployment("other", "o")],
        context_window_fallbacks: [{ gpt: ["long"] }],
        fallbacks: [{ gpt: ["other"] }]
      })
      const { route } = yield* h.router.chat(request("gpt", long))
      assert.strictEqual(route.deployment, "huge")
      assert.deepStrictEqual(route.fallbacks, ["long"])
      assert.deepStrictEqual(h.order(), ["huge"])
    }))

  it.effect("enable_pre_call_checks: false calls the deployment anyway", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "small", {}, { max_input_tokens: 100 })], enable_pre_call_checks: false })
      const { route } = yield* h.router.chat(request("gpt", long))
      assert.strictEqual(route.deployment, "small")
    }))
})

describe("model groups", () => {
  it.effect("an unknown model group is ModelNotFound from llm-router, without a call", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a")], model_group_alias: { fast: "gpt" } })
      const error = yield* failOnClock(h.router.chat(request("gpt-5")))
      assertTag(error, "ModelNotFound")
      assert.strictEqual(error.provider, "llm-router")
      assert.strictEqual(error.status, 404)
      assert.include(error.message, "gpt-5")
      const streamed = yield* collectStream(h.router.stream(request("nope")))
      assertTag(streamed.error, "ModelNotFound")
      assert.strictEqual(streamed.parts.length, 0)
      assert.strictEqual(h.log.length, 0)
    }))

  it.effect("an alias routes to its group", () =>
    Effect.gen(function*() {
      const h = yield* harness({
        model_list: [deployment("gpt", "a"), deployment("claude", "c")],
        model_group_alias: { fast: "gpt", hidden: { model: "claude", hidden: true } }
      })
      assert.strictEqual((yield* h.router.chat(request("fast"))).route.group, "gpt")
      const hidden = yield* h.router.chat(request("hidden"))
      assert.strictEqual(hidden.route.group, "claude")
      assert.strictEqual(hidden.route.deployment, "c")
    }))
})

describe("Router.layer", () => {
  it.effect("provides the router as the application's LlmClient", () =>
    Effect.gen(function*() {
      const config = yield* RouterConfig.decode({ model_list: [deployment("gpt", "a", { order: 1 }), deployment("gpt", "b", { order: 2 })] })
      const a = yield* SimulatedProvider.make({ deployment: "a", script: [SimulatedProvider.fail("ServiceUnavailable")] })
      const b = yield* SimulatedProvider.make({ deployment: "b" })
      const layer = Router.layer(config, (d) => Effect.succeed(d.id === "a" ? a : b)).pipe(Layer.provide(RouterState.layerMemory))
      const { route } = yield* Effect.flatMap(LlmClient.LlmClient, (llm) => llm.chat(request())).pipe(Effect.provide(layer))
      // a failed once; b served at once.
      assert.strictEqual(route.deployment, "b")
      assert.strictEqual(route.attempts, 2)
      assert.strictEqual(route.latencyMs, 0)
    }).pipe(Random.withSeed(10)))
})

describe("RouteInfo", () => {
  it.effect("chat: deployment, provider, model, attempts, latency, usage and cost", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [
            { model_name: "gpt", litellm_params: { model: "azure/a", order: 1 }, model_info: { id: "a" } },
            {
              model_name: "gpt",
              litellm_params: { model: "groq/b-model", order: 2, input_cost_per_token: 1e-6, output_cost_per_token: 3e-6 },
              model_info: { id: "b" }
            }
          ]
        },
        { a: { script: [SimulatedProvider.fail("ServiceUnavailable")], latency: { _tag: "Fixed", ms: 100 } }, b: { latency: { _tag: "Fixed", ms: 250 } } }
      )
      const { response, route } = yield* succeedOnClock(h.router.chat(request("gpt", "hello there")))
      assert.strictEqual(route.group, "gpt")
      assert.strictEqual(route.servedBy, "gpt")
      assert.strictEqual(route.deployment, "b")
      assert.strictEqual(route.provider, "groq")
      assert.strictEqual(route.model, "b-model")
      assert.strictEqual(route.attempts, 2)
      assert.deepStrictEqual(route.fallbacks, [])
      assert.strictEqual(route.latencyMs, 350, "both calls, on TestClock")
      assert.deepStrictEqual(route.usage, response.usage)
      const usage = response.usage!
      assert.isAbove(usage.prompt_tokens, 0)
      assert.closeTo(route.costUsd!, usage.prompt_tokens * 1e-6 + usage.completion_tokens * 3e-6, 1e-15)
      assert.strictEqual(response.choices[0]?.message.content, DEFAULT_TEXT)
    }))

  it.effect("an unknown price is undefined, never 0", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "mystery-model")] })
      const { route } = yield* h.router.chat(request())
      assert.isDefined(route.usage)
      assert.isUndefined(route.costUsd)
    }))

  it.effect("stream: Start names the serving deployment; Done carries usage, cost and time to first chunk", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: [deployment("gpt", "a", { input_cost_per_token: 2e-6, output_cost_per_token: 4e-6 })] },
        { a: { latency: { _tag: "Fixed", ms: 300 }, chunks: 3, chunkIntervalMs: 100 } }
      )
      const { parts, error } = yield* collectStream(h.router.stream(request()))
      assert.isUndefined(error)
      const start = parts[0]
      const done = parts.at(-1)
      assert.strictEqual(start?._tag, "Start")
      assert.strictEqual(done?._tag, "Done")
      if (start?._tag !== "Start" || done?._tag !== "Done") return
      assert.strictEqual(start.route.deployment, "a")
      assert.strictEqual(done.route.deployment, "a")
      assert.strictEqual(done.route.attempts, 1)
      // 300 ms until the stream opens, then 100 ms until the first content chunk.
      assert.strictEqual(done.route.timeToFirstChunkMs, 400)
      assert.strictEqual(done.route.latencyMs, 600)
      const chunks = parts.flatMap((p) => (p._tag === "Chunk" ? [p.chunk] : []))
      const collected = Chat.collectChunks(chunks)
      assert.strictEqual(collected.choices[0]?.message.content, DEFAULT_TEXT)
      assert.deepStrictEqual(done.route.usage, collected.usage)
      const usage = done.route.usage!
      assert.closeTo(done.route.costUsd!, usage.prompt_tokens * 2e-6 + usage.completion_tokens * 4e-6, 1e-15)
      assert.strictEqual(parts.filter((p) => p._tag === "Start").length, 1)
    }))

  it.effect("LlmClient.chunks keeps the chunks, without the route parts", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: [deployment("gpt", "a")] })
      const chunks = yield* Stream.runCollect(LlmClient.chunks(h.router.stream(request())))
      assert.strictEqual(Chat.collectChunks(chunks).choices[0]?.message.content, DEFAULT_TEXT)
    }))
})

/**
 * Fallbacks between model groups: the generic chain, the context-window and content-policy
 * chains (including a 200 cut by a content filter), `default_fallbacks`, `max_fallbacks`,
 * nested chains, and the visited set that stops cycles.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import { assertTag, DEFAULT_TEXT, deployment, failOnClock, harness, request, SimulatedProvider, succeedOnClock } from "./Fixture.ts"

const { fail, succeed } = SimulatedProvider
const down = (tag: SimulatedProvider.ErrorSpec["tag"] = "ServiceUnavailable") => ({ failureRates: [{ error: { tag }, rate: 1 }] })

/** One deployment per group, named after the group. */
const groups = (...names: ReadonlyArray<string>) => names.map((name) => deployment(name, name))

describe("generic fallbacks", () => {
  it.effect("walks the chain in the configured order; the route names every group entered", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("g1", "g2", "g3", "g4"), fallbacks: [{ g1: ["g2", "g3", "g4"] }], num_retries: 0 },
        { g1: down(), g2: down("InternalServerError") }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request("g1")))
      assert.deepStrictEqual(h.order(), ["g1", "g2", "g3"])
      assert.deepStrictEqual(route.fallbacks, ["g2", "g3"])
      assert.strictEqual(route.group, "g1")
      assert.strictEqual(route.servedBy, "g3")
      assert.strictEqual(route.deployment, "g3")
      assert.strictEqual(route.attempts, 3)
    }))

  it.effect("each group gets its own retries before the next is entered", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("g1", "g2"), fallbacks: [{ g1: ["g2"] }], num_retries: 2, allowed_fails: 10 },
        { g1: down() }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request("g1")))
      assert.deepStrictEqual(h.order(), ["g1", "g1", "g1", "g2"])
      assert.strictEqual(route.attempts, 4)
    }).pipe(Random.withSeed(1)))

  it.effect("a fallback's own chain is walked (nested), each group entered once", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("g1", "g2", "g3", "g4"), fallbacks: [{ g1: ["g2", "g4"] }, { g2: ["g3"] }], num_retries: 0 },
        { g1: down(), g2: down(), g3: down() }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request("g1")))
      assert.deepStrictEqual(h.order(), ["g1", "g2", "g3", "g4"])
      assert.deepStrictEqual(route.fallbacks, ["g2", "g3", "g4"])
    }))

  it.effect("a cycle a → b → a ends: each group once, then the last error", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("a", "b"), fallbacks: [{ a: ["b"] }, { b: ["a"] }], num_retries: 1, allowed_fails: 10 },
        { a: down(), b: down("InternalServerError") }
      )
      const error = yield* failOnClock(h.router.chat(request("a")))
      assertTag(error, "InternalServerError")
      assert.deepStrictEqual(h.order(), ["a", "a", "b", "b"])
    }).pipe(Random.withSeed(2)))

  it.effect("max_fallbacks caps the groups entered", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: groups("g1", "g2", "g3", "g4", "g5"),
          fallbacks: [{ g1: ["g2", "g3"] }, { g2: ["g4"] }, { g3: ["g5"] }],
          max_fallbacks: 2,
          num_retries: 0
        },
        { g1: down(), g2: down(), g3: down(), g4: down() }
      )
      const error = yield* failOnClock(h.router.chat(request("g1")))
      assertTag(error, "ServiceUnavailable")
      assert.deepStrictEqual(h.order(), ["g1", "g2", "g4"], "g3 and g5 (which would succeed) are beyond the cap")
    }))

  it.effect("max_fallbacks: 0 turns fallbacks off; the default (5) allows five", () =>
    Effect.gen(function*() {
      const off = yield* harness({ model_list: groups("g1", "g2"), fallbacks: [{ g1: ["g2"] }], max_fallbacks: 0, num_retries: 0 }, { g1: down() })
      yield* failOnClock(off.router.chat(request("g1")))
      assert.deepStrictEqual(off.order(), ["g1"])

      const names = ["g0", "g1", "g2", "g3", "g4", "g5", "g6"]
      const deflt = yield* harness(
        { model_list: groups(...names), fallbacks: [{ g0: names.slice(1) }], num_retries: 0 },
        Object.fromEntries(names.map((n) => [n, down()]))
      )
      yield* failOnClock(deflt.router.chat(request("g0")))
      assert.deepStrictEqual(deflt.order(), names.slice(0, 6))
    }))

  it.effect("BadRequest selects no chain: the request is at fault everywhere", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("g1", "g2"), fallbacks: [{ g1: ["g2"] }], default_fallbacks: ["g2"] },
        { g1: { script: [fail("BadRequest", { status: 400 })] } }
      )
      const error = yield* failOnClock(h.router.chat(request("g1")))
      assertTag(error, "BadRequest")
      assert.deepStrictEqual(h.order(), ["g1"])
    }))

  it.effect("cooldowns in a group send the request straight to the fallback", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("g1", "g2"), fallbacks: [{ g1: ["g2"] }] },
        { g1: { script: [fail("RateLimited")] } }
      )
      yield* succeedOnClock(h.router.chat(request("g1")), 0)
      const { route } = yield* succeedOnClock(h.router.chat(request("g1")), 0)
      assert.deepStrictEqual(h.order(), ["g1", "g2", "g2"])
      assert.deepStrictEqual(route.fallbacks, ["g2"])
      assert.strictEqual(route.attempts, 1)
    }))
})

describe("default_fallbacks", () => {
  it.effect("apply to any group without its own chain", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("g1", "g2", "own", "safe"), fallbacks: [{ own: ["g2"] }], default_fallbacks: ["safe"], num_retries: 0 },
        { g1: down(), own: down() }
      )
      assert.strictEqual((yield* succeedOnClock(h.router.chat(request("g1")))).route.servedBy, "safe")
      assert.strictEqual((yield* succeedOnClock(h.router.chat(request("own")))).route.servedBy, "g2")
    }))
})

describe("context-window fallbacks", () => {
  it.effect("ContextWindowExceeded selects context_window_fallbacks, not the generic chain", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: groups("small", "big", "other"),
          fallbacks: [{ small: ["other"] }],
          context_window_fallbacks: [{ small: ["big"] }]
        },
        { small: { script: [fail("ContextWindowExceeded", { status: 400 })] } }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request("small")))
      assert.deepStrictEqual(h.order(), ["small", "big"])
      assert.deepStrictEqual(route.fallbacks, ["big"])
    }))

  it.effect("with no context-window chain configured, the generic chain is used", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("small", "other"), fallbacks: [{ small: ["other"] }] },
        { small: { script: [fail("ContextWindowExceeded")] } }
      )
      assert.strictEqual((yield* succeedOnClock(h.router.chat(request("small")))).route.servedBy, "other")
    }))

  it.effect("a generic failure does not take the context-window chain", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("small", "big"), context_window_fallbacks: [{ small: ["big"] }], num_retries: 0 },
        { small: down() }
      )
      yield* failOnClock(h.router.chat(request("small")))
      assert.deepStrictEqual(h.order(), ["small"])
    }))
})

describe("content-policy fallbacks", () => {
  it.effect("ContentPolicyViolation selects content_policy_fallbacks", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("strict", "lenient", "other"), fallbacks: [{ strict: ["other"] }], content_policy_fallbacks: [{ strict: ["lenient"] }] },
        { strict: { script: [fail("ContentPolicyViolation")] } }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request("strict")))
      assert.deepStrictEqual(h.order(), ["strict", "lenient"])
      assert.deepStrictEqual(route.fallbacks, ["lenient"])
    }))

  it.effect("a 200 cut by a content filter falls back when a content-policy chain exists", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("strict", "lenient"), content_policy_fallbacks: [{ strict: ["lenient"] }] },
        { strict: { script: [succeed("[filtered]", "content_filter")] } }
      )
      const { response, route } = yield* succeedOnClock(h.router.chat(request("strict")))
      assert.deepStrictEqual(h.order(), ["strict", "lenient"])
      assert.strictEqual(route.servedBy, "lenient")
      assert.strictEqual(response.choices[0]?.message.content, DEFAULT_TEXT)
      assert.strictEqual(response.choices[0]?.finish_reason, "stop")
    }))

  it.effect("a 200 cut by a content filter falls back through default_fallbacks too", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("strict", "lenient"), default_fallbacks: ["lenient"] },
        { strict: { script: [succeed("[filtered]", "content_filter")] } }
      )
      assert.strictEqual((yield* succeedOnClock(h.router.chat(request("strict")))).route.servedBy, "lenient")
    }))

  it.effect("an operation's answer cut by a content filter (a native Responses call) selects the content-policy chain too", () =>
    Effect.gen(function*() {
      const h = yield* harness({ model_list: groups("strict", "lenient"), content_policy_fallbacks: [{ strict: ["lenient"] }] }, {})
      const asked: Array<string> = []
      const { route, value } = yield* succeedOnClock(h.router.operate!(request("strict"), (d) =>
        Effect.sync(() => {
          asked.push(d.id)
          return { value: d.id, usage: undefined, contentFiltered: d.id === "strict" }
        })))
      assert.deepStrictEqual(asked, ["strict", "lenient"])
      assert.strictEqual(value, "lenient")
      assert.deepStrictEqual(route.fallbacks, ["lenient"])
    }))

  it.effect("content-policy chains for other groups only: the filtered answer is returned, not turned into an error", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: groups("strict", "lenient", "other"),
          content_policy_fallbacks: [{ other: ["lenient"] }],
          default_fallbacks: ["lenient"]
        },
        { strict: { script: [succeed("[filtered]", "content_filter")] } }
      )
      const { response, route } = yield* succeedOnClock(h.router.chat(request("strict")))
      assert.strictEqual(route.deployment, "strict")
      assert.strictEqual(response.choices[0]?.finish_reason, "content_filter")
    }))

  it.effect("without any such chain the filtered answer is returned as it is", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("strict", "other"), fallbacks: [{ other: ["strict"] }] },
        { strict: { script: [succeed("[filtered]", "content_filter")] } }
      )
      const { response, route } = yield* succeedOnClock(h.router.chat(request("strict")))
      assert.strictEqual(route.deployment, "strict")
      assert.strictEqual(response.choices[0]?.finish_reason, "content_filter")
      assert.strictEqual(response.choices[0]?.message.content, "[filtered]")
      // The filtered answer does not count against the deployment.
      assert.strictEqual((yield* h.state.snapshot(["strict"])).stats.get("strict")?.recentFailures, 0)
    }))
})

describe("aliases in chains", () => {
  it.effect("a fallback may name an alias of a group", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("g1", "g2"), model_group_alias: { backup: "g2" }, fallbacks: [{ g1: ["backup"] }], num_retries: 0 },
        { g1: down() }
      )
      const { route } = yield* succeedOnClock(h.router.chat(request("g1")))
      assert.strictEqual(route.deployment, "g2")
      assert.deepStrictEqual(route.fallbacks, ["g2"])
    }))

  it.effect("a chain keyed by an alias applies to requests for the group, by either name", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        { model_list: groups("g1", "g2"), model_group_alias: { main: "g1" }, fallbacks: [{ main: ["g2"] }], num_retries: 0 },
        { g1: down() }
      )
      assert.strictEqual((yield* succeedOnClock(h.router.chat(request("main")))).route.servedBy, "g2")
      assert.strictEqual((yield* succeedOnClock(h.router.chat(request("g1")))).route.servedBy, "g2")
    }))
})

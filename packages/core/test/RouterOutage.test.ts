/**
 * The seed scenario: a primary provider down for 47 simulated minutes under steady traffic
 * (a request a second, on TestClock), with a healthy secondary. Run twice: the secondary as
 * a lower-priority deployment of the same group (`order`), and as a fallback group. Either
 * way no request fails, and once the outage and the cooldown are over the primary serves
 * again.
 */
import { assert, describe, it } from "@effect/vitest"
import type { LlmClient, RouteInfo } from "@llm-router/core"
import { Clock, Duration, Effect, Exit, Fiber, Random, Stream } from "effect"
import { TestClock } from "effect/testing"
import { deployment, harness, request } from "./Fixture.ts"

const MINUTE = 60_000
const OUTAGE = { fromMs: 1 * MINUTE, toMs: 48 * MINUTE }
const END = 52 * MINUTE
const COOLDOWN_MS = 5000

interface Outcome {
  readonly at: number
  readonly ok: boolean
  readonly route?: RouteInfo.RouteInfo | undefined
  readonly error?: string | undefined
}

/** One client: a request every second from `offsetMs` until END (immediately when the previous one ran late). */
const client = (router: LlmClient.Service, model: string, offsetMs: number, streamEvery: number) =>
  Effect.gen(function*() {
    const outcomes: Array<Outcome> = []
    for (let i = 0; offsetMs + i * 1000 < END; i++) {
      const due = offsetMs + i * 1000
      const now = yield* Clock.currentTimeMillis
      if (due > now) yield* Effect.sleep(Duration.millis(due - now))
      const at = yield* Clock.currentTimeMillis
      const streaming = streamEvery > 0 && i % streamEvery === 0
      const result = streaming
        ? Effect.map(Stream.runCollect(router.stream(request(model))), (parts) => {
          const done = parts.at(-1)
          return done?._tag === "Done" ? done.route : undefined
        })
        : Effect.map(router.chat(request(model)), (c) => c.route)
      const exit = yield* Effect.exit(result)
      outcomes.push(
        Exit.isSuccess(exit)
          ? { at, ok: exit.value !== undefined, route: exit.value }
          : { at, ok: false, error: String(exit.cause) }
      )
    }
    return outcomes
  })

const runTraffic = (router: LlmClient.Service, model: string, clients: number, streamEvery: number) =>
  Effect.gen(function*() {
    const fibers = []
    for (let c = 0; c < clients; c++) fibers.push(yield* Effect.forkChild(client(router, model, (c * 1000) / clients, streamEvery)))
    yield* TestClock.adjust(END + MINUTE)
    const all: Array<Outcome> = []
    for (const fiber of fibers) {
      assert.isDefined(fiber.pollUnsafe(), "traffic finished")
      all.push(...(yield* Fiber.join(fiber)))
    }
    return all.sort((a, b) => a.at - b.at)
  })

const check = (outcomes: ReadonlyArray<Outcome>, primary: string, secondary: string) => {
  const failed = outcomes.filter((o) => !o.ok)
  assert.strictEqual(failed.length, 0, `failed requests: ${JSON.stringify(failed.slice(0, 3))}`)
  assert.isAbove(outcomes.length, 3000)
  const servedBy = (o: Outcome) => o.route?.deployment
  const before = outcomes.filter((o) => o.at < OUTAGE.fromMs)
  const during = outcomes.filter((o) => o.at >= OUTAGE.fromMs && o.at < OUTAGE.toMs)
  const after = outcomes.filter((o) => o.at >= OUTAGE.toMs + COOLDOWN_MS)
  assert.isTrue(before.every((o) => servedBy(o) === primary), "the primary serves before the outage")
  assert.isTrue(during.every((o) => servedBy(o) === secondary), "the secondary serves during it")
  assert.isAbove(after.length, 100)
  assert.isTrue(after.every((o) => servedBy(o) === primary), "the primary is back in rotation after outage and cooldown")
  return { before, during, after }
}

describe("a 47-minute outage of the primary", () => {
  it.effect("secondary in the same group (order 2): no failed request, primary back afterwards", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("gpt", "primary", { order: 1 }), deployment("gpt", "secondary", { order: 2 })],
          cooldown_time: COOLDOWN_MS / 1000
        },
        { primary: { outages: [OUTAGE] } }
      )
      // Two clients, half a second apart; a stream every tenth request.
      const outcomes = yield* runTraffic(h.router, "gpt", 2, 10)
      const { during } = check(outcomes, "primary", "secondary")
      // During the outage the primary is out of rotation most of the time: it is tried
      // (allowed_fails + 1) times, then cools for 5 s, so most requests go straight to the secondary.
      const tried = during.filter((o) => (o.route?.attempts ?? 0) > 1).length
      assert.isBelow(tried / during.length, 0.6)
      assert.isTrue(during.every((o) => (o.route?.attempts ?? 0) <= 2))
      assert.isTrue(outcomes.some((o) => o.route?.timeToFirstChunkMs !== undefined), "streams were part of the traffic")
    }).pipe(Random.withSeed("outage-order")))

  it.effect("secondary as a fallback group: no failed request, primary back afterwards", () =>
    Effect.gen(function*() {
      const h = yield* harness(
        {
          model_list: [deployment("main", "primary"), deployment("backup", "secondary")],
          fallbacks: [{ main: ["backup"] }],
          cooldown_time: COOLDOWN_MS / 1000
        },
        { primary: { outages: [OUTAGE] } }
      )
      const outcomes = yield* runTraffic(h.router, "main", 1, 0)
      const { during, after } = check(outcomes, "primary", "secondary")
      assert.isTrue(during.every((o) => o.route?.servedBy === "backup" && o.route.fallbacks[0] === "backup"))
      assert.isTrue(after.every((o) => o.route?.servedBy === "main" && o.route.fallbacks.length === 0))
      // A request that found the primary down waited out its retries (about 1.5 s) at most.
      assert.isTrue(during.every((o) => (o.route?.latencyMs ?? 0) <= 1800))
    }).pipe(Random.withSeed("outage-fallback")))
})

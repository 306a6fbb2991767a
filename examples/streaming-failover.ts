/**
 * Streaming failover. First: the primary fails before its first content chunk, so the
 * router switches to the secondary and the caller never sees the failure. Second: with
 * `stream_failure_policy: restart`, a drop after content was sent restarts the answer on
 * the other deployment, and the caller is told by a `Restarted` part.
 *
 * Run: pnpm example:streaming   (or: node examples/streaming-failover.ts)
 */
import { NodeRuntime } from "@effect/platform-node"
import { LlmClient, Router, RouterConfig, RouterState } from "@llm-router/core"
import { SimulatedProvider } from "@llm-router/testing"
import { Console, Effect, Stream } from "effect"

const show = (part: LlmClient.StreamPart): string => {
  switch (part._tag) {
    case "Start":
      return `\n[start: ${part.route.deployment}] `
    case "Chunk":
      return part.chunk.choices[0]?.delta.content ?? ""
    case "Restarted":
      return `\n[restarted: ${part.route.deployment} failed with ${part.reason._tag}]`
    case "Done":
      return `\n[done: ${part.route.deployment}, attempts ${part.route.attempts}, first chunk after ${part.route.timeToFirstChunkMs} ms]\n`
  }
}

const demo = (title: string, policy: "fail" | "restart", primary: SimulatedProvider.Behavior) =>
  Effect.gen(function*() {
    yield* Console.log(`\n== ${title}`)
    const config = yield* RouterConfig.decode({
      model_list: [
        { model_name: "chat", litellm_params: { model: "openai/primary", order: 1 }, model_info: { id: "primary" } },
        { model_name: "chat", litellm_params: { model: "openai/secondary", order: 2 }, model_info: { id: "secondary" } }
      ],
      stream_failure_policy: policy
    })
    const providers = new Map([
      ["primary", yield* SimulatedProvider.make({ deployment: "primary", script: [primary], chunks: 6, chunkIntervalMs: 30 })],
      ["secondary", yield* SimulatedProvider.make({ deployment: "secondary", text: "The secondary answers in full.", chunks: 6, chunkIntervalMs: 30 })]
    ])
    const router = yield* Router.make(config, (d) => Effect.succeed(providers.get(d.id)!))
    const request = { model: "chat", messages: [{ role: "user" as const, content: "Tell me something." }] }
    yield* router.stream(request).pipe(Stream.runForEach((part) => Effect.sync(() => process.stdout.write(show(part)))))
  }).pipe(Effect.provide(RouterState.layerMemory))

const program = Effect.gen(function*() {
  yield* demo("primary fails before its first chunk: transparent failover", "fail", SimulatedProvider.fail("ServiceUnavailable"))
  yield* demo("primary drops mid-stream, policy restart", "restart", SimulatedProvider.dropMidStream(3))
})

NodeRuntime.runMain(program)

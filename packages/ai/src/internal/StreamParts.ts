/**
 * A routed stream as `effect/ai` stream parts. `Start` becomes `response-metadata` (the
 * deployment answering), content deltas become text and reasoning deltas in one block each,
 * tool-call deltas become `tool-params-*` parts and, at the end, whole `tool-call` parts, and
 * `Done` closes the blocks and ends with `finish` (reason, usage, final route).
 *
 * A `Restarted` part (the router's `restart` policy, or `LlmClient.retry`) voids what came
 * before: the blocks are started again under the same ids. Whoever joins a stream's parts by
 * block, as `Prompt.fromResponseParts` (and so `Chat`'s history) does, keeps only the answer
 * that finished; the new start carries the restart under its `llm-router` metadata. Blocks
 * are ended only at `Done`, so nothing of an abandoned answer is ever an ended block.
 */
import type { Chat, LlmClient, LlmError, RouteInfo } from "@llm-router/core"
import { Effect, Stream } from "effect"
import type { AiError, Response, Tool } from "effect/ai"
import * as AnswerParts from "./AnswerParts.ts"
import * as RouteMetadata from "./RouteMetadata.ts"

const TEXT = "text"
const REASONING = "reasoning"

interface ToolCallInProgress {
  readonly id: string
  name: string
  arguments: string
}

export const fromStream = (
  parts: Stream.Stream<LlmClient.StreamPart, AiError.AiError>,
  toolNames: Tool.NameMapper<ReadonlyArray<Tool.Any>>
): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> =>
  Stream.suspend(() => {
    let text: "closed" | "open" | "written" = "closed"
    let reasoning: "closed" | "open" | "written" = "closed"
    let thinkingBlocks: Array<unknown> = []
    let calls = new Map<number, ToolCallInProgress>()
    let finishReason: Chat.FinishReason | null | undefined
    let usage: Chat.Usage | null | undefined
    /** Set by a restart: the next start of each block carries it. */
    let restart: Response.ProviderMetadata | undefined

    const startMetadata = () => (restart === undefined ? {} : { metadata: restart })

    const onRestart = (route: RouteInfo.RouteInfo, reason: LlmError.LlmError): Array<Response.StreamPartEncoded> => {
      restart = RouteMetadata.ofRestart(route, reason)
      const out: Array<Response.StreamPartEncoded> = []
      // An open block is emptied now, so an answer that has no such block does not keep it.
      if (text !== "closed") out.push({ type: "text-start", id: TEXT, metadata: restart }), text = "open"
      if (reasoning !== "closed") out.push({ type: "reasoning-start", id: REASONING, metadata: restart }), reasoning = "open"
      thinkingBlocks = []
      calls = new Map()
      finishReason = undefined
      usage = undefined
      return out
    }

    const onChunk = (chunk: Chat.ChatChunk): Array<Response.StreamPartEncoded> => {
      const out: Array<Response.StreamPartEncoded> = []
      if (chunk.usage) usage = chunk.usage
      const choice = chunk.choices.find((c) => c.index === 0)
      if (choice === undefined) return out
      const delta = choice.delta
      if (typeof delta.reasoning_content === "string" && delta.reasoning_content.length > 0) {
        if (reasoning === "closed") out.push({ type: "reasoning-start", id: REASONING, ...startMetadata() })
        reasoning = "written"
        out.push({ type: "reasoning-delta", id: REASONING, delta: delta.reasoning_content })
      }
      if (delta.thinking_blocks !== undefined) thinkingBlocks.push(...delta.thinking_blocks)
      if (typeof delta.content === "string" && delta.content.length > 0) {
        if (text === "closed") out.push({ type: "text-start", id: TEXT, ...startMetadata() })
        text = "written"
        out.push({ type: "text-delta", id: TEXT, delta: delta.content })
      }
      for (const call of delta.tool_calls ?? []) {
        let active = calls.get(call.index)
        if (active === undefined) {
          active = { id: call.id ?? `${chunk.id}_tool_${call.index}`, name: toolNames.getCustomName(call.function?.name ?? ""), arguments: "" }
          calls.set(call.index, active)
          out.push({ type: "tool-params-start", id: active.id, name: active.name })
        } else if (call.function?.name !== undefined && active.name === "") {
          active.name = toolNames.getCustomName(call.function.name)
        }
        const args = call.function?.arguments ?? ""
        if (args.length > 0) {
          active.arguments += args
          out.push({ type: "tool-params-delta", id: active.id, delta: args })
        }
      }
      if (choice.finish_reason) finishReason = choice.finish_reason
      return out
    }

    const onDone = (route: RouteInfo.RouteInfo) =>
      Effect.gen(function*() {
        const out: Array<Response.StreamPartEncoded> = []
        if (reasoning === "written") {
          const metadata = AnswerParts.reasoningMetadata(thinkingBlocks)
          out.push({ type: "reasoning-end", id: REASONING, ...(metadata === undefined ? {} : { metadata }) })
        }
        if (text === "written") out.push({ type: "text-end", id: TEXT })
        for (const call of calls.values()) {
          out.push({ type: "tool-params-end", id: call.id })
          out.push({ type: "tool-call", id: call.id, name: call.name, params: yield* AnswerParts.paramsOf(call.name, call.arguments, "streamText") })
        }
        out.push(AnswerParts.finish(AnswerParts.finishReasonOf(finishReason, calls.size > 0), route.usage ?? usage, route))
        return out
      })

    return parts.pipe(
      Stream.mapEffect((part): Effect.Effect<Array<Response.StreamPartEncoded>, AiError.AiError> => {
        switch (part._tag) {
          case "Start":
            return Effect.succeed([AnswerParts.responseMetadata(part.route)])
          case "Chunk":
            return Effect.succeed(onChunk(part.chunk))
          case "Restarted":
            return Effect.succeed(onRestart(part.route, part.reason))
          case "Done":
            return onDone(part.route)
        }
      }),
      Stream.flattenIterable
    )
  })

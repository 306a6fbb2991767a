/** Entries of the Responses store for its tests (memory and Redis alike). */
import type { ResponsesResponse } from "@llm-router/openai"
import { Effect } from "effect"
import type * as ResponseStore from "../src/ResponseStore.ts"

export const entry = (id: string, previous?: string, text = "hi", ancestors: ReadonlyArray<string> = []): ResponseStore.Entry => {
  const output: Array<ResponsesResponse.OutputItem> = [{
    type: "message",
    id: `msg_${id.slice(5)}_0`,
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: `answer ${id}`, annotations: [], logprobs: [] }]
  }]
  return {
    id,
    conversation: previous === undefined ? id : "resp_a",
    previous,
    ancestors,
    input: [{ role: "user", content: text }],
    output,
    response: { id, output } as unknown as ResponsesResponse.ResponseObject
  }
}

/** The user texts and output item ids of a conversation, oldest first. */
export const itemsOf = (found: ResponseStore.Conversation | undefined) =>
  found?.items.map((item) => ("role" in item && item.role === "user" ? item.content : item.id))

/**
 * Stores a conversation of `turns` turns (`resp_t0`, `resp_t1`, …) as the route does: each turn
 * continues the one before and names the ancestors its conversation gives.
 */
export const storeTurns = (store: ResponseStore.Service, turns: number) =>
  Effect.gen(function*() {
    let previous: string | undefined
    for (let i = 0; i < turns; i++) {
      const found = previous === undefined ? undefined : yield* Effect.orDie(store.conversation(previous))
      const id = `resp_t${i}`
      yield* store.put(entry(id, previous, `turn ${i}`, found?.ancestors ?? []))
      previous = id
    }
  })

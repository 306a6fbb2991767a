/**
 * The rule on `item_reference`s both Responses stores share (memory and Redis): one request's
 * references may point into at most 100 distinct stored responses; past that it is a 400 before
 * anything is read, while references into one response, however many, are served.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import type OpenAI from "openai"
import { BadRequestError } from "openai"
import { failure } from "./GatewayUnderTest.ts"

/** References to the first item of `count` distinct responses that were never stored. */
const referencesInto = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ type: "item_reference" as const, id: `msg_capped${i}_0` }))

export const checkItemReferenceCap = (client: OpenAI) =>
  Effect.gen(function*() {
    const refused = yield* failure(() => client.responses.create({ model: "gpt-4o", input: referencesInto(101) }))
    assert.instanceOf(refused, BadRequestError)
    assert.strictEqual((refused as BadRequestError).code, "too_many_referenced_responses")
    assert.strictEqual((refused as BadRequestError).param, "input")
    assert.strictEqual((refused as BadRequestError).type, "invalid_request_error")
    assert.match((refused as BadRequestError).message, /101 different stored responses; at most 100/)

    // At the cap the responses are read (none is stored here: the first reference is not found).
    const read = yield* failure(() => client.responses.create({ model: "gpt-4o", input: referencesInto(100) }))
    assert.strictEqual((read as BadRequestError).code, "item_not_found")
    assert.strictEqual((read as BadRequestError).param, "input[0]")

    // Many references into one stored response count once.
    const stored = yield* Effect.promise(() => client.responses.create({ model: "gpt-4o", input: "Remember me." }))
    const item = { type: "item_reference" as const, id: stored.output[0]!.id! }
    const answered = yield* Effect.promise(() =>
      client.responses.create({ model: "gpt-4o", input: [...Array.from({ length: 150 }, () => item), { role: "user", content: "Again?" }] })
    )
    assert.strictEqual(answered.status, "completed")
  })

import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { Chat } from "@llm-router/core"
import { RequestBody } from "@llm-router/server"

const body = (messages: ReadonlyArray<unknown>) => Buffer.from(JSON.stringify({ model: "m", messages }))

describe("RequestBody.chatRequest", () => {
  it("messageRoles are exactly the roles Chat.Message takes", () => {
    const decode = Schema.decodeUnknownResult(Chat.Message)
    const sample = (role: string) => role === "tool" ? { role, content: "x", tool_call_id: "c" } : { role, content: "x" }
    for (const role of RequestBody.messageRoles) assert.isTrue(Result.isSuccess(decode(sample(role))), role)
    for (const role of ["robot", "function", "model", "System"]) assert.isTrue(Result.isFailure(decode(sample(role))), role)
  })

  it("an unknown role names every valid one, and other problems are still reported", () => {
    const result = RequestBody.chatRequest(body([{ role: "user", content: "hi" }, { role: "robot", content: "beep" }, { role: "user", content: 5 }]))
    assert.isTrue(Result.isFailure(result))
    if (Result.isSuccess(result)) return
    const { message, param } = result.failure
    assert.include(message, `messages[1].role: Expected one of "system", "developer", "user", "assistant", "tool" (got "robot")`)
    assert.include(message, "messages[2]")
    assert.notInclude(message, `Expected "system" | "developer"`)
    assert.strictEqual(param, "messages[1].role")
    const missing = RequestBody.chatRequest(body([{ content: "no role" }]))
    assert.isTrue(Result.isFailure(missing) && missing.failure.message.includes("(got none)"))
  })
})

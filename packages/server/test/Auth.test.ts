import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as Auth from "../src/Auth.ts"

describe("Auth", () => {
  const check = Auth.make(Redacted.make("sk-master-key-1"))

  it("accepts the master key as a Bearer token", () => {
    assert.strictEqual(check("Bearer sk-master-key-1"), "ok")
    assert.strictEqual(check("bearer   sk-master-key-1  "), "ok")
  })

  it("refuses a missing header, another scheme, a wrong or partial key", () => {
    assert.strictEqual(check(undefined), "missing")
    assert.strictEqual(check(""), "missing")
    assert.strictEqual(check("Basic sk-master-key-1"), "invalid")
    assert.strictEqual(check("sk-master-key-1"), "invalid")
    assert.strictEqual(check("Bearer sk-master-key-2"), "invalid")
    assert.strictEqual(check("Bearer sk-master-key-"), "invalid")
    assert.strictEqual(check("Bearer sk-master-key-11"), "invalid")
  })

  it("lets everything through when no master key is configured", () => {
    const open = Auth.make(undefined)
    assert.strictEqual(open(undefined), "ok")
    assert.strictEqual(open("Bearer whatever"), "ok")
  })
})

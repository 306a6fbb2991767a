import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { isHeldOut } from "../../../scripts/complexity/HeldOut.ts"
import type { ChatRequest } from "../src/Chat.ts"
import * as Complexity from "../src/Complexity.ts"
import * as LiteLlmComplexity from "../src/LiteLlmComplexity.ts"

const liteLlm = LiteLlmComplexity.make()
const prompt = (user: string, system = ""): Complexity.Prompt => ({ system, user })

describe("Complexity.classify (our classifier)", () => {
  // LiteLLM's published expectations for its complexity router.
  it.each([
    ["What is Python?", "SIMPLE"],
    ["Hello, how are you?", "SIMPLE"],
    ["Let's think step by step. Analyze this carefully and reason through each option. Show your work.", "REASONING"]
  ] as const)("%s → %s", (text, tier) => {
    expect(Complexity.classify(text).tier).toBe(tier)
  })

  it.each([
    ["Thanks, that's all for today!", "SIMPLE"],
    ["Who wrote the novel Pride and Prejudice?", "SIMPLE"],
    ["Write a short poem about autumn leaves for my grandmother's birthday card.", "MEDIUM"],
    [
      "Write a Python function that parses an ISO 8601 duration string like 'P3DT4H' into seconds, with unit tests.",
      "COMPLEX"
    ],
    [
      "I get this error when I start the server:\nTypeError: Cannot read properties of undefined (reading 'map')\n" +
      "    at renderList (src/List.tsx:14:22)\n    at App (src/App.tsx:8:5)\nHow do I fix it?",
      "COMPLEX"
    ],
    [
      "A baker sells muffins for $3 each and cookies for $1.50 each. On Monday she sold 24 muffins and twice as " +
      "many cookies. How much money did she make in total?",
      "REASONING"
    ],
    ["Prove that the square root of 2 is irrational.", "REASONING"]
  ] as const)("%s → %s", (text, tier) => {
    expect(Complexity.classify(text).tier).toBe(tier)
  })

  it("is deterministic and names the signals behind its tier", () => {
    const text = "Write a JavaScript function that debounces another function; explain the closure it uses."
    const a = Complexity.classify(text)
    expect(Complexity.classify(text)).toEqual(a)
    expect(a.tier).toBe("COMPLEX")
    expect(a.signals.length).toBeGreaterThan(0)
    expect(a.signals).toContain("code-words")
    expect(a.score).toBeGreaterThan(0)
    expect(a.score).toBeLessThanOrEqual(1)
  })

  it("reads a long prompt at its head and tail only, so the work is bounded", () => {
    const head = "Summarise the following meeting notes for the team newsletter.\n".padEnd(20_000, "x")
    const tail = "\nKeep it under 200 words.".padStart(10_000, "y")
    const middleA = "a ".repeat(200_000)
    const middleB = "const x = f(y); ".repeat(25_000)
    expect(middleA.length).toBe(middleB.length)
    expect(Complexity.classify(head + middleA + tail)).toEqual(Complexity.classify(head + middleB + tail))
  })

  it("classifies the empty string and odd input without throwing", () => {
    for (const text of ["", " ", "\n\n\n", "🙂".repeat(1000), "\u0000\uffff", "$", "\\", "```"]) {
      expect(Complexity.TIERS).toContain(Complexity.classify(text).tier)
    }
  })

  it("meets its accuracy on the held-out part of its labelled data (weights and features agree)", () => {
    const file = path.join(import.meta.dirname, "../data/complexity/prompts.jsonl")
    const rows = fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { text: string; tier: Complexity.Tier })
      .filter((r) => isHeldOut(r.text))
    expect(rows.length).toBeGreaterThan(300)
    let fourWay = 0
    let cheapVsExpensive = 0
    for (const r of rows) {
      const tier = Complexity.classify(r.text).tier
      if (tier === r.tier) fourWay++
      if ((Complexity.rank(tier) >= 2) === (Complexity.rank(r.tier) >= 2)) cheapVsExpensive++
    }
    expect(fourWay / rows.length).toBeGreaterThanOrEqual(0.85)
    expect(cheapVsExpensive / rows.length).toBeGreaterThanOrEqual(0.9)
  })
})

describe("LiteLlmComplexity (LiteLLM's rules restated)", () => {
  it.each([
    ["What is Python?", "SIMPLE"],
    ["Hello, how are you?", "SIMPLE"],
    ["Let's think step by step. Analyze this carefully and reason through each option. Show your work.", "REASONING"]
  ] as const)("%s → %s", (text, tier) => {
    expect(liteLlm(prompt(text)).tier).toBe(tier)
  })

  it("matches a one-word keyword on word boundaries only", () => {
    const codeOnly = (keywords: ReadonlyArray<string>) =>
      LiteLlmComplexity.make({ dimensionWeights: { codePresence: 1 }, codeKeywords: keywords })
    // "capital" is not "api"; "poetry" and "country" are not "try".
    expect(codeOnly(["api"])(prompt("What is the capital of France?")).score).toBe(0)
    expect(codeOnly(["try"])(prompt("I love poetry from every country")).score).toBe(0)
    expect(codeOnly(["api"])(prompt("Call the API twice")).score).toBe(0.5)
    expect(codeOnly(["try"])(prompt("try it, then try again")).score).toBe(0.5)
    // A phrase matches as a substring.
    expect(codeOnly(["pull request"])(prompt("open a pull requests page")).score).toBe(0.5)
  })

  it("scores each dimension as LiteLLM does, with the configured weights", () => {
    // 2 code hits (python, function) → 1.0 × 0.3; a short prompt → −1 × 0.1.
    const r = liteLlm(prompt("write a python function"))
    expect(r.score).toBeCloseTo(0.3 - 0.1, 10)
    expect(r.tier).toBe("MEDIUM")
    // "what is" → −1 × 0.05: just under the SIMPLE/MEDIUM boundary, as in LiteLLM's float arithmetic.
    expect(liteLlm(prompt("what is a python function")).tier).toBe("SIMPLE")
    // A missing weight weighs 0 once weights are given (no renormalising).
    const onlyQuestions = LiteLlmComplexity.make({ dimensionWeights: { questionComplexity: 1 } })
    expect(onlyQuestions(prompt("why? how? when? where?")).score).toBe(0.5)
    expect(onlyQuestions(prompt("why? how? when?")).score).toBe(0)
  })

  it("reads reasoning markers in the user text only, and code in the system prompt too", () => {
    const system = "Think step by step and show your work."
    expect(liteLlm(prompt("Hello there, please help me", system)).tier).not.toBe("REASONING")
    const withCode = LiteLlmComplexity.make({ dimensionWeights: { codePresence: 1 } })
    expect(withCode(prompt("please help", "You write python code")).score).toBe(0.5)
  })

  it("honours tier boundaries and token thresholds", () => {
    const strict = LiteLlmComplexity.make({ tierBoundaries: { simple_medium: -1, medium_complex: -0.5, complex_reasoning: 0 } })
    expect(strict(prompt("hello")).tier).toBe("COMPLEX")
    const long = LiteLlmComplexity.make({ dimensionWeights: { tokenCount: 1 }, tokenThresholds: { simple: 1, complex: 2 } })
    expect(long(prompt("twelve chars")).score).toBe(1)
  })
})

describe("Complexity.scoredPrompt (what is classified)", () => {
  const request = (messages: ChatRequest["messages"]): ChatRequest => ({ model: "auto", messages })

  it("takes the system prompt and the last user turn, all its text parts, without harness noise", () => {
    const p = Complexity.scoredPrompt(request([
      { role: "system", content: "You are terse." },
      { role: "user", content: "first question" },
      { role: "assistant", content: "an answer" },
      {
        role: "user",
        content: [
          { type: "text", text: "<system-reminder>Today is Tuesday. Files: a.ts</system-reminder>Fix the bug" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
          { type: "text", text: "in parse()<SYSTEM-REMINDER>more noise" }
        ]
      }
    ]))
    expect(p).toEqual({ system: "You are terse.", user: "Fix the bug\nin parse()" })
  })

  it("skips user turns that are only harness noise, and ignores tool results", () => {
    const p = Complexity.scoredPrompt(request([
      { role: "user", content: "Refactor the parser" },
      { role: "assistant", content: null, tool_calls: [{ id: "1", type: "function", function: { name: "read", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "1", content: "def parse(): ..." },
      { role: "user", content: "<system-reminder>todo list is empty</system-reminder>" }
    ]))
    expect(p).toEqual({ system: "", user: "Refactor the parser" })
  })

  it("is undefined when no user turn has text", () => {
    expect(Complexity.scoredPrompt(request([{ role: "system", content: "You are a bot." }]))).toBeUndefined()
    expect(Complexity.scoredPrompt(request([
      { role: "user", content: [{ type: "image_url", image_url: { url: "https://example.invalid/cat.png" } }] }
    ]))).toBeUndefined()
  })

  it("removes every reminder block, closed or not", () => {
    expect(Complexity.stripHarnessNoise("a<system-reminder>x</system-reminder>b<system-reminder>y</system-reminder>c"))
      .toBe("abc")
    expect(Complexity.stripHarnessNoise("keep <system-reminder>cut to the end")).toBe("keep ")
    expect(Complexity.stripHarnessNoise("nothing to strip")).toBe("nothing to strip")
  })
})

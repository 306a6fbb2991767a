/**
 * How an OpenAI `response_format: json_schema` reaches Claude. Models that have Anthropic's
 * native structured output (Claude 4.5 and later: `output_config.format`, constrained
 * decoding) get it when the schema fits its grammar; every other case gets LiteLLM's
 * approach, a tool whose input is the schema and that the model is made to call, and whose
 * input becomes the answer's `content` again (`AnthropicResponse`, `AnthropicStream`). Either
 * way the answer is the JSON the caller's `.parse()` or `generateObject` expects, not prose.
 */
import type { Chat, Deployment } from "@llm-router/core"

/** The name of the answer tool (LiteLLM's, so traces and prompts read the same). */
export const JSON_TOOL_NAME = "json_tool_call"

/** `output_config` of the Messages API (2023-06-01, GA since structured outputs left beta). */
export interface OutputConfig {
  readonly format: { readonly type: "json_schema"; readonly schema: Readonly<Record<string, unknown>> }
}

/**
 * Claude 4.5 and later (`claude-sonnet-4-5`, `claude-haiku-4-5-20251001`, `claude-opus-4-6`,
 * `claude-sonnet-5`, ...; a `provider/` or region prefix is tolerated). Opus 4.1 had it only
 * in beta, and older models not at all.
 */
export const modelHasNativeOutput = (model: string): boolean => {
  const match = /claude-(?:opus|sonnet|haiku)-(\d+)(?:[-.](\d{1,2})(?!\d))?/i.exec(model)
  if (match === null) return false
  const major = Number(match[1])
  const minor = match[2] === undefined ? 0 : Number(match[2])
  return major > 4 || (major === 4 && minor >= 5)
}

/** Keywords Anthropic's structured-output grammar refuses (the SDKs move them to descriptions). */
const UNSUPPORTED = new Set([
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "maxItems",
  "minProperties",
  "maxProperties",
  "patternProperties",
  "propertyNames",
  "dependentRequired",
  "dependentSchemas",
  "not",
  "if",
  "then",
  "else",
  "unevaluatedProperties",
  "unevaluatedItems",
  "contains"
])

type Json = Readonly<Record<string, unknown>>
const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const resolveRef = (root: Json, ref: string): unknown => {
  if (ref === "#") return root
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref)
  if (!match) return undefined
  const defs = root[match[1]!]
  return isObject(defs) ? defs[match[2]!.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined
}

/**
 * Whether Anthropic's grammar takes `schema` as it is: every object closed
 * (`additionalProperties: false`), no numeric, length or conditional keywords, `minItems` 0 or
 * 1, primitive enums, local `$ref`s that do not recurse. A schema that does not fit goes by the
 * tool instead, which takes any JSON Schema, rather than becoming Anthropic's 400.
 */
export const fitsNativeGrammar = (schema: Json): boolean => {
  const fits = (node: unknown, refs: ReadonlyArray<string>): boolean => {
    if (typeof node === "boolean") return true
    if (!isObject(node)) return false
    for (const [key, value] of Object.entries(node)) {
      if (UNSUPPORTED.has(key)) return false
      if (key === "minItems" && typeof value === "number" && value > 1) return false
      if (key === "enum" && (!Array.isArray(value) || value.some((v) => typeof v === "object" && v !== null))) return false
    }
    const isObjectSchema = node["type"] === "object" || (Array.isArray(node["type"]) && node["type"].includes("object")) ||
      isObject(node["properties"])
    if (isObjectSchema && node["additionalProperties"] !== false) return false
    if (typeof node["$ref"] === "string") {
      const ref = node["$ref"]
      if (refs.includes(ref)) return false
      const target = resolveRef(schema, ref)
      if (target === undefined || !fits(target, [...refs, ref])) return false
    }
    const children: Array<unknown> = []
    if (isObject(node["properties"])) children.push(...Object.values(node["properties"]))
    if (node["items"] !== undefined) children.push(...(Array.isArray(node["items"]) ? node["items"] : [node["items"]]))
    if (Array.isArray(node["prefixItems"])) children.push(...node["prefixItems"])
    for (const key of ["anyOf", "allOf", "oneOf"] as const) if (Array.isArray(node[key])) children.push(...node[key])
    return children.every((child) => fits(child, refs))
  }
  // `$defs` are checked where they are used (an unused one does not matter to the grammar).
  return fits(schema, [])
}

/** What the translation does for a request's `response_format`. */
export type Plan =
  | { readonly _tag: "None" }
  /** `json_object`: an instruction in the system prompt (Anthropic has no schema-less JSON mode). */
  | { readonly _tag: "Instruction"; readonly text: string }
  | { readonly _tag: "Native"; readonly outputConfig: OutputConfig }
  | { readonly _tag: "Tool"; readonly name: string; readonly description: string; readonly inputSchema: Json }

const NONE: Plan = { _tag: "None" }

const JSON_OBJECT_INSTRUCTION = "Respond with one valid JSON object and nothing else: no prose, no Markdown code fences."

/** The plan for `request` on `deployment`. */
export const plan = (request: Chat.ChatRequest, deployment: Deployment.Deployment): Plan => {
  const format = request.response_format
  if (format === undefined || format.type === "text") return NONE
  if (format.type !== "json_schema") return { _tag: "Instruction", text: JSON_OBJECT_INSTRUCTION }
  // A schema given without one (OpenAI allows it) is any object.
  const schema: Json = format.json_schema.schema ?? { type: "object", additionalProperties: true, properties: {} }
  if (modelHasNativeOutput(deployment.model) && fitsNativeGrammar(schema)) {
    return { _tag: "Native", outputConfig: { format: { type: "json_schema", schema } } }
  }
  // Anthropic wants `type: "object"` at the top of a tool's input (OpenAI's roots are objects too).
  const inputSchema = schema["type"] === undefined ? { type: "object", ...schema } : schema
  const description = format.json_schema.description ??
    `Respond with the answer as the input of this tool: JSON that conforms to the schema "${format.json_schema.name}".`
  return { _tag: "Tool", name: JSON_TOOL_NAME, description, inputSchema }
}

/** Whether a built request answers through the JSON tool (so its `tool_use` is the answer's content). */
export const answersWithTool = (tools: ReadonlyArray<{ readonly name: string }> | undefined): boolean =>
  tools !== undefined && tools.some((tool) => tool.name === JSON_TOOL_NAME)

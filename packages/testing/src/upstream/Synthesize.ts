/**
 * Made-up answers that keep a request's promises, for the mock upstreams: a JSON value that
 * matches a JSON Schema (a `response_format` / `responseJsonSchema` / `output_config.format`
 * schema, or a tool's parameters), so the no-keys demo and the tests can show structured
 * output and tool calls working end to end (the `openai` SDK's `.parse()`, the AI SDK's
 * `generateObject`). Each mock hooks it in with a line or two; the wire shapes stay theirs.
 *
 * It covers what tool and response schemas use: `type` (also a list, also Gemini's
 * upper-case names), `properties` (the `required` ones, else every one), `items` /
 * `prefixItems` with `minItems`, `enum`, `const`, `anyOf` / `oneOf` (the first branch that
 * is not null), `allOf` (merged), local `$ref`s (`#/$defs/…`, `#/definitions/…`), string
 * `format`s and length bounds, number bounds. `pattern` is not honoured.
 */

export interface Options {
  /** The value of a string that has no format or enum; `name` is its property's (or ""). */
  readonly string?: ((name: string) => string) | undefined
}

type Obj = Readonly<Record<string, unknown>>

const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

/** Below this depth an array gets only the items it must have, so a recursive `$ref` ends. */
const SHALLOW_DEPTH = 4
/** A hard stop for a schema that recurses through required properties alone (it has no finite value). */
const MAX_DEPTH = 32

const formats: Readonly<Record<string, string>> = {
  "date-time": "2026-01-01T00:00:00Z",
  date: "2026-01-01",
  time: "00:00:00Z",
  email: "mock@example.com",
  uri: "https://example.com/",
  url: "https://example.com/",
  uuid: "00000000-0000-4000-8000-000000000000",
  hostname: "example.com",
  ipv4: "127.0.0.1",
  ipv6: "::1"
}

/** The schema's type, lower-cased; the first that is not "null" when it lists several. */
const typeOf = (schema: Obj): string | undefined => {
  const type = schema["type"]
  if (typeof type === "string") return type.toLowerCase()
  if (Array.isArray(type)) {
    const named = type.filter((t): t is string => typeof t === "string").map((t) => t.toLowerCase())
    return named.find((t) => t !== "null") ?? named[0]
  }
  if (isObj(schema["properties"])) return "object"
  if (schema["items"] !== undefined || schema["prefixItems"] !== undefined) return "array"
  return undefined
}

const resolveRef = (root: unknown, ref: string): unknown => {
  if (!ref.startsWith("#/")) return undefined
  let at: unknown = root
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~")
    at = isObj(at) ? at[key] : undefined
  }
  return at
}

const stringOf = (schema: Obj, name: string, options: Options): string => {
  const format = typeof schema["format"] === "string" ? formats[schema["format"]] : undefined
  let text = format ?? options.string?.(name) ?? (name.length > 0 ? `${name} value` : "mock")
  const min = typeof schema["minLength"] === "number" ? schema["minLength"] : 0
  const max = typeof schema["maxLength"] === "number" ? schema["maxLength"] : undefined
  if (text.length < min) text = text.padEnd(min, ".")
  if (max !== undefined && text.length > max) text = text.slice(0, max)
  return text
}

const numberOf = (schema: Obj, integer: boolean): number => {
  const num = (key: string) => (typeof schema[key] === "number" ? schema[key] : undefined)
  const min = num("minimum") ?? (num("exclusiveMinimum") !== undefined ? num("exclusiveMinimum")! + 1 : undefined)
  const max = num("maximum") ?? (num("exclusiveMaximum") !== undefined ? num("exclusiveMaximum")! - 1 : undefined)
  let value = min ?? (max !== undefined ? Math.min(max, 1) : 1)
  if (integer) value = Math.ceil(value)
  return value
}

const valueAt = (schema: unknown, root: unknown, name: string, depth: number, options: Options): unknown => {
  if (!isObj(schema)) return options.string?.(name) ?? "mock"
  if (typeof schema["$ref"] === "string") {
    return depth >= MAX_DEPTH ? null : valueAt(resolveRef(root, schema["$ref"]), root, name, depth + 1, options)
  }
  if ("const" in schema) return schema["const"]
  if (Array.isArray(schema["enum"]) && schema["enum"].length > 0) return schema["enum"][0]
  for (const key of ["anyOf", "oneOf"]) {
    const branches = schema[key]
    if (Array.isArray(branches) && branches.length > 0) {
      const branch = branches.find((b) => !(isObj(b) && b["type"] === "null")) ?? branches[0]
      return valueAt(branch, root, name, depth + 1, options)
    }
  }
  if (Array.isArray(schema["allOf"])) {
    const merged: Record<string, unknown> = { ...schema, allOf: undefined }
    const properties: Record<string, unknown> = isObj(schema["properties"]) ? { ...schema["properties"] } : {}
    const required = new Set<unknown>(Array.isArray(schema["required"]) ? schema["required"] : [])
    for (const part of schema["allOf"]) {
      const resolved = isObj(part) && typeof part["$ref"] === "string" ? resolveRef(root, part["$ref"]) : part
      if (!isObj(resolved)) continue
      Object.assign(merged, resolved)
      if (isObj(resolved["properties"])) Object.assign(properties, resolved["properties"])
      if (Array.isArray(resolved["required"])) for (const key of resolved["required"]) required.add(key)
    }
    delete merged["allOf"]
    return valueAt({ ...merged, properties, required: [...required] }, root, name, depth + 1, options)
  }
  switch (typeOf(schema)) {
    case "object": {
      const out: Record<string, unknown> = {}
      if (depth >= MAX_DEPTH) return out
      const properties = isObj(schema["properties"]) ? schema["properties"] : {}
      const required = Array.isArray(schema["required"]) ? schema["required"].filter((k) => typeof k === "string") : undefined
      for (const [key, property] of Object.entries(properties)) {
        if (required === undefined || required.includes(key)) out[key] = valueAt(property, root, key, depth + 1, options)
      }
      return out
    }
    case "array": {
      const prefix = Array.isArray(schema["prefixItems"]) ? schema["prefixItems"] : []
      const min = typeof schema["minItems"] === "number" ? schema["minItems"] : 0
      const max = typeof schema["maxItems"] === "number" ? schema["maxItems"] : Math.max(min, prefix.length, 1)
      // One item at least near the top (a list shows its item shape); deeper, only what is required.
      const count = Math.min(depth >= SHALLOW_DEPTH ? min : Math.max(min, prefix.length, 1), max)
      return Array.from({ length: count }, (_, i) => valueAt(prefix[i] ?? schema["items"], root, name, depth + 1, options))
    }
    case "string":
      return stringOf(schema, name, options)
    case "integer":
      return numberOf(schema, true)
    case "number":
      return numberOf(schema, false)
    case "boolean":
      return true
    case "null":
      return null
    default:
      // No type at all: any JSON value matches; a string reads best.
      return stringOf(schema, name, options)
  }
}

/** A JSON value that matches `schema` (a JSON Schema, or Gemini's OpenAPI-style subset). */
export const valueOf = (schema: unknown, options: Options = {}): unknown => valueAt(schema, schema, "", 0, options)

/** The arguments of a call to a tool whose parameters are `schema` (always a JSON object). */
export const argumentsOf = (schema: unknown, options: Options = {}): Record<string, unknown> => {
  const value = valueOf(isObj(schema) ? { type: "object", ...schema } : { type: "object" }, options)
  return isObj(value) ? { ...value } : {}
}

/** The schema an OpenAI `response_format` asks for: `json_schema`'s schema, `{}` for `json_object` (any object), else none. */
export const openAiResponseSchema = (responseFormat: unknown): { readonly schema: unknown } | undefined => {
  if (!isObj(responseFormat)) return undefined
  if (responseFormat["type"] === "json_object") return { schema: { type: "object", properties: { answer: { type: "string" } } } }
  if (responseFormat["type"] !== "json_schema" || !isObj(responseFormat["json_schema"])) return undefined
  return { schema: responseFormat["json_schema"]["schema"] ?? { type: "object" } }
}

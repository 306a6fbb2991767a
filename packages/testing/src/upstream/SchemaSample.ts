/**
 * A made-up value that conforms to a JSON Schema (or to Gemini's OpenAPI subset, whose type
 * names may be upper case), for the mock upstreams' structured answers: what a provider with
 * constrained decoding sends back for `output_config.format` (Anthropic) or
 * `responseJsonSchema` / `responseSchema` (Gemini). Every property is filled in, enums and
 * `const` give their first value, local `$ref`s are followed (not past `MAX_DEPTH`).
 */

type Json = Readonly<Record<string, unknown>>
const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const MAX_DEPTH = 8

const resolveRef = (root: Json, ref: string): unknown => {
  if (ref === "#") return root
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref)
  if (!match) return undefined
  const defs = root[match[1]!]
  return isObject(defs) ? defs[match[2]!] : undefined
}

const typeOf = (schema: Json): string | undefined => {
  const type = schema["type"]
  if (typeof type === "string") return type.toLowerCase()
  if (Array.isArray(type)) {
    const first = type.find((t) => typeof t === "string" && t !== "null")
    return typeof first === "string" ? first.toLowerCase() : "null"
  }
  return isObject(schema["properties"]) ? "object" : undefined
}

const value = (schema: unknown, root: Json, name: string, depth: number): unknown => {
  if (!isObject(schema) || depth > MAX_DEPTH) return null
  if (typeof schema["$ref"] === "string") return value(resolveRef(root, schema["$ref"]), root, name, depth + 1)
  if (schema["const"] !== undefined) return schema["const"]
  if (Array.isArray(schema["enum"]) && schema["enum"].length > 0) return schema["enum"][0]
  for (const key of ["anyOf", "oneOf", "allOf"] as const) {
    const members = schema[key]
    if (Array.isArray(members) && members.length > 0) {
      const member = members.find((m) => !(isObject(m) && m["type"] === "null")) ?? members[0]
      return value(member, root, name, depth + 1)
    }
  }
  switch (typeOf(schema)) {
    case "object": {
      const properties = isObject(schema["properties"]) ? schema["properties"] : {}
      const out: Record<string, unknown> = {}
      for (const [key, sub] of Object.entries(properties)) out[key] = value(sub, root, key, depth + 1)
      return out
    }
    case "array": {
      const items = schema["items"]
      const count = typeof schema["minItems"] === "number" && schema["minItems"] > 1 ? schema["minItems"] : 1
      return Array.from({ length: count }, () => value(items, root, name, depth + 1))
    }
    case "string":
      return `${name}-value`
    case "integer":
    case "number":
      return typeof schema["minimum"] === "number" ? Math.ceil(schema["minimum"]) : 1
    case "boolean":
      return true
    default:
      return null
  }
}

/** A value that conforms to `schema`. */
export const sample = (schema: unknown): unknown => value(schema, isObject(schema) ? schema : {}, "value", 0)

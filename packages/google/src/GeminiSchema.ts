/**
 * Turns an OpenAI tool's JSON Schema into the OpenAPI subset Gemini's
 * `functionDeclarations[].parameters` accepts. That field is a typed proto message, so any
 * keyword it does not know (`additionalProperties`, `$schema`, `$ref`, `const`, …) is a 400
 * ("Invalid JSON payload received. Unknown name …"). Local `$ref`s are inlined, `const`
 * becomes a one-value `enum`, `["string","null"]` becomes `nullable`, `oneOf` becomes
 * `anyOf`, and what cannot be said in the subset is dropped (non-string enums are kept as
 * prose in `description`, so the model still sees them).
 */

type Json = Readonly<Record<string, unknown>>

/** The keywords of Gemini's `Schema` message (ai.google.dev/api/caching#Schema). */
const allowed = new Set([
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "maxItems",
  "minItems",
  "properties",
  "required",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "pattern",
  "example",
  "anyOf",
  "propertyOrdering",
  "default",
  "items",
  "minimum",
  "maximum"
])

/** Formats Gemini accepts per type; others are rejected with a 400. */
const formats: Readonly<Record<string, ReadonlySet<string>>> = {
  string: new Set(["enum", "date-time"]),
  number: new Set(["float", "double"]),
  integer: new Set(["int32", "int64"])
}

/** `$ref` chains deeper than this (recursive schemas) become an untyped object. */
const MAX_DEPTH = 12

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const resolveRef = (root: Json, ref: string): unknown => {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref)
  if (!match) return undefined
  const defs = root[match[1]!]
  return isObject(defs) ? defs[match[2]!.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined
}

const convert = (schema: unknown, root: Json, depth: number): Json => {
  if (!isObject(schema)) return {}
  if (depth > MAX_DEPTH) return { type: "object" }
  if (typeof schema.$ref === "string") {
    const target = resolveRef(root, schema.$ref)
    const { $ref: _ref, ...siblings } = schema
    return convert(isObject(target) ? { ...target, ...siblings } : siblings, root, depth + 1)
  }
  // allOf: merge the members (what tool schemas use it for: composition of objects).
  if (Array.isArray(schema.allOf)) {
    const { allOf, ...rest } = schema
    let merged: Record<string, unknown> = { ...rest }
    for (const member of allOf) {
      const m = isObject(member) && typeof member.$ref === "string" ? resolveRef(root, member.$ref) : member
      if (!isObject(m)) continue
      merged = {
        ...m,
        ...merged,
        properties: { ...(isObject(m.properties) ? m.properties : {}), ...(isObject(merged.properties) ? merged.properties : {}) },
        required: [...(Array.isArray(m.required) ? m.required : []), ...(Array.isArray(merged.required) ? merged.required : [])]
      }
    }
    return convert(merged, root, depth + 1)
  }

  const out: Record<string, unknown> = {}
  let type = schema.type
  if (Array.isArray(type)) {
    const types = type.filter((t): t is string => typeof t === "string")
    const nonNull = types.filter((t) => t !== "null")
    if (nonNull.length < types.length) out.nullable = true
    if (nonNull.length > 1) {
      const { type: _t, ...rest } = schema
      out.anyOf = nonNull.map((t) => convert({ ...rest, type: t }, root, depth + 1))
      return out
    }
    type = nonNull[0]
  }
  if (typeof type === "string" && type !== "null") out.type = type

  for (const [key, value] of Object.entries(schema)) {
    if (key === "type") continue
    if (key === "const") {
      if (typeof value === "string") out.enum = [value]
      continue
    }
    if (key === "oneOf" || key === "anyOf") {
      if (!Array.isArray(value)) continue
      const members = value.filter((m) => !(isObject(m) && m.type === "null"))
      if (members.length < value.length) out.nullable = true
      const converted = members.map((m) => convert(m, root, depth + 1))
      if (converted.length === 1) Object.assign(out, converted[0], out.nullable ? { nullable: true } : {})
      else if (converted.length > 1) out.anyOf = converted
      continue
    }
    if (!allowed.has(key)) continue
    switch (key) {
      case "properties": {
        if (!isObject(value)) break
        const properties: Record<string, unknown> = {}
        for (const [name, sub] of Object.entries(value)) properties[name] = convert(sub, root, depth + 1)
        out.properties = properties
        break
      }
      case "items":
        if (isObject(value)) out.items = convert(value, root, depth + 1)
        break
      case "required":
        if (Array.isArray(value)) out.required = value.filter((r) => typeof r === "string")
        break
      case "enum":
        if (Array.isArray(value) && value.every((v) => typeof v === "string")) out.enum = value
        else if (Array.isArray(value)) {
          const listed = `Allowed values: ${value.map((v) => JSON.stringify(v)).join(", ")}.`
          const description = typeof schema.description === "string" ? `${schema.description} ${listed}` : listed
          out.description = description
        }
        break
      case "format": {
        const accepted = typeof type === "string" ? formats[type] : undefined
        if (typeof value === "string" && accepted?.has(value)) out.format = value
        break
      }
      case "description":
        if (out.description === undefined) out.description = value
        break
      default:
        out[key] = value
    }
  }
  if (Array.isArray(out.required) && isObject(out.properties)) {
    const props = out.properties
    out.required = (out.required as ReadonlyArray<string>).filter((r) => r in props)
  }
  if (out.enum !== undefined && out.type === undefined) out.type = "string"
  return out
}

/**
 * The `parameters` of a function declaration, or `undefined` when the tool takes no
 * arguments (Gemini rejects an OBJECT with empty `properties`; it wants the field omitted).
 */
export const toParameters = (schema: Readonly<Record<string, unknown>> | undefined): Json | undefined => {
  if (schema === undefined) return undefined
  const converted = convert(schema, schema, 0)
  if (converted.type === "object" && (!isObject(converted.properties) || Object.keys(converted.properties).length === 0)) {
    return undefined
  }
  return converted
}

/**
 * A `response_format.json_schema` for `responseJsonSchema`, which takes real JSON Schema
 * (a `google.protobuf.Value`, so unknown keywords are not a 400): only `$schema` goes.
 */
export const toResponseJsonSchema = (schema: Readonly<Record<string, unknown>>): Json => {
  const { $schema: _schema, ...rest } = schema
  return rest
}

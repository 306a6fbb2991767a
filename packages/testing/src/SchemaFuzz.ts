/**
 * Fuzzing a fast path against the `Schema` it stands in for: values generated from the
 * Schema's arbitrary (as they would arrive, through JSON), mutated at random spots with the
 * keys the Schema's values use and values of every JSON type, then judged by both. A fast
 * path may decline what the Schema accepts (the Schema then decides), never the reverse.
 */
import { Arbitrary, Effect, type Schema } from "effect"

/** A deterministic generator (mulberry32): a failure reproduces from its seed. */
export const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** `count` values of `schema`'s arbitrary, through JSON as a wire would carry them. */
export const samples = (schema: Schema.Top, count: number, seed: number): Array<unknown> =>
  // A small size: the Schemas' free-form rest fields would otherwise fill values with noise.
  Effect.runSync(Arbitrary.sampleEffect(Arbitrary.schema(schema as Schema.Codec<unknown>), { count, seed, size: 4 }))
    .map((value) => JSON.parse(JSON.stringify(value)) as unknown)

/** Every key the values use, at any depth: what mutations set, so they hit the Schema's fields. */
export const keysOf = (values: ReadonlyArray<unknown>): Array<string> => {
  const keys = new Set<string>()
  const stack = [...values]
  while (stack.length > 0) {
    const value = stack.pop()
    if (typeof value !== "object" || value === null) continue
    if (!Array.isArray(value)) for (const key of Object.keys(value)) keys.add(key)
    stack.push(...Object.values(value))
  }
  return [...keys]
}

/** Replacement values of every JSON type, including values the Schema's literals use. */
export const replacements = (literals: ReadonlyArray<string>): Array<unknown> => [
  null, true, false, 0, -1, 1.5, 5, 2 ** 53, "", "x", [], [1], ["a"], {}, { a: 1 }, [{}], ...literals
]

/** A deep copy of `value` changed at one random spot: a key set, deleted or moved first, or an array grown or shrunk. */
export const mutate = (value: unknown, next: () => number, keys: ReadonlyArray<string>, values: ReadonlyArray<unknown>): unknown => {
  const copy = JSON.parse(JSON.stringify(value)) as unknown
  const containers: Array<Record<string, unknown> | Array<unknown>> = []
  const stack = [copy]
  while (stack.length > 0) {
    const u = stack.pop()
    if (typeof u !== "object" || u === null) continue
    containers.push(u as Record<string, unknown>)
    stack.push(...Object.values(u))
  }
  if (containers.length === 0) return copy
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(next() * xs.length)]!
  const target = pick(containers)
  const action = next()
  if (Array.isArray(target)) {
    if (action < 0.3 && target.length > 0) target.pop()
    else if (action < 0.6 && target.length > 0) target[Math.floor(next() * target.length)] = pick(values)
    else target.push(pick(values))
    return copy
  }
  const present = Object.keys(target)
  if (action < 0.25 && present.length > 0) delete target[pick(present)]
  else if (action < 0.35 && present.length > 0) {
    const key = pick(present)
    const moved = target[key]
    delete target[key]
    const rest = { ...target }
    for (const k of Object.keys(target)) delete target[k]
    Object.assign(target, { [key]: moved }, rest)
  } else target[next() < 0.7 && present.length > 0 ? pick(present) : pick(keys)] = pick(values)
  return copy
}

export interface Verdicts {
  /** Values the fast path accepted. */
  readonly fastAccepted: number
  /** Values the Schema refused. */
  readonly schemaRefused: number
  /** Values the fast path accepted and the Schema did not (or whose results differ), as JSON. */
  readonly disagreements: ReadonlyArray<string>
}

/**
 * Judges `rounds` values (samples of `schema`, each mutated zero to three times) by the fast
 * path and by `bySchema`. Each gives a result or `undefined` (fast: declined; Schema: refused);
 * where the fast path gives one, the Schema must give the same.
 */
export const judge = <A>(options: {
  readonly schema: Schema.Top
  readonly fast: (value: Record<string, unknown>) => A | undefined
  readonly bySchema: (value: unknown) => A | undefined
  readonly literals: ReadonlyArray<string>
  readonly seed: number
  readonly rounds: number
  readonly same?: ((a: A, b: A) => boolean) | undefined
}): Verdicts => {
  const base = samples(options.schema, 200, options.seed)
  const keys = keysOf(base)
  const values = replacements(options.literals)
  const next = random(options.seed)
  const same = options.same ?? ((a: A, b: A) => a === b)
  let fastAccepted = 0
  let schemaRefused = 0
  const disagreements: Array<string> = []
  for (let round = 0; round < options.rounds; round++) {
    let value = base[round % base.length]
    const steps = Math.floor(next() * 4)
    for (let s = 0; s < steps; s++) value = mutate(value, next, keys, values)
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue
    const reference = options.bySchema(value)
    if (reference === undefined) schemaRefused++
    const fast = options.fast(JSON.parse(JSON.stringify(value)) as Record<string, unknown>)
    if (fast === undefined) continue
    fastAccepted++
    if (reference === undefined || !same(fast, reference)) disagreements.push(JSON.stringify(value).slice(0, 600))
  }
  return { fastAccepted, schemaRefused, disagreements }
}

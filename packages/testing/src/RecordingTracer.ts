/**
 * A tracer for tests that keeps every span it makes (Effect's `NativeSpan`s, which record
 * their attributes, parent and end), so a test can assert on names, kinds and attributes.
 */
import { Tracer } from "effect"

export interface RecordingTracer {
  readonly tracer: Tracer.Tracer
  /** Every span made, in order. */
  readonly spans: ReadonlyArray<Tracer.NativeSpan>
  /** The spans whose name starts with `prefix`. */
  readonly named: (prefix: string) => ReadonlyArray<Tracer.NativeSpan>
}

export const make = (): RecordingTracer => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { tracer, spans, named: (prefix) => spans.filter((s) => s.name.startsWith(prefix)) }
}

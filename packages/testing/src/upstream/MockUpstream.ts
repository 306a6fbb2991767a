/**
 * The contract every HTTP mock upstream in this package keeps (OpenAI, Anthropic, Gemini),
 * so the provider tests, the gateway tests, the chaos tests and the no-keys demo can drive
 * any of them the same way.
 *
 * A mock listens on 127.0.0.1 (port 0 unless given) and speaks one provider's real wire
 * format. Faults are chosen per request by path: a base URL of
 * `${baseUrl}/fault/<name>` (put it in a deployment's `api_base`) makes every request
 * through it fail with fault `<name>`; `setFault(name)` does the same for requests on the
 * plain base URL (scenario control, e.g. an outage window). `requests` records what arrived.
 */
export const faults = [
  "rate-limit", //           429, the provider's rate-limit error, with the provider's retry hint
  "quota", //                429, quota / billing exhausted (must not be retried on the same deployment)
  "auth", //                 the provider's invalid-key error
  "permission", //           403
  "not-found", //            404, unknown model
  "bad-request", //          400, plain invalid request
  "context-window", //       the provider's context-overflow error
  "content-policy", //       the provider's safety/policy rejection
  "overloaded", //           503 / Anthropic 529
  "server-error", //         500
  "malformed-json", //       200 whose body is not JSON
  "wrong-shape", //          200 with valid JSON that is not the documented shape
  "reset-mid-body", //       headers sent, then the socket is destroyed mid-body (or mid-stream)
  "error-after-200", //      streaming: 200, some content, then the provider's in-stream error
  "slow-headers", //         waits `slowMs` (default 5000) before sending anything
  "connection-refused" //    the socket is destroyed at once, no response at all
] as const
export type Fault = (typeof faults)[number]

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string | undefined>>
  /** The parsed JSON body (undefined when there was none or it was not JSON). */
  readonly body: unknown
}

export interface MockUpstream {
  /** The base URL as the provider's official SDK takes it (what a deployment's `api_base` holds). */
  readonly baseUrl: string
  readonly port: number
  /** Base URL whose requests all fail with `fault`. */
  readonly faultUrl: (fault: Fault) => string
  /** Fault for requests on the plain base URL; `undefined` heals it. */
  readonly setFault: (fault: Fault | undefined) => void
  readonly requests: ReadonlyArray<RecordedRequest>
}

export interface Options {
  readonly port?: number | undefined
  /** Text every successful answer carries (default "Hello from the mock."). */
  readonly text?: string | undefined
  /** Chunks a streamed answer is split into (default: one per word). */
  readonly streamChunks?: number | undefined
  /** Delay for `slow-headers`, in ms. */
  readonly slowMs?: number | undefined
}

/**
 * The routing benchmark's scenarios: three deployments of one model group under steady
 * traffic, each deployment's true latency a function of simulated time, of its calls in
 * flight and of the answer's length. The same functions drive the simulated providers and
 * tell the oracle (and the measurements) what each deployment's latency truly is.
 */

export interface DeploymentModel {
  readonly id: string
  /** True latency in ms of a call starting at `now` with `inFlight` calls in flight here (it included), answering `tokens` tokens. */
  readonly latencyMs: (now: number, inFlight: number, tokens: number) => number
  /** Windows of simulated time in which every call fails (a 503 after `latencyMs`). */
  readonly outages?: ReadonlyArray<{ readonly fromMs: number; readonly toMs: number }>
  /** In a streamed scenario: the pause before each of the answer's content chunks (after `latencyMs`, the stream's start). */
  readonly chunkIntervalMs?: number
}

export interface Scenario {
  readonly name: string
  readonly description: string
  readonly durationMs: number
  readonly requestsPerSecond: number
  readonly deployments: ReadonlyArray<DeploymentModel>
  /** Each call's latency is scaled by a factor drawn from [1 - jitter, 1 + jitter]. */
  readonly jitter: number
  /** The answer length of request `i` (in tokens), from a seeded draw `u` in [0, 1). */
  readonly answerTokens: (u: number) => number
  /** The length the oracle ranks by (it does not see the request). */
  readonly typicalTokens: number
  /**
   * Calls are streams (in `STREAM_CHUNKS` content chunks), and what callers see and the oracle
   * ranks by is the time to the first content chunk.
   */
  readonly streaming?: boolean
  /** The deployment that changes, when it starts to, and when it is back to normal. */
  readonly change?: { readonly deployment: string; readonly onsetMs: number; readonly recoveryMs: number }
}

const SECOND = 1000
const MINUTE = 60 * SECOND

/**
 * `perTokenMs` a token after `overheadMs`. Whole answers of 100 tokens at 10 ms a token take about
 * a second; where a deployment changes, it is the fastest in normal times (8 ms a token), so a
 * strategy that starves it after it recovers pays for that.
 */
const steady = (perTokenMs: number, overheadMs = 0) => (_now: number, _inFlight: number, tokens: number) => overheadMs + perTokenMs * tokens

const inOutage = (d: DeploymentModel, now: number) => (d.outages ?? []).some((o) => now >= o.fromMs && now < o.toMs)

/** Content chunks of a streamed answer. */
export const STREAM_CHUNKS = 10

/**
 * Scenario 4, with the outage ending at `endMs` (3 minutes in the table): `--outage-sweep`
 * runs it over many end times, as where the router's 5 s cooldown stands when b recovers
 * decides a few milliseconds of the mean.
 */
export const outageUntil = (endMs: number): Scenario => ({
  name: "4 outage",
  description: `b, the fastest, fails every call (503 after 100 ms) from 2 minutes in until ${endMs / 1000} s, then comes back`,
  durationMs: 5 * MINUTE,
  requestsPerSecond: 10,
  jitter: 0.2,
  answerTokens: () => 100,
  typicalTokens: 100,
  change: { deployment: "b", onsetMs: 2 * MINUTE, recoveryMs: endMs },
  deployments: [
    { id: "a", latencyMs: steady(10) },
    {
      id: "b",
      latencyMs: (now, _f, tokens) => (now >= 2 * MINUTE && now < endMs ? 100 : 8 * tokens),
      outages: [{ fromMs: 2 * MINUTE, toMs: endMs }]
    },
    { id: "c", latencyMs: steady(10) }
  ]
})

/** True latency (of a stream: to its first content chunk), or +∞ while the deployment fails every call. */
export const trueLatency = (d: DeploymentModel, now: number, inFlight: number, tokens: number, streaming = false): number =>
  inOutage(d, now) ? Number.POSITIVE_INFINITY : d.latencyMs(now, inFlight, tokens) + (streaming ? d.chunkIntervalMs ?? 0 : 0)

export const scenarios: ReadonlyArray<Scenario> = [
  {
    name: "1 spike",
    description: "b, the fastest, becomes 5x slower for two minutes, then recovers",
    durationMs: 6 * MINUTE,
    requestsPerSecond: 10,
    jitter: 0.2,
    answerTokens: () => 100,
    typicalTokens: 100,
    change: { deployment: "b", onsetMs: 2 * MINUTE, recoveryMs: 4 * MINUTE },
    deployments: [
      { id: "a", latencyMs: steady(10) },
      { id: "b", latencyMs: (now, _f, tokens) => (now >= 2 * MINUTE && now < 4 * MINUTE ? 5 : 1) * 8 * tokens },
      { id: "c", latencyMs: steady(10) }
    ]
  },
  {
    name: "2 herding",
    description: "three near-equal deployments, each slower the more calls it has in flight",
    durationMs: 5 * MINUTE,
    requestsPerSecond: 10,
    jitter: 0.1,
    answerTokens: () => 100,
    typicalTokens: 100,
    deployments: ["a", "b", "c"].map((id, i) => ({
      id,
      latencyMs: (_now: number, inFlight: number, tokens: number) => (8 + 0.2 * i) * tokens * (1 + 0.15 * (inFlight - 1))
    }))
  },
  {
    name: "3 slow decay",
    description: "c, the fastest, degrades to 4x over ten minutes, then recovers",
    durationMs: 14 * MINUTE,
    requestsPerSecond: 10,
    jitter: 0.2,
    answerTokens: () => 100,
    typicalTokens: 100,
    change: { deployment: "c", onsetMs: 1 * MINUTE, recoveryMs: 11 * MINUTE },
    deployments: [
      { id: "a", latencyMs: steady(10) },
      { id: "b", latencyMs: steady(10) },
      {
        id: "c",
        latencyMs: (now, _f, tokens) => {
          const ramp = now < MINUTE || now >= 11 * MINUTE ? 0 : (now - MINUTE) / (10 * MINUTE)
          return 8 * tokens * (1 + 3 * ramp)
        }
      }
    ]
  },
  outageUntil(3 * MINUTE),
  {
    name: "5 short+long",
    description: "half the answers 50 tokens, half 600; after a first token in 600, 200 and 300 ms, a, b and c take 10, 13 and 25 ms a token",
    durationMs: 5 * MINUTE,
    requestsPerSecond: 10,
    jitter: 0.1,
    answerTokens: (u) => (u < 0.5 ? 50 : 600),
    typicalTokens: 325,
    deployments: [
      { id: "a", latencyMs: steady(10, 600) },
      { id: "b", latencyMs: steady(13, 200) },
      { id: "c", latencyMs: steady(25, 300) }
    ]
  },
  {
    name: "6 streamed spike",
    description:
      "streams, by time to first chunk: b, the first to answer (400 ms against 500), waits 5x longer for two minutes, then recovers; after its first chunk it streams at half a and c's pace",
    durationMs: 6 * MINUTE,
    requestsPerSecond: 10,
    jitter: 0.2,
    answerTokens: () => 100,
    typicalTokens: 100,
    streaming: true,
    change: { deployment: "b", onsetMs: 2 * MINUTE, recoveryMs: 4 * MINUTE },
    // Time to first chunk: the stream's start (`latencyMs`) and one chunk's pause. Whole streams
    // take 860 ms on a and c, 1120 on b: a ranking by the whole stream would pass b over.
    deployments: [
      { id: "a", latencyMs: () => 460, chunkIntervalMs: 40 },
      { id: "b", latencyMs: (now) => (now >= 2 * MINUTE && now < 4 * MINUTE ? 5 * 400 : 400) - 80, chunkIntervalMs: 80 },
      { id: "c", latencyMs: () => 460, chunkIntervalMs: 40 }
    ]
  }
]

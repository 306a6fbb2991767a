/**
 * The access log (`llm-router serve --access-log`): one JSON line per answered request on
 * stdout, for operators and log shippers. What it holds is what the response already tells
 * the caller: method, path, status, request id, and for chat the route (`x-llm-router-*`
 * headers). Never a body, a header other than those, or a key. A streamed answer is logged
 * when its headers go out, at its first content chunk: its latency is the time to that chunk.
 */
import type { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as RouteHeaders from "./RouteHeaders.ts"

const numberOf = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value))

/** The log line for `response` to `request`, answered at `now` (epoch ms). */
export const line = (
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse,
  requestId: string,
  started: number,
  now: number
): string => {
  const h = response.headers
  const names = RouteHeaders.names
  const fallbacks = h[names.fallbacks]
  return JSON.stringify({
    time: new Date(now).toISOString(),
    request_id: requestId,
    method: request.method,
    path: request.url.split("?")[0],
    status: response.status,
    // Route fields are present on chat responses; JSON.stringify leaves out the undefined ones.
    model_group: h[names.group],
    deployment: h[names.deployment],
    provider: h[names.provider],
    model: h[names.model],
    attempts: numberOf(h[names.attempts]),
    fallbacks: fallbacks === undefined || fallbacks === "" ? undefined : fallbacks.split(","),
    stream: h["content-type"] === "text/event-stream" || undefined,
    cost_usd: numberOf(h[names.costUsd]),
    tier: h[names.tier],
    latency_ms: now - started
  })
}

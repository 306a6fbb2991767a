/**
 * How large an upstream's answer may be when it is read whole (a non-streamed completion, an
 * error body): bigger answers fail the attempt as a retryable upstream error instead of
 * growing the process's memory without bound. Streams are read as they arrive and are not
 * bounded here. The gateway sets it from `general_settings.max_response_size_mb`.
 */
import { Context } from "effect"

/** 32 MiB: far more than any chat completion, far less than what hurts a process. */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024

export const MaxResponseBytes = Context.Reference<number>("@llm-router/core/ResponseLimit/MaxResponseBytes", {
  defaultValue: () => DEFAULT_MAX_RESPONSE_BYTES
})

/** The reason an over-limit read fails with (the cause of the HTTP client's decode error). */
export class ResponseTooLarge extends Error {
  readonly limitBytes: number
  constructor(limitBytes: number) {
    super(`the response body exceeds the limit of ${limitBytes} bytes`)
    this.name = "ResponseTooLarge"
    this.limitBytes = limitBytes
  }
}

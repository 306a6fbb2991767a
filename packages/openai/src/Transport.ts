/**
 * What every call of an OpenAI-compatible deployment shares, whatever the operation (chat
 * completions, embeddings): the error context with its secret, scrubbing, and the mapping of
 * a transport failure, a broken body and a non-2xx answer into `LlmError`s.
 */
import { type Deployment, LlmError, ProviderError, ResponseLimit } from "@llm-router/core"
import { Clock, Effect, Redacted, Stream } from "effect"
import { HttpClientError, type HttpClientResponse } from "effect/http"
import * as ErrorBody from "./ErrorBody.ts"

export interface Body {
  readonly text: string
  /** Set when the connection broke while reading; `text` holds what arrived before. */
  readonly failure?: HttpClientError.HttpClientError | undefined
}

/**
 * Reads a whole body, keeping what arrived even when the connection breaks mid-way, up to
 * `ResponseLimit.MaxResponseBytes` (past it the read stops, aborting the request, and fails).
 */
export const readBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<Body> =>
  Effect.withFiber((fiber) => {
    const limit = fiber.getRef(ResponseLimit.MaxResponseBytes)
    const decoder = new TextDecoder()
    let text = ""
    let bytes = 0
    return Stream.runForEachArray(response.stream, (parts) => {
      for (const part of parts) {
        bytes += part.length
        if (bytes > limit) {
          const cause = new ResponseLimit.ResponseTooLarge(limit)
          return Effect.fail(
            new HttpClientError.HttpClientError({ reason: new HttpClientError.DecodeError({ request: response.request, response, cause }) })
          )
        }
        text += decoder.decode(part, { stream: true })
      }
      return Effect.void
    }).pipe(
      Effect.map((): Body => ({ text: text + decoder.decode() })),
      Effect.catch((failure) => Effect.succeed<Body>({ text: text + decoder.decode(), failure }))
    )
  })

export interface Transport {
  readonly context: ErrorBody.Context
  /** The deployment's key out of upstream text (a proxy may echo it). */
  readonly scrub: (text: string) => string
  readonly transportFailure: (error: HttpClientError.HttpClientError) => LlmError.LlmError
  readonly brokenBody: (status: number, body: Body) => LlmError.LlmError
  /** A non-2xx answer: its body, headers and status, classified. */
  readonly failed: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<never, LlmError.LlmError>
}

export const make = (deployment: Deployment.Deployment): Transport => {
  const context: ErrorBody.Context = {
    provider: deployment.provider,
    deployment: deployment.id,
    secret: deployment.apiKey === undefined ? undefined : Redacted.value(deployment.apiKey)
  }
  const scrub = (text: string) => ErrorBody.scrub(text, context.secret) ?? text
  return {
    context,
    scrub,
    transportFailure: (error) =>
      ProviderError.connectionFailed(
        deployment.provider,
        deployment.id,
        error.reason._tag === "InvalidUrlError"
          ? "the api_base does not make a valid URL"
          : scrub(ErrorBody.describeCause(error.reason.cause ?? error.reason._tag))
      ),
    brokenBody: (status, body) => {
      const excerpt = ProviderError.excerpt(scrub(body.text))
      return new LlmError.ConnectionFailed({
        provider: deployment.provider,
        deployment: deployment.id,
        status,
        message: `${deployment.provider} (${deployment.id}) broke off the response: ${
          scrub(ErrorBody.describeCause(body.failure?.reason.cause ?? body.failure?.reason._tag))
        }`,
        ...(excerpt !== undefined ? { body: excerpt } : {})
      })
    },
    failed: (response) =>
      Effect.gen(function*() {
        const body = yield* readBody(response)
        const now = yield* Clock.currentTimeMillis
        return yield* Effect.fail(ErrorBody.classify(
          context,
          response.status,
          body.text,
          ErrorBody.parse(body.text),
          ProviderError.retryAfterFromHeaders(response.headers, now)
        ))
      })
  }
}

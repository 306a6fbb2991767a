/**
 * Where every routed request starts: the group must serve this kind of call (`admit`), the
 * request's per-request override fields are taken off it (`takeOverrides`), and its `Run` is
 * made (`newRun`), with its session and its overrides from the body and from the context.
 */
import { type Fiber, Result, type Tracer } from "effect"
import * as LlmError from "../LlmError.ts"
import * as Overrides from "../Overrides.ts"
import type { ComplexityRoute } from "../RouteInfo.ts"
import * as SessionAffinity from "../SessionAffinity.ts"
import { type Engine, modeRefusal, resolveGroup } from "./Engine.ts"
import { ROUTER, type Routable, type Run } from "./Run.ts"

/**
 * A new run of `request` on `group`; `estimate` counts its input tokens when a check needs them;
 * `complexity` is the complexity router's choice of `group`, when one made it.
 */
export const newRun = <Req extends Routable>(
  engine: Engine,
  fiber: Fiber.Fiber<unknown, unknown>,
  request: Req,
  group: string,
  streaming: boolean,
  startedAt: number,
  span: Tracer.Span | undefined,
  estimate: (request: Req) => number,
  overrides: Overrides.Overrides | undefined,
  complexity?: ComplexityRoute | undefined
): Run<Req> => ({
  request,
  group,
  streaming,
  startedAt,
  attempts: 0,
  fallbacks: [],
  visited: undefined,
  excluded: undefined,
  failed: undefined,
  estimatedTokens: undefined,
  estimate,
  session: engine.pins === undefined ? undefined : SessionAffinity.sessionOf(fiber.getRef(SessionAffinity.SessionId), request),
  span,
  overrides: Overrides.merge(fiber.getRef(Overrides.Current), overrides),
  complexity
})

/**
 * Where every routed call starts: the group must serve this kind of call (`modeRefusal`), and
 * the request's per-request override fields are taken off it (`takeOverrides`). A `BadRequest`
 * when either refuses.
 */
export const admit = <Req extends Routable>(
  engine: Engine,
  group: string,
  wanted: "chat" | "embedding",
  asked: Req
): Result.Result<readonly [Req, Overrides.Overrides | undefined], LlmError.LlmError> => {
  const refused = modeRefusal(engine, group, wanted)
  if (refused !== undefined) return Result.fail(refused)
  return Overrides.inBody(asked) ? takeOverrides(engine, asked) : Result.succeed([asked, undefined])
}

/**
 * The request without its override fields and what they say (`Overrides`), or a `BadRequest`:
 * a malformed field, or a fallback that names no group. (Asked only when `Overrides.inBody`.)
 */
export const takeOverrides = <Req extends Routable>(
  engine: Engine,
  request: Req
): Result.Result<readonly [Req, Overrides.Overrides | undefined], LlmError.LlmError> => {
  const taken = Overrides.takeFromBody(request)
  if (Result.isFailure(taken)) return taken
  const [rest, overrides] = taken.success
  if (overrides.fallbacks === undefined) return taken
  const groups: Array<string> = []
  for (const name of overrides.fallbacks) {
    const group = resolveGroup(engine, name)
    if (group === undefined) {
      return Result.fail(
        new LlmError.BadRequest({
          provider: ROUTER,
          status: 400,
          param: "fallbacks",
          message: `fallbacks: unknown model group "${name.length > 200 ? name.slice(0, 200) + "…" : name}"`
        })
      )
    }
    groups.push(group)
  }
  return Result.succeed([rest, { ...overrides, fallbacks: groups }])
}


/**
 * Spans for operations that return data (pages of events, loaded states, command results): what
 * Facta's stores and aggregates trace with, for backends to use too.
 *
 * `Effect.useSpan` and `Effect.withSpan` end a span with the operation's `Exit`, and the span
 * keeps it: with it the value the operation returned, a whole page of events on every read.
 * That alone would only delay its collection, but V8 pretenures allocation sites whose objects
 * tend to survive, and once it pretenures what holds an ended span's exit, an old-generation
 * object points at the value: it then survives every young-generation collection until the
 * next full one, and every page a read returned is copied and promoted (docs/performance.md
 * has the measurement).
 *
 * The spans here end like Effect's, with the same timing, except that a success ends them with
 * `Exit.void`: tracers read a span's outcome (success, or the failure's cause, which is kept),
 * not the value returned.
 */
import type { Tracer } from "effect"
import { Clock, Context, Effect, Exit, FiberRef } from "effect"

/**
 * `Effect.useSpan(name, { attributes, captureStackTrace: false }, body)`, ending the span with
 * `Exit.void` when `body` succeeds (see the module's comment). `body` gets the span as a handle,
 * to set attributes or to parent other spans (it is not made the current span).
 *
 * @since 0.1.0
 * @category tracing
 */
export const useSpan = <A, E, R>(
  name: string,
  attributes: Record<string, unknown>,
  body: (span: Tracer.Span) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.makeSpan(name, { captureStackTrace: false, attributes }),
    (span) => Effect.onExit(body(span), (exit) => endSpan(span, exit))
  )

/**
 * `Effect.withSpan(self, name, { attributes, captureStackTrace: false })`, ending the span with
 * `Exit.void` when `self` succeeds (see the module's comment): `self` runs with the span as its
 * current span.
 *
 * @since 0.1.0
 * @category tracing
 */
export const withSpan = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  name: string,
  attributes: Record<string, unknown> = {}
): Effect.Effect<A, E, R> => useSpan(name, attributes, (span) => Effect.withParentSpan(self, span))

const endSpan = (span: Tracer.Span, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    if (span.status._tag !== "Ended") {
      const endTime = fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
        ? Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeNanos()
        : 0n
      span.end(endTime, Exit.isSuccess(exit) ? Exit.void : exit)
    }
    return Effect.void
  })

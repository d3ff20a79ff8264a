/**
 * Runs a projection's own code (its handler, setup or reset) with the services it was built
 * with, the one way the runner and inline projections both do.
 */
import type { Context } from "effect"
import { Cause, Effect } from "effect"
import type * as Projection from "../Projection.js"
import type { RecordedEvent } from "../RecordedEvent.js"

/** The projection's handling of `events`: `handleBatch` for more than one when it has one, else `handle` on each. */
export const handleEvents = (
  projection: Projection.Any,
  events: ReadonlyArray<RecordedEvent<never>>
): Effect.Effect<void, unknown, unknown> =>
  projection.handleBatch !== undefined && events.length > 1
    ? projection.handleBatch(events)
    : Effect.forEach(events, (event) => projection.handle(event), { discard: true })

/** Runs `code` with `context`; a failure or defect becomes `onFailure` of its squashed cause, interruption stays. */
export const runWithContext = <E>(
  code: Effect.Effect<void, unknown, unknown>,
  context: Context.Context<never>,
  onFailure: (cause: unknown) => E
): Effect.Effect<void, E> =>
  Effect.catchAllCause(
    Effect.provide(code as Effect.Effect<void, unknown, never>, context),
    (cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.fail(onFailure(Cause.squash(cause)))
  )

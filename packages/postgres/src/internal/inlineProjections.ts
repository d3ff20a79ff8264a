/**
 * Inline projections: handlers run inside the append's transaction, on the events it recorded.
 */
import type { RecordedEvent } from "@facta/core"
import { EventCatalog, Projection } from "@facta/core"
import type { Context } from "effect"
import { Cause, Effect } from "effect"

/** The text before the first `-`, as the `category` column computes it. */
const categoryOf = (streamId: string): string => streamId.split("-", 1)[0]

const matches = (filter: Projection.Any["filter"], event: RecordedEvent.RecordedEvent): boolean =>
  (filter.categories === undefined || filter.categories.includes(categoryOf(event.streamId))) &&
  (filter.types === undefined || filter.types.includes(event.type))

/**
 * Builds the step that hands one append's recorded events to every inline projection, in the
 * order given, each with the events its filter selects (decoded, upcast). Any failure, defect
 * or undecodable event becomes `InlineProjectionFailed`, so the caller's transaction rolls back.
 */
export const make = <R>(
  projections: ReadonlyArray<Projection.Any>,
  context: Context.Context<R>
) => {
  const prepared = projections.map((projection) => ({ projection, decode: Projection.decodeFor(projection) }))
  return (appended: ReadonlyArray<RecordedEvent.RecordedEvent>): Effect.Effect<void, Projection.InlineProjectionFailed> =>
    Effect.forEach(prepared, ({ decode, projection }) => {
      const failed = (cause: unknown) =>
        new Projection.InlineProjectionFailed({ projection: projection.name, streamId: appended[0].streamId, cause })
      const decoded: Array<RecordedEvent.RecordedEvent<never>> = []
      for (const event of appended) {
        if (!matches(projection.filter, event)) continue
        const result = decode(event)
        if (result instanceof EventCatalog.EventDecodeError || result instanceof EventCatalog.UnknownEventType) {
          return Effect.fail(failed(result))
        }
        if (result !== undefined) decoded.push(result as RecordedEvent.RecordedEvent<never>)
      }
      if (decoded.length === 0) return Effect.void
      const run = projection.handleBatch !== undefined && decoded.length > 1
        ? projection.handleBatch(decoded)
        : Effect.forEach(decoded, projection.handle, { discard: true })
      return Effect.provide(run as Effect.Effect<void, unknown, R>, context).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.fail(failed(Cause.squash(cause)))
        )
      )
    }, { discard: true })
}

/**
 * Inline projections: projections that run inside each append, on the events it records, before
 * anyone can read them, so their read model is never behind the log (a uniqueness index, say). A
 * failing one rejects the append with `InlineProjectionFailed`. This module sits above both
 * `EventStore` and `Projection`: the in-memory store with inline projections, and the steps that
 * store implementations run (`setupInline`, `makeInline`).
 *
 * @since 0.1.0
 */
import { Cause, Effect, Layer } from "effect"
import type { Context } from "effect"
import * as EventCatalog from "./EventCatalog.js"
import { matches as matchesEventFilter } from "./EventFilter.js"
import * as EventStore from "./EventStore.js"
import { InlineProjectionFailed } from "./EventStoreError.js"
import { makeMemoryBackend } from "./internal/memoryEventStore.js"
import { handleEvents, runWithContext } from "./internal/runHandler.js"
import * as Projection from "./Projection.js"
import type { RecordedEvent } from "./RecordedEvent.js"

/**
 * For event store implementations: runs the `setup` of each inline projection, in order, when
 * the store starts, each inside `atomically` (a transaction of its own on SQL stores; the
 * identity by default). A failure or defect becomes `SetupFailed`, and the store should not start.
 *
 * @since 0.1.0
 * @category inline
 */
export const setupInline = <R>(
  projections: ReadonlyArray<Projection.Any>,
  context: Context.Context<R>,
  atomically: <A, E, R2>(effect: Effect.Effect<A, E, R2>) => Effect.Effect<A, unknown, R2> = (effect) => effect
): Effect.Effect<void, Projection.SetupFailed> =>
  Effect.forEach(projections, (projection) =>
    projection.setup === undefined ? Effect.void : atomically(
      Effect.provide(projection.setup as Effect.Effect<void, unknown, R>, context)
    ).pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.fail(new Projection.SetupFailed({ projection: projection.name, cause: Cause.squash(cause) }))
      )
    ), { discard: true })

/**
 * For event store implementations: the step that hands one append's recorded events to inline
 * projections, each in the order given with the events its filter selects (decoded, upcast).
 * The store runs it inside the append's transaction; any failure, defect or undecodable event
 * becomes `InlineProjectionFailed`, so the store records nothing.
 *
 * @since 0.1.0
 * @category inline
 */
export const makeInline = <R>(projections: ReadonlyArray<Projection.Any>, context: Context.Context<R>) => {
  const prepared = projections.map((projection) => ({ projection, decode: Projection.decodeFor(projection) }))
  return (appended: ReadonlyArray<RecordedEvent>): Effect.Effect<void, InlineProjectionFailed> =>
    Effect.forEach(prepared, ({ decode, projection }) => {
      const failed = (cause: unknown) =>
        new InlineProjectionFailed({ projection: projection.name, streamId: appended[0].streamId, cause })
      const decoded: Array<RecordedEvent<never>> = []
      for (const event of appended) {
        if (!matchesEventFilter(projection.filter, event)) continue
        const result = decode(event)
        if (result instanceof EventCatalog.EventDecodeError || result instanceof EventCatalog.UnknownEventType) {
          return Effect.fail(failed(result))
        }
        if (result !== undefined) decoded.push(result as RecordedEvent<never>)
      }
      if (decoded.length === 0) return Effect.void
      return runWithContext(handleEvents(projection, decoded), context, failed)
    }, { discard: true })
}

/**
 * An in-memory event store whose `projections` run inside each append, on the events it
 * records, before anyone can read them; a handler's failure rejects the append with
 * `InlineProjectionFailed` and records no event. The store cannot roll back what a handler wrote
 * to its own (in-memory) read model before failing: write such read models last, or
 * idempotently. A repeated (idempotent) append does not run them again. Each projection's
 * `setup` runs first, once, in order; one that fails fails the store with `SetupFailed`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = <const Inline extends ReadonlyArray<Projection.Any>>(
  projections: Inline,
  options: EventStore.MemoryOptions = {}
): Effect.Effect<EventStore.EventStoreShape, Projection.SetupFailed, Projection.Context<Inline[number]>> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<Projection.Context<Inline[number]>>()
    yield* setupInline(projections, context)
    const inline = projections.length === 0 ? undefined : makeInline(projections, context)
    return EventStore.make(yield* makeMemoryBackend(inline === undefined ? {} : { inline }), options)
  })

/**
 * A layer with a fresh in-memory event store running `projections` inside each append (see
 * {@link makeMemory}), after their `setup`s.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = <const Inline extends ReadonlyArray<Projection.Any>>(
  projections: Inline,
  options: EventStore.MemoryOptions = {}
): Layer.Layer<EventStore.EventStore, Projection.SetupFailed, Projection.Context<Inline[number]>> =>
  Layer.effect(EventStore.EventStore, makeMemory(projections, options))

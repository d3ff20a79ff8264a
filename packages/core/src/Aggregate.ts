/**
 * Aggregate definitions and loading. An aggregate binds a decider to its event catalog, its
 * stream category and, optionally, a state schema and snapshot policy. Loading reads the latest
 * usable snapshot plus the events after it and folds them with `evolve`; temporal loads give the
 * state as of a stream version or a point in time.
 *
 * @since 0.1.0
 */
import { Effect, Either, Metric, Option, Schema } from "effect"
import type * as Decider from "./Decider.js"
import * as EventCatalog from "./EventCatalog.js"
import * as EventStore from "./EventStore.js"
import { invalid } from "./internal/fastDecode.js"
import { type PayloadDecoder, payloadDecoder } from "./internal/payloadDecoder.js"
import * as Metrics from "./Metrics.js"
import * as SnapshotStore from "./SnapshotStore.js"
import * as Spans from "./Spans.js"
import * as StreamId from "./StreamId.js"

/**
 * When and how to snapshot an aggregate's state.
 *
 * @since 0.1.0
 * @category models
 */
export interface SnapshotPolicy<S, SI = unknown> {
  /** Encodes the state to JSON and back. */
  readonly schema: Schema.Schema<S, SI, never>
  /** The state schema's version; snapshots of another version are ignored. Default 1. */
  readonly schemaVersion?: number
  /** Take a snapshot each time the stream crosses a multiple of this many events. */
  readonly every: number
}

/**
 * An aggregate definition.
 *
 * @since 0.1.0
 * @category models
 */
export interface Aggregate<C, S, E extends { readonly _tag: string }, Err = never, R = never> {
  /** The stream category: streams are named `"<category>-<id>"`. */
  readonly category: string
  /** Encodes the events for appending, and decodes (and upcasts) the stream's events when loading. */
  readonly catalog: EventCatalog.EventCatalog<E>
  /** Decides commands into events and folds events into the state. */
  readonly decider: Decider.Decider<C, S, E, Err, R>
  /** When to snapshot the state; without it, loading always folds the whole stream. */
  readonly snapshots?: SnapshotPolicy<S>
}

/**
 * Defines an aggregate. Throws at definition time when the category is empty or contains `-`,
 * or when the snapshot interval is not a positive integer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <C, S, E extends { readonly _tag: string }, Err = never, R = never, SI = unknown>(
  definition: Omit<Aggregate<C, S, E, Err, R>, "snapshots"> & { readonly snapshots?: SnapshotPolicy<S, SI> }
): Aggregate<C, S, E, Err, R> => {
  if (definition.category.length === 0 || definition.category.includes("-")) {
    throw new TypeError(
      `Aggregate.make: the category ${JSON.stringify(definition.category)} must be non-empty, without "-"`
    )
  }
  if (
    definition.snapshots !== undefined &&
    !(Number.isSafeInteger(definition.snapshots.every) && definition.snapshots.every > 0)
  ) {
    throw new TypeError(`Aggregate.make: snapshots.every must be a positive integer`)
  }
  // Snapshots only ever go to and from JSON, so the encoded side needs no type beyond `unknown`.
  return definition as Aggregate<C, S, E, Err, R>
}

/**
 * The stream id of the aggregate instance `id`: `"<category>-<id>"`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const streamId = (
  aggregate: { readonly category: string },
  id: string
): Effect.Effect<StreamId.StreamId, StreamId.InvalidStreamId> => StreamId.fromCategory(aggregate.category, id)

/**
 * Checks that a stream id is valid and belongs to the aggregate's category.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateStreamId = (
  aggregate: { readonly category: string },
  id: string
): Effect.Effect<StreamId.StreamId, StreamId.InvalidStreamId> =>
  Either.match(streamIdOf(aggregate, id), { onLeft: Effect.fail, onRight: Effect.succeed })

const streamIdOf = (
  aggregate: { readonly category: string },
  id: string
): Either.Either<StreamId.StreamId, StreamId.InvalidStreamId> =>
  Either.flatMap(
    StreamId.either(id),
    (valid) =>
      StreamId.category(valid) === aggregate.category && valid.length > aggregate.category.length + 1
        ? Either.right(valid)
        : Either.left(
          new StreamId.InvalidStreamId({
            streamId: id,
            reason: `streams of this aggregate are named "${aggregate.category}-<id>"`
          })
        )
  )

/**
 * A loaded aggregate state.
 *
 * @since 0.1.0
 * @category models
 */
export interface Loaded<S> {
  /** The stream the state was loaded from. */
  readonly streamId: StreamId.StreamId
  /** The state after the stream's events, folded from a snapshot or from the initial state. */
  readonly state: S
  /** The stream version the state includes (0 for a stream with no events). */
  readonly version: number
  /** The version of the snapshot loading started from, if any. */
  readonly snapshotVersion: Option.Option<number>
  /** How many events were folded on top of the snapshot or initial state. */
  readonly eventsFolded: number
}

/**
 * Everything loading can fail with. Snapshot problems never fail a load: they fall back to
 * replaying the events.
 *
 * @since 0.1.0
 * @category errors
 */
export type LoadError = EventStore.ReadError | EventCatalog.DecodeError

/**
 * Which state to load: the latest (default), as of a stream version, or as of a time (the
 * events recorded at or before it).
 *
 * @since 0.1.0
 * @category models
 */
export type AsOf =
  | {
    /** The state including the events up to this stream version (0: the initial state). */
    readonly version: number
  }
  | {
    /** The state including the events recorded at or before this time. */
    readonly time: Date
  }

interface Start<S> {
  readonly state: S
  readonly version: number
  readonly snapshotVersion: Option.Option<number>
}

const fromScratch = <S>(initialState: S): Start<S> => ({
  state: initialState,
  version: 0,
  snapshotVersion: Option.none()
})

/** The latest snapshot that fits the current state schema and version bound, or the initial state. */
const startingPoint = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate<C, S, E, Err, R>,
  id: StreamId.StreamId,
  maxVersion: number
): Effect.Effect<Start<S>> => {
  const policy = aggregate.snapshots
  const initial = fromScratch(aggregate.decider.initialState)
  if (policy === undefined) return Effect.succeed(initial)
  const schemaVersion = policy.schemaVersion ?? 1
  const decodeState = Schema.decodeUnknownEither(policy.schema)
  return Effect.serviceOption(SnapshotStore.SnapshotStore).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeed(initial),
      onSome: (store) =>
        store.load(id).pipe(
          Effect.map((found) => {
            if (Option.isNone(found)) return initial
            const snapshot = found.value
            if (snapshot.schemaVersion !== schemaVersion || snapshot.version > maxVersion || snapshot.version < 1) {
              return initial
            }
            const decoded = decodeState(snapshot.state)
            return Either.isRight(decoded)
              ? { state: decoded.right, version: snapshot.version, snapshotVersion: Option.some(snapshot.version) }
              : initial
          }),
          Effect.catchAll((error) =>
            Effect.as(Effect.logWarning("Snapshot load failed; replaying the stream instead", error), initial)
          )
        )
    }))
  )
}

const pageSize = 1_000

/** The state after folding a page from some index on, and where folding stopped (-1: the page's end). */
interface PageFold<S> {
  readonly state: S
  readonly invalidAt: number
}

/**
 * Folds the events of `page` from `index` on into `state`, stopping at the first event the fast
 * decoder rejects. A plain loop outside any Effect or generator: it runs once per event loaded.
 */
const foldPage = <S, E>(
  decode: PayloadDecoder<E>,
  evolve: (state: S, event: E) => S,
  page: EventStore.PayloadPage,
  index: number,
  state: S
): PageFold<S> => {
  const { data, schemaVersions, types } = page
  for (; index < types.length; index++) {
    const event = decode(types[index], schemaVersions[index], data[index])
    if (event === invalid) return { state, invalidAt: index }
    state = evolve(state, event)
  }
  return { state, invalidAt: -1 }
}

/**
 * Folds the stream's events after `start` (up to version `to`) into the state, page by page,
 * reading only what decoding needs. An event that does not decode is read again with its
 * envelope, so the error names where it is.
 */
const foldEvents = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate<C, S, E, Err, R>,
  id: StreamId.StreamId,
  start: Start<S>,
  to: number
): Effect.Effect<Loaded<S>, LoadError, EventStore.EventStore> =>
  Effect.flatMap(EventStore.EventStore, (store) => {
    const decode = payloadDecoder(aggregate.catalog)
    const evolve = aggregate.decider.evolve
    const readPage = (state: S, version: number, folded: number): Effect.Effect<Loaded<S>, LoadError> =>
      Effect.flatMap(
        store.readStreamPayloads(id, { from: version + 1, to, limit: pageSize }),
        (page) => continuePage(page, 0, state, version, folded)
      )
    const continuePage = (
      page: EventStore.PayloadPage,
      index: number,
      state: S,
      version: number,
      folded: number
    ): Effect.Effect<Loaded<S>, LoadError> => {
      const fold = foldPage(decode, evolve, page, index, state)
      if (fold.invalidAt !== -1) {
        return Effect.flatMap(
          explainDecodeFailure(store, aggregate.catalog, id, page.streamVersions[fold.invalidAt]),
          (event) => continuePage(page, fold.invalidAt + 1, evolve(fold.state, event), version, folded)
        )
      }
      const count = page.types.length
      const last = count === 0 ? version : page.streamVersions[count - 1]
      return page.more
        ? readPage(fold.state, last, folded + count)
        : Effect.succeed({
          streamId: id,
          state: fold.state,
          version: last,
          snapshotVersion: start.snapshotVersion,
          eventsFolded: folded + count
        })
    }
    return readPage(start.state, start.version, 0)
  })

/**
 * The typed error for the event at `streamVersion`, decoded again from its full envelope (or the
 * event, should it decode this time).
 */
const explainDecodeFailure = <E extends { readonly _tag: string }>(
  store: EventStore.EventStoreShape,
  catalog: EventCatalog.EventCatalog<E>,
  id: StreamId.StreamId,
  streamVersion: number
): Effect.Effect<E, LoadError> =>
  Effect.flatMap(store.readStreamBatch(id, { from: streamVersion, to: streamVersion, limit: 1 }), ([recorded]) => {
    if (recorded === undefined) {
      return Effect.dieMessage(`Aggregate.load: event ${streamVersion} of ${id} vanished while loading`)
    }
    const decoded = EventCatalog.decodeDataOrError(catalog)(recorded)
    return decoded instanceof EventCatalog.EventDecodeError || decoded instanceof EventCatalog.UnknownEventType
      ? Effect.fail(decoded)
      : Effect.succeed(decoded)
  })

/** Folds the events recorded at or before `until` (epoch ms), reading full envelopes for their time. */
const foldEventsUntil = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate<C, S, E, Err, R>,
  id: StreamId.StreamId,
  until: number
): Effect.Effect<Loaded<S>, LoadError, EventStore.EventStore> =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const decode = EventCatalog.decodeDataOrError(aggregate.catalog)
    const evolve = aggregate.decider.evolve
    let state = aggregate.decider.initialState
    let version = 0
    let folded = 0
    for (;;) {
      const page = yield* store.readStreamBatch(id, { from: version + 1, limit: pageSize })
      for (const recorded of page) {
        if (recorded.recordedAt.getTime() > until) {
          return { streamId: id, state, version, snapshotVersion: Option.none(), eventsFolded: folded }
        }
        const decoded = decode(recorded)
        if (decoded instanceof EventCatalog.EventDecodeError || decoded instanceof EventCatalog.UnknownEventType) {
          return yield* Effect.fail(decoded)
        }
        state = evolve(state, decoded)
        version = recorded.streamVersion
        folded++
      }
      if (page.length < pageSize) {
        return { streamId: id, state, version, snapshotVersion: Option.none(), eventsFolded: folded }
      }
    }
  })

/**
 * Loads an aggregate's state: the latest usable snapshot (when the aggregate has a snapshot
 * policy and a `SnapshotStore` is provided) plus the events after it. A snapshot of another
 * state schema version, one above the stream's version, or one that does not decode is ignored
 * and the state is rebuilt from the events. With `asOf`, loads the state as of a stream
 * version or a time.
 *
 * @since 0.1.0
 * @category loading
 */
export const load = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate<C, S, E, Err, R>,
  streamId: string,
  asOf?: AsOf
): Effect.Effect<Loaded<S>, LoadError, EventStore.EventStore> =>
  // Combinators rather than Effect.gen, and the span's own handle rather than annotateCurrentSpan:
  // a load's fixed cost is paid by every command.
  Spans.useSpan("Aggregate.load", {
    "facta.stream_id": streamId,
    "facta.category": aggregate.category,
    ...asOfAttributes(asOf)
  }, (span) =>
    Effect.withParentSpan(
      Either.match(streamIdOf(aggregate, streamId), {
        onLeft: Effect.fail,
        onRight: (id) => loadValid(aggregate, id, asOf)
      }),
      span
    ).pipe(
      Effect.tap((loaded) => {
        span.attribute("facta.version", loaded.version)
        span.attribute("facta.events_folded", loaded.eventsFolded)
        return Metric.increment(Metrics.aggregateLoads)
      })
    ))

const loadValid = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate<C, S, E, Err, R>,
  id: StreamId.StreamId,
  asOf: AsOf | undefined
): Effect.Effect<Loaded<S>, LoadError, EventStore.EventStore> => {
  if (asOf !== undefined && "time" in asOf) return foldEventsUntil(aggregate, id, asOf.time.getTime())
  const to = asOf === undefined ? Number.MAX_SAFE_INTEGER : Math.max(0, asOf.version)
  if (aggregate.snapshots === undefined) {
    return foldEvents(aggregate, id, fromScratch(aggregate.decider.initialState), to)
  }
  return Effect.flatMap(
    startingPoint(aggregate, id, to),
    (start) =>
      Effect.flatMap(
        foldEvents(aggregate, id, start, to),
        (loaded) =>
          loaded.eventsFolded === 0 && Option.isSome(start.snapshotVersion)
            // No events after the snapshot: make sure the stream really reaches the snapshot's version.
            ? Effect.flatMap(EventStore.streamVersion(id), (actual) =>
              Option.getOrElse(actual, () => 0) < start.version
                ? foldEvents(aggregate, id, fromScratch(aggregate.decider.initialState), to)
                : Effect.succeed(loaded))
            : Effect.succeed(loaded)
      )
  )
}

const asOfAttributes = (asOf: AsOf | undefined): Record<string, unknown> =>
  asOf === undefined
    ? {}
    : "time" in asOf
    ? { "facta.as_of_time": asOf.time.toISOString() }
    : { "facta.as_of_version": asOf.version }

/**
 * Saves a snapshot of `state` at `version` when the aggregate's policy says so (the stream
 * crossed a multiple of `every` between `previousVersion` and `version`) and a `SnapshotStore`
 * is provided. Never fails: a failed write is logged and counted, and loading falls back to events.
 *
 * @since 0.1.0
 * @category snapshots
 */
export const snapshotIfDue = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate<C, S, E, Err, R>,
  streamId: StreamId.StreamId,
  previousVersion: number,
  version: number,
  state: S
): Effect.Effect<boolean> => {
  const policy = aggregate.snapshots
  if (policy === undefined || Math.floor(version / policy.every) <= Math.floor(previousVersion / policy.every)) {
    return Effect.succeed(false)
  }
  return Effect.serviceOption(SnapshotStore.SnapshotStore).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeed(false),
      onSome: (store) =>
        Schema.encode(policy.schema)(state).pipe(
          Effect.flatMap((encoded) =>
            store.save(streamId, { version, schemaVersion: policy.schemaVersion ?? 1, state: encoded })
          ),
          Effect.zipRight(Metric.increment(Metrics.snapshotsSaved)),
          Effect.as(true),
          Effect.catchAllCause((cause) =>
            Effect.logWarning("Snapshot write failed; the command succeeded and loads will replay events", cause).pipe(
              Effect.zipRight(Metric.increment(Metrics.snapshotFailures)),
              Effect.as(false)
            )
          )
        )
    })),
    Effect.withSpan("Aggregate.snapshot", { attributes: { "facta.stream_id": streamId, "facta.version": version } })
  )
}

/**
 * The event store: append-only streams of events with optimistic concurrency, a global log,
 * and catch-up + live subscriptions.
 *
 * The service works with encoded events (JSON payloads). Decode them into domain events with an
 * `EventCatalog` (see `EventCatalog.readStream` and friends), which also runs upcasters.
 *
 * @since 0.1.0
 */
import type { Tracer } from "effect"
import { Context, Effect, Either, FiberRef, Layer, Metric, Option, Stream } from "effect"
import { type EventFilter, matches as matchesEventFilter } from "./EventFilter.js"
import type {
  AppendResult,
  Backend,
  EventLocation,
  HeldBack,
  PayloadPage,
  SerializedEvent
} from "./EventStoreBackend.js"
import type { AppendError, ReadError } from "./EventStoreError.js"
import { DuplicateEventId, EventStoreUnavailable, InvalidEvent } from "./EventStoreError.js"
import * as ExpectedVersion from "./ExpectedVersion.js"
import { depthCeiling, Inexact, toExactJson } from "./internal/exactJson.js"
import { makeMemoryBackend } from "./internal/memoryEventStore.js"
import * as Metrics from "./Metrics.js"
import * as Position from "./Position.js"
import type { NewEvent, RecordedEvent } from "./RecordedEvent.js"
import * as Spans from "./Spans.js"
import * as StreamId from "./StreamId.js"

// ---------------------------------------------------------------------------------------------
// errors and models (defined below the store, re-exported here)
// ---------------------------------------------------------------------------------------------

export {
  /** @since 0.1.0 */
  ConcurrencyConflict,
  /** @since 0.1.0 */
  DuplicateEventId,
  /** @since 0.1.0 */
  EventStoreUnavailable,
  /** @since 0.1.0 */
  InvalidEvent
} from "./EventStoreError.js"

export type {
  /** @since 0.1.0 */
  AppendError,
  /** @since 0.1.0 */
  ReadError
} from "./EventStoreError.js"

export type {
  /** @since 0.1.0 */
  AppendResult,
  /** @since 0.1.0 */
  Backend,
  /** @since 0.1.0 */
  BlockingSession,
  /** @since 0.1.0 */
  EventLocation,
  /** @since 0.1.0 */
  HeldBack,
  /** @since 0.1.0 */
  PayloadPage,
  /** @since 0.1.0 */
  SerializedEvent
} from "./EventStoreBackend.js"

export type {
  /** @since 0.1.0 */
  EventFilter
} from "./EventFilter.js"

// ---------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------

/**
 * How to read one stream. `from` and `to` bound the versions read (inclusive) whatever the
 * direction; `limit` caps how many are returned, counted in the direction of reading.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadStreamOptions {
  /** The lowest version to read (inclusive; default 1). */
  readonly from?: number
  /** The highest version to read (inclusive; default: the stream's last). */
  readonly to?: number
  /** `"forwards"` (default) reads oldest first, `"backwards"` newest first. */
  readonly direction?: "forwards" | "backwards"
  /** The most events to return (default: no limit). */
  readonly limit?: number
}

/**
 * How to read the global log: the events strictly after `after` (default: from the start), in
 * log order, at most `limit`, that pass `filter`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadAllOptions {
  /** Read the events strictly after this position (default: from the start of the log). */
  readonly after?: Position.Position
  /** The most events to return (default: no limit). */
  readonly limit?: number
  /** Which events to return (default: all). */
  readonly filter?: EventFilter
}

/**
 * How to subscribe: catch up from `after` (default: the start), then follow live appends.
 * `batchSize` is how many events one catch-up read fetches.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubscribeOptions {
  /** Deliver the events strictly after this position, typically a checkpoint (default: from the start). */
  readonly after?: Position.Position
  /** Which events to deliver (default: all). */
  readonly filter?: EventFilter
  /** How many events one catch-up read fetches (default 500). */
  readonly batchSize?: number
}

/**
 * The limits on what one event of an append may hold, checked by {@link make} for every store
 * alike (so the in-memory store refuses what PostgreSQL would): an event over one fails the
 * append with `InvalidEvent`, whose reason names the limit. Every store's options take them.
 *
 * @since 0.1.0
 * @category models
 */
export interface PayloadLimits {
  /**
   * The most bytes (UTF-8) of JSON text an event's payload may take, and its metadata too
   * (default {@link defaultMaxPayloadBytes}, 1 MiB; PostgreSQL's jsonb stops short of 256 MiB).
   */
  readonly maxPayloadBytes?: number
  /**
   * How many levels of objects and arrays may nest in a payload or metadata: `{ "a": [1] }` is
   * 2 (default {@link defaultMaxDepth}, 64; at most 1,000).
   */
  readonly maxDepth?: number
}

/**
 * The default of `PayloadLimits.maxPayloadBytes`: 1 MiB.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultMaxPayloadBytes = 1_048_576

/**
 * The default of `PayloadLimits.maxDepth`: 64 levels.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultMaxDepth = 64

// ---------------------------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------------------------

/**
 * The event store service.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventStoreShape {
  /**
   * Appends `events` to `streamId` if the stream satisfies `expected`, atomically: all events or
   * none. Idempotent by event id: repeating an append that was recorded (same ids, same stream,
   * same versions) succeeds with `written: false` and writes nothing. So when an append's outcome
   * is unknown (it timed out or was interrupted, its connection was lost, its transaction's
   * COMMIT went unanswered), append the same events again, with the same ids, to learn it:
   * `written: false` means it had been recorded.
   */
  readonly append: (
    streamId: string,
    events: ReadonlyArray<NewEvent>,
    expected: ExpectedVersion.ExpectedVersion
  ) => Effect.Effect<AppendResult, AppendError>
  /** Reads one stream's events (encoded); an absent stream reads as empty. */
  readonly readStream: (streamId: string, options?: ReadStreamOptions) => Stream.Stream<RecordedEvent, ReadError>
  /**
   * Reads one page of a stream forwards (versions `from`..`to`, at most `limit`, default 1,000)
   * as a plain array: for loops that fold a stream page by page, like aggregate loading.
   */
  readonly readStreamBatch: (
    streamId: string,
    options?: { readonly from?: number; readonly to?: number; readonly limit?: number }
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, ReadError>
  /**
   * Reads one page of a stream forwards (versions `from`..`to`, at most `limit`, default 1,000)
   * with only type, schema version and payload per event: the cheapest read for folding.
   */
  readonly readStreamPayloads: (
    streamId: string,
    options?: { readonly from?: number; readonly to?: number; readonly limit?: number }
  ) => Effect.Effect<PayloadPage, ReadError>
  /** Reads the global log (encoded events) in order. */
  readonly readAll: (options?: ReadAllOptions) => Stream.Stream<RecordedEvent, EventStoreUnavailable>
  /**
   * Catches up on the global log and then follows live appends, forever. Never skips, repeats
   * or reorders events. Resume after a restart by passing the position of the last event handled.
   */
  readonly subscribe: (options?: SubscribeOptions) => Stream.Stream<RecordedEvent, EventStoreUnavailable>
  /** The stream's current version, or `None` when it does not exist. */
  readonly streamVersion: (streamId: string) => Effect.Effect<Option.Option<number>, ReadError>
  /**
   * Where the event with this id is recorded, or `None` (also for a string that is not a
   * UUID): how a retried command finds out that it was already recorded.
   */
  readonly locate: (eventId: string) => Effect.Effect<Option.Option<EventLocation>, EventStoreUnavailable>
  /**
   * The position of the last committed event (matching `filter`), or `None` for an empty log.
   * A reader that has handled this position has seen everything committed before the call.
   */
  readonly head: (filter?: EventFilter) => Effect.Effect<Option.Option<Position.Position>, EventStoreUnavailable>
  /**
   * How many committed events (matching `filter`) come after `after`: a reader's lag.
   */
  readonly countAfter: (after: Position.Position, filter?: EventFilter) => Effect.Effect<number, EventStoreUnavailable>
  /**
   * Whether delivery is held back: committed events (matching `filter`) that `readAll` and
   * `subscribe` cannot pass yet because an older transaction is still open, how long, and the
   * session holding them. `None` when readers can reach everything committed.
   */
  readonly heldBack: (filter?: EventFilter) => Effect.Effect<Option.Option<HeldBack>, EventStoreUnavailable>
}

/**
 * The `EventStore` service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class EventStore extends Context.Tag("@facta/core/EventStore")<EventStore, EventStoreShape>() {}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The events as the backend stores them, or why they cannot be. */
const serialize = (
  streamId: string,
  events: ReadonlyArray<NewEvent>,
  limits: { readonly maxBytes: number; readonly maxDepth: number }
): Array<SerializedEvent> | InvalidEvent | DuplicateEventId => {
  const seen = new Set<string>()
  const out: Array<SerializedEvent> = new Array(events.length)
  for (let index = 0; index < events.length; index++) {
    const event = events[index]
    if (typeof event.eventId !== "string" || !uuidPattern.test(event.eventId)) {
      return new InvalidEvent({ streamId, index, reason: `event id ${JSON.stringify(event.eventId)} is not a UUID` })
    }
    const eventId = event.eventId.toLowerCase()
    if (seen.has(eventId)) {
      return new DuplicateEventId({ streamId, eventId, reason: "it appears more than once in the same append" })
    }
    seen.add(eventId)
    if (typeof event.type !== "string" || event.type.length === 0 || event.type.length > 256) {
      return new InvalidEvent({
        streamId,
        index,
        reason: "the event type must be a non-empty string of at most 256 characters"
      })
    }
    const typeProblem = StreamId.validate(event.type)
    if (typeProblem !== undefined) {
      return new InvalidEvent({
        streamId,
        index,
        reason: `the event type ${typeProblem.replace("a stream id", "").trim()}`
      })
    }
    // At most PostgreSQL's integer, so every store takes the same versions.
    if (!Number.isSafeInteger(event.schemaVersion) || event.schemaVersion < 1 || event.schemaVersion > 2_147_483_647) {
      return new InvalidEvent({
        streamId,
        index,
        reason: `the schema version must be a positive integer of at most 2147483647, got ${
          String(event.schemaVersion)
        }`
      })
    }
    const data = toExactJson(event.data, "data", limits)
    if (data instanceof Inexact) return new InvalidEvent({ streamId, index, reason: data.reason })
    const { metadata } = event
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
      return new InvalidEvent({ streamId, index, reason: "the metadata is not an object" })
    }
    const metadataJson = toExactJson(metadata, "metadata", limits)
    if (metadataJson instanceof Inexact) return new InvalidEvent({ streamId, index, reason: metadataJson.reason })
    out[index] = { eventId, type: event.type, schemaVersion: event.schemaVersion, data, metadata: metadataJson }
  }
  return out
}

/** The limits `make` checks, each option in its range (a maximum is at least 1). */
const resolveLimits = (options: PayloadLimits): { readonly maxBytes: number; readonly maxDepth: number } => ({
  maxBytes: Math.max(1, Math.floor(wholeOrDefault(options.maxPayloadBytes, defaultMaxPayloadBytes))),
  maxDepth: Math.min(depthCeiling, Math.max(1, wholeOrDefault(options.maxDepth, defaultMaxDepth)))
})

const validateStreamId = (streamId: string) => StreamId.make(streamId)

/** `value` rounded down to a whole number, at least 0; `fallback` when it is absent or not finite. */
const wholeOrDefault = (value: number | undefined, fallback: number): number =>
  value === undefined || !Number.isFinite(value) ? fallback : Math.max(0, Math.floor(value))

const streamAttributes = (streamId: string) => ({ "facta.stream_id": streamId })

/**
 * `body` on the validated stream id, inside a span it gets as a handle rather than as the
 * current span (which costs a context switch per call; backends nest any spans of their own
 * under it): the shape of the operations that run on every command.
 */
const onStream = <A, E>(
  name: string,
  attributes: Record<string, unknown>,
  streamId: string,
  body: (id: StreamId.StreamId, span: Tracer.Span) => Effect.Effect<A, E>
): Effect.Effect<A, E | StreamId.InvalidStreamId> =>
  Spans.useSpan(name, attributes, (span): Effect.Effect<A, E | StreamId.InvalidStreamId> => {
    const id = StreamId.either(streamId)
    return Either.isLeft(id) ? Effect.fail(id.left) : body(id.right, span)
  })

/**
 * Builds the `EventStore` service from a storage backend: validates input, serializes payloads
 * (rejecting what JSON cannot carry exactly and what exceeds `limits`), and wraps every
 * operation in a span and the metrics of {@link Metrics}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (backend: Backend, limits: PayloadLimits = {}): EventStoreShape =>
  build(backend, resolveLimits(limits))

const build = (backend: Backend, limits: ReturnType<typeof resolveLimits>): EventStoreShape => ({
  // As few Effect steps as it takes: this runs on every append, and at 16 concurrent appends on
  // two cores each step's cost comes out of the append rate (bench/postgres.ts).
  append: (streamId, events, expected) =>
    onStream(
      "EventStore.append",
      {
        "facta.stream_id": streamId,
        "facta.expected_version": ExpectedVersion.format(expected),
        "facta.event_count": events.length
      },
      streamId,
      (id, span): Effect.Effect<AppendResult, AppendError> => {
        const serialized = serialize(id, events, limits)
        if (!Array.isArray(serialized)) return Effect.fail(serialized)
        // The metrics (with the fiber's metric labels, as `Metric.increment` would) and the span's
        // attributes, in one step after the backend's.
        return Effect.withFiberRuntime((fiber) => {
          const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
          return Effect.matchEffect(backend.append(id, serialized, expected, span), {
            onFailure: (error) => {
              if (error._tag === "ConcurrencyConflict") Metrics.conflicts.unsafeUpdate(1, labels)
              return Effect.fail(error)
            },
            onSuccess: (result) => {
              Metrics.appends.unsafeUpdate(1, labels)
              if (result.written) Metrics.eventsAppended.unsafeUpdate(serialized.length, labels)
              span.attribute("facta.next_expected_version", result.nextExpectedVersion)
              span.attribute("facta.written", result.written)
              return Effect.succeed(result)
            }
          })
        })
      }
    ),

  readStream: (streamId, options = {}) =>
    validateStreamId(streamId).pipe(
      Effect.map((id) =>
        backend.readStream(id, {
          from: Math.max(1, wholeOrDefault(options.from, 1)),
          to: wholeOrDefault(options.to, Number.MAX_SAFE_INTEGER),
          direction: options.direction ?? "forwards",
          limit: wholeOrDefault(options.limit, Number.MAX_SAFE_INTEGER)
        })
      ),
      Stream.unwrap,
      countReads,
      Stream.withSpan("EventStore.readStream", {
        attributes: { ...streamAttributes(streamId), "facta.direction": options.direction ?? "forwards" }
      })
    ),

  readStreamBatch: (streamId, options = {}) =>
    validateStreamId(streamId).pipe(
      Effect.flatMap((id) =>
        backend.readStreamBatch(id, {
          from: Math.max(1, wholeOrDefault(options.from, 1)),
          to: wholeOrDefault(options.to, Number.MAX_SAFE_INTEGER),
          limit: wholeOrDefault(options.limit, 1_000)
        })
      ),
      Effect.tap((events) => Metric.incrementBy(Metrics.eventsRead, events.length)),
      (read) =>
        Spans.withSpan(read, "EventStore.readStreamBatch", {
          ...streamAttributes(streamId),
          "facta.from": options.from ?? 1
        })
    ),

  // Every aggregate load reads through here: as lean as append, and the page handed on without
  // an effect that holds it (see countReads).
  readStreamPayloads: (streamId, options = {}) =>
    onStream(
      "EventStore.readStreamPayloads",
      { ...streamAttributes(streamId), "facta.from": options.from ?? 1 },
      streamId,
      (id, span) => {
        const range = {
          from: Math.max(1, wholeOrDefault(options.from, 1)),
          to: wholeOrDefault(options.to, Number.MAX_SAFE_INTEGER),
          limit: wholeOrDefault(options.limit, 1_000)
        }
        return Effect.withFiberRuntime((fiber) => {
          const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
          return Effect.map(backend.readStreamPayloads(id, range, span), (page) => {
            Metrics.eventsRead.unsafeUpdate(page.types.length, labels)
            return page
          })
        })
      }
    ),

  readAll: (options = {}) =>
    backend.readAll({
      after: options.after ?? Position.start,
      limit: wholeOrDefault(options.limit, Number.MAX_SAFE_INTEGER),
      filter: options.filter ?? {}
    }).pipe(
      countReads,
      Stream.withSpan("EventStore.readAll", {
        attributes: { "facta.after": Position.format(options.after ?? Position.start) }
      })
    ),

  subscribe: (options = {}) =>
    backend.subscribe({
      after: options.after ?? Position.start,
      filter: options.filter ?? {},
      batchSize: Math.max(1, wholeOrDefault(options.batchSize, 500))
    }).pipe(countReads),

  // Read before every Exact append of a command, so as lean as append.
  streamVersion: (streamId) =>
    onStream(
      "EventStore.streamVersion",
      streamAttributes(streamId),
      streamId,
      (id, span) =>
        Effect.map(backend.streamVersion(id, span), (version) => (version === 0 ? Option.none() : Option.some(version)))
    ),

  locate: (eventId) =>
    uuidPattern.test(eventId)
      ? Spans.withSpan(backend.locate(eventId.toLowerCase()), "EventStore.locate")
      : Effect.succeed(Option.none()),

  head: (filter = {}) => Spans.withSpan(backend.head(filter), "EventStore.head"),

  countAfter: (after, filter = {}) =>
    Spans.withSpan(backend.countAfter(after, filter), "EventStore.countAfter", {
      "facta.after": Position.format(after)
    }),

  heldBack: (filter = {}) => Spans.withSpan(backend.heldBack(filter), "EventStore.heldBack")
})

/**
 * Counts the events a read delivers (`facta.events.read`, with the reading fiber's metric labels).
 * Updated synchronously in a `mapChunks`, not by an effect per chunk: an effect that carries the
 * chunk (`Effect.as(increment, chunk)`) kept pages alive past V8's young-generation collections,
 * and long reads paid for it in garbage collection.
 */
const countReads = <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.unwrap(
    Effect.map(FiberRef.get(FiberRef.currentMetricLabels), (labels) =>
      Stream.mapChunks(stream, (chunk) => {
        Metrics.eventsRead.unsafeUpdate(chunk.length, labels)
        return chunk
      }))
  )

/**
 * An in-memory event store. It keeps payloads as JSON text, exactly as a database would, so
 * decoding and upcasting run as in production. For tests, demos and single-process tools.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<EventStoreShape> = Effect.map(makeMemoryBackend(), make)

/**
 * Options of the in-memory event store ({@link makeMemoryWith}, {@link layerMemoryWith}): its
 * payload limits. (Inline projections: `InlineProjection.makeMemory`.)
 *
 * @since 0.1.0
 * @category models
 */
export type MemoryOptions = PayloadLimits

/**
 * An in-memory event store with the given {@link PayloadLimits}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemoryWith = (options: MemoryOptions): Effect.Effect<EventStoreShape> =>
  Effect.map(makeMemoryBackend(), (backend) => make(backend, options))

/**
 * A layer with a fresh in-memory event store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<EventStore> = Layer.effect(EventStore, makeMemory)

/**
 * A layer with a fresh in-memory event store with the given {@link PayloadLimits}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemoryWith = (options: MemoryOptions): Layer.Layer<EventStore> =>
  Layer.effect(EventStore, makeMemoryWith(options))

/**
 * Appends `events` to `streamId` (accessor for the service in the context). An append whose
 * outcome is unknown (a timeout, a lost connection) is retried with the same event ids to learn
 * it (see `EventStoreShape.append`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const append = (
  streamId: string,
  events: ReadonlyArray<NewEvent>,
  expected: ExpectedVersion.ExpectedVersion
): Effect.Effect<AppendResult, AppendError, EventStore> =>
  Effect.flatMap(EventStore, (store) => store.append(streamId, events, expected))

/**
 * Reads one stream (accessor for the service in the context).
 *
 * @since 0.1.0
 * @category accessors
 */
export const readStream = (
  streamId: string,
  options?: ReadStreamOptions
): Stream.Stream<RecordedEvent, ReadError, EventStore> =>
  Stream.unwrap(Effect.map(EventStore, (store) => store.readStream(streamId, options)))

/**
 * Reads the global log (accessor for the service in the context).
 *
 * @since 0.1.0
 * @category accessors
 */
export const readAll = (options?: ReadAllOptions): Stream.Stream<RecordedEvent, EventStoreUnavailable, EventStore> =>
  Stream.unwrap(Effect.map(EventStore, (store) => store.readAll(options)))

/**
 * Subscribes to the global log (accessor for the service in the context).
 *
 * @since 0.1.0
 * @category accessors
 */
export const subscribe = (
  options?: SubscribeOptions
): Stream.Stream<RecordedEvent, EventStoreUnavailable, EventStore> =>
  Stream.unwrap(Effect.map(EventStore, (store) => store.subscribe(options)))

/**
 * A stream's current version (accessor for the service in the context).
 *
 * @since 0.1.0
 * @category accessors
 */
export const streamVersion = (streamId: string): Effect.Effect<Option.Option<number>, ReadError, EventStore> =>
  Effect.flatMap(EventStore, (store) => store.streamVersion(streamId))

/**
 * The position of the last committed event matching `filter` (accessor for the service in the
 * context).
 *
 * @since 0.1.0
 * @category accessors
 */
export const head = (
  filter?: EventFilter
): Effect.Effect<Option.Option<Position.Position>, EventStoreUnavailable, EventStore> =>
  Effect.flatMap(EventStore, (store) => store.head(filter))

/**
 * Whether delivery is held back by an open transaction, and by whom (accessor for the service in
 * the context; see `EventStoreShape.heldBack`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const heldBack = (
  filter?: EventFilter
): Effect.Effect<Option.Option<HeldBack>, EventStoreUnavailable, EventStore> =>
  Effect.flatMap(EventStore, (store) => store.heldBack(filter))

/**
 * Whether an event passes a filter (the same as `EventFilter.matches`).
 *
 * @since 0.1.0
 * @category filters
 */
export const matchesFilter: (
  filter: EventFilter,
  event: { readonly streamId: string; readonly type: string }
) => boolean = matchesEventFilter

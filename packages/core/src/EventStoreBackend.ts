/**
 * The interface an event store implements: the storage primitives (append a batch, read a page,
 * versions, locate an id, wake-ups) and the models they exchange. `EventStore.make(backend)`
 * wraps a backend into the `EventStore` service, adding validation, serialization, spans and
 * metrics, so a store author writes only these primitives; `EventStore` re-exports the models.
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Option, Stream, Tracer } from "effect"
import type { EventFilter } from "./EventFilter.js"
import type {
  ConcurrencyConflict,
  DuplicateEventId,
  EventStoreUnavailable,
  InlineProjectionFailed,
  InvalidEvent
} from "./EventStoreError.js"
import type * as ExpectedVersion from "./ExpectedVersion.js"
import type * as Position from "./Position.js"
import type { RecordedEvent } from "./RecordedEvent.js"
import type * as StreamId from "./StreamId.js"

/**
 * The outcome of an append.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppendResult {
  /** The stream's version after the append: pass it as `Exact` to the next append. */
  readonly nextExpectedVersion: number
  /** The global position of the last appended event (of the stream's last event for an empty append; 0 when none). */
  readonly lastGlobalPosition: bigint
  /** The log position of that event, for waiting until projections have seen it. */
  readonly position: Position.Position
  /** `false` when the append repeated one already recorded (same event ids) and wrote nothing. */
  readonly written: boolean
}

/**
 * One page of a stream read for folding: only what decoding a payload needs, as parallel arrays
 * (event `i` is `types[i]`, `schemaVersions[i]`, `data[i]` at `streamVersions[i]`), in version
 * order, with no envelope per event. Read the full envelope of an event with `readStreamBatch`
 * when you need it (to report an event that does not decode).
 *
 * @since 0.1.0
 * @category models
 */
export interface PayloadPage {
  /** Each event's version in the stream, ascending. */
  readonly streamVersions: ReadonlyArray<number>
  /** Each event's type name as stored. */
  readonly types: ReadonlyArray<string>
  /** The schema version each payload was encoded with. */
  readonly schemaVersions: ReadonlyArray<number>
  /** The parsed payloads, fresh on every read: the caller owns them. */
  readonly data: ReadonlyArray<unknown>
  /** Whether the stream has events after this page within the versions asked for. */
  readonly more: boolean
}

/**
 * An event serialized for a backend: payload and metadata as JSON text.
 *
 * @since 0.1.0
 * @category backends
 */
export interface SerializedEvent {
  /** The event's UUID, lowercase. */
  readonly eventId: string
  /** The event type name. */
  readonly type: string
  /** The schema version the payload was encoded with (1-based). */
  readonly schemaVersion: number
  /** The payload as JSON text. */
  readonly data: string
  /** The metadata as JSON text (an object). */
  readonly metadata: string
}

/**
 * Where an event is recorded: its stream, its version there and its log position.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventLocation {
  /** The stream the event belongs to. */
  readonly streamId: StreamId.StreamId
  /** The event's version in that stream (1-based). */
  readonly streamVersion: number
  /** The event's position in the global log. */
  readonly position: Position.Position
}

/**
 * The session running the open transaction that holds readers back, as the store reports it
 * (on PostgreSQL, its row of `pg_stat_activity`).
 *
 * @since 0.1.0
 * @category models
 */
export interface BlockingSession {
  /** The session's server process id (on PostgreSQL, what `pg_terminate_backend` takes). */
  readonly pid: number
  /** The application name the session connected with (empty when it set none). */
  readonly applicationName: string
  /** The database user of the session, when the store can tell. */
  readonly user: Option.Option<string>
  /** The database the session is connected to: it may be another database of the same server. */
  readonly database: Option.Option<string>
  /** What the session is doing (such as `idle in transaction`), when the store can tell. */
  readonly state: Option.Option<string>
  /** When its transaction started, by the store's clock. */
  readonly transactionStart: Option.Option<Date>
}

/**
 * Delivery held back: events are committed that no reader may pass yet, because a transaction
 * that is still open could commit events before them in the log. Nothing is skipped: they are
 * delivered once that transaction commits or rolls back.
 *
 * @since 0.1.0
 * @category models
 */
export interface HeldBack {
  /** The store's id of the oldest transaction still open, the one readers wait for. */
  readonly transactionId: bigint
  /** How many committed events (matching the filter asked for) readers cannot pass yet. */
  readonly events: number
  /** When the oldest of those events was recorded, by the store's clock. */
  readonly since: Date
  /** How long ago that was, measured by the store's clock (a skewed caller's clock does not change it). */
  readonly heldFor: Duration.Duration
  /** The session running the open transaction, when the store can tell. */
  readonly blocker: Option.Option<BlockingSession>
}

/**
 * What a storage backend implements. `make` turns a backend into the `EventStore` service,
 * adding input validation, serialization, spans and metrics, so every backend behaves alike.
 * Stream ids arrive validated; versions and limits arrive normalized.
 *
 * @since 0.1.0
 * @category backends
 */
export interface Backend {
  /**
   * Appends the events. Runs inside `span` ("EventStore.append") without it being made the
   * current span, which costs a context switch per append: a backend whose work creates spans
   * of its own (SQL statements, inline projections' handlers) nests them with
   * `Effect.withParentSpan(span)`. Data the database refuses (a value beyond one of its own
   * limits) is `InvalidEvent`, not `EventStoreUnavailable`: retrying it would fail alike.
   */
  readonly append: (
    streamId: StreamId.StreamId,
    events: ReadonlyArray<SerializedEvent>,
    expected: ExpectedVersion.ExpectedVersion,
    span: Tracer.Span
  ) => Effect.Effect<
    AppendResult,
    ConcurrencyConflict | DuplicateEventId | InvalidEvent | EventStoreUnavailable | InlineProjectionFailed
  >
  /**
   * The stream's events with versions `from` to `to` (inclusive; `to` may lie beyond the stream)
   * in `direction`, at most `limit` of them. `EventStore.readStream` passes a validated id.
   */
  readonly readStream: (
    streamId: StreamId.StreamId,
    options: {
      readonly from: number
      readonly to: number
      readonly direction: "forwards" | "backwards"
      readonly limit: number
    }
  ) => Stream.Stream<RecordedEvent, EventStoreUnavailable>
  /**
   * One page of a stream, forwards: versions `from`..`to`, at most `limit`. Each call returns
   * fresh objects (callers may take ownership of the payloads).
   */
  readonly readStreamBatch: (
    streamId: StreamId.StreamId,
    options: { readonly from: number; readonly to: number; readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreUnavailable>
  /**
   * One page of a stream for folding, forwards: versions `from`..`to`, at most `limit`, and
   * whether more follow (so a fold needs no trailing empty read).
   */
  readonly readStreamPayloads: (
    streamId: StreamId.StreamId,
    options: { readonly from: number; readonly to: number; readonly limit: number },
    /** "EventStore.readStreamPayloads", not made the current span (as for `append`). */
    span: Tracer.Span
  ) => Effect.Effect<PayloadPage, EventStoreUnavailable>
  /**
   * The committed log strictly after `after`, in log order, matching `filter`, at most `limit`
   * events; never an event that an older, still-open transaction could commit before.
   */
  readonly readAll: (options: {
    readonly after: Position.Position
    readonly limit: number
    readonly filter: EventFilter
  }) => Stream.Stream<RecordedEvent, EventStoreUnavailable>
  /**
   * The log after `after` matching `filter`, then every later append, forever: never skipping,
   * never reordering (most backends build it with `Subscription.catchUpThenLive`).
   */
  readonly subscribe: (options: {
    readonly after: Position.Position
    readonly filter: EventFilter
    readonly batchSize: number
  }) => Stream.Stream<RecordedEvent, EventStoreUnavailable>
  /**
   * The stream's version (0 when it does not exist). Runs inside `span`
   * ("EventStore.streamVersion") without it being the current span, as `append` does.
   */
  readonly streamVersion: (
    streamId: StreamId.StreamId,
    span: Tracer.Span
  ) => Effect.Effect<number, EventStoreUnavailable>
  /** Where the event with this id (a valid UUID, lowercase) is recorded, if it is. */
  readonly locate: (eventId: string) => Effect.Effect<Option.Option<EventLocation>, EventStoreUnavailable>
  /**
   * The position of the last committed event matching `filter`, or `None`. Committed means
   * committed, even if a reader cannot pass it yet because an older transaction is still open.
   */
  readonly head: (filter: EventFilter) => Effect.Effect<Option.Option<Position.Position>, EventStoreUnavailable>
  /** How many committed events matching `filter` come after `after` in the log. */
  readonly countAfter: (after: Position.Position, filter: EventFilter) => Effect.Effect<number, EventStoreUnavailable>
  /**
   * Whether committed events matching `filter` exist that `readAll` and `subscribe` may not pass
   * yet (an older transaction is still open), and who holds them; `None` when readers can reach
   * every committed event (always, for a store whose appends commit in log order). Not on a hot
   * path: runners ask it when a status is read or delivery has stalled.
   */
  readonly heldBack: (filter: EventFilter) => Effect.Effect<Option.Option<HeldBack>, EventStoreUnavailable>
}

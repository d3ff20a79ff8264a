/**
 * Event envelopes: what an append takes (`NewEvent`) and what a read returns (`RecordedEvent`).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { StreamId } from "./StreamId.js"

/**
 * Event metadata: who and what caused the event, plus free keys. Stored as JSON next to the event.
 *
 * - `correlationId`: the id shared by everything that one request or workflow caused.
 * - `causationId`: the id of the command (or event) that directly caused this event.
 * - `userId`: who asked for it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventMetadata = Schema.Struct(
  {
    /** The id shared by everything that one request or workflow caused. */
    correlationId: Schema.optional(Schema.String),
    /** The id of the command (or event) that directly caused this event. */
    causationId: Schema.optional(Schema.String),
    /** Who asked for it. */
    userId: Schema.optional(Schema.String)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/**
 * Event metadata.
 *
 * @since 0.1.0
 * @category models
 */
export type EventMetadata = typeof EventMetadata.Type

/**
 * An event ready to append, in its encoded (JSON) form. Build these with
 * `EventCatalog.toNewEvent` rather than by hand, so type and schema version are right.
 *
 * @since 0.1.0
 * @category models
 */
export interface NewEvent {
  /** A UUID; appends are idempotent by it. */
  readonly eventId: string
  /** The event type name (the domain event's `_tag`). */
  readonly type: string
  /** The encoded payload: any JSON value. */
  readonly data: unknown
  /** The version of the event type's schema the payload was encoded with (1-based). */
  readonly schemaVersion: number
  /** Correlation, causation, user and free keys. */
  readonly metadata: EventMetadata
}

/**
 * An event as stored and read back. `data` is `unknown` (encoded JSON) when read from an
 * `EventStore` directly and the decoded domain event `E` when read through an `EventCatalog`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedEvent<E = unknown> {
  /** The event's UUID. */
  readonly eventId: string
  /** The stream it belongs to. */
  readonly streamId: StreamId
  /** Its version in the stream: 1-based and dense. */
  readonly streamVersion: number
  /** Its position in the global log. */
  readonly globalPosition: bigint
  /** The commit group that wrote it; the log is ordered by `(transactionId, globalPosition)`. */
  readonly transactionId: bigint
  /** The event type name as stored. */
  readonly type: string
  /** The schema version the payload was encoded with. */
  readonly schemaVersion: number
  /** The payload: encoded JSON or, through a catalog, the decoded event. */
  readonly data: E
  /** Correlation, causation, user and free keys. */
  readonly metadata: EventMetadata
  /** When the store recorded it. */
  readonly recordedAt: Date
}

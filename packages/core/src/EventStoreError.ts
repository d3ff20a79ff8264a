/**
 * What the event store's operations fail with: conflicts, duplicate ids, invalid events, an
 * unreachable store, and an append rejected by an inline projection. These live below
 * `EventStore` (as `SqlError` lives below `SqlClient`), so every module can name them without
 * importing the store; `EventStore` re-exports them.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import * as ExpectedVersion from "./ExpectedVersion.js"
import { describeCause } from "./internal/describeCause.js"
import type * as StreamId from "./StreamId.js"

/**
 * The stream was not at the version the writer expected. `actual` is the stream's version at
 * the time of the check (0 when the stream does not exist).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConcurrencyConflict extends Data.TaggedError("ConcurrencyConflict")<{
  /** The stream appended to. */
  readonly streamId: string
  /** What the writer expected of the stream's version. */
  readonly expected: ExpectedVersion.ExpectedVersion
  /** The stream's version at the time of the check (0 when the stream does not exist). */
  readonly actual: number
}> {
  /** Names the stream, the expected and the actual version, and says to reload and decide again. */
  override get message(): string {
    const actual = this.actual === 0 ? "the stream does not exist" : `the stream is at version ${this.actual}`
    return `Concurrency conflict on stream ${JSON.stringify(this.streamId)}: expected ${
      ExpectedVersion.format(this.expected)
    }, but ${actual}. Reload the stream and decide again.`
  }
}

/**
 * An event id in the append is already recorded somewhere that makes the append neither new nor
 * an exact repeat: in another stream, at other versions, only part of the batch, or twice in the
 * same batch. Nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateEventId extends Data.TaggedError("DuplicateEventId")<{
  /** The stream appended to. */
  readonly streamId: string
  /** The event id that cannot be appended. */
  readonly eventId: string
  /** Where the id is already recorded, or why the append is not an exact repeat. */
  readonly reason: string
}> {
  /** Names the event id and the stream, then the reason. */
  override get message(): string {
    return `Event id ${this.eventId} cannot be appended to stream ${JSON.stringify(this.streamId)}: ${this.reason}`
  }
}

/**
 * An event in the append is malformed (an event id that is not a UUID, an empty type, a schema
 * version that is not a positive integer, a payload or metadata that JSON cannot carry exactly
 * or that exceeds the store's `EventStore.PayloadLimits`, or data the database refused). The reason
 * names the value's path, as in `data.readings[3] is NaN`. Nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidEvent extends Data.TaggedError("InvalidEvent")<{
  /** The stream appended to. */
  readonly streamId: string
  /**
   * The malformed event's index in the append (0-based), or -1 when the database refused the
   * data of an append of several events without saying which.
   */
  readonly index: number
  /** What is wrong with the event, naming the value's path when it is in the payload or metadata. */
  readonly reason: string
}> {
  /** Names the event's index and the stream, then the reason. */
  override get message(): string {
    const which = this.index < 0 ? "An event" : `Event #${this.index}`
    return `${which} of the append to stream ${JSON.stringify(this.streamId)} is invalid: ${this.reason}`
  }
}

/**
 * The store could not be reached or failed while doing `operation` (infrastructure, not your
 * input). An append that fails this way wrote either all of its events or none.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventStoreUnavailable extends Data.TaggedError("EventStoreUnavailable")<{
  /** The store operation that failed (`append`, `readStream`, `head`, …). */
  readonly operation: string
  /** Which store, when the backend says (the Postgres store: `postgres schema <name>`). */
  readonly target?: string
  /** The underlying failure (a SQL error, say). */
  readonly cause: unknown
}> {
  /** Names the store (when known) and the operation, then the cause. */
  override get message(): string {
    const target = this.target === undefined ? "" : ` (${this.target})`
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `The event store${target} is unavailable during ${this.operation}: ${cause}`
  }
}

/**
 * Everything `append` can fail with. `InlineProjectionFailed` only comes from stores configured
 * with inline projections (the Postgres store's `inline` option), which reject the append when one fails.
 *
 * @since 0.1.0
 * @category errors
 */
export type AppendError =
  | ConcurrencyConflict
  | DuplicateEventId
  | InvalidEvent
  | StreamId.InvalidStreamId
  | EventStoreUnavailable
  | InlineProjectionFailed

/**
 * Everything a read can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type ReadError = StreamId.InvalidStreamId | EventStoreUnavailable

/**
 * An inline projection (one that runs inside the append's transaction, such as the Postgres
 * event store's `inline` option) failed, so the append was rejected: neither its events nor any
 * read-model write were recorded. `cause` is the handler's failure or the event's decoding error.
 *
 * @since 0.1.0
 * @category errors
 */
export class InlineProjectionFailed extends Data.TaggedError("InlineProjectionFailed")<{
  /** The inline projection's name. */
  readonly projection: string
  /** The stream of the rejected append. */
  readonly streamId: string
  /** The handler's failure or defect, or the event's decoding error. */
  readonly cause: unknown
}> {
  /** Names the stream whose append was rejected and the projection, then the cause. */
  override get message(): string {
    return `The append to stream ${JSON.stringify(this.streamId)} was rejected: inline projection ` +
      `${JSON.stringify(this.projection)} failed: ${describeCause(this.cause)}`
  }
}

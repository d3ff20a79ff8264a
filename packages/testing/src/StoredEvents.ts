/**
 * Events as an older release stored them, for testing upcasters with today's catalog only:
 * append the old shape (its type name, schema version and payload, exactly as stored), then
 * load it through the catalog and see what it decodes to. Nothing here loads vitest: use it in
 * any test runner, or in a script that seeds a database.
 *
 * @example
 * yield* StoredEvents.append("account-1", [
 *   { type: "FundsDeposited", schemaVersion: 1, data: { amount: 5 } }
 * ])
 * const { state } = yield* Aggregate.load(Account, "account-1")
 *
 * @since 0.1.0
 */
import type { RecordedEvent } from "@facta/core"
import { EventStore, ExpectedVersion } from "@facta/core"
import type { Effect } from "effect"

/**
 * An event in its stored form. Unlike `EventCatalog.toNewEvent`, nothing is encoded: the payload
 * is written as given.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredEvent {
  /** The type name it was stored under (an old name that the catalog now renames, say). */
  readonly type: string
  /** The version of the event type's schema it was encoded with (1-based). */
  readonly schemaVersion: number
  /**
   * The payload as that version encoded it: JSON, without `_tag` (Facta stores the type apart,
   * and `EventCatalog.encode` leaves `_tag` out of the payload).
   */
  readonly data: unknown
  /** Its metadata (default: none). */
  readonly metadata?: RecordedEvent.EventMetadata
  /** Its id (default: a fresh UUID). */
  readonly eventId?: string
}

/**
 * The `NewEvent` that stores `event` as it is.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toNewEvent = (event: StoredEvent): RecordedEvent.NewEvent => ({
  eventId: event.eventId ?? crypto.randomUUID(),
  type: event.type,
  schemaVersion: event.schemaVersion,
  data: event.data,
  metadata: event.metadata ?? {}
})

/**
 * Appends `events` to `streamId` through the `EventStore` in the context, in their stored form
 * (see {@link StoredEvent}), expecting `expected` (default: any version). The store validates
 * them as it validates every append: a payload JSON cannot carry exactly fails with `InvalidEvent`.
 *
 * @since 0.1.0
 * @category appending
 */
export const append = (
  streamId: string,
  events: ReadonlyArray<StoredEvent>,
  expected: ExpectedVersion.ExpectedVersion = ExpectedVersion.Any
): Effect.Effect<EventStore.AppendResult, EventStore.AppendError, EventStore.EventStore> =>
  EventStore.append(streamId, events.map(toNewEvent), expected)

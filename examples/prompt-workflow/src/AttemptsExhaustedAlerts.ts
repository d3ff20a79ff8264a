/**
 * A subscriber that raises an alert when a session's last attempt is rejected: a projection
 * over `SessionFailed` whose handler appends an `AttemptsExhaustedAlert` to the alerts stream.
 * The alert's event id is derived from the failure's event id, so when the runner delivers the
 * failure again (a crash before its checkpoint, a rebuild) the append is an exact repeat that
 * the event store recognizes and does not record twice.
 */
import type { EventStore as EventStoreTypes } from "@facta/core"
import { EventCatalog, EventStore, ExpectedVersion, Projection } from "@facta/core"
import { Chunk, Effect, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import { sessionIdOf } from "./SessionList.js"
import { WorkflowSessionEvents } from "./WorkflowSession.js"

/** Someone should look at a session that used up its attempts without an approved prompt. */
export const AttemptsExhaustedAlert = Schema.TaggedStruct("AttemptsExhaustedAlert", {
  sessionId: Schema.NonEmptyTrimmedString,
  attempts: Schema.Int.pipe(Schema.positive()),
  lastFeedback: Schema.String,
  /** The id of the `SessionFailed` event that raised it. */
  sourceEventId: Schema.UUID
})
/** An alert. */
export type AttemptsExhaustedAlert = typeof AttemptsExhaustedAlert.Type

/** The events of the alerts stream. */
export const AlertEvents = EventCatalog.make([AttemptsExhaustedAlert])

/** The one stream all workflow alerts go to. */
export const alertStreamId = "workflow_alert-attempts_exhausted"

/**
 * A UUID determined by `name` (version 5 layout over SHA-1): the same source event always
 * gives the same alert id.
 */
export const deterministicEventId = (name: string): string => {
  const bytes = createHash("sha1").update(`facta/prompt-workflow/${name}`).digest().subarray(0, 16)
  bytes[6] = (bytes[6]! & 0x0f) | 0x50
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const toNewEvent = EventCatalog.toNewEvent(AlertEvents)

/** The name of the alerting subscriber. */
export const projectionName = "attempts_exhausted_alerts"

/**
 * The alerting subscriber: one alert per failed session, however often the failure is
 * delivered; `name` is its checkpoint key.
 */
export const makeProjection = (name: string = projectionName) =>
  Projection.make({
    name,
    catalog: WorkflowSessionEvents,
    types: ["SessionFailed"],
    handle: (event) =>
      Effect.gen(function*() {
        const alert = yield* toNewEvent(
          {
            _tag: "AttemptsExhaustedAlert",
            sessionId: sessionIdOf(event.streamId),
            attempts: event.data.attempts,
            lastFeedback: event.data.lastFeedback,
            sourceEventId: event.eventId
          },
          {
            ...(event.metadata.correlationId === undefined ? {} : { correlationId: event.metadata.correlationId }),
            causationId: event.eventId
          },
          deterministicEventId(`attempts-exhausted/${event.eventId}`)
        )
        yield* EventStore.append(alertStreamId, [alert], ExpectedVersion.Any)
      })
  })

/** The alerting subscriber under its usual name. */
export const projection = makeProjection()

/** Every alert raised so far, oldest first. */
export const alerts: Effect.Effect<
  ReadonlyArray<AttemptsExhaustedAlert>,
  EventStoreTypes.ReadError | EventCatalog.DecodeError,
  EventStore.EventStore
> = EventCatalog.readStream(AlertEvents, alertStreamId).pipe(
  Stream.map((event) => event.data),
  Stream.runCollect,
  Effect.map(Chunk.toReadonlyArray)
)

/**
 * An event row as the stores select it (text casts for xid8, uuid and bigint columns), and the
 * envelope it reads as.
 */
import type { RecordedEvent, StreamId } from "@facta/core"

export interface EventRow {
  readonly global_position_text: string
  readonly transaction_id_text: string
  readonly stream_id: string
  readonly stream_version_text: string
  readonly event_id_text: string
  readonly type: string
  readonly schema_version: number
  readonly data: unknown
  readonly metadata: RecordedEvent.EventMetadata
  /** `recorded_at` in epoch milliseconds (see {@link recordedAtMillis}). */
  readonly recorded_at_ms: number
}

/**
 * `recorded_at` as epoch milliseconds with the microseconds as a fraction (a float8 holds that
 * exactly enough to truncate to the same millisecond): node-postgres parses a timestamptz with
 * regular expressions over its text, a tenth of a catch-up read's client time, while a float8 is
 * one `parseFloat`. A `Date` keeps milliseconds either way.
 */
export const recordedAtMillis = "(extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at_ms"

export const toRecorded = (row: EventRow): RecordedEvent.RecordedEvent => ({
  eventId: row.event_id_text,
  streamId: row.stream_id as StreamId.StreamId,
  streamVersion: Number(row.stream_version_text),
  globalPosition: BigInt(row.global_position_text),
  transactionId: BigInt(row.transaction_id_text),
  type: row.type,
  schemaVersion: row.schema_version,
  data: row.data,
  metadata: row.metadata,
  recordedAt: new Date(row.recorded_at_ms)
})

/**
 * The rows as envelopes. The events of one append share their transaction id, so a run of rows
 * with the same id text shares one parsed bigint (a page of batched appends parses few).
 */
export const toRecordedEvents = (rows: ReadonlyArray<EventRow>): Array<RecordedEvent.RecordedEvent> => {
  const events: Array<RecordedEvent.RecordedEvent> = new Array(rows.length)
  let transactionText = ""
  let transactionId = 0n
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]
    if (row.transaction_id_text !== transactionText) {
      transactionText = row.transaction_id_text
      transactionId = BigInt(transactionText)
    }
    events[index] = {
      eventId: row.event_id_text,
      streamId: row.stream_id as StreamId.StreamId,
      streamVersion: Number(row.stream_version_text),
      globalPosition: BigInt(row.global_position_text),
      transactionId,
      type: row.type,
      schemaVersion: row.schema_version,
      data: row.data,
      metadata: row.metadata,
      recordedAt: new Date(row.recorded_at_ms)
    }
  }
  return events
}

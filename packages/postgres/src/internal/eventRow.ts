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
 * `recorded_at` as epoch milliseconds with the microseconds as a fraction, a float8 that
 * {@link recordedAt} turns into the exact millisecond. node-postgres parses a timestamptz with
 * regular expressions over its text, a tenth of a catch-up read's client time, while a float8 is
 * one `parseFloat`. `date_part` computes the float8 directly; `extract` (numeric since PostgreSQL
 * 14) is exact but took ~30 ms of server time per 100,000 rows.
 */
export const recordedAtMillis = "date_part('epoch', recorded_at) * 1000 AS recorded_at_ms"

/**
 * The `Date` of a {@link recordedAtMillis} value: the millisecond that holds the instant. The
 * float8 (two roundings: by 10^6, then by 1000) is less than half a microsecond from the exact
 * value for instants from 1900 to 2106 (checked over ten million of them), and the exact value's
 * fraction is a whole number of microseconds, so half a microsecond added before flooring lands
 * in the right millisecond, before 1970 too (where truncating would round up).
 */
const recordedAt = (millis: number): Date => new Date(Math.floor(millis + 0.0005))

/** The row as an envelope, its transaction id already parsed. */
const envelope = (row: EventRow, transactionId: bigint): RecordedEvent.RecordedEvent => ({
  eventId: row.event_id_text,
  streamId: row.stream_id as StreamId.StreamId,
  streamVersion: Number(row.stream_version_text),
  globalPosition: BigInt(row.global_position_text),
  transactionId,
  type: row.type,
  schemaVersion: row.schema_version,
  data: row.data,
  metadata: row.metadata,
  recordedAt: recordedAt(row.recorded_at_ms)
})

/** One row as an envelope. */
export const toRecorded = (row: EventRow): RecordedEvent.RecordedEvent => envelope(row, BigInt(row.transaction_id_text))

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
    events[index] = envelope(row, transactionId)
  }
  return events
}

/**
 * An event row as the stores select it (text casts for xid8, uuid and bigint columns), and the
 * envelope it reads as.
 */
import type { RecordedEvent, StreamId } from "@facta/core"

export interface EventRow {
  readonly global_position: string
  readonly transaction_id_text: string
  readonly stream_id: string
  readonly stream_version: string
  readonly event_id_text: string
  readonly type: string
  readonly schema_version: number
  readonly data: unknown
  readonly metadata: RecordedEvent.EventMetadata
  readonly recorded_at: Date
}

export const toRecorded = (row: EventRow): RecordedEvent.RecordedEvent => ({
  eventId: row.event_id_text,
  streamId: row.stream_id as StreamId.StreamId,
  streamVersion: Number(row.stream_version),
  globalPosition: BigInt(row.global_position),
  transactionId: BigInt(row.transaction_id_text),
  type: row.type,
  schemaVersion: row.schema_version,
  data: row.data,
  metadata: row.metadata,
  recordedAt: row.recorded_at
})

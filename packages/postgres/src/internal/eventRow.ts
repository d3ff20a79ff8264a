/**
 * The columns the stores select for an event (or for its payload alone), and what a row of them
 * reads as. The columns are read as text (see `textColumns`).
 */
import type { RecordedEvent, StreamId } from "@facta/core"
import type { RowReader } from "./statementRunner.js"
import { dateOfMillis, epochMillis, textStatement } from "./textColumns.js"

/** An event's columns as they are stored, for statements on the pool. */
const storedColumns = "global_position, transaction_id, stream_id, stream_version, event_id, type, schema_version, " +
  `data, metadata, ${epochMillis("recorded_at")} AS recorded_at_ms`

/**
 * The same columns, each cast to text, for statements that run through `@effect/sql`: its client
 * parses columns with its own type parsers, and an application may have registered others
 * (bigints as numbers, JSON left as text, …); a text column arrives as text whatever those are.
 * The casts cost the server a good part of a catch-up read's time, so the event store's own reads
 * on its pool select
 * {@link storedColumns} instead. The aliases differ from the column names, so an
 * `ORDER BY global_position` in the same statement sorts by the column, not by its text.
 */
export const castColumns =
  "global_position::text AS global_position_text, transaction_id::text AS transaction_id_text, stream_id, " +
  "stream_version::text AS stream_version_text, event_id::text AS event_id_text, type, " +
  "schema_version::text AS schema_version_text, data::text AS data_text, metadata::text AS metadata_text, " +
  `(${epochMillis("recorded_at")})::text AS recorded_at_ms`

/** How many columns an event's column list selects: a statement's own columns start at this index. */
export const eventColumnCount = 10

/** A statement that reads events: `select` given an event's column list (first in the select list). */
export const eventStatement = textStatement({ stored: storedColumns, cast: castColumns })

/**
 * A reader of rows that start with an event's columns as text (either column list): each
 * row as an envelope. The events of one append share their transaction id, so a run of rows
 * with the same id text shares one parsed bigint (a page of batched appends parses few). Make
 * one per statement.
 */
export const eventReader = (): RowReader<RecordedEvent.RecordedEvent> => {
  let transactionText = ""
  let transactionId = 0n
  return (columns) => {
    const text = columns[1] as string
    if (text !== transactionText) {
      transactionText = text
      transactionId = BigInt(text)
    }
    return {
      eventId: columns[4] as string,
      streamId: columns[2] as StreamId.StreamId,
      streamVersion: Number(columns[3]),
      globalPosition: BigInt(columns[0] as string),
      transactionId,
      type: columns[5] as string,
      schemaVersion: Number(columns[6]),
      data: JSON.parse(columns[7] as string),
      metadata: JSON.parse(columns[8] as string) as RecordedEvent.EventMetadata,
      recordedAt: dateOfMillis(columns[9] as string)
    }
  }
}

/** What an aggregate load needs of an event (the version follows from the row's place). */
export interface Payload {
  readonly type: string
  readonly schemaVersion: number
  readonly data: unknown
}

/** A statement that reads payloads: `select` given the payload columns (see {@link payloadReader}). */
export const payloadStatement = textStatement({
  stored: "type, schema_version, data",
  cast: "type, schema_version::text AS schema_version_text, data::text AS data_text"
})

/** A reader of {@link payloadStatement}'s rows. */
export const payloadReader = (): RowReader<Payload> => (columns) => ({
  type: columns[0] as string,
  schemaVersion: Number(columns[1]),
  data: JSON.parse(columns[2] as string)
})

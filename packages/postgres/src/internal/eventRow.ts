/**
 * The columns the stores select for an event, and the envelope a row of them reads as.
 */
import type { RecordedEvent, StreamId } from "@facta/core"
import type pg from "pg"
import type { ReadStatement, RowReader } from "./statementRunner.js"

/**
 * A timestamptz `column` as epoch milliseconds with the microseconds as a fraction, a float8
 * that {@link dateOfMillis} turns into the exact millisecond. node-postgres parses a timestamptz
 * with regular expressions over its text, a tenth of a catch-up read's client time, while a
 * float8 is one number conversion. `date_part` computes the float8 directly; `extract` (numeric
 * since PostgreSQL 14) is exact but took ~30 ms of server time per 100,000 rows.
 */
export const epochMillis = (column: string): string => `date_part('epoch', ${column}) * 1000`

/**
 * The `Date` of an {@link epochMillis} value (as text): the millisecond that holds the instant.
 * The float8 (two roundings: by 10^6, then by 1000) is less than half a microsecond from the
 * exact value for instants from 1900 to 2106 (checked over ten million of them), and the exact
 * value's fraction is a whole number of microseconds, so half a microsecond added before
 * flooring lands in the right millisecond, before 1970 too (where truncating would round up).
 */
export const dateOfMillis = (millis: string): Date => new Date(Math.floor(Number(millis) + 0.0005))

/**
 * An event's columns as they are stored, for statements whose rows node-postgres parses with
 * {@link textTypes}: every column arrives as its text, without a cast.
 */
const storedColumns = "global_position, transaction_id, stream_id, stream_version, event_id, type, schema_version, " +
  `data, metadata, ${epochMillis("recorded_at")} AS recorded_at_ms`

/**
 * The same columns, each cast to text, for statements that run through `@effect/sql`: its client
 * parses columns with its own type parsers, and an application may have registered others
 * (bigints as numbers, JSON left as text, …); a text column arrives as text whatever those are.
 * The casts cost the server: a catch-up read of 90,000 events took ~210 ms of server time with
 * the bigint, xid8 and uuid columns cast and ~155 ms without (PostgreSQL 15,
 * `COPY … TO '/dev/null'`), so the event store's own reads on its pool select
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

const asText = (value: string): string => value

/**
 * node-postgres type parsers for statements on the pool: every column as its text, whatever
 * parsers the pool or the application registered; the readers here convert them (JSON with
 * `JSON.parse`, as node-postgres's default parser for json and jsonb does).
 */
const textTypes: pg.CustomTypesConfig = {
  getTypeParser: (() => asText) as pg.CustomTypesConfig["getTypeParser"]
}

/**
 * A statement that reads events: `select` given an event's column list (first in the select
 * list, any other columns after).
 */
export const eventStatement = (select: (columns: string) => string): ReadStatement => ({
  text: select(storedColumns),
  types: textTypes,
  portableText: select(castColumns)
})

/**
 * A reader of rows that start with an event's columns as text (either column list above): each
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
export const payloadStatement = (select: (columns: string) => string): ReadStatement => ({
  text: select("type, schema_version, data"),
  types: textTypes,
  portableText: select("type, schema_version::text AS schema_version_text, data::text AS data_text")
})

/** A reader of {@link payloadStatement}'s rows. */
export const payloadReader = (): RowReader<Payload> => (columns) => ({
  type: columns[0] as string,
  schemaVersion: Number(columns[1]),
  data: JSON.parse(columns[2] as string)
})

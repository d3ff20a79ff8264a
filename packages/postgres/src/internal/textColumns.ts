/**
 * Reading columns as text, whatever type parsers the pool or the application registered, and
 * converting them here: the stores' reads of events, payloads, snapshots and parked events.
 */
import type pg from "pg"
import type { ReadStatement } from "./statementRunner.js"

/**
 * A timestamptz `column` as epoch milliseconds with the microseconds as a fraction, a float8
 * that {@link dateOfMillis} turns into the exact millisecond. node-postgres parses a timestamptz
 * with regular expressions over its text, a tenth of a catch-up read's client time, while a
 * float8 is one number conversion. `date_part` computes the float8 directly; `extract` (numeric
 * since PostgreSQL 14) is exact but costs the server far more per row.
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

const asText = (value: string): string => value

/**
 * node-postgres type parsers for a statement on the pool: every column as its text, whatever
 * parsers the pool or the application registered (JSON too: the readers parse it with
 * `JSON.parse`, as node-postgres's default parser for json and jsonb does).
 */
const everyColumnAsText: pg.CustomTypesConfig = {
  getTypeParser: (() => asText) as pg.CustomTypesConfig["getTypeParser"]
}

/**
 * The statements of one column list read as text: `select` given the list, which it puts first
 * in its select list. On the pool the columns are selected as `stored` and parsed as text; through
 * `@effect/sql`, whose client parses with its own parsers, as `cast`: the same columns, each
 * cast to text.
 */
export const textStatement =
  (columns: { readonly stored: string; readonly cast: string }) =>
  (select: (columns: string) => string): ReadStatement => ({
    text: select(columns.stored),
    types: everyColumnAsText,
    portableText: select(columns.cast)
  })

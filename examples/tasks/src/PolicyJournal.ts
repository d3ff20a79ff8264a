/**
 * The policies' journal: one row per (policy, triggering event) saying what the policy did —
 * issued a command (and which events it caused) or saw it rejected — and how many times the
 * policy handled that event. Policies write it in the same transaction as their command's
 * append and their checkpoint, so on PostgreSQL `handled_count` is 1 for every row unless the
 * checkpoint was moved back by hand: it is how the tests watch exactly-once happen.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { RecordedEvent } from "@facta/core"
import { Effect } from "effect"

/** What a policy did with one triggering event. */
export interface Outcome {
  /** `issued`: the command was accepted; `rejected`: the domain refused it (treated as done). */
  readonly outcome: "issued" | "rejected"
  /** The new event types, or the rejection's tag and message. */
  readonly detail: string
  /** The ids of the events the command appended. */
  readonly causedEventIds: ReadonlyArray<string>
}

/** A journal row. */
export interface Entry extends Outcome {
  readonly policy: string
  readonly sourceEventId: string
  readonly sourceStreamId: string
  readonly handledCount: number
}

/** Creates the journal table in `schema` if it is not there. */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.asVoid(sql`
      CREATE TABLE IF NOT EXISTS ${sql(schema)}.policy_journal (
        seq              bigserial,
        policy           text NOT NULL,
        source_event_id  text NOT NULL,
        source_stream_id text NOT NULL,
        outcome          text NOT NULL,
        detail           text NOT NULL,
        caused_event_ids text[] NOT NULL,
        handled_count    integer NOT NULL,
        PRIMARY KEY (policy, source_event_id)
      )`))

/** Records what `policy` did with `source`; a second handling of the same event bumps `handled_count`. */
export const record = (
  schema: string,
  policy: string,
  source: RecordedEvent.RecordedEvent<unknown>,
  outcome: Outcome
): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.asVoid(sql`
      INSERT INTO ${sql(schema)}.policy_journal AS journal
             (policy, source_event_id, source_stream_id, outcome, detail, caused_event_ids, handled_count)
      VALUES (${policy}, ${source.eventId}, ${source.streamId}, ${outcome.outcome}, ${outcome.detail},
              ${outcome.causedEventIds}::text[], 1)
      ON CONFLICT (policy, source_event_id) DO UPDATE
         SET handled_count = journal.handled_count + 1,
             outcome = EXCLUDED.outcome,
             detail = EXCLUDED.detail,
             caused_event_ids = journal.caused_event_ids || EXCLUDED.caused_event_ids`))

interface EntryRow {
  readonly policy: string
  readonly source_event_id: string
  readonly source_stream_id: string
  readonly outcome: "issued" | "rejected"
  readonly detail: string
  readonly caused_event_ids: ReadonlyArray<string>
  readonly handled_count: number
}

/** The journal, by policy and in the order the policy first handled the events; `policy` narrows it. */
export const entries = (
  schema: string,
  policy?: string
): Effect.Effect<ReadonlyArray<Entry>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<EntryRow>`
      SELECT policy, source_event_id, source_stream_id, outcome, detail, caused_event_ids, handled_count
        FROM ${sql(schema)}.policy_journal
       WHERE ${policy === undefined ? sql`true` : sql`policy = ${policy}`}
       ORDER BY policy, seq`.pipe(
      Effect.map((rows) =>
        rows.map((row) => ({
          policy: row.policy,
          sourceEventId: row.source_event_id,
          sourceStreamId: row.source_stream_id,
          outcome: row.outcome,
          detail: row.detail,
          causedEventIds: row.caused_event_ids,
          handledCount: row.handled_count
        }))
      )
    ))

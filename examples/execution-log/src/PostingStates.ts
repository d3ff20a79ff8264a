/**
 * Where every posting is: one row per posting with its status, current actor, step, the
 * current actor's consecutive failures and the breaker that opened, kept in PostgreSQL by a
 * projection that can be rebuilt from the log at any time. Each row remembers the stream
 * version it reflects, so an event delivered twice changes nothing.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import type { RecordedEvent } from "@facta/core"
import { Projection, StreamId } from "@facta/core"
import { Effect } from "effect"
import type { PostingEvent } from "./Posting.js"
import { PostingEvents } from "./Posting.js"

/** A posting's row. */
export interface PostingRow {
  readonly postingId: string
  readonly status: "in_flight" | "completed" | "failed"
  /** The actor whose turn it is; `null` once terminal. */
  readonly currentActor: string | null
  /** How many actors have completed. */
  readonly step: number
  readonly stepsTotal: number
  /** Consecutive failures of the current actor. */
  readonly failures: number
  /** The actor whose breaker opened, if one did. */
  readonly openBreaker: string | null
  readonly correlationId: string | null
  /** The stream version the row reflects (its number of events). */
  readonly version: number
}

/** Creates the postings table in `schema` if it is not there. */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.asVoid(sql`
      CREATE TABLE IF NOT EXISTS ${sql(schema)}.postings (
        posting_id     text PRIMARY KEY,
        status         text NOT NULL,
        actors         text[] NOT NULL,
        current_actor  text,
        step           integer NOT NULL,
        failures       integer NOT NULL,
        open_breaker   text,
        correlation_id text,
        version        integer NOT NULL
      )`))

const idOf = (streamId: string): string => streamId.slice(StreamId.category(streamId).length + 1)

const apply = (schema: string, event: RecordedEvent.RecordedEvent<PostingEvent>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const table = sql`${sql(schema)}.postings`
    const id = idOf(event.streamId)
    const version = event.streamVersion
    const data = event.data
    // Right-hand sides of an UPDATE see the row as it was: `actors[step + 2]` is the next actor.
    const update = (set: Statement.Fragment) =>
      sql`UPDATE ${table} SET ${set}, version = ${version} WHERE posting_id = ${id} AND version < ${version}`
    switch (data._tag) {
      case "PostingSubmitted": {
        const actors = data.workflow.map((actor) => actor.name)
        return sql`
          INSERT INTO ${table} (posting_id, status, actors, current_actor, step, failures, correlation_id, version)
          VALUES (${id}, 'in_flight', ${actors}::text[], ${actors[0]}, 0, 0, ${
          event.metadata.correlationId ?? null
        }, ${version})
          ON CONFLICT (posting_id) DO NOTHING`
      }
      case "ScriptExecutionCompleted":
      case "LlmCallCompleted":
        return update(sql`step = step + 1, current_actor = actors[step + 2], failures = 0`)
      case "ScriptExecutionFailed":
      case "LlmCallFailed":
        return update(sql`failures = failures + 1`)
      case "CircuitBreakerOpened":
        return update(sql`open_breaker = ${data.actor}`)
      case "PostingTerminal":
        return update(sql`status = ${data.outcome}, current_actor = NULL`)
    }
  })

/** The default name of the projection (its checkpoint key). */
export const projectionName = "posting_states"

/** The posting states projection, writing to `schema`. */
export const projection = (schema: string, options: { readonly name?: string } = {}) =>
  Projection.make({
    name: options.name ?? projectionName,
    catalog: PostingEvents,
    categories: ["posting"],
    handle: (event) => Effect.asVoid(apply(schema, event)),
    reset: Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(sql`DELETE FROM ${sql(schema)}.postings`)),
    batchSize: 100
  })

interface Row {
  readonly posting_id: string
  readonly status: PostingRow["status"]
  readonly current_actor: string | null
  readonly step: number
  readonly steps_total: number
  readonly failures: number
  readonly open_breaker: string | null
  readonly correlation_id: string | null
  readonly version: number
}

/** Every posting, by id; `status` narrows the list. */
export const list = (
  schema: string,
  options: { readonly status?: PostingRow["status"] } = {}
): Effect.Effect<ReadonlyArray<PostingRow>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<Row>`
      SELECT posting_id, status, current_actor, step, cardinality(actors) AS steps_total, failures, open_breaker,
             correlation_id, version
        FROM ${sql(schema)}.postings
       WHERE ${options.status === undefined ? sql`true` : sql`status = ${options.status}`}
       ORDER BY posting_id`.pipe(
      Effect.map((rows) =>
        rows.map((row) => ({
          postingId: row.posting_id,
          status: row.status,
          currentActor: row.current_actor,
          step: row.step,
          stepsTotal: row.steps_total,
          failures: row.failures,
          openBreaker: row.open_breaker,
          correlationId: row.correlation_id,
          version: row.version
        }))
      )
    ))

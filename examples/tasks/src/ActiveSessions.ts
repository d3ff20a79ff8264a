/**
 * The session list: one row per session with its status, run and re-queue counts and when it
 * is due, kept in PostgreSQL by a projection. "Active" sessions are the queued and running
 * ones; "due" sessions are the queued ones whose backoff has passed at a given time (the clock
 * is a parameter, so callers and tests decide what "now" is). Each row remembers the stream
 * version it reflects, so an event delivered twice changes nothing.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import type { RecordedEvent } from "@facta/core"
import { Projection, StreamId } from "@facta/core"
import { Effect } from "effect"
import type { SessionEvent } from "./Session.js"
import { SessionEvents } from "./Session.js"

/** Where a session is, as the list shows it. */
export type SessionStatus = "queued" | "running" | "succeeded" | "failed" | "abandoned"

/** A row of the session list. */
export interface SessionRow {
  readonly sessionId: string
  readonly taskId: string
  readonly status: SessionStatus
  /** The run number (1 for the first run, n + 1 after n re-queues). */
  readonly run: number
  /** How many times the session was re-queued. */
  readonly requeues: number
  readonly toolsUsed: number
  readonly notBefore: Date
}

/** Creates the session list table in `schema` if it is not there. */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.asVoid(sql`
      CREATE TABLE IF NOT EXISTS ${sql(schema)}.sessions (
        session_id text PRIMARY KEY,
        task_id    text NOT NULL,
        status     text NOT NULL,
        run        integer NOT NULL,
        requeues   integer NOT NULL,
        tools_used integer NOT NULL DEFAULT 0,
        not_before timestamptz NOT NULL,
        version    integer NOT NULL
      )`))

const idOf = (streamId: string): string => streamId.slice(StreamId.category(streamId).length + 1)

const apply = (schema: string, event: RecordedEvent.RecordedEvent<SessionEvent>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const table = sql`${sql(schema)}.sessions`
    const id = idOf(event.streamId)
    const version = event.streamVersion
    const data = event.data
    const update = (set: Statement.Fragment) =>
      sql`UPDATE ${table} SET ${set}, version = ${version} WHERE session_id = ${id} AND version < ${version}`
    switch (data._tag) {
      case "SessionQueued":
        return sql`
          INSERT INTO ${table} (session_id, task_id, status, run, requeues, not_before, version)
          VALUES (${id}, ${data.taskId}, 'queued', 1, 0, ${data.queuedAt}, ${version})
          ON CONFLICT (session_id) DO NOTHING`
      case "SessionStarted":
        return update(sql`status = 'running'`)
      case "SessionToolUsed":
        return update(sql`tools_used = tools_used + 1`)
      case "SessionCompleted":
        return update(sql`status = ${data.outcome === "success" ? "succeeded" : "failed"}`)
      case "SessionRequeued":
        return update(sql`status = 'queued', run = run + 1, requeues = ${data.attempt}, not_before = ${data.notBefore}`)
      case "SessionAbandoned":
        return update(sql`status = 'abandoned'`)
    }
  })

/** The name of the session list projection. */
export const projectionName = "sessions"

/** The session list projection, writing to `schema`. */
export const projection = (schema: string, options: { readonly name?: string } = {}) =>
  Projection.make({
    name: options.name ?? projectionName,
    catalog: SessionEvents,
    categories: ["session"],
    handle: (event) => Effect.asVoid(apply(schema, event)),
    reset: Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(sql`DELETE FROM ${sql(schema)}.sessions`)),
    batchSize: 200
  })

interface Row {
  readonly session_id: string
  readonly task_id: string
  readonly status: SessionStatus
  readonly run: number
  readonly requeues: number
  readonly tools_used: number
  readonly not_before: Date
}

const toSession = (row: Row): SessionRow => ({
  sessionId: row.session_id,
  taskId: row.task_id,
  status: row.status,
  run: row.run,
  requeues: row.requeues,
  toolsUsed: row.tools_used,
  notBefore: row.not_before
})

const select = (schema: string, where: (sql: SqlClient.SqlClient) => Statement.Fragment) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<Row>`
      SELECT session_id, task_id, status, run, requeues, tools_used, not_before
        FROM ${sql(schema)}.sessions
       WHERE ${where(sql)}
       ORDER BY not_before, session_id`.pipe(Effect.map((rows) => rows.map(toSession))))

/** Every session, earliest due first. */
export const all = (schema: string): Effect.Effect<ReadonlyArray<SessionRow>, SqlError, SqlClient.SqlClient> =>
  select(schema, (sql) => sql`true`)

/** The active sessions: queued or running, earliest due first. */
export const active = (schema: string): Effect.Effect<ReadonlyArray<SessionRow>, SqlError, SqlClient.SqlClient> =>
  select(schema, (sql) => sql`status IN ('queued', 'running')`)

/** The queued sessions a worker may start at `now`: those whose `notBefore` has passed. */
export const due = (
  schema: string,
  now: Date
): Effect.Effect<ReadonlyArray<SessionRow>, SqlError, SqlClient.SqlClient> =>
  select(schema, (sql) => sql`status = 'queued' AND not_before <= ${now}`)

/**
 * The workflow sessions list: one row per session with its status, attempts, user request and
 * when it started, completed or failed — kept in PostgreSQL by a projection — and the queries
 * over it: sessions by status and start date, page by page (keyset pagination), and the counts
 * of sessions started, attempts made, sessions completed and failed.
 *
 * Each row remembers the stream version it reflects, so an event delivered twice (a replay, a
 * redelivery after a crash) changes nothing.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import type { RecordedEvent } from "@facta/core"
import { Projection, StreamId } from "@facta/core"
import { Effect, Option } from "effect"
import type { WorkflowSessionEvent } from "./WorkflowSession.js"
import { WorkflowSessionEvents } from "./WorkflowSession.js"

/** A session's status in the list. */
export type SessionStatus = "active" | "completed" | "failed"

/** A row of the sessions list. */
export interface SessionRow {
  readonly sessionId: string
  readonly userRequest: string
  readonly status: SessionStatus
  readonly attempts: number
  readonly maxAttempts: number
  /** The prompt of the latest attempt, once one was generated. */
  readonly promptName: string | null
  readonly startedAt: Date
  readonly completedAt: Date | null
  readonly failedAt: Date | null
  /** The session stream version the row reflects. */
  readonly version: number
}

/** Creates the sessions table in `schema` if it is not there. */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.zipRight(
      sql`
        CREATE TABLE IF NOT EXISTS ${sql(schema)}.workflow_sessions (
          session_id   text PRIMARY KEY,
          user_request text NOT NULL,
          status       text NOT NULL CHECK (status IN ('active', 'completed', 'failed')),
          attempts     integer NOT NULL DEFAULT 0,
          max_attempts integer NOT NULL,
          prompt_name  text,
          started_at   timestamptz NOT NULL,
          completed_at timestamptz,
          failed_at    timestamptz,
          version      integer NOT NULL
        )`,
      sql`CREATE INDEX IF NOT EXISTS workflow_sessions_by_status ON ${
        sql(schema)
      }.workflow_sessions (status, started_at, session_id)`
    ).pipe(Effect.asVoid))

/** The session id of a `workflow_session-<id>` stream. */
export const sessionIdOf = (streamId: string): string => streamId.slice(StreamId.category(streamId).length + 1)

/** Applies one event to the table; a no-op when the row already reflects its version. */
const apply = (schema: string, event: RecordedEvent.RecordedEvent<WorkflowSessionEvent>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const table = sql`${sql(schema)}.workflow_sessions`
    const sessionId = sessionIdOf(event.streamId)
    const at = event.recordedAt
    const version = event.streamVersion
    const update = (changes: Statement.Fragment) =>
      sql`UPDATE ${table} SET ${changes}, version = ${version} WHERE session_id = ${sessionId} AND version < ${version}`
    const data = event.data
    switch (data._tag) {
      case "SessionStarted":
        return sql`
          INSERT INTO ${table} (session_id, user_request, status, max_attempts, started_at, version)
          VALUES (${sessionId}, ${data.userRequest}, 'active', ${data.maxAttempts}, ${at}, ${version})
          ON CONFLICT (session_id) DO NOTHING`
      case "AttemptInitiated":
        return update(sql`attempts = ${data.attempt}`)
      case "PromptGenerated":
        return update(sql`prompt_name = ${data.promptName}`)
      case "SessionCompleted":
        return update(sql`status = 'completed', completed_at = ${at}`)
      case "SessionFailed":
        return update(sql`status = 'failed', failed_at = ${at}`)
      default:
        return update(sql`attempts = attempts`)
    }
  })

/** The name of the sessions list projection. */
export const projectionName = "workflow_sessions"

/** The sessions list projection, writing to `schema`; `name` is its checkpoint key. */
export const projection = (schema: string, name: string = projectionName) =>
  Projection.make({
    name,
    catalog: WorkflowSessionEvents,
    types: ["SessionStarted", "AttemptInitiated", "PromptGenerated", "SessionCompleted", "SessionFailed"],
    handle: (event) => Effect.asVoid(apply(schema, event)),
    reset: Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => Effect.asVoid(sql`DELETE FROM ${sql(schema)}.workflow_sessions`)
    ),
    batchSize: 200
  })

interface Row {
  readonly session_id: string
  readonly user_request: string
  readonly status: SessionStatus
  readonly attempts: number
  readonly max_attempts: number
  readonly prompt_name: string | null
  readonly started_at: Date
  readonly completed_at: Date | null
  readonly failed_at: Date | null
  readonly version: number
}

const toSession = (row: Row): SessionRow => ({
  sessionId: row.session_id,
  userRequest: row.user_request,
  status: row.status,
  attempts: row.attempts,
  maxAttempts: row.max_attempts,
  promptName: row.prompt_name,
  startedAt: row.started_at,
  completedAt: row.completed_at,
  failedAt: row.failed_at,
  version: row.version
})

/** Where a page ended: pass it as `after` to get the next page. */
export interface SessionCursor {
  readonly startedAt: Date
  readonly sessionId: string
}

/** Which sessions to list. The date range is on `startedAt`: `from` included, `to` excluded. */
export interface SessionQuery {
  readonly status?: SessionStatus
  readonly from?: Date
  readonly to?: Date
  /** Page size (1..500, default 50). */
  readonly limit?: number
  /** The cursor of the previous page. */
  readonly after?: SessionCursor
}

/** One page of sessions, oldest first, and the cursor of the next page if there is one. */
export interface SessionPage {
  readonly sessions: ReadonlyArray<SessionRow>
  readonly next: Option.Option<SessionCursor>
}

/**
 * Sessions by status and start date, oldest first, one page at a time. Keyset pagination on
 * `(started_at, session_id)`: pages stay stable while new sessions are added. `started_at` is
 * written from a JS `Date` (millisecond precision), so a cursor's `Date` compares exactly.
 */
export const list = (
  schema: string,
  query: SessionQuery = {}
): Effect.Effect<SessionPage, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const limit = Math.min(500, Math.max(1, Math.floor(query.limit ?? 50)))
    const conditions = [
      query.status === undefined ? undefined : sql`status = ${query.status}`,
      query.from === undefined ? undefined : sql`started_at >= ${query.from}`,
      query.to === undefined ? undefined : sql`started_at < ${query.to}`,
      query.after === undefined
        ? undefined
        : sql`(started_at, session_id) > (${query.after.startedAt}, ${query.after.sessionId})`
    ].filter((condition) => condition !== undefined)
    return sql<Row>`
      SELECT session_id, user_request, status, attempts, max_attempts, prompt_name, started_at, completed_at, failed_at, version
        FROM ${sql(schema)}.workflow_sessions
       WHERE ${sql.and(conditions)}
       ORDER BY started_at, session_id
       LIMIT ${limit + 1}`.pipe(
      Effect.map((rows) => {
        const sessions = rows.slice(0, limit).map(toSession)
        const last = sessions[sessions.length - 1]
        return {
          sessions,
          next: rows.length > limit && last !== undefined
            ? Option.some({ startedAt: last.startedAt, sessionId: last.sessionId })
            : Option.none()
        }
      })
    )
  })

/** One session's row. */
export const byId = (
  schema: string,
  sessionId: string
): Effect.Effect<Option.Option<SessionRow>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<Row>`
      SELECT session_id, user_request, status, attempts, max_attempts, prompt_name, started_at, completed_at, failed_at, version
        FROM ${sql(schema)}.workflow_sessions
       WHERE session_id = ${sessionId}`.pipe(Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toSession))))

/** How many sessions started, attempts were made, and sessions completed, failed or are active. */
export interface SessionCounts {
  readonly started: number
  readonly attempts: number
  readonly completed: number
  readonly failed: number
  readonly active: number
}

/** The counts over every session, or over those started in `[from, to)`. */
export const counts = (
  schema: string,
  range: { readonly from?: Date; readonly to?: Date } = {}
): Effect.Effect<SessionCounts, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const conditions = [
      range.from === undefined ? undefined : sql`started_at >= ${range.from}`,
      range.to === undefined ? undefined : sql`started_at < ${range.to}`
    ].filter((condition) => condition !== undefined)
    return sql<{ started: number; attempts: number; completed: number; failed: number; active: number }>`
      SELECT count(*)::int AS started,
             coalesce(sum(attempts), 0)::int AS attempts,
             (count(*) FILTER (WHERE status = 'completed'))::int AS completed,
             (count(*) FILTER (WHERE status = 'failed'))::int AS failed,
             (count(*) FILTER (WHERE status = 'active'))::int AS active
        FROM ${sql(schema)}.workflow_sessions
       WHERE ${sql.and(conditions)}`.pipe(
      Effect.map((rows) => rows[0] ?? { started: 0, attempts: 0, completed: 0, failed: 0, active: 0 })
    )
  })

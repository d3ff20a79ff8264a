/**
 * The job view: one PostgreSQL row per job with its tenant, status, attempts, retries, last
 * error and metadata, kept by a projection. Every query takes the tenant: a tenant sees only
 * its own jobs. Each row remembers the stream version it reflects, so an event handled twice
 * (a replay, a rebuild) changes nothing.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import type { RecordedEvent } from "@facta/core"
import { Projection, StreamId } from "@facta/core"
import { Effect, Option } from "effect"
import type { JobEvent, JobStatus, Metadata } from "./Job.js"
import { Job, JobEvents } from "./Job.js"

/**
 * A row of the job view.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobView {
  readonly tenantId: string
  readonly jobId: string
  readonly name: string
  readonly status: JobStatus
  /** Attempts started so far. */
  readonly attempts: number
  /** Retries used so far. */
  readonly retries: number
  readonly maxRetries: number
  /** Whether the job is over (completed, cancelled, or failed with no retries left). */
  readonly finished: boolean
  readonly lastError: string | null
  readonly metadata: Metadata
  readonly createdAt: Date
  readonly updatedAt: Date
  /** The job stream version the row reflects. */
  readonly version: number
}

/**
 * The projection's name (and checkpoint key).
 *
 * @since 0.1.0
 * @category constants
 */
export const name = "job_views"

/**
 * Creates the job view table in `schema` if it is not there.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.asVoid(
      sql`
      CREATE TABLE IF NOT EXISTS ${sql(schema)}.job_views (
        job_id      text PRIMARY KEY,
        tenant_id   text NOT NULL,
        name        text NOT NULL,
        status      text NOT NULL,
        attempts    integer NOT NULL DEFAULT 0,
        retries     integer NOT NULL DEFAULT 0,
        max_retries integer NOT NULL,
        last_error  text,
        metadata    jsonb NOT NULL,
        created_at  timestamptz NOT NULL,
        updated_at  timestamptz NOT NULL,
        version     integer NOT NULL
      )`.pipe(
        Effect.zipRight(sql`
          CREATE INDEX IF NOT EXISTS job_views_tenant ON ${sql(schema)}.job_views (tenant_id, status, created_at)`)
      )
    ))

const jobIdOf = (streamId: string): string => streamId.slice(StreamId.category(streamId).length + 1)

/** Applies one event; a no-op when the row already reflects its version. */
const apply = (schema: string, event: RecordedEvent.RecordedEvent<JobEvent>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const table = sql`${sql(schema)}.job_views`
    const jobId = jobIdOf(event.streamId)
    const at = event.recordedAt
    const version = event.streamVersion
    const data = event.data
    const update = (set: Statement.Fragment) =>
      sql`
        UPDATE ${table} SET ${set}, version = ${version}, updated_at = ${at}
         WHERE job_id = ${jobId} AND version < ${version}`
    switch (data._tag) {
      case "JobCreated":
        return sql`
          INSERT INTO ${table} (job_id, tenant_id, name, status, max_retries, metadata, created_at, updated_at, version)
          VALUES (${jobId}, ${data.tenantId}, ${data.name}, 'pending', ${data.maxRetries},
                  ${JSON.stringify(data.metadata)}::jsonb, ${at}, ${at}, ${version})
          ON CONFLICT (job_id) DO NOTHING`
      case "JobStarted":
        return update(sql`status = 'running', attempts = ${data.attempt}`)
      case "JobCompleted":
        return update(sql`status = 'completed'`)
      case "JobFailed":
        return update(sql`status = 'failed', last_error = ${data.error}`)
      case "JobRetried":
        return update(sql`status = 'pending', retries = ${data.retry}`)
      case "JobCancelled":
        return update(sql`status = 'cancelled'`)
      case "JobMetadataUpdated":
        return update(sql`metadata = metadata || ${JSON.stringify(data.metadata)}::jsonb`)
    }
  })

/**
 * The job view projection, writing to `schema`.
 *
 * @since 0.1.0
 * @category projections
 */
export const projection = (schema: string) =>
  Projection.make({
    name,
    catalog: JobEvents,
    categories: [Job.category],
    handle: (event) => Effect.asVoid(apply(schema, event)),
    reset: Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(sql`DELETE FROM ${sql(schema)}.job_views`)),
    batchSize: 200
  })

interface JobRow {
  readonly job_id: string
  readonly tenant_id: string
  readonly name: string
  readonly status: JobStatus
  readonly attempts: number
  readonly retries: number
  readonly max_retries: number
  readonly last_error: string | null
  readonly metadata: Metadata
  readonly created_at: Date
  readonly updated_at: Date
  readonly version: number
}

const toView = (row: JobRow): JobView => ({
  tenantId: row.tenant_id,
  jobId: row.job_id,
  name: row.name,
  status: row.status,
  attempts: row.attempts,
  retries: row.retries,
  maxRetries: row.max_retries,
  finished: row.status === "completed" || row.status === "cancelled" ||
    (row.status === "failed" && row.retries >= row.max_retries),
  lastError: row.last_error,
  metadata: row.metadata,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  version: row.version
})

/**
 * One of the tenant's jobs, if the projection has seen it. Another tenant's job is `None`.
 *
 * @since 0.1.0
 * @category queries
 */
export const get = (
  schema: string,
  tenantId: string,
  jobId: string
): Effect.Effect<Option.Option<JobView>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<JobRow>`
      SELECT job_id, tenant_id, name, status, attempts, retries, max_retries, last_error, metadata,
             created_at, updated_at, version
        FROM ${sql(schema)}.job_views
       WHERE tenant_id = ${tenantId} AND job_id = ${jobId}`.pipe(
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toView))
    ))

/**
 * Filters of {@link list}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  readonly status?: JobStatus
  readonly limit?: number
}

/**
 * The tenant's jobs, oldest first, narrowed by status.
 *
 * @since 0.1.0
 * @category queries
 */
export const list = (
  schema: string,
  tenantId: string,
  options: ListOptions = {}
): Effect.Effect<ReadonlyArray<JobView>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<JobRow>`
      SELECT job_id, tenant_id, name, status, attempts, retries, max_retries, last_error, metadata,
             created_at, updated_at, version
        FROM ${sql(schema)}.job_views
       WHERE tenant_id = ${tenantId}
         AND ${options.status === undefined ? sql`true` : sql`status = ${options.status}`}
       ORDER BY created_at, job_id
       LIMIT ${options.limit ?? 100}`.pipe(Effect.map((rows) => rows.map(toView))))

/**
 * The jobs API as an HTTP server (or a queue consumer) would use it: commands and queries
 * arrive as unknown JSON, are decoded by type and dispatched to their handlers. Commands go
 * through `CommandHandler` (load, decide, append); queries read the job view or the job's stream.
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { EventStore } from "@facta/core"
import { CommandHandler } from "@facta/core"
import { Effect, Option, Schema } from "effect"
import * as Dispatcher from "./Dispatcher.js"
import type { JobStatus as Status } from "./Job.js"
import { Job, JobCommand, JobId, JobNotFound, JobStatus, streamIdOf, TenantId } from "./Job.js"
import * as JobHistory from "./JobHistory.js"
import * as JobViews from "./JobViews.js"

// ---------------------------------------------------------------------------------------------
// queries
// ---------------------------------------------------------------------------------------------

/**
 * One of the tenant's jobs.
 *
 * @since 0.1.0
 * @category queries
 */
export const GetJob = Schema.TaggedStruct("GetJob", { tenantId: TenantId, jobId: JobId })

/**
 * The tenant's jobs, optionally of one status.
 *
 * @since 0.1.0
 * @category queries
 */
export const ListJobs = Schema.TaggedStruct("ListJobs", { tenantId: TenantId, status: Schema.optional(JobStatus) })

/**
 * A job's history.
 *
 * @since 0.1.0
 * @category queries
 */
export const GetJobHistory = Schema.TaggedStruct("GetJobHistory", { tenantId: TenantId, jobId: JobId })

/**
 * Every job query: what the query dispatcher decodes.
 *
 * @since 0.1.0
 * @category queries
 */
export const JobQuery = Schema.Union(GetJob, ListJobs, GetJobHistory)

/**
 * A job query.
 *
 * @since 0.1.0
 * @category queries
 */
export type JobQuery = typeof JobQuery.Type

// ---------------------------------------------------------------------------------------------
// dispatchers
// ---------------------------------------------------------------------------------------------

/**
 * What a command that went through reports back.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandOutcome {
  readonly jobId: string
  /** The job stream's version after the command. */
  readonly version: number
  /** The job's status after the command. */
  readonly status: Status
  /** The types of the events the command appended (none when it changed nothing). */
  readonly events: ReadonlyArray<string>
}

const execute = (command: JobCommand, context: CommandHandler.CommandContext) =>
  CommandHandler.handle(Job, streamIdOf(command.jobId), command, { context }).pipe(
    Effect.map((result): CommandOutcome => ({
      jobId: command.jobId,
      version: result.version,
      // A command that succeeds always leaves a job behind.
      status: result.state._tag === "Job" ? result.state.status : "pending",
      events: result.events.map((event) => event._tag)
    }))
  )

/**
 * The command dispatcher for one request: `context` (who sent it, its correlation id) is
 * recorded on every event the command appends.
 *
 * @example
 * const outcome = JobApi.commands({ userId: "ops-1" }).dispatch(JSON.parse(body))
 *
 * @since 0.1.0
 * @category dispatchers
 */
export const commands = (context: CommandHandler.CommandContext = {}) =>
  Dispatcher.make(JobCommand, {
    CreateJob: (command) => execute(command, context),
    StartJob: (command) => execute(command, context),
    CompleteJob: (command) => execute(command, context),
    FailJob: (command) => execute(command, context),
    RetryJob: (command) => execute(command, context),
    CancelJob: (command) => execute(command, context),
    UpdateJobMetadata: (command) => execute(command, context)
  })

/**
 * The query dispatcher over the job view in Postgres schema `schema` and the event store.
 *
 * @since 0.1.0
 * @category dispatchers
 */
export const queries = (schema: string) =>
  Dispatcher.make(JobQuery, {
    GetJob: (query): Effect.Effect<JobViews.JobView, JobNotFound | SqlError, SqlClient.SqlClient> =>
      JobViews.get(schema, query.tenantId, query.jobId).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new JobNotFound({ tenantId: query.tenantId, jobId: query.jobId })),
          onSome: Effect.succeed
        }))
      ),
    ListJobs: (query) =>
      JobViews.list(schema, query.tenantId, query.status === undefined ? {} : { status: query.status }),
    GetJobHistory: (query) => JobHistory.forJob(query.tenantId, query.jobId)
  })

/**
 * The services the dispatchers need.
 *
 * @since 0.1.0
 * @category models
 */
export type Services = EventStore.EventStore | SqlClient.SqlClient

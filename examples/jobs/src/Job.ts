/**
 * A job of a multi-tenant job runner: created for a tenant, started, then completed, failed or
 * cancelled; a failed job is retried until it has used `maxRetries` retries, then its failure is
 * final. Metadata (free string labels) can be updated at any time.
 *
 * Job ids are unique across tenants and streams are `job-<jobId>`; every command names its
 * tenant, and a command for another tenant's job fails with `JobNotFound`, exactly as for a
 * job that does not exist, so a tenant cannot even learn that another tenant's job exists.
 *
 * @since 0.1.0
 */
import { Aggregate, Decider, EventCatalog } from "@facta/core"
import { Data, Effect, Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

const Count = Schema.Int.pipe(Schema.nonNegative())
const Attempt = Schema.Int.pipe(Schema.positive())

/**
 * A tenant's id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TenantId = Schema.NonEmptyTrimmedString

/**
 * A job's id, unique across tenants.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JobId = Schema.NonEmptyTrimmedString

/**
 * Job metadata: free string labels (`priority`, `owner`, …).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Metadata = Schema.Record({
  // A record key "__proto__" does not survive Schema's record encoding (it sets the prototype):
  // refused at the door, so metadata round-trips exactly (the snapshot law found it).
  key: Schema.String.pipe(
    Schema.filter((key) => key !== "__proto__", { message: () => "\"__proto__\" cannot be a metadata key" })
  ),
  value: Schema.String
})

/**
 * Job metadata.
 *
 * @since 0.1.0
 * @category schemas
 */
export type Metadata = typeof Metadata.Type

/**
 * The job was created for `tenantId`; it may be retried `maxRetries` times after failing.
 *
 * @since 0.1.0
 * @category events
 */
export const JobCreated = Schema.TaggedStruct("JobCreated", {
  tenantId: TenantId,
  name: Schema.NonEmptyTrimmedString,
  maxRetries: Count,
  metadata: Metadata
})

/**
 * A worker started attempt number `attempt` (1 for the first run).
 *
 * @since 0.1.0
 * @category events
 */
export const JobStarted = Schema.TaggedStruct("JobStarted", { attempt: Attempt })

/**
 * The running attempt succeeded with `output`.
 *
 * @since 0.1.0
 * @category events
 */
export const JobCompleted = Schema.TaggedStruct("JobCompleted", { output: Schema.String })

/**
 * The running attempt failed with `error`.
 *
 * @since 0.1.0
 * @category events
 */
export const JobFailed = Schema.TaggedStruct("JobFailed", { attempt: Attempt, error: Schema.String })

/**
 * The failed job goes back to pending for retry number `retry` (1 for the first retry).
 *
 * @since 0.1.0
 * @category events
 */
export const JobRetried = Schema.TaggedStruct("JobRetried", { retry: Attempt })

/**
 * The job was cancelled for `reason`; it will not run again.
 *
 * @since 0.1.0
 * @category events
 */
export const JobCancelled = Schema.TaggedStruct("JobCancelled", { reason: Schema.NonEmptyTrimmedString })

/**
 * Metadata keys were set to new values (only the keys that changed).
 *
 * @since 0.1.0
 * @category events
 */
export const JobMetadataUpdated = Schema.TaggedStruct("JobMetadataUpdated", { metadata: Metadata })

/**
 * Every job event.
 *
 * @since 0.1.0
 * @category events
 */
export const JobEvents = EventCatalog.make([
  JobCreated,
  JobStarted,
  JobCompleted,
  JobFailed,
  JobRetried,
  JobCancelled,
  JobMetadataUpdated
])

/**
 * A job event.
 *
 * @since 0.1.0
 * @category events
 */
export type JobEvent = typeof JobEvents.schema.Type

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

const addressed = { tenantId: TenantId, jobId: JobId }

/**
 * Creates a job; `metadata` may be left out.
 *
 * @since 0.1.0
 * @category commands
 */
export const CreateJob = Schema.TaggedStruct("CreateJob", {
  ...addressed,
  name: Schema.NonEmptyTrimmedString,
  maxRetries: Count,
  metadata: Schema.optionalWith(Metadata, { default: () => ({}) })
})

/**
 * Starts the next attempt of a pending job.
 *
 * @since 0.1.0
 * @category commands
 */
export const StartJob = Schema.TaggedStruct("StartJob", addressed)

/**
 * Completes the running attempt with its `output`.
 *
 * @since 0.1.0
 * @category commands
 */
export const CompleteJob = Schema.TaggedStruct("CompleteJob", { ...addressed, output: Schema.String })

/**
 * Fails the running attempt with `error`.
 *
 * @since 0.1.0
 * @category commands
 */
export const FailJob = Schema.TaggedStruct("FailJob", { ...addressed, error: Schema.String })

/**
 * Sends a failed job back to pending, if it has retries left.
 *
 * @since 0.1.0
 * @category commands
 */
export const RetryJob = Schema.TaggedStruct("RetryJob", addressed)

/**
 * Cancels a job that is not finished.
 *
 * @since 0.1.0
 * @category commands
 */
export const CancelJob = Schema.TaggedStruct("CancelJob", { ...addressed, reason: Schema.NonEmptyTrimmedString })

/**
 * Sets metadata keys; keys not named keep their values.
 *
 * @since 0.1.0
 * @category commands
 */
export const UpdateJobMetadata = Schema.TaggedStruct("UpdateJobMetadata", { ...addressed, metadata: Metadata })

/**
 * Every job command: what the command dispatcher decodes.
 *
 * @since 0.1.0
 * @category commands
 */
export const JobCommand = Schema.Union(
  CreateJob,
  StartJob,
  CompleteJob,
  FailJob,
  RetryJob,
  CancelJob,
  UpdateJobMetadata
)

/**
 * A job command.
 *
 * @since 0.1.0
 * @category commands
 */
export type JobCommand = typeof JobCommand.Type

// ---------------------------------------------------------------------------------------------
// state
// ---------------------------------------------------------------------------------------------

/**
 * Where a job is in its life.
 *
 * @since 0.1.0
 * @category state
 */
export const JobStatus = Schema.Literal("pending", "running", "completed", "failed", "cancelled")

/**
 * Where a job is in its life.
 *
 * @since 0.1.0
 * @category state
 */
export type JobStatus = typeof JobStatus.Type

/**
 * The state of a job stream (also its snapshot schema).
 *
 * @since 0.1.0
 * @category state
 */
export const JobState = Schema.Union(
  Schema.TaggedStruct("NoJob", {}),
  Schema.TaggedStruct("Job", {
    tenantId: Schema.String,
    name: Schema.String,
    status: JobStatus,
    /** Attempts started so far. */
    attempts: Schema.Number,
    /** Retries used so far. */
    retries: Schema.Number,
    maxRetries: Schema.Number,
    metadata: Metadata,
    lastError: Schema.NullOr(Schema.String)
  })
)

/**
 * A job stream's state.
 *
 * @since 0.1.0
 * @category state
 */
export type JobState = typeof JobState.Type

type ExistingJob = Extract<JobState, { readonly _tag: "Job" }>

/**
 * Whether a job is over: completed, cancelled, or failed with no retries left.
 *
 * @since 0.1.0
 * @category state
 */
export const isFinished = (state: JobState): boolean =>
  state._tag === "Job" &&
  (state.status === "completed" || state.status === "cancelled" ||
    (state.status === "failed" && state.retries >= state.maxRetries))

// ---------------------------------------------------------------------------------------------
// domain errors
// ---------------------------------------------------------------------------------------------

/**
 * A job with that id exists.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobAlreadyExists extends Data.TaggedError("JobAlreadyExists")<{ readonly jobId: string }> {
  override get message() {
    return `A job with id ${this.jobId} already exists; choose another id`
  }
}

/**
 * The tenant has no job with that id: it does not exist, or belongs to another tenant (the two
 * are deliberately indistinguishable).
 *
 * @since 0.1.0
 * @category errors
 */
export class JobNotFound
  extends Data.TaggedError("JobNotFound")<{ readonly tenantId: string; readonly jobId: string }>
{
  override get message() {
    return `Tenant ${this.tenantId} has no job ${this.jobId}; check the job id and the tenant`
  }
}

/**
 * What a command tried to do to a job.
 *
 * @since 0.1.0
 * @category errors
 */
export type JobAction = "start" | "complete" | "fail" | "retry" | "cancel"

const needs: Record<JobAction, string> = {
  start: "only a pending job can start",
  complete: "only a running job can complete",
  fail: "only a running job can fail",
  retry: "only a failed job can be retried",
  cancel: "a finished job cannot be cancelled"
}

/**
 * The job's status does not allow the command.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTransition extends Data.TaggedError("InvalidTransition")<{
  readonly jobId: string
  readonly action: JobAction
  readonly status: JobStatus
}> {
  override get message() {
    return `Cannot ${this.action} job ${this.jobId}: it is ${this.status} (${needs[this.action]})`
  }
}

/**
 * The job used all its retries; its failure is final.
 *
 * @since 0.1.0
 * @category errors
 */
export class RetryLimitReached extends Data.TaggedError("RetryLimitReached")<{
  readonly jobId: string
  readonly maxRetries: number
}> {
  override get message() {
    return `Job ${this.jobId} has no retries left (its limit is ${this.maxRetries}) and stays failed; create a new job to run it again`
  }
}

/**
 * A retry limit must be a whole number of at least 0.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidMaxRetries extends Data.TaggedError("InvalidMaxRetries")<{ readonly maxRetries: number }> {
  override get message() {
    return `maxRetries must be a whole number of at least 0, not ${this.maxRetries}`
  }
}

/**
 * Every domain error of a job.
 *
 * @since 0.1.0
 * @category errors
 */
export type JobError = JobAlreadyExists | JobNotFound | InvalidTransition | RetryLimitReached | InvalidMaxRetries

// ---------------------------------------------------------------------------------------------
// decider
// ---------------------------------------------------------------------------------------------

type Decision = Effect.Effect<ReadonlyArray<JobEvent>, JobError>

const refuse = (command: JobCommand, action: JobAction, job: ExistingJob): Decision =>
  Effect.fail(new InvalidTransition({ jobId: command.jobId, action, status: job.status }))

const changedKeys = (current: Metadata, update: Metadata): Metadata =>
  Object.fromEntries(Object.entries(update).filter(([key, value]) => current[key] !== value))

const decideOnJob = (command: Exclude<JobCommand, { readonly _tag: "CreateJob" }>, job: ExistingJob): Decision => {
  switch (command._tag) {
    case "StartJob":
      return job.status === "pending"
        ? Effect.succeed([{ _tag: "JobStarted", attempt: job.attempts + 1 }])
        : refuse(command, "start", job)
    case "CompleteJob":
      return job.status === "running"
        ? Effect.succeed([{ _tag: "JobCompleted", output: command.output }])
        : refuse(command, "complete", job)
    case "FailJob":
      return job.status === "running"
        ? Effect.succeed([{ _tag: "JobFailed", attempt: job.attempts, error: command.error }])
        : refuse(command, "fail", job)
    case "RetryJob":
      if (job.status !== "failed") return refuse(command, "retry", job)
      return job.retries >= job.maxRetries
        ? Effect.fail(new RetryLimitReached({ jobId: command.jobId, maxRetries: job.maxRetries }))
        : Effect.succeed([{ _tag: "JobRetried", retry: job.retries + 1 }])
    case "CancelJob":
      // Cancelling twice (a retried request) changes nothing.
      if (job.status === "cancelled") return Effect.succeed([])
      return isFinished(job)
        ? refuse(command, "cancel", job)
        : Effect.succeed([{ _tag: "JobCancelled", reason: command.reason }])
    case "UpdateJobMetadata": {
      const changed = changedKeys(job.metadata, command.metadata)
      return Object.keys(changed).length === 0
        ? Effect.succeed([])
        : Effect.succeed([{ _tag: "JobMetadataUpdated", metadata: changed }])
    }
  }
}

/**
 * Decides what a command does to a job: its events, or the domain error that forbids it.
 *
 * @since 0.1.0
 * @category decider
 */
export const decide = (command: JobCommand, state: JobState): Decision => {
  if (command._tag === "CreateJob") {
    if (state._tag === "Job") return Effect.fail(new JobAlreadyExists({ jobId: command.jobId }))
    if (!Number.isSafeInteger(command.maxRetries) || command.maxRetries < 0) {
      return Effect.fail(new InvalidMaxRetries({ maxRetries: command.maxRetries }))
    }
    return Effect.succeed([{
      _tag: "JobCreated",
      tenantId: command.tenantId,
      name: command.name,
      maxRetries: command.maxRetries,
      metadata: command.metadata
    }])
  }
  return state._tag === "Job" && state.tenantId === command.tenantId
    ? decideOnJob(command, state)
    : Effect.fail(new JobNotFound({ tenantId: command.tenantId, jobId: command.jobId }))
}

/**
 * Folds one event into the state. Total: an event that does not fit the state leaves it as it is.
 *
 * @since 0.1.0
 * @category decider
 */
export const evolve = (state: JobState, event: JobEvent): JobState => {
  if (event._tag === "JobCreated") {
    return state._tag === "NoJob"
      ? {
        _tag: "Job",
        tenantId: event.tenantId,
        name: event.name,
        status: "pending",
        attempts: 0,
        retries: 0,
        maxRetries: event.maxRetries,
        metadata: event.metadata,
        lastError: null
      }
      : state
  }
  if (state._tag === "NoJob") return state
  switch (event._tag) {
    case "JobStarted":
      return { ...state, status: "running", attempts: event.attempt }
    case "JobCompleted":
      return { ...state, status: "completed" }
    case "JobFailed":
      return { ...state, status: "failed", lastError: event.error }
    case "JobRetried":
      return { ...state, status: "pending", retries: event.retry }
    case "JobCancelled":
      return { ...state, status: "cancelled" }
    case "JobMetadataUpdated":
      return { ...state, metadata: { ...state.metadata, ...event.metadata } }
  }
}

/**
 * The job decider.
 *
 * @since 0.1.0
 * @category decider
 */
export const JobDecider = Decider.make({
  initialState: { _tag: "NoJob" } as JobState,
  decide,
  evolve,
  isTerminal: isFinished
})

/**
 * The job aggregate: streams `job-<jobId>`, a snapshot every 25 events.
 *
 * @since 0.1.0
 * @category aggregate
 */
export const Job = Aggregate.make({
  category: "job",
  catalog: JobEvents,
  decider: JobDecider,
  snapshots: { schema: JobState, schemaVersion: 1, every: 25 }
})

/**
 * The stream of job `jobId`.
 *
 * @since 0.1.0
 * @category aggregate
 */
export const streamIdOf = (jobId: string): string => `${Job.category}-${jobId}`

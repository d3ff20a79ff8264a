/**
 * A job's history: its events, read straight from its stream, as entries a person can read —
 * when, what, who (`userId`) and why (`correlationId`, `causationId` from the event metadata).
 * Like every job query it takes the tenant, and another tenant's job is `JobNotFound`.
 *
 * @since 0.1.0
 */
import type { Aggregate, EventStore } from "@facta/core"
import { EventCatalog } from "@facta/core"
import { Chunk, Effect, Stream } from "effect"
import type { JobEvent } from "./Job.js"
import { JobEvents, JobNotFound, streamIdOf } from "./Job.js"

/**
 * One entry of a job's history.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryEntry {
  /** The event's version in the job stream (1 for creation). */
  readonly version: number
  /** When the store recorded it. */
  readonly at: Date
  /** The event type. */
  readonly type: JobEvent["_tag"]
  /** What happened, in a sentence. */
  readonly description: string
  readonly userId: string | null
  readonly correlationId: string | null
  readonly causationId: string | null
}

const retries = (n: number) => (n === 1 ? "1 retry" : `${n} retries`)

const labels = (metadata: Readonly<Record<string, string>>) =>
  Object.entries(metadata).map(([key, value]) => `${key}=${value}`).join(", ")

/**
 * Describes a job event in a sentence.
 *
 * @since 0.1.0
 * @category formatting
 */
export const describe = (event: JobEvent): string => {
  switch (event._tag) {
    case "JobCreated": {
      const metadata = Object.keys(event.metadata).length === 0 ? "" : ` [${labels(event.metadata)}]`
      return `Created "${event.name}" for tenant ${event.tenantId}, up to ${retries(event.maxRetries)}${metadata}`
    }
    case "JobStarted":
      return `Attempt ${event.attempt} started`
    case "JobCompleted":
      return event.output === "" ? "Completed" : `Completed: ${event.output}`
    case "JobFailed":
      return `Attempt ${event.attempt} failed: ${event.error}`
    case "JobRetried":
      return `Retry ${event.retry} scheduled`
    case "JobCancelled":
      return `Cancelled: ${event.reason}`
    case "JobMetadataUpdated":
      return `Metadata set: ${labels(event.metadata)}`
  }
}

const stringOrNull = (value: unknown): string | null => (typeof value === "string" ? value : null)

/**
 * The tenant's job `jobId`, event by event, oldest first. Fails with `JobNotFound` when the job
 * does not exist or belongs to another tenant.
 *
 * @since 0.1.0
 * @category queries
 */
export const forJob = (
  tenantId: string,
  jobId: string
): Effect.Effect<
  ReadonlyArray<HistoryEntry>,
  JobNotFound | Aggregate.LoadError,
  EventStore.EventStore
> =>
  EventCatalog.readStream(JobEvents, streamIdOf(jobId)).pipe(
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Effect.flatMap((events) => {
      const created = events[0]?.data
      if (created === undefined || created._tag !== "JobCreated" || created.tenantId !== tenantId) {
        return Effect.fail(new JobNotFound({ tenantId, jobId }))
      }
      return Effect.succeed(events.map((event): HistoryEntry => ({
        version: event.streamVersion,
        at: event.recordedAt,
        type: event.data._tag,
        description: describe(event.data),
        userId: stringOrNull(event.metadata.userId),
        correlationId: stringOrNull(event.metadata.correlationId),
        causationId: stringOrNull(event.metadata.causationId)
      })))
    })
  )

import { describe, expect, it } from "@effect/vitest"
import { DeciderSpec } from "@facta/testing"
import {
  InvalidMaxRetries,
  InvalidTransition,
  Job,
  JobAlreadyExists,
  type JobCommand,
  type JobEvent,
  JobNotFound,
  type JobState,
  RetryLimitReached
} from "../src/Job.js"

const spec = DeciderSpec.for(Job)

const tenantId = "acme"
const jobId = "j-1"

const created: JobEvent = {
  _tag: "JobCreated",
  tenantId,
  name: "nightly report",
  maxRetries: 2,
  metadata: { priority: "low" }
}
const started = (attempt: number): JobEvent => ({ _tag: "JobStarted", attempt })
const completed: JobEvent = { _tag: "JobCompleted", output: "42 rows" }
const failed = (attempt: number): JobEvent => ({ _tag: "JobFailed", attempt, error: "timeout" })
const retried = (retry: number): JobEvent => ({ _tag: "JobRetried", retry })
const cancelled: JobEvent = { _tag: "JobCancelled", reason: "no longer needed" }

const create: JobCommand = {
  _tag: "CreateJob",
  tenantId,
  jobId,
  name: "nightly report",
  maxRetries: 2,
  metadata: { priority: "low" }
}
const start: JobCommand = { _tag: "StartJob", tenantId, jobId }
const complete: JobCommand = { _tag: "CompleteJob", tenantId, jobId, output: "42 rows" }
const fail: JobCommand = { _tag: "FailJob", tenantId, jobId, error: "timeout" }
const retry: JobCommand = { _tag: "RetryJob", tenantId, jobId }
const cancel: JobCommand = { _tag: "CancelJob", tenantId, jobId, reason: "no longer needed" }
const updateMetadata = (metadata: Record<string, string>): JobCommand => ({
  _tag: "UpdateJobMetadata",
  tenantId,
  jobId,
  metadata
})

const job = (fields: Partial<Extract<JobState, { _tag: "Job" }>>): JobState => ({
  _tag: "Job",
  tenantId,
  name: "nightly report",
  status: "pending",
  attempts: 0,
  retries: 0,
  maxRetries: 2,
  metadata: { priority: "low" },
  lastError: null,
  ...fields
})

/** A job that failed every attempt it was allowed: the first run and both retries. */
const exhausted = [created, started(1), failed(1), retried(1), started(2), failed(2), retried(2), started(3), failed(3)]

const invalid = (action: InvalidTransition["action"], status: InvalidTransition["status"]) =>
  new InvalidTransition({ jobId, action, status })

describe("Job", () => {
  describe("creating", () => {
    it.effect("creates a pending job for the tenant", () => spec.when(create).then([created], { state: job({}) }))

    it.effect("creates a job with no metadata and no retries", () =>
      spec.when({ _tag: "CreateJob", tenantId, jobId, name: "nightly report", maxRetries: 0, metadata: {} }).then([
        { _tag: "JobCreated", tenantId, name: "nightly report", maxRetries: 0, metadata: {} }
      ]))

    it.effect("refuses an id that exists", () =>
      spec.given([created]).when(create).thenFails(new JobAlreadyExists({ jobId })))

    it.effect("refuses a negative retry limit", () =>
      spec.when({ ...create, maxRetries: -1 } as JobCommand).thenFails(new InvalidMaxRetries({ maxRetries: -1 })))

    it.effect("refuses a fractional retry limit", () =>
      spec.when({ ...create, maxRetries: 1.5 } as JobCommand).thenFails("InvalidMaxRetries"))
  })

  describe("starting", () => {
    it.effect("starts a pending job as attempt 1", () =>
      spec.given([created]).when(start).then([started(1)], { state: job({ status: "running", attempts: 1 }) }))

    it.effect("starts a retried job as the next attempt", () =>
      spec.given([created, started(1), failed(1), retried(1)]).when(start).then([started(2)]))

    it.effect("refuses to start a running job", () =>
      spec.given([created, started(1)]).when(start).thenFails(invalid("start", "running")))

    it.effect("refuses to start a completed job", () =>
      spec.given([created, started(1), completed]).when(start).thenFails(invalid("start", "completed")))

    it.effect("refuses to start a failed job that was not retried", () =>
      spec.given([created, started(1), failed(1)]).when(start).thenFails(invalid("start", "failed")))

    it.effect("refuses to start a cancelled job", () =>
      spec.given([created, cancelled]).when(start).thenFails(invalid("start", "cancelled")))
  })

  describe("completing", () => {
    it.effect("completes a running job", () =>
      spec.given([created, started(1)]).when(complete).then([completed], {
        state: job({ status: "completed", attempts: 1 })
      }))

    it.effect("refuses to complete a job that has not started", () =>
      spec.given([created]).when(complete).thenFails(invalid("complete", "pending")))

    it.effect("refuses to complete a job twice", () =>
      spec.given([created, started(1), completed]).when(complete).thenFails(invalid("complete", "completed")))
  })

  describe("failing and retrying", () => {
    it.effect("fails the running attempt, keeping the error", () =>
      spec.given([created, started(1)]).when(fail).then([failed(1)], {
        state: job({ status: "failed", attempts: 1, lastError: "timeout" })
      }))

    it.effect("refuses to fail a job that is not running", () =>
      spec.given([created]).when(fail).thenFails(invalid("fail", "pending")))

    it.effect("retries a failed job: it is pending again", () =>
      spec.given([created, started(1), failed(1)]).when(retry).then([retried(1)], {
        state: job({ status: "pending", attempts: 1, retries: 1, lastError: "timeout" })
      }))

    it.effect("retries up to the limit", () => spec.given(exhausted.slice(0, 6)).when(retry).then([retried(2)]))

    it.effect("refuses a retry beyond the limit: the failure is final", () =>
      spec.given(exhausted).when(retry).thenFails(new RetryLimitReached({ jobId, maxRetries: 2 })))

    it.effect("a job with no retries fails for good at once", () =>
      spec.given([{ ...created, maxRetries: 0 } as JobEvent, started(1), failed(1)]).when(retry).thenFails(
        new RetryLimitReached({ jobId, maxRetries: 0 })
      ))

    it.effect("refuses to retry a job that has not failed", () =>
      spec.given([created, started(1)]).when(retry).thenFails(invalid("retry", "running")))

    it.effect("refuses to retry a completed job", () =>
      spec.given([created, started(1), completed]).when(retry).thenFails(invalid("retry", "completed")))
  })

  describe("cancelling", () => {
    it.effect("cancels a pending job", () =>
      spec.given([created]).when(cancel).then([cancelled], { state: job({ status: "cancelled" }) }))

    it.effect("cancels a running job", () => spec.given([created, started(1)]).when(cancel).then([cancelled]))

    it.effect("cancels a failed job that still had retries", () =>
      spec.given([created, started(1), failed(1)]).when(cancel).then([cancelled]))

    it.effect("refuses to cancel a completed job", () =>
      spec.given([created, started(1), completed]).when(cancel).thenFails(invalid("cancel", "completed")))

    it.effect("refuses to cancel a job whose failure is final", () =>
      spec.given(exhausted).when(cancel).thenFails(invalid("cancel", "failed")))

    it.effect("cancelling a cancelled job again changes nothing", () =>
      spec.given([created, cancelled]).when(cancel).thenNothing())
  })

  describe("metadata", () => {
    it.effect("records only the keys that change", () =>
      spec.given([created]).when(updateMetadata({ priority: "low", owner: "ops" })).then([
        { _tag: "JobMetadataUpdated", metadata: { owner: "ops" } }
      ], { state: job({ metadata: { priority: "low", owner: "ops" } }) }))

    it.effect("overwrites a key with a new value", () =>
      spec.given([created]).when(updateMetadata({ priority: "high" })).thenState(
        job({ metadata: { priority: "high" } })
      ))

    it.effect("an update that changes nothing appends nothing", () =>
      spec.given([created]).when(updateMetadata({ priority: "low" })).thenNothing())

    it.effect("can annotate a finished job", () =>
      spec.given([created, started(1), completed]).when(updateMetadata({ reviewed: "yes" })).then([
        { _tag: "JobMetadataUpdated", metadata: { reviewed: "yes" } }
      ]))
  })

  describe("unknown jobs and tenants", () => {
    const notFound = (tenant: string) => new JobNotFound({ tenantId: tenant, jobId })
    const commands: ReadonlyArray<JobCommand> = [start, complete, fail, retry, cancel, updateMetadata({ a: "b" })]

    for (const command of commands) {
      it.effect(`${command._tag} on a job that does not exist fails with JobNotFound`, () =>
        spec.when(command).thenFails(notFound(tenantId)))

      it.effect(`${command._tag} through another tenant fails with JobNotFound, as if the job did not exist`, () =>
        spec.given([created, started(1), failed(1)]).when({ ...command, tenantId: "globex" }).thenFails(
          notFound("globex")
        ))
    }
  })

  describe("errors say what to do", () => {
    it("names the job, the action, its status and what the action needs", () => {
      expect(invalid("complete", "pending").message).toBe(
        "Cannot complete job j-1: it is pending (only a running job can complete)"
      )
      expect(new RetryLimitReached({ jobId, maxRetries: 2 }).message).toBe(
        "Job j-1 has no retries left (its limit is 2) and stays failed; create a new job to run it again"
      )
      expect(new JobNotFound({ tenantId: "globex", jobId }).message).toBe(
        "Tenant globex has no job j-1; check the job id and the tenant"
      )
    })
  })
})

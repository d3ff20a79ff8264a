import { describe, expect, it } from "@effect/vitest"
import { Laws } from "@facta/testing"
import { Arbitrary, Effect, FastCheck, Schema } from "effect"
import { CreateJob, FailJob, Job, JobCommand, RetryJob, StartJob } from "../src/Job.js"

/**
 * Schema-random tenants and limits would almost never match the job's, so every command after
 * creation would be refused; two tenants and small limits make every path common, including
 * the other tenant's commands.
 */
const onOneJob = (command: JobCommand): JobCommand => {
  const tenantId = command.tenantId.length % 5 === 0 ? "globex" : "acme"
  switch (command._tag) {
    case "CreateJob":
      return { ...command, tenantId: "acme", maxRetries: command.maxRetries % 3 }
    case "UpdateJobMetadata":
      return { ...command, tenantId, metadata: { priority: command.jobId.length % 2 === 0 ? "high" : "low" } }
    default:
      return { ...command, tenantId }
  }
}

/** Every kind of command, derived from the command schema. */
const anyCommand = Arbitrary.make(JobCommand).map(onOneJob)
/** The run loop — start, fail, retry — more often than the rest. */
const runLoop = Arbitrary.make(Schema.Union(StartJob, FailJob, RetryJob)).map(onOneJob)
const create = Arbitrary.make(CreateJob).map(onOneJob)
const commands = FastCheck.oneof(
  { arbitrary: create, weight: 1 },
  { arbitrary: anyCommand, weight: 2 },
  { arbitrary: runLoop, weight: 5 }
)
const maxCommands = 30

describe("Job laws", () => {
  it.effect("the command arbitrary gives interesting histories", () =>
    Effect.gen(function*() {
      const samples = FastCheck.sample(FastCheck.array(commands, { maxLength: maxCommands, size: "max" }), {
        numRuns: 300,
        seed: 11
      })
      const histories = yield* Effect.forEach(samples, (sample) => Laws.history(Job, sample))
      const share = (predicate: (history: (typeof histories)[number]) => boolean) =>
        histories.filter(predicate).length / histories.length
      const rejectedWith = (tag: string) => (h: (typeof histories)[number]) =>
        h.steps.some((step) => step._tag === "Rejected" && step.error._tag === tag)
      const ended = (status: string) => (h: (typeof histories)[number]) =>
        h.state._tag === "Job" && h.state.status === status
      expect(share((h) => h.events.some((e) => e._tag === "JobRetried"))).toBeGreaterThan(0.1)
      expect(share(rejectedWith("RetryLimitReached"))).toBeGreaterThan(0.05)
      expect(share(rejectedWith("JobNotFound"))).toBeGreaterThan(0.2)
      expect(share(ended("completed"))).toBeGreaterThan(0.03)
      expect(share(ended("cancelled"))).toBeGreaterThan(0.05)
      expect(share((h) => h.events.some((e) => e._tag === "JobMetadataUpdated"))).toBeGreaterThan(0.05)
    }))

  it.effect("all laws hold", () =>
    Effect.gen(function*() {
      const checked = yield* Laws.check(Job, { commands, maxCommands, numRuns: 200 })
      expect(checked).toEqual(["replayIsDeterministic", "snapshotRestoresState", "eventsRoundTrip", "evolveIsTotal"])
    }))

  it.effect("the laws also hold for commands straight from the schema", () =>
    Effect.asVoid(Laws.check(Job, { commands: Arbitrary.make(JobCommand), numRuns: 50 })))

  it.effect("a job never runs more attempts than one plus its retry limit", () =>
    Effect.gen(function*() {
      const samples = FastCheck.sample(FastCheck.array(commands, { maxLength: maxCommands, size: "max" }), {
        numRuns: 300,
        seed: 12
      })
      const histories = yield* Effect.forEach(samples, (sample) => Laws.history(Job, sample))
      for (const history of histories) {
        if (history.state._tag !== "Job") continue
        expect(history.state.retries).toBeLessThanOrEqual(history.state.maxRetries)
        expect(history.state.attempts).toBeLessThanOrEqual(history.state.maxRetries + 1)
        expect(history.state.tenantId).toBe("acme")
      }
    }))
})

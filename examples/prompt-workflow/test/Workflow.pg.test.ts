/**
 * End to end on Postgres: commands through the workflow service (CommandHandler), the
 * projections and the alerting subscriber under a ProjectionRunner, then the queries, the
 * temporal loads, the audit trail and the alerts.
 */
import { describe, expect, layer } from "@effect/vitest"
import type { CommandHandler } from "@facta/core"
import { Aggregate, EventCatalog, ProjectionRunner } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Chunk, Effect, Layer, Option, Stream } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import * as AttemptsExhaustedAlerts from "../src/AttemptsExhaustedAlerts.js"
import * as AuditTrail from "../src/AuditTrail.js"
import * as PromptCatalog from "../src/PromptCatalog.js"
import { PromptSpecification } from "../src/PromptSpecification.js"
import * as PromptWorkflow from "../src/PromptWorkflow.js"
import * as ReadModels from "../src/ReadModels.js"
import * as SessionList from "../src/SessionList.js"
import * as ValidationHistory from "../src/ValidationHistory.js"
import type { WorkflowSessionCommand } from "../src/WorkflowSession.js"
import { stateAsOf, WorkflowSessionEvents } from "../src/WorkflowSession.js"

const schema = uniqueSchemaName()
const stores = storesLayer(schema)
const readModels = Layer.effectDiscard(ReadModels.migrate(schema)).pipe(Layer.provide(stores))
const runner = ProjectionRunner.layer(ReadModels.projections(schema), { leaseTtl: "2 seconds" })
const app = runner.pipe(Layer.provideMerge(Layer.merge(stores, readModels)))

const names = [
  SessionList.projectionName,
  PromptCatalog.projectionName,
  ValidationHistory.projectionName,
  AttemptsExhaustedAlerts.projectionName
]
const catchUp = Effect.forEach(names, ProjectionRunner.waitForCatchUp, { discard: true }).pipe(
  Effect.timeout("20 seconds")
)

const run = (
  sessionId: string,
  context: CommandHandler.CommandContext,
  ...commands: ReadonlyArray<WorkflowSessionCommand>
) => Effect.forEach(commands, (command) => PromptWorkflow.send(sessionId, command, context), { discard: true })

const analyze: WorkflowSessionCommand = {
  _tag: "AnalyzeTask",
  taskType: "summarization",
  requirements: ["urgency first"]
}
const validate = (qualityScore: number): WorkflowSessionCommand => ({
  _tag: "ValidatePrompt",
  qualityScore,
  breakdown: { clarity: qualityScore, specificity: qualityScore }
})
const reject = (feedback: string): WorkflowSessionCommand => ({ _tag: "RejectPrompt", feedback })
const applyFeedback: WorkflowSessionCommand = { _tag: "ApplyFeedback", changes: "worked the feedback in" }
const retry: WorkflowSessionCommand = { _tag: "RetryAttempt" }

const ada = { userId: "ada", correlationId: "request-happy" }
const bob = { userId: "bob", correlationId: "request-doomed" }

layer(app, { excludeTestServices: true })("the prompt workflow on Postgres, end to end", (it) => {
  describe("three sessions: one approved on its second attempt, one out of attempts, one just started", () => {
    it.effect("commands → projections caught up → the queries return the expected rows", () =>
      Effect.gen(function*() {
        yield* run(
          "happy",
          ada,
          { _tag: "StartSession", userRequest: "Summarize support emails", maxAttempts: 3 },
          analyze,
          { _tag: "GeneratePrompt", promptName: "email-summary", text: "Summarize {{email}}." },
          validate(0.45),
          reject("say what is urgent"),
          applyFeedback
        )
        yield* Effect.sleep("20 millis") // so the next command is recorded at a later millisecond (the as-of-time test)
        yield* run(
          "happy",
          ada,
          retry,
          { _tag: "GeneratePrompt", promptName: "email-summary", text: "Summarize {{email}}, urgency first." },
          validate(0.88),
          { _tag: "ApprovePrompt" }
        )
        yield* run(
          "doomed",
          bob,
          { _tag: "StartSession", userRequest: "Write release notes", maxAttempts: 2 },
          analyze,
          { _tag: "GeneratePrompt", promptName: "release-notes", text: "Write notes for {{changes}}." },
          validate(0.3),
          reject("no audience"),
          applyFeedback,
          retry,
          { _tag: "GeneratePrompt", promptName: "release-notes", text: "Write notes for {{changes}} for customers." },
          reject("still no audience")
        )
        yield* run("pending", {}, { _tag: "StartSession", userRequest: "Classify tickets", maxAttempts: 2 })
        yield* catchUp

        const statuses = yield* SessionList.list(schema)
        expect(statuses.sessions.map((row) => [row.sessionId, row.status, row.attempts])).toEqual([
          ["happy", "completed", 2],
          ["doomed", "failed", 2],
          ["pending", "active", 1]
        ])
        expect((yield* SessionList.list(schema, { status: "failed" })).sessions.map((row) => row.sessionId)).toEqual([
          "doomed"
        ])
        expect(yield* SessionList.counts(schema)).toEqual({
          started: 3,
          attempts: 5,
          completed: 1,
          failed: 1,
          active: 1
        })

        const prompt = Option.getOrThrow(yield* PromptCatalog.byName(schema, "email-summary"))
        expect(prompt).toMatchObject({
          currentText: "Summarize {{email}}, urgency first.",
          status: "approved",
          qualityScore: 0.88,
          revision: 2,
          sessionId: "happy"
        })
        expect(Option.getOrThrow(yield* PromptCatalog.byName(schema, "release-notes"))).toMatchObject({
          status: "generated",
          qualityScore: 0.3,
          revision: 2
        })

        const history = yield* ValidationHistory.ofPrompt(schema, "email-summary")
        expect(history.map((row) => [row.attempt, row.qualityScore, row.breakdown])).toEqual([
          [1, 0.45, { clarity: 0.45, specificity: 0.45 }],
          [2, 0.88, { clarity: 0.88, specificity: 0.88 }]
        ])
        expect((yield* ValidationHistory.qualityTrend(schema, "email-summary")).direction).toBe("improving")

        const found = yield* PromptCatalog.search(schema, { term: "{{", minQualityScore: 0.5 })
        expect(found.map((row) => row.name)).toEqual(["email-summary"])
        expect((yield* PromptCatalog.search(schema, { term: "NOTES" })).map((row) => row.name)).toEqual([
          "release-notes"
        ])

        // "Yesterday", seen from the day after the approval.
        const dayAfter = new Date(prompt.approvedAt!.getTime() + 24 * 60 * 60 * 1000)
        expect((yield* PromptCatalog.approvedYesterday(schema, { now: dayAfter })).approved).toBe(1)
        expect((yield* PromptCatalog.approvedYesterday(schema, { now: prompt.approvedAt! })).approved).toBe(0)
      }))

    it.effect("the specification followed its session: generated, refined on the retry, approved with the score", () =>
      Effect.gen(function*() {
        const loaded = yield* Aggregate.load(PromptSpecification, "prompt_spec-email-summary")
        expect(loaded.state).toMatchObject({ _tag: "Approved", revision: 2, qualityScore: 0.88, sessionId: "happy" })
        const events = yield* EventCatalog.readStream(PromptSpecification.catalog, "prompt_spec-email-summary").pipe(
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray)
        )
        expect(events.map((event) => event.data._tag)).toEqual([
          "SpecificationGenerated",
          "SpecificationRefined",
          "SpecificationApproved"
        ])
        for (const event of events) {
          expect(event.metadata).toMatchObject({ userId: "ada", correlationId: "request-happy" })
        }
      }))

    it.effect("the alert is raised exactly once, and redelivering the failure (a rebuild) does not raise it again", () =>
      Effect.gen(function*() {
        const once = yield* AttemptsExhaustedAlerts.alerts
        expect(once).toHaveLength(1)
        expect(once[0]).toMatchObject({ sessionId: "doomed", attempts: 2, lastFeedback: "still no audience" })

        yield* ProjectionRunner.rebuild(AttemptsExhaustedAlerts.projectionName)
        yield* catchUp
        expect(yield* AttemptsExhaustedAlerts.alerts).toEqual(once)

        // And by hand: the same SessionFailed handed to the subscriber twice more.
        const failed = yield* EventCatalog.readStream(WorkflowSessionEvents, "workflow_session-doomed").pipe(
          Stream.filter((event) => event.data._tag === "SessionFailed"),
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray)
        )
        expect(failed).toHaveLength(1)
        const handle = AttemptsExhaustedAlerts.projection.handle
        yield* handle(failed[0] as Parameters<typeof handle>[0])
        yield* handle(failed[0] as Parameters<typeof handle>[0])
        expect(yield* AttemptsExhaustedAlerts.alerts).toEqual(once)
        expect(once[0]!.sourceEventId).toBe(failed[0]!.eventId)
      }))

    it.effect("a rebuild of every read model gives the same rows", () =>
      Effect.gen(function*() {
        const rows = Effect.all([
          SessionList.list(schema),
          PromptCatalog.search(schema, { term: "" }),
          ValidationHistory.ofPrompt(schema, "email-summary")
        ])
        const before = yield* rows
        for (const name of names.slice(0, 3)) yield* ProjectionRunner.rebuild(name)
        yield* catchUp
        expect(yield* rows).toEqual(before)
      }))

    it.effect("the session's state as of a version and as of a time", () =>
      Effect.gen(function*() {
        const atVersion5 = yield* stateAsOf("happy", { version: 5 })
        expect(atVersion5.version).toBe(5)
        expect(atVersion5.state).toMatchObject({
          _tag: "Active",
          attempt: 1,
          phase: "prompt-validated",
          qualityScore: 0.45
        })

        const trail = yield* AuditTrail.ofSession("happy")
        const feedbackAppliedAt = trail.find((entry) => entry.type === "FeedbackApplied")!.at
        const atThatTime = yield* stateAsOf("happy", { time: feedbackAppliedAt })
        expect(atThatTime.version).toBe(7)
        expect(atThatTime.state).toMatchObject({ _tag: "Active", attempt: 1, phase: "feedback-applied" })

        const before = yield* stateAsOf("happy", { time: new Date(trail[0]!.at.getTime() - 1) })
        expect(before.state).toEqual({ _tag: "NotStarted" })
        expect((yield* stateAsOf("happy", { version: 100 })).state).toMatchObject({ _tag: "Completed", attempts: 2 })
      }))

    it.effect("the audit trail says who did what and when, with correlation and causation", () =>
      Effect.gen(function*() {
        const trail = yield* AuditTrail.ofSession("happy")
        expect(trail.map((entry) => entry.type)).toEqual([
          "SessionStarted",
          "AttemptInitiated",
          "TaskAnalyzed",
          "PromptGenerated",
          "PromptValidated",
          "PromptRejected",
          "FeedbackApplied",
          "AttemptInitiated",
          "PromptGenerated",
          "PromptValidated",
          "PromptApproved",
          "SessionCompleted"
        ])
        for (const entry of trail) expect(entry).toMatchObject({ userId: "ada", correlationId: "request-happy" })
        // One command, one cause: StartSession recorded two events, ApprovePrompt two.
        expect(trail[0]!.causationId).toBe(trail[1]!.causationId)
        expect(trail[10]!.causationId).toBe(trail[11]!.causationId)
        expect(new Set(trail.map((entry) => entry.causationId)).size).toBe(10)

        const lines = yield* AuditTrail.lines("happy")
        expect(lines[0]).toMatch(
          /^\d{4}-\d\d-\d\dT[\d:.]+Z #1 ada started the session for "Summarize support emails" with 3 attempt\(s\) \[correlation request-happy, cause [0-9a-f-]{36}\]$/
        )
        expect(lines[4]).toContain("ada validated \"email-summary\": score 0.45 (clarity 0.45, specificity 0.45)")
        expect(lines[5]).toContain("rejected \"email-summary\": \"say what is urgent\"")
        expect((yield* AuditTrail.lines("pending"))[0]).toContain(" unknown started the session")
      }))

    it.effect("domain errors come back through the handler, and nothing is appended", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(PromptWorkflow.send("happy", { _tag: "ApprovePrompt" }))
        expect(error._tag).toBe("SessionEnded")
        expect(error.message).toContain("already completed")
        const retryAfterFailure = yield* Effect.flip(PromptWorkflow.send("doomed", retry))
        expect(retryAfterFailure.message).toContain("all 2 of 2 attempt(s) were rejected")
        const early = yield* Effect.flip(PromptWorkflow.send("pending", { _tag: "ApprovePrompt" }))
        expect(early._tag).toBe("StepOutOfOrder")
        expect((yield* AuditTrail.ofSession("happy")).length).toBe(12)
      }))
  })
})

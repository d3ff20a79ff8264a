/**
 * The read-model projections on Postgres, fed by hand: given these events (with fixed times and
 * positions) the tables hold these rows, and handling the same events again changes nothing.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, layer } from "@effect/vitest"
import type { Projection, RecordedEvent } from "@facta/core"
import { StreamId } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Effect, Layer, Option, TestClock } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import { deterministicEventId } from "../src/AttemptsExhaustedAlerts.js"
import * as PromptCatalog from "../src/PromptCatalog.js"
import type { PromptSpecificationEvent } from "../src/PromptSpecification.js"
import * as ReadModels from "../src/ReadModels.js"
import * as SessionList from "../src/SessionList.js"
import * as ValidationHistory from "../src/ValidationHistory.js"
import type { WorkflowSessionEvent } from "../src/WorkflowSession.js"

const schema = uniqueSchemaName()
const app = Layer.effectDiscard(ReadModels.migrate(schema)).pipe(Layer.provideMerge(storesLayer(schema)))

type AnyEvent = WorkflowSessionEvent | PromptSpecificationEvent

const at = (iso: string) => new Date(iso)
let position = 0n
const versions = new Map<string, number>()

/** An event as the store would deliver it, at the next global position. */
const recorded = (streamId: string, data: AnyEvent, recordedAt: Date): RecordedEvent.RecordedEvent<AnyEvent> => {
  position++
  const version = (versions.get(streamId) ?? 0) + 1
  versions.set(streamId, version)
  return {
    eventId: deterministicEventId(`test/${schema}/${position}`),
    streamId: StreamId.unsafeMake(streamId),
    streamVersion: version,
    globalPosition: position,
    transactionId: position,
    type: data._tag,
    schemaVersion: 1,
    data,
    metadata: { userId: "ada", correlationId: `request-${streamId}` },
    recordedAt
  }
}

const session = (id: string) => `workflow_session-${id}`
const specification = (name: string) => `prompt_spec-${name}`
const breakdown = { clarity: 0.8, specificity: 0.5 }

/** Three sessions: s-1 completes on 3 March, s-2 fails on 4 March, s-3 is still going (started 5 March). */
const log: ReadonlyArray<RecordedEvent.RecordedEvent<AnyEvent>> = [
  recorded(
    session("s-1"),
    { _tag: "SessionStarted", userRequest: "Summarize support emails", maxAttempts: 3 },
    at("2025-03-03T09:00:00Z")
  ),
  recorded(session("s-1"), { _tag: "AttemptInitiated", attempt: 1 }, at("2025-03-03T09:00:00Z")),
  recorded(
    session("s-1"),
    { _tag: "TaskAnalyzed", attempt: 1, taskType: "summarization", requirements: [] },
    at("2025-03-03T09:01:00Z")
  ),
  recorded(session("s-1"), {
    _tag: "PromptGenerated",
    attempt: 1,
    promptName: "email-summary",
    text: "Summarize {{email}}."
  }, at("2025-03-03T09:02:00Z")),
  recorded(specification("email-summary"), {
    _tag: "SpecificationGenerated",
    name: "email-summary",
    text: "Summarize {{email}}.",
    sessionId: "s-1"
  }, at("2025-03-03T09:02:00Z")),
  recorded(session("s-1"), {
    _tag: "PromptValidated",
    attempt: 1,
    promptName: "email-summary",
    qualityScore: 0.4,
    breakdown
  }, at("2025-03-03T09:03:00Z")),
  recorded(session("s-1"), {
    _tag: "PromptRejected",
    attempt: 1,
    promptName: "email-summary",
    feedback: "say what is urgent (100% of the time)"
  }, at("2025-03-03T09:04:00Z")),
  recorded(
    session("s-1"),
    { _tag: "FeedbackApplied", attempt: 1, changes: "urgency first" },
    at("2025-03-03T09:05:00Z")
  ),
  recorded(session("s-1"), { _tag: "AttemptInitiated", attempt: 2 }, at("2025-03-03T09:06:00Z")),
  recorded(session("s-1"), {
    _tag: "PromptGenerated",
    attempt: 2,
    promptName: "email-summary",
    text: "Summarize {{email}}: urgency first, 100% factual."
  }, at("2025-03-03T09:07:00Z")),
  recorded(specification("email-summary"), {
    _tag: "SpecificationRefined",
    text: "Summarize {{email}}: urgency first, 100% factual.",
    reason: "attempt 2",
    revision: 2
  }, at("2025-03-03T09:07:00Z")),
  recorded(session("s-1"), {
    _tag: "PromptValidated",
    attempt: 2,
    promptName: "email-summary",
    qualityScore: 0.9,
    breakdown: { clarity: 0.95, specificity: 0.85 }
  }, at("2025-03-03T09:08:00Z")),
  recorded(
    session("s-1"),
    { _tag: "PromptApproved", attempt: 2, promptName: "email-summary", qualityScore: 0.9 },
    at("2025-03-03T09:09:00Z")
  ),
  recorded(
    session("s-1"),
    { _tag: "SessionCompleted", attempts: 2, promptName: "email-summary", qualityScore: 0.9 },
    at("2025-03-03T09:09:00Z")
  ),
  recorded(
    specification("email-summary"),
    { _tag: "SpecificationApproved", qualityScore: 0.9, revision: 2 },
    at("2025-03-03T09:09:00Z")
  ),
  recorded(
    session("s-2"),
    { _tag: "SessionStarted", userRequest: "Write release notes", maxAttempts: 1 },
    at("2025-03-04T10:00:00Z")
  ),
  recorded(session("s-2"), { _tag: "AttemptInitiated", attempt: 1 }, at("2025-03-04T10:00:00Z")),
  recorded(
    session("s-2"),
    { _tag: "TaskAnalyzed", attempt: 1, taskType: "writing", requirements: [] },
    at("2025-03-04T10:01:00Z")
  ),
  recorded(session("s-2"), {
    _tag: "PromptGenerated",
    attempt: 1,
    promptName: "release_notes",
    text: "Write notes for {{changes}}."
  }, at("2025-03-04T10:02:00Z")),
  recorded(specification("release_notes"), {
    _tag: "SpecificationGenerated",
    name: "release_notes",
    text: "Write notes for {{changes}}.",
    sessionId: "s-2"
  }, at("2025-03-04T10:02:00Z")),
  recorded(session("s-2"), {
    _tag: "PromptValidated",
    attempt: 1,
    promptName: "release_notes",
    qualityScore: 0.3,
    breakdown
  }, at("2025-03-04T10:03:00Z")),
  recorded(
    session("s-2"),
    { _tag: "PromptRejected", attempt: 1, promptName: "release_notes", feedback: "no audience" },
    at("2025-03-04T10:04:00Z")
  ),
  recorded(
    session("s-2"),
    { _tag: "SessionFailed", attempts: 1, lastFeedback: "no audience" },
    at("2025-03-04T10:04:00Z")
  ),
  recorded(
    session("s-3"),
    { _tag: "SessionStarted", userRequest: "Classify tickets", maxAttempts: 2 },
    at("2025-03-05T08:00:00Z")
  ),
  recorded(session("s-3"), { _tag: "AttemptInitiated", attempt: 1 }, at("2025-03-05T08:00:00Z"))
]

/** Hands the events a projection handles to it, as the runner does. */
const deliver = (projection: Projection.Any, events: ReadonlyArray<RecordedEvent.RecordedEvent<AnyEvent>>) =>
  Effect.forEach(
    events.filter((event) => projection.handles.has(event.data._tag)),
    (event) =>
      projection.handle(event as RecordedEvent.RecordedEvent<never>) as Effect.Effect<
        void,
        unknown,
        SqlClient.SqlClient
      >,
    { discard: true }
  )

const projections = ReadModels.projections(schema).slice(0, 3)
const deliverAll = Effect.forEach(projections, (projection) => deliver(projection, log), { discard: true })

const snapshot = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all([
    sql`SELECT * FROM ${sql(schema)}.workflow_sessions ORDER BY session_id`,
    sql`SELECT * FROM ${sql(schema)}.prompt_catalog ORDER BY name`,
    sql`SELECT * FROM ${sql(schema)}.validation_history ORDER BY global_position`
  ]))

layer(app)("prompt workflow read models on Postgres", (it) => {
  describe("given the events of three sessions", () => {
    it.effect("the sessions list has one row per session with status, attempts and times", () =>
      Effect.gen(function*() {
        yield* deliverAll
        const page = yield* SessionList.list(schema)
        expect(page.sessions).toEqual([
          {
            sessionId: "s-1",
            userRequest: "Summarize support emails",
            status: "completed",
            attempts: 2,
            maxAttempts: 3,
            promptName: "email-summary",
            startedAt: at("2025-03-03T09:00:00Z"),
            completedAt: at("2025-03-03T09:09:00Z"),
            failedAt: null,
            version: 12
          },
          {
            sessionId: "s-2",
            userRequest: "Write release notes",
            status: "failed",
            attempts: 1,
            maxAttempts: 1,
            promptName: "release_notes",
            startedAt: at("2025-03-04T10:00:00Z"),
            completedAt: null,
            failedAt: at("2025-03-04T10:04:00Z"),
            version: 7
          },
          {
            sessionId: "s-3",
            userRequest: "Classify tickets",
            status: "active",
            attempts: 1,
            maxAttempts: 2,
            promptName: null,
            startedAt: at("2025-03-05T08:00:00Z"),
            completedAt: null,
            failedAt: null,
            version: 2
          }
        ])
        expect(page.next).toEqual(Option.none())
        expect(yield* SessionList.counts(schema)).toEqual({
          started: 3,
          attempts: 4,
          completed: 1,
          failed: 1,
          active: 1
        })
      }))

    it.effect("sessions by status and start date", () =>
      Effect.gen(function*() {
        const ids = (page: SessionList.SessionPage) => page.sessions.map((row) => row.sessionId)
        expect(ids(yield* SessionList.list(schema, { status: "failed" }))).toEqual(["s-2"])
        expect(ids(yield* SessionList.list(schema, { status: "active" }))).toEqual(["s-3"])
        expect(ids(yield* SessionList.list(schema, { from: at("2025-03-04T00:00:00Z") }))).toEqual(["s-2", "s-3"])
        expect(
          ids(yield* SessionList.list(schema, { from: at("2025-03-03T00:00:00Z"), to: at("2025-03-05T00:00:00Z") }))
        )
          .toEqual(["s-1", "s-2"])
        expect(ids(yield* SessionList.list(schema, { status: "completed", from: at("2025-03-04T00:00:00Z") }))).toEqual(
          []
        )
        expect(yield* SessionList.counts(schema, { from: at("2025-03-04T00:00:00Z") })).toEqual({
          started: 2,
          attempts: 2,
          completed: 0,
          failed: 1,
          active: 1
        })
      }))

    it.effect("pages through the sessions with a keyset cursor", () =>
      Effect.gen(function*() {
        const first = yield* SessionList.list(schema, { limit: 2 })
        expect(first.sessions.map((row) => row.sessionId)).toEqual(["s-1", "s-2"])
        expect(first.next).toEqual(Option.some({ startedAt: at("2025-03-04T10:00:00Z"), sessionId: "s-2" }))
        const second = yield* SessionList.list(schema, { limit: 2, after: Option.getOrThrow(first.next) })
        expect(second.sessions.map((row) => row.sessionId)).toEqual(["s-3"])
        expect(second.next).toEqual(Option.none())
      }))

    it.effect("the catalog has each prompt's current text, status, score and approval time", () =>
      Effect.gen(function*() {
        expect(yield* PromptCatalog.byName(schema, "email-summary")).toEqual(Option.some({
          name: "email-summary",
          currentText: "Summarize {{email}}: urgency first, 100% factual.",
          status: "approved",
          qualityScore: 0.9,
          revision: 2,
          sessionId: "s-1",
          createdAt: at("2025-03-03T09:02:00Z"),
          approvedAt: at("2025-03-03T09:09:00Z")
        }))
        expect(yield* PromptCatalog.byName(schema, "release_notes")).toEqual(Option.some({
          name: "release_notes",
          currentText: "Write notes for {{changes}}.",
          status: "generated",
          qualityScore: 0.3,
          revision: 1,
          sessionId: "s-2",
          createdAt: at("2025-03-04T10:02:00Z"),
          approvedAt: null
        }))
        expect(yield* PromptCatalog.byName(schema, "nope")).toEqual(Option.none())
      }))

    it.effect("searches names and texts case-insensitively, with a minimum score", () =>
      Effect.gen(function*() {
        const names = (rows: ReadonlyArray<PromptCatalog.PromptRow>) => rows.map((row) => row.name)
        expect(names(yield* PromptCatalog.search(schema, { term: "NOTES" }))).toEqual(["release_notes"])
        expect(names(yield* PromptCatalog.search(schema, { term: "summar" }))).toEqual(["email-summary"])
        expect(names(yield* PromptCatalog.search(schema, { term: "{{" }))).toEqual(["email-summary", "release_notes"])
        expect(names(yield* PromptCatalog.search(schema, { term: "{{", minQualityScore: 0.5 }))).toEqual([
          "email-summary"
        ])
        expect(names(yield* PromptCatalog.search(schema, { term: "{{", status: "generated" }))).toEqual([
          "release_notes"
        ])
      }))

    it.effect("search terms are values, not patterns or SQL: % and _ match literally", () =>
      Effect.gen(function*() {
        const names = (rows: ReadonlyArray<PromptCatalog.PromptRow>) => rows.map((row) => row.name)
        expect(names(yield* PromptCatalog.search(schema, { term: "100%" }))).toEqual(["email-summary"])
        expect(names(yield* PromptCatalog.search(schema, { term: "%" }))).toEqual(["email-summary"])
        expect(names(yield* PromptCatalog.search(schema, { term: "_" }))).toEqual(["release_notes"])
        expect(names(yield* PromptCatalog.search(schema, { term: "' OR 1=1 --" }))).toEqual([])
      }))

    it.effect("counts the prompts approved yesterday, for a given now", () =>
      Effect.gen(function*() {
        expect(yield* PromptCatalog.approvedYesterday(schema, { now: at("2025-03-04T07:30:00Z") })).toEqual({
          from: at("2025-03-03T00:00:00Z"),
          to: at("2025-03-04T00:00:00Z"),
          approved: 1
        })
        expect((yield* PromptCatalog.approvedYesterday(schema, { now: at("2025-03-03T23:59:59Z") })).approved).toBe(0)
        expect((yield* PromptCatalog.approvedYesterday(schema, { now: at("2025-03-05T00:00:00Z") })).approved).toBe(0)
        expect(yield* PromptCatalog.approvedBetween(schema, at("2025-03-01T00:00:00Z"), at("2025-04-01T00:00:00Z")))
          .toBe(1)
      }))

    it.effect("without a given now, yesterday is taken from the Effect clock (the TestClock here)", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2025-03-04T12:00:00Z"))
        expect(yield* PromptCatalog.approvedYesterday(schema)).toEqual({
          from: at("2025-03-03T00:00:00Z"),
          to: at("2025-03-04T00:00:00Z"),
          approved: 1
        })
        yield* TestClock.setTime(Date.parse("2025-03-06T12:00:00Z"))
        expect((yield* PromptCatalog.approvedYesterday(schema)).approved).toBe(0)
      }))

    it.effect("the validation history keeps every validation with its breakdown and time", () =>
      Effect.gen(function*() {
        expect(yield* ValidationHistory.ofPrompt(schema, "email-summary")).toEqual([
          {
            promptName: "email-summary",
            sessionId: "s-1",
            attempt: 1,
            qualityScore: 0.4,
            breakdown,
            validatedAt: at("2025-03-03T09:03:00Z")
          },
          {
            promptName: "email-summary",
            sessionId: "s-1",
            attempt: 2,
            qualityScore: 0.9,
            breakdown: { clarity: 0.95, specificity: 0.85 },
            validatedAt: at("2025-03-03T09:08:00Z")
          }
        ])
        expect(yield* ValidationHistory.ofPrompt(schema, "nope")).toEqual([])
      }))

    it.effect("the quality trend of a prompt over time", () =>
      Effect.gen(function*() {
        const trend = yield* ValidationHistory.qualityTrend(schema, "email-summary")
        expect(trend.direction).toBe("improving")
        expect(trend.points.map((point) => point.qualityScore)).toEqual([0.4, 0.9])
        expect(trend.points[0]!.change).toBeNull()
        expect(trend.points[1]!.change).toBeCloseTo(0.5, 10)
        expect((yield* ValidationHistory.qualityTrend(schema, "release_notes")).direction).toBe("no data")
      }))

    it.effect("handling every event again (a replay) leaves every table as it was", () =>
      Effect.gen(function*() {
        const before = yield* snapshot
        expect(before.map((rows) => rows.length)).toEqual([3, 2, 3])
        yield* deliverAll
        yield* deliverAll
        expect(yield* snapshot).toEqual(before)
      }))

    it.effect("reset empties the tables, and replaying from scratch gives the same rows", () =>
      Effect.gen(function*() {
        const before = yield* snapshot
        for (const projection of projections) {
          yield* projection.reset as Effect.Effect<void, unknown, SqlClient.SqlClient>
        }
        expect((yield* snapshot).map((rows) => rows.length)).toEqual([0, 0, 0])
        yield* deliverAll
        expect(yield* snapshot).toEqual(before)
      }))
  })
})

/**
 * The job view projection on Postgres: given events in the store, the rows it writes; queries
 * per tenant; replaying the same events (handled again, or a rebuild) gives the same rows.
 */
import { describe, expect, layer } from "@effect/vitest"
import { EventCatalog, EventStore, ExpectedVersion, ProjectionRunner } from "@facta/core"
import type { RecordedEvent } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Effect, Layer, Option, Stream } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import type { JobEvent } from "../src/Job.js"
import { JobEvents } from "../src/Job.js"
import * as JobViews from "../src/JobViews.js"

const schema = uniqueSchemaName()
const stores = storesLayer(schema)
const readModel = Layer.effectDiscard(JobViews.migrate(schema)).pipe(Layer.provide(stores))
const runner = ProjectionRunner.layer([JobViews.projection(schema)], { leaseTtl: "2 seconds" })
const app = runner.pipe(Layer.provideMerge(Layer.merge(stores, readModel)))

const toNewEvent = EventCatalog.toNewEvent(JobEvents)

/** Given: `events` appended to `job-<jobId>` as the command handler would. */
const given = (jobId: string, events: ReadonlyArray<JobEvent>) =>
  Effect.forEach(events, (event) => toNewEvent(event)).pipe(
    Effect.flatMap((newEvents) => EventStore.append(`job-${jobId}`, newEvents, ExpectedVersion.Any))
  )

const caughtUp = ProjectionRunner.waitForCatchUp(JobViews.name).pipe(Effect.timeout("10 seconds"))

const withoutTimes = ({ createdAt: _c, updatedAt: _u, ...view }: JobViews.JobView) => view
const viewOf = (tenantId: string, jobId: string) =>
  JobViews.get(schema, tenantId, jobId).pipe(Effect.map(Option.map(withoutTimes)), Effect.map(Option.getOrUndefined))

const created = (tenantId: string, maxRetries = 1, metadata: Record<string, string> = {}): JobEvent => ({
  _tag: "JobCreated",
  tenantId,
  name: "export",
  maxRetries,
  metadata
})

const everyTenant = ["acme", "globex"] as const
const allRows = Effect.map(
  Effect.forEach(everyTenant, (tenant) => JobViews.list(schema, tenant, { limit: 1000 })),
  (lists) => lists.flat()
)

layer(app, { excludeTestServices: true })("JobViews on Postgres", (it) => {
  describe("given events, the rows", () => {
    it.effect("a created job is a pending row of its tenant", () =>
      Effect.gen(function*() {
        yield* given("v1", [created("acme", 2, { priority: "high" })])
        yield* caughtUp
        expect(yield* viewOf("acme", "v1")).toEqual({
          tenantId: "acme",
          jobId: "v1",
          name: "export",
          status: "pending",
          attempts: 0,
          retries: 0,
          maxRetries: 2,
          finished: false,
          lastError: null,
          metadata: { priority: "high" },
          version: 1
        })
      }))

    it.effect("starts, failures and retries give attempts, retries and the last error", () =>
      Effect.gen(function*() {
        yield* given("v2", [
          created("acme", 1),
          { _tag: "JobStarted", attempt: 1 },
          { _tag: "JobFailed", attempt: 1, error: "disk full" },
          { _tag: "JobRetried", retry: 1 },
          { _tag: "JobStarted", attempt: 2 },
          { _tag: "JobFailed", attempt: 2, error: "still full" }
        ])
        yield* caughtUp
        expect(yield* viewOf("acme", "v2")).toMatchObject({
          status: "failed",
          attempts: 2,
          retries: 1,
          finished: true,
          lastError: "still full",
          version: 6
        })
      }))

    it.effect("completion, cancellation and metadata updates", () =>
      Effect.gen(function*() {
        yield* given("v3", [created("acme"), { _tag: "JobStarted", attempt: 1 }, {
          _tag: "JobCompleted",
          output: "ok"
        }])
        yield* given("v4", [created("globex", 0, { owner: "ops" }), { _tag: "JobCancelled", reason: "duplicate" }, {
          _tag: "JobMetadataUpdated",
          metadata: { owner: "sre", ticket: "T-1" }
        }])
        yield* caughtUp
        expect(yield* viewOf("acme", "v3")).toMatchObject({
          status: "completed",
          attempts: 1,
          finished: true,
          version: 3
        })
        expect(yield* viewOf("globex", "v4")).toMatchObject({
          status: "cancelled",
          finished: true,
          metadata: { owner: "sre", ticket: "T-1" },
          version: 3
        })
      }))

    it.effect("queries are per tenant: another tenant's job is not there", () =>
      Effect.gen(function*() {
        yield* caughtUp
        expect(yield* JobViews.get(schema, "globex", "v1")).toEqual(Option.none())
        expect(yield* JobViews.get(schema, "acme", "v4")).toEqual(Option.none())
        expect((yield* JobViews.list(schema, "acme")).map((view) => view.jobId)).toEqual(["v1", "v2", "v3"])
        expect((yield* JobViews.list(schema, "globex")).map((view) => view.jobId)).toEqual(["v4"])
        expect((yield* JobViews.list(schema, "acme", { status: "failed" })).map((view) => view.jobId)).toEqual(["v2"])
        expect(yield* JobViews.list(schema, "initech")).toEqual([])
      }))
  })

  describe("replaying", () => {
    it.effect("handling every event a second time gives the same rows", () =>
      Effect.gen(function*() {
        yield* caughtUp
        const before = yield* allRows
        expect(before.length).toBe(4)
        const events = yield* EventCatalog.readAll(JobEvents, { filter: { categories: ["job"] } }).pipe(
          Stream.runCollect
        )
        const projection = JobViews.projection(schema)
        yield* Effect.forEach(events, (event: RecordedEvent.RecordedEvent<JobEvent>) => projection.handle(event), {
          discard: true
        })
        expect(yield* allRows).toEqual(before)
      }))

    it.effect("a rebuild (reset, then replay from the start) gives the same rows", () =>
      Effect.gen(function*() {
        yield* caughtUp
        const before = yield* allRows
        yield* ProjectionRunner.rebuild(JobViews.name)
        yield* caughtUp
        expect(yield* allRows).toEqual(before)
      }))
  })
})

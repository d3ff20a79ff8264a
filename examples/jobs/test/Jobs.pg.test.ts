/**
 * End to end on Postgres: JSON commands decoded and dispatched by type, handled by
 * `CommandHandler`; the job view kept by the `ProjectionRunner`; `waitForCatchUp`; then JSON
 * queries dispatched the same way — per tenant.
 */
import { describe, expect, layer } from "@effect/vitest"
import { ProjectionRunner } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Effect, Layer } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import * as JobApi from "../src/JobApi.js"
import * as JobViews from "../src/JobViews.js"

const schema = uniqueSchemaName()
const stores = storesLayer(schema)
const readModel = Layer.effectDiscard(JobViews.migrate(schema)).pipe(Layer.provide(stores))
const runner = ProjectionRunner.layer([JobViews.projection(schema)], { leaseTtl: "2 seconds" })
const app = runner.pipe(Layer.provideMerge(Layer.merge(stores, readModel)))

/** A request body as an HTTP handler receives it. */
const body = (json: string): unknown => JSON.parse(json)

/** Sends one JSON command as `userId`, in the request `requestId`. */
const send = (userId: string, requestId: string, json: string) =>
  JobApi.commands({ userId, correlationId: requestId }).dispatch(body(json))

const queries = JobApi.queries(schema)
const ask = (json: string) => queries.dispatch(body(json))

const caughtUp = ProjectionRunner.waitForCatchUp(JobViews.name).pipe(Effect.timeout("10 seconds"))

layer(app, { excludeTestServices: true })("Jobs end to end on Postgres", (it) => {
  describe("commands and queries by type, per tenant", () => {
    it.effect("a job runs, fails, is retried and completes; the view and the history show it", () =>
      Effect.gen(function*() {
        yield* send(
          "alice",
          "req-1",
          `{"_tag":"CreateJob","tenantId":"acme","jobId":"e-1","name":"invoice run","maxRetries":2,"metadata":{"priority":"high"}}`
        )
        yield* send("worker-1", "req-2", `{"_tag":"StartJob","tenantId":"acme","jobId":"e-1"}`)
        yield* send("worker-1", "req-3", `{"_tag":"FailJob","tenantId":"acme","jobId":"e-1","error":"SMTP timeout"}`)
        yield* send("scheduler", "req-4", `{"_tag":"RetryJob","tenantId":"acme","jobId":"e-1"}`)
        yield* send("worker-2", "req-5", `{"_tag":"StartJob","tenantId":"acme","jobId":"e-1"}`)
        const done = yield* send(
          "worker-2",
          "req-6",
          `{"_tag":"CompleteJob","tenantId":"acme","jobId":"e-1","output":"120 invoices"}`
        )
        expect(done).toEqual({ jobId: "e-1", version: 6, status: "completed", events: ["JobCompleted"] })

        yield* caughtUp
        const view = yield* ask(`{"_tag":"GetJob","tenantId":"acme","jobId":"e-1"}`)
        expect(view).toMatchObject({
          tenantId: "acme",
          jobId: "e-1",
          status: "completed",
          attempts: 2,
          retries: 1,
          maxRetries: 2,
          finished: true,
          lastError: "SMTP timeout",
          metadata: { priority: "high" },
          version: 6
        })

        const history = yield* ask(`{"_tag":"GetJobHistory","tenantId":"acme","jobId":"e-1"}`)
        if (!Array.isArray(history)) return expect.fail("the history is a list")
        expect(history.map(({ at: _at, causationId: _c, ...entry }) => entry)).toEqual([
          {
            version: 1,
            type: "JobCreated",
            description: `Created "invoice run" for tenant acme, up to 2 retries [priority=high]`,
            userId: "alice",
            correlationId: "req-1"
          },
          {
            version: 2,
            type: "JobStarted",
            description: "Attempt 1 started",
            userId: "worker-1",
            correlationId: "req-2"
          },
          {
            version: 3,
            type: "JobFailed",
            description: "Attempt 1 failed: SMTP timeout",
            userId: "worker-1",
            correlationId: "req-3"
          },
          {
            version: 4,
            type: "JobRetried",
            description: "Retry 1 scheduled",
            userId: "scheduler",
            correlationId: "req-4"
          },
          {
            version: 5,
            type: "JobStarted",
            description: "Attempt 2 started",
            userId: "worker-2",
            correlationId: "req-5"
          },
          {
            version: 6,
            type: "JobCompleted",
            description: "Completed: 120 invoices",
            userId: "worker-2",
            correlationId: "req-6"
          }
        ])
        // Each command has its own id, recorded as the causation of its events.
        const causations = history.map((entry) => entry.causationId)
        expect(new Set(causations).size).toBe(6)
        expect(causations.every((id) => typeof id === "string" && id.length > 0)).toBe(true)
        expect(history.every((entry, i) => i === 0 || entry.at.getTime() >= history[i - 1].at.getTime())).toBe(true)
      }))

    it.effect("retries stop at the limit; the failure is final in the view", () =>
      Effect.gen(function*() {
        yield* send(
          "alice",
          "r-1",
          `{"_tag":"CreateJob","tenantId":"acme","jobId":"e-2","name":"flaky","maxRetries":1}`
        )
        yield* send("w", "r-2", `{"_tag":"StartJob","tenantId":"acme","jobId":"e-2"}`)
        yield* send("w", "r-3", `{"_tag":"FailJob","tenantId":"acme","jobId":"e-2","error":"boom"}`)
        yield* send("s", "r-4", `{"_tag":"RetryJob","tenantId":"acme","jobId":"e-2"}`)
        yield* send("w", "r-5", `{"_tag":"StartJob","tenantId":"acme","jobId":"e-2"}`)
        yield* send("w", "r-6", `{"_tag":"FailJob","tenantId":"acme","jobId":"e-2","error":"boom again"}`)
        const refused = yield* Effect.flip(send("s", "r-7", `{"_tag":"RetryJob","tenantId":"acme","jobId":"e-2"}`))
        expect(refused).toMatchObject({ _tag: "RetryLimitReached", jobId: "e-2", maxRetries: 1 })
        yield* caughtUp
        const failed = yield* ask(`{"_tag":"ListJobs","tenantId":"acme","status":"failed"}`)
        expect(failed).toMatchObject([{ jobId: "e-2", retries: 1, finished: true, lastError: "boom again" }])
      }))

    it.effect("another tenant can neither touch nor see the job", () =>
      Effect.gen(function*() {
        const touched = yield* Effect.flip(
          send("mallory", "x-1", `{"_tag":"CancelJob","tenantId":"globex","jobId":"e-1","reason":"mine now"}`)
        )
        expect(touched).toMatchObject({ _tag: "JobNotFound", tenantId: "globex", jobId: "e-1" })
        const relabelled = yield* Effect.flip(
          send(
            "mallory",
            "x-2",
            `{"_tag":"UpdateJobMetadata","tenantId":"globex","jobId":"e-2","metadata":{"owner":"mallory"}}`
          )
        )
        expect(relabelled._tag).toBe("JobNotFound")

        yield* send(
          "gus",
          "g-1",
          `{"_tag":"CreateJob","tenantId":"globex","jobId":"e-3","name":"payroll","maxRetries":0}`
        )
        yield* caughtUp
        expect(yield* Effect.flip(ask(`{"_tag":"GetJob","tenantId":"globex","jobId":"e-1"}`))).toMatchObject({
          _tag: "JobNotFound"
        })
        expect(yield* Effect.flip(ask(`{"_tag":"GetJobHistory","tenantId":"globex","jobId":"e-1"}`))).toMatchObject({
          _tag: "JobNotFound"
        })
        const globex = yield* ask(`{"_tag":"ListJobs","tenantId":"globex"}`)
        expect(globex).toMatchObject([{ jobId: "e-3", tenantId: "globex", status: "pending" }])
        const acme = yield* ask(`{"_tag":"ListJobs","tenantId":"acme"}`)
        expect(Array.isArray(acme) && acme.map((view) => "jobId" in view && view.jobId)).toEqual(["e-1", "e-2"])
        // The refused commands changed nothing.
        expect(yield* ask(`{"_tag":"GetJob","tenantId":"acme","jobId":"e-2"}`)).toMatchObject({
          metadata: {},
          version: 6
        })
      }))

    it.effect("malformed or unknown input is refused before anything runs", () =>
      Effect.gen(function*() {
        const unknown = yield* Effect.flip(send("u", "m-1", `{"_tag":"DeleteJob","tenantId":"acme","jobId":"e-1"}`))
        expect(unknown).toMatchObject({ _tag: "UnknownTag", tag: "DeleteJob" })
        const malformed = yield* Effect.flip(
          send("u", "m-2", `{"_tag":"CreateJob","tenantId":"acme","jobId":"e-9","name":"x","maxRetries":"three"}`)
        )
        expect(malformed).toMatchObject({ _tag: "MalformedInput", tag: "CreateJob" })
        const badQuery = yield* Effect.flip(ask(`{"_tag":"ListJobs","tenantId":"acme","status":"sleeping"}`))
        expect(badQuery).toMatchObject({ _tag: "MalformedInput", tag: "ListJobs" })
        expect(yield* Effect.flip(ask(`{"_tag":"GetJobHistory","tenantId":"acme","jobId":"e-9"}`))).toMatchObject({
          _tag: "JobNotFound"
        })
      }))
  })
})

/**
 * A short scripted scenario on the stores in the context: JSON commands for two tenants
 * dispatched by type, a job that fails, is retried and hits its retry limit, input the
 * dispatcher refuses, a tenant refused another tenant's job, then the job view (PostgreSQL,
 * per tenant) and one job's history.
 *
 * The read model lives in a fresh Postgres schema, dropped at the end; ids get a per-run suffix
 * (removed from what is printed) so the tour can run again on the same database and print the
 * same lines.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { CheckpointStore, EventStore, ProjectionStore, SnapshotStore } from "@facta/core"
import { ProjectionRunner } from "@facta/core"
import { Console, Effect } from "effect"
import * as JobApi from "./JobApi.js"
import * as JobHistory from "./JobHistory.js"
import * as JobViews from "./JobViews.js"

/** A fresh schema per run, dropped when the tour ends. */
const readModelSchema = `jobs_tour_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`

/**
 * Runs the jobs tour and prints what happens.
 *
 * @since 0.1.0
 * @category tour
 */
export const tour: Effect.Effect<
  void,
  unknown,
  | EventStore.EventStore
  | SnapshotStore.SnapshotStore
  | CheckpointStore.CheckpointStore
  | ProjectionStore.ProjectionStore
  | SqlClient.SqlClient
> = Effect.gen(function*() {
  const run = crypto.randomUUID().slice(0, 8)
  const clean = (text: string) => text.replaceAll(`-${run}`, "")
  const acme = `acme-${run}`
  const globex = `globex-${run}`
  const report = `report-${run}`
  const payroll = `payroll-${run}`

  /** Sends a JSON command as `userId`, printing the outcome or the refusal. */
  const send = (userId: string, json: string) =>
    JobApi.commands({ userId, correlationId: `tour-${run}` }).dispatch(JSON.parse(json)).pipe(
      Effect.matchEffect({
        onSuccess: (outcome) =>
          Console.log(
            clean(
              `  ${userId}: ${JSON.parse(json)._tag} → ${outcome.events.join(", ") || "nothing"} (${outcome.status})`
            )
          ),
        onFailure: (error) => Console.log(clean(`  ${userId}: refused, ${error._tag}: ${error.message}`))
      })
    )

  yield* Console.log("== Commands as JSON, dispatched by type")
  yield* send(
    "alice",
    `{"_tag":"CreateJob","tenantId":"${acme}","jobId":"${report}","name":"daily report","maxRetries":1}`
  )
  yield* send("worker", `{"_tag":"StartJob","tenantId":"${acme}","jobId":"${report}"}`)
  yield* send("worker", `{"_tag":"FailJob","tenantId":"${acme}","jobId":"${report}","error":"database timeout"}`)
  yield* send("scheduler", `{"_tag":"RetryJob","tenantId":"${acme}","jobId":"${report}"}`)
  yield* send("worker", `{"_tag":"StartJob","tenantId":"${acme}","jobId":"${report}"}`)
  yield* send("worker", `{"_tag":"FailJob","tenantId":"${acme}","jobId":"${report}","error":"database timeout"}`)
  yield* send("scheduler", `{"_tag":"RetryJob","tenantId":"${acme}","jobId":"${report}"}`)
  yield* send(
    "gus",
    `{"_tag":"CreateJob","tenantId":"${globex}","jobId":"${payroll}","name":"payroll","maxRetries":3,"metadata":{"priority":"high"}}`
  )
  yield* send("mallory", `{"_tag":"CancelJob","tenantId":"${globex}","jobId":"${report}","reason":"mine now"}`)
  yield* send("bob", `{"_tag":"DeleteJob","tenantId":"${acme}","jobId":"${report}"}`)
  yield* send("bob", `{"_tag":"CreateJob","tenantId":"${acme}","jobId":"x","name":"x","maxRetries":"three"}`)

  yield* Console.log("== The job view (PostgreSQL, per tenant)")
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(readModelSchema)}`
  yield* JobViews.migrate(readModelSchema)
  const views = yield* ProjectionRunner.waitForCatchUp(JobViews.name).pipe(
    Effect.zipRight(Effect.forEach([acme, globex], (tenant) => JobViews.list(readModelSchema, tenant))),
    Effect.provide(ProjectionRunner.layer([JobViews.projection(readModelSchema)])),
    Effect.ensuring(Effect.ignore(sql`DROP SCHEMA IF EXISTS ${sql(readModelSchema)} CASCADE`))
  )
  for (const view of views.flat()) {
    const finished = view.finished ? ", finished" : ""
    yield* Console.log(clean(
      `  ${view.tenantId}: ${view.name} — ${view.status}${finished}, ${view.attempts} attempt(s), ${view.retries}/${view.maxRetries} retries`
    ))
  }

  yield* Console.log("== The history of the daily report")
  for (const entry of yield* JobHistory.forJob(acme, report)) {
    yield* Console.log(
      clean(`  v${entry.version} ${entry.type.padEnd(12)} by ${(entry.userId ?? "?").padEnd(9)} ${entry.description}`)
    )
  }
})

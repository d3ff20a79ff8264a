/**
 * A short scripted tour on the stores in the context: a posting that completes after an LLM
 * retry (with a retried command that is recorded once), a posting whose script actor trips its
 * circuit breaker, the audit trail of the first, its snapshots, and the posting-states read
 * model rebuilt. Read models go to a fresh Postgres schema dropped at the end; posting ids and
 * keys carry a run tag (left out of the output), so the tour can run again on the same database.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { EventStore, ProjectionStore } from "@facta/core"
import { CheckpointStore, EventStore as Store, Position, ProjectionRunner, SnapshotStore } from "@facta/core"
import { ConfigProvider, Console, Effect, Option } from "effect"
import * as AuditTrail from "./AuditTrail.js"
import type { PostingCommand } from "./Posting.js"
import * as Posting from "./Posting.js"
import * as PostingStates from "./PostingStates.js"
import * as Workflow from "./Workflow.js"

/** Runs the tour, printing what happens. */
export const tour: Effect.Effect<
  void,
  unknown,
  | EventStore.EventStore
  | SnapshotStore.SnapshotStore
  | CheckpointStore.CheckpointStore
  | ProjectionStore.ProjectionStore
  | SqlClient.SqlClient
> = Effect.scoped(Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tag = crypto.randomUUID().slice(0, 8)
  const schema = `execution_log_tour_${tag}`
  yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`
  yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`))
  yield* PostingStates.migrate(schema)
  const projection = PostingStates.projection(schema, { name: `tour_posting_states_${tag}` })
  const head = yield* Store.head({})
  yield* Effect.flatMap(
    CheckpointStore.CheckpointStore,
    (store) => store.save(projection.name, Option.getOrElse(head, () => Position.start))
  )
  const runner = yield* ProjectionRunner.make([projection])

  // The snapshot interval comes from FACTA_SNAPSHOT_EVERY; the tour pins it to 4.
  const posting = yield* Posting.fromConfig.pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["FACTA_SNAPSHOT_EVERY", "4"]])))
  )
  yield* Console.log(
    `Execution log tour (snapshot every ${posting.snapshots?.every} events, from FACTA_SNAPSHOT_EVERY)`
  )
  const workflow: readonly [Posting.Actor, ...Array<Posting.Actor>] = [
    { name: "lint", kind: "script" },
    { name: "summarize", kind: "llm" },
    { name: "publish", kind: "script" }
  ]
  const show = (id: string, command: PostingCommand) =>
    Workflow.record(posting, `${id}_${tag}`, { ...command, idempotencyKey: `${command.idempotencyKey}_${tag}` }).pipe(
      Effect.tap((result) =>
        Console.log(
          `  ${id}: ${command._tag}(${"actor" in command ? command.actor : ""}) -> ` +
            `${result.events.map((event) => event._tag).join(", ")}${
              result.repeated ? " (repeat: nothing appended)" : ""
            }`
        )
      )
    )
  const submit = (id: string) =>
    Workflow.submit(posting, `${id}_${tag}`, {
      _tag: "SubmitPosting",
      idempotencyKey: `${id}/submit_${tag}`,
      workflow,
      breakerThreshold: 3
    }, `${id}-request`)

  yield* submit("invoice")
  yield* show("invoice", { _tag: "CompleteScript", idempotencyKey: "invoice/lint", actor: "lint", durationMs: 80 })
  yield* show("invoice", {
    _tag: "FailLlmCall",
    idempotencyKey: "invoice/llm-1",
    actor: "summarize",
    model: "m1",
    error: "rate limited"
  })
  yield* show("invoice", {
    _tag: "CompleteLlmCall",
    idempotencyKey: "invoice/llm-2",
    actor: "summarize",
    model: "m1",
    tokens: 512
  })
  yield* show("invoice", {
    _tag: "CompleteLlmCall",
    idempotencyKey: "invoice/llm-2",
    actor: "summarize",
    model: "m1",
    tokens: 512
  })
  yield* show("invoice", {
    _tag: "CompleteScript",
    idempotencyKey: "invoice/publish",
    actor: "publish",
    durationMs: 40
  })

  yield* submit("report")
  for (let i = 1; i <= 3; i++) {
    yield* show("report", {
      _tag: "FailScript",
      idempotencyKey: `report/lint-${i}`,
      actor: "lint",
      exitCode: 2,
      error: "syntax"
    })
  }

  const trail = yield* AuditTrail.of(`posting-invoice_${tag}`)
  yield* Console.log(
    `Audit trail of invoice (correlation ${trail.correlationIds.join(", ")}, unbroken chain: ${trail.unbroken}):`
  )
  for (const entry of trail.entries) {
    const cause = entry.causedByVersion === undefined ? "the submission" : `#${entry.causedByVersion}`
    yield* Console.log(`  #${entry.version} ${entry.summary}  <- ${cause}`)
  }
  const snapshot = yield* Effect.flatMap(SnapshotStore.SnapshotStore, (store) => store.load(`posting-invoice_${tag}`))
  yield* Console.log(
    `  latest snapshot of invoice: version ${
      Option.match(snapshot, {
        onNone: () => "none",
        onSome: (s) => String(s.version)
      })
    }`
  )

  yield* runner.waitForCatchUp(projection.name)
  // A rebuild replays the whole log, earlier tours' postings included: show this run's.
  const rows = () =>
    Effect.map(PostingStates.list(schema), (list) => list.filter((row) => row.postingId.endsWith(`_${tag}`)))
  const before = yield* rows()
  yield* runner.rebuild(projection.name)
  yield* runner.waitForCatchUp(projection.name)
  const after = yield* rows()
  for (const row of after) {
    yield* Console.log(
      `  posting ${row.postingId.replace(`_${tag}`, "")}: ${row.status}, step ${row.step}/${row.stepsTotal}` +
        `${row.openBreaker === null ? "" : `, breaker open on ${row.openBreaker}`}`
    )
  }
  yield* Console.log(`  rebuilt read model equals the live one: ${JSON.stringify(after) === JSON.stringify(before)}`)
}))

/**
 * A short scripted tour on the stores in the context: two tasks set in progress (one already
 * moved by hand), a session that fails until it is abandoned, the two policies reacting, and
 * what the read models and the policy journal say. Read models go to a fresh Postgres schema
 * dropped at the end; stream ids and projection names carry a run tag (left out of the output)
 * and the tour's projections start at the head of the log, so it can run again on the same
 * database and print the same lines.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { ProjectionStore, SnapshotStore } from "@facta/core"
import { Aggregate, CheckpointStore, CommandHandler, EventStore, Position, ProjectionRunner } from "@facta/core"
import { Console, Effect, Option } from "effect"
import * as ActiveSessions from "./ActiveSessions.js"
import * as Policies from "./Policies.js"
import * as PolicyJournal from "./PolicyJournal.js"
import * as ReadModels from "./ReadModels.js"
import type { SessionCommand } from "./Session.js"
import { Session } from "./Session.js"
import type { TaskCommand } from "./Task.js"
import { Task } from "./Task.js"
import * as TaskStatistics from "./TaskStatistics.js"

const base = Date.UTC(2026, 0, 1, 9)
const at = (seconds: number) => new Date(base + seconds * 1_000)
const clock = (date: Date) => date.toISOString().slice(11, 19)

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
  const schema = `tasks_tour_${tag}`
  yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`
  yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`))
  yield* ReadModels.migrate(schema)
  const retry: Policies.RetryPolicy = { maxRetries: 3, baseDelayMillis: 30_000 }
  const projections = [
    Policies.inProgressMovesToCurrent(schema, { name: `tour_moves_${tag}` }),
    Policies.failedSessionsRequeue(schema, retry, { name: `tour_requeues_${tag}` }),
    ActiveSessions.projection(schema, { name: `tour_sessions_${tag}` }),
    TaskStatistics.projection(schema, { name: `tour_board_${tag}` })
  ]
  // New projections start at the head: earlier runs' events are not this tour's business.
  const head = yield* EventStore.head({})
  const checkpoints = yield* CheckpointStore.CheckpointStore
  yield* Effect.forEach(projections, (p) => checkpoints.save(p.name, Option.getOrElse(head, () => Position.start)), {
    discard: true
  })
  const runner = yield* ProjectionRunner.make(projections)
  const settle = Effect.forEach(
    [1, 2],
    () => Effect.forEach(projections, (p) => runner.waitForCatchUp(p.name), { discard: true }),
    { discard: true }
  )

  const task = (id: string, command: TaskCommand) => CommandHandler.handle(Task, `task-${id}_${tag}`, command)
  const session = (command: SessionCommand) => CommandHandler.handle(Session, `session-s1_${tag}`, command)

  yield* Console.log("Tasks tour: two tasks set in progress, one session failing until it is abandoned")
  yield* task("readme", { _tag: "CreateTask", title: "Write the README", section: "docs" })
  yield* task("api", { _tag: "CreateTask", title: "Design the API", section: "api" })
  yield* task("api", { _tag: "MoveTask", to: "current" })
  yield* Console.log("  'Design the API' was moved to current by hand")
  yield* task("readme", { _tag: "ChangeTaskStatus", to: "in_progress" })
  yield* task("api", { _tag: "ChangeTaskStatus", to: "in_progress" })
  yield* Console.log("  both tasks set in progress")
  yield* settle
  for (const row of yield* TaskStatistics.tasks(schema)) {
    yield* Console.log(`  board: ${row.title} is ${row.status} in ${row.workflow}`)
  }

  yield* session({ _tag: "QueueSession", taskId: `readme_${tag}`, at: at(0) })
  let now = at(0)
  for (let run = 1; run <= 4; run++) {
    yield* session({ _tag: "StartSession", at: now })
    yield* session({ _tag: "UseTool", tool: "bash", at: now })
    const failedAt = new Date(now.getTime() + 1_000)
    yield* session({ _tag: "CompleteSession", outcome: "failure", reason: "tests red", at: failedAt })
    yield* settle
    const loaded = yield* Aggregate.load(Session, `session-s1_${tag}`)
    if (loaded.state._tag !== "Queued") {
      yield* Console.log(`  run ${run} failed at ${clock(failedAt)} -> session ${loaded.state._tag.toLowerCase()}`)
      break
    }
    const notBefore = loaded.state.notBefore
    const dueBefore = yield* ActiveSessions.due(schema, new Date(notBefore.getTime() - 1))
    const dueAt = yield* ActiveSessions.due(schema, notBefore)
    yield* Console.log(
      `  run ${run} failed at ${clock(failedAt)} -> re-queued (attempt ${run}), due ${clock(notBefore)}: ` +
        `due a second earlier? ${dueBefore.length > 0 ? "yes" : "no"}; then? ${dueAt.length > 0 ? "yes" : "no"}`
    )
    now = notBefore
  }

  const stats = yield* TaskStatistics.statistics(schema)
  yield* Console.log(
    `  statistics: ${stats.total} tasks; backlog ${stats.byWorkflow.backlog}, current ${stats.byWorkflow.current}, ` +
      `in progress ${stats.byStatus.in_progress}; active sessions ${(yield* ActiveSessions.active(schema)).length}`
  )
  yield* Console.log("  policy journal (each triggering event handled once):")
  for (const entry of yield* PolicyJournal.entries(schema)) {
    const policy = entry.policy.startsWith("tour_moves") ? "moves" : "requeues"
    yield* Console.log(`    ${policy}: ${entry.outcome} (${entry.detail.split(";")[0]}) x${entry.handledCount}`)
  }
}))

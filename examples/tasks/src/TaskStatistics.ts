/**
 * The task board and its statistics: one row per task (status, workflow state, section), kept
 * in PostgreSQL by a projection; the statistics count tasks per status and per workflow state
 * with a `GROUP BY`, so replaying events (each row remembers its version) never double-counts.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import type { RecordedEvent } from "@facta/core"
import { Projection, StreamId } from "@facta/core"
import { Effect } from "effect"
import type { TaskEvent, TaskStatus, WorkflowState } from "./Task.js"
import { TaskEvents } from "./Task.js"

/** A task on the board. */
export interface TaskRow {
  readonly taskId: string
  readonly title: string
  readonly section: string
  readonly status: TaskStatus
  readonly workflow: WorkflowState
}

/** Task counts; statuses and workflow states without tasks count 0. */
export interface Statistics {
  readonly total: number
  readonly byStatus: Readonly<Record<TaskStatus, number>>
  readonly byWorkflow: Readonly<Record<WorkflowState, number>>
}

/** Creates the task board table in `schema` if it is not there. */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.asVoid(sql`
      CREATE TABLE IF NOT EXISTS ${sql(schema)}.task_board (
        task_id  text PRIMARY KEY,
        title    text NOT NULL,
        section  text NOT NULL,
        status   text NOT NULL,
        workflow text NOT NULL,
        version  integer NOT NULL
      )`))

const idOf = (streamId: string): string => streamId.slice(StreamId.category(streamId).length + 1)

const apply = (schema: string, event: RecordedEvent.RecordedEvent<TaskEvent>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const table = sql`${sql(schema)}.task_board`
    const id = idOf(event.streamId)
    const version = event.streamVersion
    const data = event.data
    const update = (set: Statement.Fragment) =>
      sql`UPDATE ${table} SET ${set}, version = ${version} WHERE task_id = ${id} AND version < ${version}`
    switch (data._tag) {
      case "TaskCreated":
        return sql`
          INSERT INTO ${table} (task_id, title, section, status, workflow, version)
          VALUES (${id}, ${data.title}, ${data.section}, 'todo', 'backlog', ${version})
          ON CONFLICT (task_id) DO NOTHING`
      case "TaskStatusChanged":
        return update(sql`status = ${data.to}`)
      case "TaskMoved":
        return update(sql`workflow = ${data.to}`)
      case "TaskSectionUpdated":
        return update(sql`section = ${data.section}`)
    }
  })

/** The name of the task board projection. */
export const projectionName = "task_board"

/** The task board projection, writing to `schema`. */
export const projection = (schema: string, options: { readonly name?: string } = {}) =>
  Projection.make({
    name: options.name ?? projectionName,
    catalog: TaskEvents,
    categories: ["task"],
    handle: (event) => Effect.asVoid(apply(schema, event)),
    reset: Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(sql`DELETE FROM ${sql(schema)}.task_board`)),
    batchSize: 200
  })

/** Every task on the board, by id. */
export const tasks = (schema: string): Effect.Effect<ReadonlyArray<TaskRow>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ task_id: string; title: string; section: string; status: TaskStatus; workflow: WorkflowState }>`
      SELECT task_id, title, section, status, workflow FROM ${sql(schema)}.task_board ORDER BY task_id`.pipe(
        Effect.map((rows) =>
          rows.map((row) => ({
            taskId: row.task_id,
            title: row.title,
            section: row.section,
            status: row.status,
            workflow: row.workflow
          }))
        )
      )
  )

/** Counts of tasks per status and per workflow state. */
export const statistics = (schema: string): Effect.Effect<Statistics, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ dimension: "status" | "workflow"; value: string; count: string }>`
      SELECT 'status' AS dimension, status AS value, count(*)::text AS count FROM ${
      sql(schema)
    }.task_board GROUP BY status
      UNION ALL
      SELECT 'workflow', workflow, count(*)::text FROM ${sql(schema)}.task_board GROUP BY workflow`.pipe(
      Effect.map((rows) => {
        const byStatus: Record<TaskStatus, number> = { todo: 0, in_progress: 0, blocked: 0, done: 0 }
        const byWorkflow: Record<WorkflowState, number> = { backlog: 0, current: 0, done: 0 }
        for (const row of rows) {
          if (row.dimension === "status") byStatus[row.value as TaskStatus] = Number(row.count)
          else byWorkflow[row.value as WorkflowState] = Number(row.count)
        }
        const total = Object.values(byStatus).reduce((sum, count) => sum + count, 0)
        return { total, byStatus, byWorkflow }
      })
    ))

/**
 * The validation history: every validation of every prompt, with its score, its breakdown per
 * criterion and when it happened — kept in PostgreSQL by a projection (one row per
 * `PromptValidated` event, keyed by event id, so a redelivered event is not counted twice) —
 * and the queries over it: a prompt's history and its quality-score trend over time.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Projection } from "@facta/core"
import { Effect } from "effect"
import type { ScoreBreakdown } from "./QualityScore.js"
import { sessionIdOf } from "./SessionList.js"
import { WorkflowSessionEvents } from "./WorkflowSession.js"

/** One validation of a prompt. */
export interface Validation {
  readonly promptName: string
  readonly sessionId: string
  readonly attempt: number
  readonly qualityScore: number
  readonly breakdown: ScoreBreakdown
  readonly validatedAt: Date
}

/** Creates the validation history table in `schema` if it is not there. */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.zipRight(
      sql`
        CREATE TABLE IF NOT EXISTS ${sql(schema)}.validation_history (
          event_id        uuid PRIMARY KEY,
          prompt_name     text NOT NULL,
          session_id      text NOT NULL,
          attempt         integer NOT NULL,
          quality_score   double precision NOT NULL CHECK (quality_score BETWEEN 0 AND 1),
          breakdown       jsonb NOT NULL,
          validated_at    timestamptz NOT NULL,
          global_position bigint NOT NULL
        )`,
      sql`CREATE INDEX IF NOT EXISTS validation_history_by_prompt
            ON ${sql(schema)}.validation_history (prompt_name, validated_at, global_position)`
    ).pipe(Effect.asVoid))

/** The name of the validation history projection. */
export const projectionName = "validation_history"

/** The validation history projection, writing to `schema`; `name` is its checkpoint key. */
export const projection = (schema: string, name: string = projectionName) =>
  Projection.make({
    name,
    catalog: WorkflowSessionEvents,
    types: ["PromptValidated"],
    handle: (event) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`
          INSERT INTO ${sql(schema)}.validation_history
                 (event_id, prompt_name, session_id, attempt, quality_score, breakdown, validated_at, global_position)
          VALUES (${event.eventId}, ${event.data.promptName}, ${sessionIdOf(event.streamId)}, ${event.data.attempt},
                  ${event.data.qualityScore}, ${JSON.stringify(event.data.breakdown)}::jsonb, ${event.recordedAt},
                  ${String(event.globalPosition)}::bigint)
          ON CONFLICT (event_id) DO NOTHING`).pipe(Effect.asVoid),
    reset: Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.asVoid(sql`DELETE FROM ${sql(schema)}.validation_history`)),
    batchSize: 200
  })

interface Row {
  readonly prompt_name: string
  readonly session_id: string
  readonly attempt: number
  readonly quality_score: number
  readonly breakdown: ScoreBreakdown
  readonly validated_at: Date
}

/** Every validation of the prompt `name`, oldest first. */
export const ofPrompt = (
  schema: string,
  name: string
): Effect.Effect<ReadonlyArray<Validation>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<Row>`
      SELECT prompt_name, session_id, attempt, quality_score, breakdown, validated_at
        FROM ${sql(schema)}.validation_history
       WHERE prompt_name = ${name}
       ORDER BY validated_at, global_position`.pipe(
      Effect.map((rows) =>
        rows.map((row) => ({
          promptName: row.prompt_name,
          sessionId: row.session_id,
          attempt: row.attempt,
          qualityScore: row.quality_score,
          breakdown: row.breakdown,
          validatedAt: row.validated_at
        }))
      )
    ))

/** One point of a quality trend: a score, when, and how it moved since the previous one. */
export interface TrendPoint {
  readonly validatedAt: Date
  readonly qualityScore: number
  /** The change since the previous validation; `null` for the first. */
  readonly change: number | null
}

/** A prompt's quality over time. */
export interface QualityTrend {
  readonly promptName: string
  readonly points: ReadonlyArray<TrendPoint>
  /** From the first score to the last: up, down, flat, or no data (fewer than two validations). */
  readonly direction: "improving" | "declining" | "steady" | "no data"
}

/** Scores closer than this count as the same. */
const tolerance = 1e-9

/** The quality-score trend of the prompt `name`, oldest first, computed in SQL with `lag()`. */
export const qualityTrend = (
  schema: string,
  name: string
): Effect.Effect<QualityTrend, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ validated_at: Date; quality_score: number; change: number | null }>`
      SELECT validated_at, quality_score,
             quality_score - lag(quality_score) OVER (ORDER BY validated_at, global_position) AS change
        FROM ${sql(schema)}.validation_history
       WHERE prompt_name = ${name}
       ORDER BY validated_at, global_position`.pipe(
        Effect.map((rows) => {
          const points = rows.map((row) => ({
            validatedAt: row.validated_at,
            qualityScore: row.quality_score,
            change: row.change
          }))
          const first = points[0]
          const last = points[points.length - 1]
          const delta = first !== undefined && last !== undefined && points.length > 1
            ? last.qualityScore - first.qualityScore
            : undefined
          const direction = delta === undefined
            ? "no data"
            : delta > tolerance
            ? "improving"
            : delta < -tolerance
            ? "declining"
            : "steady"
          return { promptName: name, points, direction }
        })
      )
  )

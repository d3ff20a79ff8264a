/**
 * The prompt catalog: one row per prompt specification with its current text, status
 * (generated or approved), latest quality score and approval time — kept in PostgreSQL by a
 * projection over the specification streams and the sessions' validations — and the queries
 * over it: a prompt by name, a search by term with a minimum score, and how many prompts were
 * approved in a date range ("yesterday", with the clock as a parameter).
 *
 * Writes are idempotent: specification events are applied once per stream version, and a
 * validation only when it is newer (by log position) than the score the row has.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { RecordedEvent } from "@facta/core"
import { EventCatalog, Projection, StreamId } from "@facta/core"
import { Clock, Effect, Option } from "effect"
import { SpecificationApproved, SpecificationGenerated, SpecificationRefined } from "./PromptSpecification.js"
import { PromptValidated } from "./WorkflowSession.js"

/** The events the catalog is built from: specification events and the sessions' validations. */
export const PromptCatalogEvents = EventCatalog.make([
  SpecificationGenerated,
  SpecificationRefined,
  SpecificationApproved,
  PromptValidated
])
/** An event the catalog is built from. */
export type PromptCatalogEvent = typeof PromptCatalogEvents.schema.Type

/** A prompt's status in the catalog. */
export type PromptStatus = "generated" | "approved"

/** A row of the prompt catalog. */
export interface PromptRow {
  readonly name: string
  readonly currentText: string
  readonly status: PromptStatus
  /** The latest validation's score (the approved score once approved); `null` before any validation. */
  readonly qualityScore: number | null
  /** How many texts the prompt had (1 + refinements). */
  readonly revision: number
  /** The session that generated it. */
  readonly sessionId: string
  readonly createdAt: Date
  readonly approvedAt: Date | null
}

/** Creates the catalog table in `schema` if it is not there. */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.zipRight(
      sql`
        CREATE TABLE IF NOT EXISTS ${sql(schema)}.prompt_catalog (
          name            text PRIMARY KEY,
          current_text    text NOT NULL,
          status          text NOT NULL CHECK (status IN ('generated', 'approved')),
          quality_score   double precision CHECK (quality_score BETWEEN 0 AND 1),
          revision        integer NOT NULL,
          session_id      text NOT NULL,
          created_at      timestamptz NOT NULL,
          approved_at     timestamptz,
          spec_version    integer NOT NULL,
          scored_position bigint NOT NULL DEFAULT 0
        )`,
      sql`CREATE INDEX IF NOT EXISTS prompt_catalog_by_approval ON ${sql(schema)}.prompt_catalog (approved_at)`
    ).pipe(Effect.asVoid))

const apply = (schema: string, event: RecordedEvent.RecordedEvent<PromptCatalogEvent>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const table = sql`${sql(schema)}.prompt_catalog`
    const at = event.recordedAt
    const version = event.streamVersion
    const name = event.streamId.slice(StreamId.category(event.streamId).length + 1)
    const data = event.data
    switch (data._tag) {
      case "SpecificationGenerated":
        return sql`
          INSERT INTO ${table} (name, current_text, status, revision, session_id, created_at, spec_version)
          VALUES (${data.name}, ${data.text}, 'generated', 1, ${data.sessionId}, ${at}, ${version})
          ON CONFLICT (name) DO NOTHING`
      case "SpecificationRefined":
        return sql`
          UPDATE ${table} SET current_text = ${data.text}, revision = ${data.revision}, spec_version = ${version}
           WHERE name = ${name} AND spec_version < ${version}`
      case "SpecificationApproved":
        return sql`
          UPDATE ${table} SET status = 'approved', quality_score = ${data.qualityScore}, approved_at = ${at},
                 spec_version = ${version}
           WHERE name = ${name} AND spec_version < ${version}`
      case "PromptValidated":
        // The specification exists by then: the workflow creates it right after generating the prompt.
        return sql`
          UPDATE ${table} SET quality_score = ${data.qualityScore}, scored_position = ${
          String(event.globalPosition)
        }::bigint
           WHERE name = ${data.promptName} AND status = 'generated'
             AND scored_position < ${String(event.globalPosition)}::bigint`
    }
  })

/** The name of the catalog projection. */
export const projectionName = "prompt_catalog"

/** The catalog projection, writing to `schema`; `name` is its checkpoint key. */
export const projection = (schema: string, name: string = projectionName) =>
  Projection.make({
    name,
    catalog: PromptCatalogEvents,
    categories: ["prompt_spec", "workflow_session"],
    types: ["SpecificationGenerated", "SpecificationRefined", "SpecificationApproved", "PromptValidated"],
    handle: (event) => Effect.asVoid(apply(schema, event)),
    reset: Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(sql`DELETE FROM ${sql(schema)}.prompt_catalog`)),
    batchSize: 200
  })

interface Row {
  readonly name: string
  readonly current_text: string
  readonly status: PromptStatus
  readonly quality_score: number | null
  readonly revision: number
  readonly session_id: string
  readonly created_at: Date
  readonly approved_at: Date | null
}

const toPrompt = (row: Row): PromptRow => ({
  name: row.name,
  currentText: row.current_text,
  status: row.status,
  qualityScore: row.quality_score,
  revision: row.revision,
  sessionId: row.session_id,
  createdAt: row.created_at,
  approvedAt: row.approved_at
})

/** A prompt by its name. */
export const byName = (
  schema: string,
  name: string
): Effect.Effect<Option.Option<PromptRow>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<Row>`
      SELECT name, current_text, status, quality_score, revision, session_id, created_at, approved_at
        FROM ${sql(schema)}.prompt_catalog
       WHERE name = ${name}`.pipe(Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toPrompt))))

/** Escapes `%`, `_` and `\` so a search term matches literally inside an ILIKE pattern. */
export const likePattern = (term: string): string => `%${term.replace(/[\\%_]/g, (char) => `\\${char}`)}%`

/** What to search for. */
export interface PromptSearch {
  /** Matched case-insensitively, literally, anywhere in the name or the current text. */
  readonly term: string
  /** Only prompts scored at least this (0..1); unscored prompts are left out when given. */
  readonly minQualityScore?: number
  readonly status?: PromptStatus
  /** At most this many (1..500, default 50). */
  readonly limit?: number
}

/** Prompts whose name or text contains the term, best score first. */
export const search = (
  schema: string,
  query: PromptSearch
): Effect.Effect<ReadonlyArray<PromptRow>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const pattern = likePattern(query.term)
    const conditions = [
      sql`(name ILIKE ${pattern} ESCAPE '\\' OR current_text ILIKE ${pattern} ESCAPE '\\')`,
      query.minQualityScore === undefined ? undefined : sql`quality_score >= ${query.minQualityScore}`,
      query.status === undefined ? undefined : sql`status = ${query.status}`
    ].filter((condition) => condition !== undefined)
    return sql<Row>`
      SELECT name, current_text, status, quality_score, revision, session_id, created_at, approved_at
        FROM ${sql(schema)}.prompt_catalog
       WHERE ${sql.and(conditions)}
       ORDER BY quality_score DESC NULLS LAST, name
       LIMIT ${Math.min(500, Math.max(1, Math.floor(query.limit ?? 50)))}`.pipe(
      Effect.map((rows) => rows.map(toPrompt))
    )
  })

/** How many prompts were approved in `[from, to)`. */
export const approvedBetween = (
  schema: string,
  from: Date,
  to: Date
): Effect.Effect<number, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ approved: number }>`
      SELECT count(*)::int AS approved FROM ${sql(schema)}.prompt_catalog
       WHERE approved_at >= ${from} AND approved_at < ${to}`.pipe(Effect.map((rows) => rows[0]?.approved ?? 0)))

const dayMillis = 24 * 60 * 60 * 1000

/** The UTC day before the day of `now`: `[00:00 yesterday, 00:00 today)`. */
export const yesterdayOf = (now: Date): { readonly from: Date; readonly to: Date } => {
  const today = Math.floor(now.getTime() / dayMillis) * dayMillis
  return { from: new Date(today - dayMillis), to: new Date(today) }
}

/**
 * How many prompts were approved yesterday (UTC). "Now" is `options.now` when given, else the
 * Effect `Clock` — so a test can fix it either way.
 */
export const approvedYesterday = (
  schema: string,
  options: { readonly now?: Date } = {}
): Effect.Effect<
  { readonly from: Date; readonly to: Date; readonly approved: number },
  SqlError,
  SqlClient.SqlClient
> =>
  Effect.gen(function*() {
    const now = options.now ?? new Date(yield* Clock.currentTimeMillis)
    const day = yesterdayOf(now)
    const approved = yield* approvedBetween(schema, day.from, day.to)
    return { ...day, approved }
  })

/**
 * Snapshots in PostgreSQL, with the same semantics as the in-memory store: one snapshot per
 * stream, and a lower version never overwrites a higher one.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { SnapshotStore } from "@facta/core"
import { Effect, Layer, Option } from "effect"
import { dateOfMillis, epochMillis } from "./internal/textColumns.js"
import * as PgSchema from "./PgSchema.js"

/** A snapshot's columns, each as text whatever type parsers the application registered. */
interface SnapshotRow {
  readonly version: string
  readonly schema_version: string
  readonly state: string
  readonly taken_at_ms: string
}

/**
 * Builds the Postgres `SnapshotStore` in `schema` (default `facta`). It expects the schema to be
 * migrated (the event store layer migrates it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: { readonly schema?: string } = {}
): Effect.Effect<SnapshotStore.SnapshotStoreShape, PgSchema.InvalidSchemaName, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const schema = yield* PgSchema.resolve(options.schema)
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const s = sql(schema.name)
    const unavailable = (operation: string) => (cause: unknown) =>
      new SnapshotStore.SnapshotStoreUnavailable({ operation, cause })
    return SnapshotStore.make({
      // A state JSON.stringify throws on (a bigint, a cycle) is a failure, as in memory, not a defect.
      save: (id, snapshot) =>
        Effect.flatMap(
          Effect.try({ try: () => JSON.stringify(snapshot.state), catch: (cause) => cause }),
          (state) =>
            sql`
            INSERT INTO ${s}.snapshots (stream_id, version, schema_version, state)
            VALUES (${id}, ${snapshot.version}, ${snapshot.schemaVersion}, ${state}::jsonb)
            ON CONFLICT (stream_id) DO UPDATE
              SET version = excluded.version, schema_version = excluded.schema_version,
                  state = excluded.state, taken_at = now()
              WHERE ${s}.snapshots.version <= excluded.version`
        ).pipe(
          Effect.asVoid,
          Effect.mapError(unavailable("save"))
        ),
      load: (id) =>
        sql<SnapshotRow>`
          SELECT version::text AS version, schema_version::text AS schema_version, state::text AS state,
                 (${sql.literal(epochMillis("taken_at"))})::text AS taken_at_ms
            FROM ${s}.snapshots WHERE stream_id = ${id}`
          .pipe(
            Effect.map((rows) =>
              Option.map(Option.fromNullable(rows[0]), (row) => ({
                streamId: id,
                version: Number(row.version),
                schemaVersion: Number(row.schema_version),
                state: JSON.parse(row.state),
                takenAt: dateOfMillis(row.taken_at_ms)
              }))
            ),
            Effect.mapError(unavailable("load"))
          ),
      remove: (id) =>
        sql`DELETE FROM ${s}.snapshots WHERE stream_id = ${id}`.pipe(
          Effect.asVoid,
          Effect.mapError(unavailable("remove"))
        )
    })
  })

/**
 * A layer providing the Postgres `SnapshotStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: { readonly schema?: string } = {}
): Layer.Layer<SnapshotStore.SnapshotStore, PgSchema.InvalidSchemaName, SqlClient.SqlClient> =>
  Layer.effect(SnapshotStore.SnapshotStore, make(options))

/**
 * Checkpoints in PostgreSQL. `save` runs on the caller's transaction when called inside
 * `SqlClient.withTransaction`, so a read model's writes and its checkpoint commit together.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { CheckpointStore, Position } from "@facta/core"
import { Effect, Layer, Option } from "effect"
import * as PgSchema from "./PgSchema.js"

/**
 * Builds the Postgres `CheckpointStore` in `schema` (default `facta`). It expects the schema to
 * be migrated (the event store layer migrates it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: { readonly schema?: string } = {}
): Effect.Effect<CheckpointStore.CheckpointStoreShape, PgSchema.InvalidSchemaName, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const schema = yield* PgSchema.resolve(options.schema)
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const s = sql(schema.name)
    const unavailable = (operation: string, name: string) => (cause: unknown) =>
      new CheckpointStore.CheckpointStoreUnavailable({ operation, name, cause })
    return CheckpointStore.make({
      load: (name) =>
        sql<{ readonly transaction_id: string; readonly global_position: string }>`
          SELECT transaction_id::text AS transaction_id, global_position::text AS global_position
            FROM ${s}.checkpoints WHERE name = ${name}`.pipe(
          Effect.map((rows) =>
            Option.map(Option.fromNullable(rows[0]), (row) =>
              Position.make(BigInt(row.transaction_id), BigInt(row.global_position)))
          ),
          Effect.mapError(unavailable("load", name))
        ),
      save: (name, position) =>
        sql`
          INSERT INTO ${s}.checkpoints (name, transaction_id, global_position)
          VALUES (${name}, ${String(position.transactionId)}::xid8, ${String(position.globalPosition)}::bigint)
          ON CONFLICT (name) DO UPDATE
            SET transaction_id = excluded.transaction_id, global_position = excluded.global_position, updated_at = now()`
          .pipe(Effect.asVoid, Effect.mapError(unavailable("save", name))),
      reset: (name) =>
        sql`DELETE FROM ${s}.checkpoints WHERE name = ${name}`.pipe(
          Effect.asVoid,
          Effect.mapError(unavailable("reset", name))
        )
    })
  })

/**
 * A layer providing the Postgres `CheckpointStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: { readonly schema?: string } = {}
): Layer.Layer<CheckpointStore.CheckpointStore, PgSchema.InvalidSchemaName, SqlClient.SqlClient> =>
  Layer.effect(CheckpointStore.CheckpointStore, make(options))

/**
 * The projection runner conformance suite on PostgreSQL: the Postgres event, checkpoint and
 * projection stores, with a SQL read model whose rows commit with each batch's checkpoint. The
 * read model's `UNIQUE (projection, event_id)` makes an event handled twice fail loudly.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { ProjectionRunnerConformance } from "@facta/testing"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Effect, Layer } from "effect"
import { storesLayer } from "./support.js"

const schema = uniqueSchemaName()

/** The read model's table, created once the stores have migrated the schema. */
const readModelTable = Layer.effectDiscard(
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      CREATE TABLE ${sql(schema)}.conformance_rows (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        projection text NOT NULL,
        event_id uuid NOT NULL,
        stream_id text NOT NULL,
        stream_version integer NOT NULL,
        n integer NOT NULL,
        UNIQUE (projection, event_id)
      )`).pipe(Effect.orDie)
)

interface RowRecord {
  readonly event_id: string
  readonly stream_id: string
  readonly stream_version: number
  readonly n: number
}

const table = (sql: SqlClient.SqlClient) => sql`${sql(schema)}.conformance_rows`

ProjectionRunnerConformance.run(
  "Postgres",
  readModelTable.pipe(Layer.provideMerge(storesLayer(schema))),
  {
    insert: (projection, row) =>
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql`INSERT INTO ${table(sql)} (projection, event_id, stream_id, stream_version, n)
            VALUES (${projection}, ${row.eventId}::uuid, ${row.streamId}, ${row.streamVersion}, ${row.n})`
      ),
    rows: (projection) =>
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql<RowRecord>`SELECT event_id::text AS event_id, stream_id, stream_version, n
                         FROM ${table(sql)} WHERE projection = ${projection} ORDER BY seq`
      ).pipe(
        Effect.map((rows) =>
          rows.map((row) => ({
            eventId: row.event_id,
            streamId: row.stream_id,
            streamVersion: row.stream_version,
            n: row.n
          }))
        )
      ),
    clear: (projection) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM ${table(sql)} WHERE projection = ${projection}`),
    transactional: true
  }
)

/**
 * Shared Postgres test wiring: the run's server (see test/globalSetup.ts), a `PgClient` on it,
 * and the Facta stores in a fresh schema that is dropped when the layer is released.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type { RecordedEvent } from "@facta/core"
import { PgPool, PgStore } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import type { Duration } from "effect"
import { Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { inject } from "vitest"

/** The URL of the run's PostgreSQL. */
export const databaseUrl = (): string => inject("databaseUrl")

/**
 * A `PgClient` on the run's PostgreSQL, over a `PgPool` as `PgStore.layerFromUrl` builds it: the
 * event store runs its hottest statements on the pool directly outside transactions.
 */
export const clientLayer = (maxConnections = 20) => PgPool.layer({ url: databaseUrl(), maxConnections })

/** A plain `PgClient` without a `PgPool`: every statement goes through `@effect/sql`. */
export const plainClientLayer = (maxConnections = 20) =>
  PgClient.layer({ url: Redacted.make(databaseUrl()), maxConnections, transformJson: false })

/** Drops `schema` when the layer is released. */
const dropSchemaOnRelease = (schema: string) =>
  Layer.scopedDiscard(
    Effect.addFinalizer(() =>
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`).pipe(
        Effect.ignore
      )
    )
  )

/** The Facta stores in a fresh schema, with their `PgClient`. */
export const storesLayer = (
  schema: string = uniqueSchemaName(),
  options: {
    readonly maxConnections?: number
    readonly pollInterval?: Duration.DurationInput
    /** Without a `PgPool`: every statement through `@effect/sql` (default `false`). */
    readonly withoutPool?: boolean
    /** See `PgEventStore.Options.preparedStatements` (default `true`). */
    readonly preparedStatements?: boolean
  } = {}
) =>
  Layer.mergeAll(
    PgStore.layer({
      schema,
      pollInterval: options.pollInterval ?? "200 millis",
      preparedStatements: options.preparedStatements ?? true
    }),
    dropSchemaOnRelease(schema)
  ).pipe(
    Layer.provideMerge((options.withoutPool ? plainClientLayer : clientLayer)(options.maxConnections))
  )

/** A raw node-postgres client on the run's PostgreSQL, closed when the scope closes. */
export const rawClient = Effect.acquireRelease(
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: databaseUrl() })
    client.on("error", () => undefined)
    await client.connect()
    return client
  }),
  (client) => Effect.promise(() => client.end().catch(() => undefined))
)

/**
 * A recorded event as a store hands it out, with positions beyond 2^53 and a payload of unicode,
 * quotes and nested keys: for stores that keep whole envelopes (parked events).
 */
export const recordedEnvelope = (
  overrides: Partial<RecordedEvent.RecordedEvent> = {}
): RecordedEvent.RecordedEvent => ({
  eventId: crypto.randomUUID(),
  streamId: "thing-1" as RecordedEvent.RecordedEvent["streamId"],
  streamVersion: 3,
  globalPosition: 2n ** 60n + 7n,
  transactionId: 2n ** 62n + 1n,
  type: "Thing",
  schemaVersion: 2,
  data: { text: "ünïcödé \"quoted\"", nested: { camelCase: [1, 2.5, null, true] } },
  metadata: { correlationId: "c-1", userId: "u-1", extra: { deep: 1 } },
  recordedAt: new Date("2024-05-06T07:08:09.123Z"),
  ...overrides
})

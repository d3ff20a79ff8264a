/**
 * The node-postgres pool under the stores' `PgClient`, as a service of its own.
 *
 * Every statement run through `@effect/sql` pays for a span, a scope and a compile step, a cost
 * that shows at high append rates (docs/performance.md, `bench/postgres.ts`). When the context holds a `PgPool`, the event
 * store runs its hottest statements (the append, the stream version, page reads) on that pool
 * directly, with the same text and parameters, and still inside the caller's `@effect/sql`
 * transaction whenever there is one: there they go through the `SqlClient`, on the transaction's
 * connection, as before. `PgStore.layerFromUrl` provides it; a `PgClient` built elsewhere works
 * the same without it.
 *
 * A statement interrupted on this pool, on either path, is canceled with PostgreSQL's cancel
 * request on a connection of its own: cancelling never waits for a free pooled connection.
 *
 * @since 0.1.0
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { Context, Duration, Effect, Layer } from "effect"
import pg from "pg"
import { cancelOutsideThePool } from "./internal/cancelRequest.js"

/**
 * The pool the context's `PgClient` runs on. Provide it only for that very pool: outside a
 * transaction the stores use it instead of the `PgClient`.
 *
 * @since 0.1.0
 * @category tags
 */
export class PgPool extends Context.Tag("@facta/postgres/PgPool")<PgPool, pg.Pool>() {}

/**
 * How to connect.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The connection URL: `postgres://user:password@host:port/database`. */
  readonly url: string
  /** The most connections the pool opens (default 16). */
  readonly maxConnections?: number
  /** How long connecting may take, first connection included (default 5 seconds). */
  readonly connectTimeout?: Duration.DurationInput
  /** Shown in `pg_stat_activity` (default `facta`). */
  readonly applicationName?: string
}

/**
 * A pool and the `PgClient`/`SqlClient` over it, closed with the layer. Fails with the
 * `SqlError` of the first connection when the server cannot be reached.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<PgPool | PgClient.PgClient | SqlClient.SqlClient, SqlError> => {
  const connectTimeout = Duration.decode(options.connectTimeout ?? "5 seconds")
  const pool = Layer.scoped(
    PgPool,
    Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new pg.Pool({
          connectionString: options.url,
          max: options.maxConnections ?? 16,
          connectionTimeoutMillis: Duration.toMillis(connectTimeout),
          application_name: options.applicationName ?? "facta"
        })
        // An idle connection that breaks is dropped by the pool; the next query opens another.
        pool.on("error", () => undefined)
        // An interrupted statement is canceled without waiting for a pooled connection.
        cancelOutsideThePool(pool, Duration.toMillis(connectTimeout))
        return pool
      }),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeoutOption("1 second"))
    ).pipe(
      Effect.tap((pool) =>
        Effect.tryPromise({
          try: () => pool.query("SELECT 1"),
          catch: (cause) => new SqlError({ cause, message: "PgPool: failed to connect" })
        }).pipe(
          Effect.timeoutFail({
            duration: connectTimeout,
            onTimeout: () =>
              new SqlError({ cause: new Error("Connection timed out"), message: "PgPool: connection timed out" })
          })
        )
      )
    )
  )
  const client = Layer.unwrapEffect(
    Effect.map(PgPool, (pool) =>
      PgClient.layerFromPool({
        acquire: Effect.succeed(pool),
        applicationName: options.applicationName ?? "facta",
        transformJson: false
      }))
  )
  return Layer.provideMerge(client, pool)
}

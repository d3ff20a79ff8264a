/**
 * The projection store in PostgreSQL: leases, fenced transactions and dead letters for
 * `ProjectionRunner` (see `ProjectionStore` in `@facta/core` for the contract).
 *
 * - Leases live in `projection_leases` and expire on the **server's** clock, so the clocks of
 *   the runner hosts never matter. Taking one is a single upsert; a takeover bumps the generation.
 * - `transaction(lease, effect)` runs `effect` in one database transaction that first locks the
 *   lease row `FOR SHARE` and checks it is still the caller's: a takeover (which must update that
 *   row) waits until the transaction has committed or rolled back, so a stale owner can never
 *   commit. Whatever `effect` writes through the same `SqlClient` (the read model, the checkpoint,
 *   parked events) joins the transaction.
 * - Dead letters are `projection_dead_letters`, a full copy of each parked event's envelope.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { ProjectionStore } from "@facta/core"
import type { Duration } from "effect"
import { Duration as Durations, Effect, Layer, Option } from "effect"
import { castColumns, eventColumnCount, eventReader } from "./internal/eventRow.js"
import { sqlErrorDefectAsFailure } from "./internal/sqlState.js"
import { dateOfMillis, epochMillis } from "./internal/textColumns.js"
import * as PgSchema from "./PgSchema.js"

/** The columns of a parked event, as text: the event's, then these (see `toParked`). */
const parkedColumns = `${castColumns}, projection, reason, (${epochMillis("parked_at")})::text AS parked_at_ms`

/** Rows of {@link parkedColumns} as the parked events. */
const toParked = (rows: ReadonlyArray<ReadonlyArray<unknown>>): Array<ProjectionStore.ParkedEvent> => {
  const readEvent = eventReader()
  return rows.map((columns) => ({
    projection: columns[eventColumnCount] as string,
    event: readEvent(columns),
    reason: columns[eventColumnCount + 1] as string,
    parkedAt: dateOfMillis(columns[eventColumnCount + 2] as string)
  }))
}

/** The caller's own failure, carried through the transaction untouched (told apart from the store's). */
class Passthrough<E> {
  constructor(readonly error: E) {}
}

/** Postgres error classes of a lost or refused connection: 08 (connection exception), 57P01–57P03 (shutdown). */
const unreachableCodes = /^(08|57P0[1-3])/
/** Socket errors node-postgres reports when the connection is gone. */
const socketCodes = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"])

/**
 * Whether `cause` (an `SqlError`, or anything wrapping one) says the database is out of reach
 * rather than that a statement was wrong.
 *
 * @since 0.1.0
 * @category errors
 */
export const isUnavailable = (cause: unknown): boolean => {
  let current: unknown = cause
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const code = "code" in current && typeof current.code === "string" ? current.code : undefined
    if (code !== undefined && (unreachableCodes.test(code) || socketCodes.has(code))) return true
    const message = "message" in current && typeof current.message === "string" ? current.message : ""
    if (/Connection terminated|connection is closed|Client has encountered a connection error/i.test(message)) {
      return true
    }
    current = "cause" in current ? current.cause : undefined
  }
  return false
}

const ttlMillis = (ttl: Duration.Duration): number => Math.max(0, Durations.toMillis(ttl))

/**
 * Builds the Postgres `ProjectionStore` in `schema` (default `facta`) over the `SqlClient` in the
 * context. It expects the schema to be migrated (the event store layer migrates it). Read models
 * written inside `transaction` must use that same `SqlClient` (or one of the same `PgClient`)
 * to commit with the checkpoint.
 *
 * A failed `COMMIT` (a lost connection) is a defect in `@effect/sql`; here it becomes
 * `ProjectionStoreUnavailable`. Whether that transaction committed is then unknown, so callers
 * must re-read their checkpoint before going on (the runner does).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: { readonly schema?: string } = {}
): Effect.Effect<ProjectionStore.ProjectionStoreShape, PgSchema.InvalidSchemaName, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const schema = yield* PgSchema.resolve(options.schema)
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const s = sql(schema.name)
    const unavailable = (operation: string, projection: string) => (cause: unknown) =>
      new ProjectionStore.ProjectionStoreUnavailable({ operation, projection, cause })

    /**
     * Runs `effect` in a transaction after `guard`; the caller's failures pass through, the
     * store's (BEGIN, the guard, a failed COMMIT or ROLLBACK) become `ProjectionStoreUnavailable`.
     */
    const inTransaction = <A, E, R, G>(
      operation: string,
      projection: string,
      guard: Effect.Effect<void, G | SqlError>,
      effect: Effect.Effect<A, E, R>,
      isGuardFailure: (error: unknown) => error is G
    ): Effect.Effect<A, E | G | ProjectionStore.ProjectionStoreUnavailable, R> =>
      sql.withTransaction(Effect.zipRight(guard, Effect.mapError(effect, (error) => new Passthrough(error)))).pipe(
        Effect.catchSomeDefect(sqlErrorDefectAsFailure),
        Effect.mapError((error): E | G | ProjectionStore.ProjectionStoreUnavailable =>
          error instanceof Passthrough
            ? (error as Passthrough<E>).error
            : isGuardFailure(error)
            ? error
            : unavailable(operation, projection)(error)
        )
      )

    const isLeaseLost = (error: unknown): error is ProjectionStore.LeaseLost =>
      error instanceof ProjectionStore.LeaseLost
    const isNever = (_: unknown): _ is never => false

    const acquire: ProjectionStore.ProjectionStoreShape["acquire"] = (projection, owner, ttl) =>
      // Free, expired or the caller's own: take it. The same live owner keeps its generation.
      sql<{ readonly generation: string }>`
        INSERT INTO ${s}.projection_leases AS lease (name, owner, generation, expires_at)
        VALUES (${projection}, ${owner}, 1, clock_timestamp() + ${
        ttlMillis(ttl)
      }::double precision * interval '1 millisecond')
        ON CONFLICT (name) DO UPDATE
          SET owner = excluded.owner,
              generation = CASE WHEN lease.owner = excluded.owner AND lease.expires_at > clock_timestamp()
                                THEN lease.generation ELSE lease.generation + 1 END,
              expires_at = excluded.expires_at
          WHERE lease.owner = excluded.owner OR lease.expires_at <= clock_timestamp()
        RETURNING generation::text AS generation`.pipe(
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (row) => ({ projection, owner, generation: Number(row.generation) }))
        ),
        Effect.mapError(unavailable("acquire", projection))
      )

    const renew: ProjectionStore.ProjectionStoreShape["renew"] = (lease, ttl) =>
      sql`
        UPDATE ${s}.projection_leases
           SET expires_at = clock_timestamp() + ${ttlMillis(ttl)}::double precision * interval '1 millisecond'
         WHERE name = ${lease.projection} AND owner = ${lease.owner} AND generation = ${lease.generation}
           AND expires_at > clock_timestamp()
        RETURNING 1 AS held`.pipe(
        Effect.mapError(unavailable("renew", lease.projection)),
        Effect.flatMap((rows) => rows.length === 1 ? Effect.void : Effect.fail(new ProjectionStore.LeaseLost(lease)))
      )

    const release: ProjectionStore.ProjectionStoreShape["release"] = (lease) =>
      sql`
        UPDATE ${s}.projection_leases SET expires_at = '-infinity'
         WHERE name = ${lease.projection} AND owner = ${lease.owner} AND generation = ${lease.generation}
           AND expires_at > clock_timestamp()`.pipe(
        Effect.asVoid,
        Effect.mapError(unavailable("release", lease.projection))
      )

    /** Locks the lease row until the end of the transaction, if it is still the caller's. */
    const holdLease = (lease: ProjectionStore.Lease) =>
      sql`
        SELECT 1 AS held FROM ${s}.projection_leases
         WHERE name = ${lease.projection} AND owner = ${lease.owner} AND generation = ${lease.generation}
           AND expires_at > clock_timestamp()
           FOR SHARE`.pipe(
        Effect.flatMap((rows) => rows.length === 1 ? Effect.void : Effect.fail(new ProjectionStore.LeaseLost(lease)))
      )

    const transaction: ProjectionStore.ProjectionStoreShape["transaction"] = (lease, effect) =>
      inTransaction("transaction", lease.projection, holdLease(lease), effect, isLeaseLost)

    const atomically: ProjectionStore.ProjectionStoreShape["atomically"] = (projection, effect) =>
      inTransaction("atomically", projection, Effect.void, effect, isNever)

    const park: ProjectionStore.ProjectionStoreShape["park"] = (projection, event, reason) =>
      Effect.try({
        // What JSON.stringify refuses (a bigint, a cycle) cannot be stored: the store's failure.
        try: () => [JSON.stringify(event.data), JSON.stringify(event.metadata)] as const,
        catch: unavailable("park", projection)
      }).pipe(
        Effect.flatMap(([data, metadata]) =>
          sql`
            INSERT INTO ${s}.projection_dead_letters (
              projection, event_id, stream_id, stream_version, global_position, transaction_id,
              type, schema_version, data, metadata, recorded_at, reason
            ) VALUES (
              ${projection}, ${event.eventId}::uuid, ${event.streamId}, ${event.streamVersion},
              ${String(event.globalPosition)}::bigint, ${String(event.transactionId)}::xid8,
              ${event.type}, ${event.schemaVersion}, ${data ?? "null"}::jsonb, ${metadata ?? "{}"}::jsonb,
              ${event.recordedAt.toISOString()}::timestamptz, ${reason}
            )
            ON CONFLICT (projection, event_id) DO UPDATE
              SET reason = excluded.reason, parked_at = now()`.pipe(
            Effect.asVoid,
            Effect.mapError(unavailable("park", projection))
          )
        )
      )

    const parked: ProjectionStore.ProjectionStoreShape["parked"] = (projection) =>
      sql`
        SELECT ${sql.literal(parkedColumns)}
          FROM ${s}.projection_dead_letters
         WHERE projection = ${projection}
         ORDER BY transaction_id, global_position`.values.pipe(
        Effect.map(toParked),
        Effect.mapError(unavailable("parked", projection))
      )

    const unpark: ProjectionStore.ProjectionStoreShape["unpark"] = (projection, eventId) =>
      sql`DELETE FROM ${s}.projection_dead_letters WHERE projection = ${projection} AND event_id::text = ${eventId.toLowerCase()}`
        .pipe(Effect.asVoid, Effect.mapError(unavailable("unpark", projection)))

    const clearParked: ProjectionStore.ProjectionStoreShape["clearParked"] = (projection) =>
      sql`DELETE FROM ${s}.projection_dead_letters WHERE projection = ${projection}`.pipe(
        Effect.asVoid,
        Effect.mapError(unavailable("clearParked", projection))
      )

    return ProjectionStore.make({
      acquire,
      renew,
      release,
      transaction,
      atomically,
      park,
      parked,
      unpark,
      clearParked,
      isUnavailable
    })
  })

/**
 * A layer providing the Postgres `ProjectionStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: { readonly schema?: string } = {}
): Layer.Layer<ProjectionStore.ProjectionStore, PgSchema.InvalidSchemaName, SqlClient.SqlClient> =>
  Layer.effect(ProjectionStore.ProjectionStore, make(options))

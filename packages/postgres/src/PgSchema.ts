/**
 * The Facta tables in PostgreSQL and their migrations. Everything lives in one Postgres schema
 * (default `facta`), so one database can hold several isolated stores (one schema per tenant).
 *
 * Migrations run through `@effect/sql`'s `Migrator` from a record, under a transaction-scoped
 * advisory lock, so processes that start at the same time migrate once and never collide.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Data, Effect, Either, Option } from "effect"
import * as AppendFunctions from "./internal/appendFunctions.js"

/**
 * The Postgres schema name is not a plain lowercase identifier.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidSchemaName extends Data.TaggedError("InvalidSchemaName")<{
  /** The rejected name. */
  readonly schema: string
}> {
  /** Names the rejected name and says what a valid one looks like. */
  override get message(): string {
    return `Invalid Postgres schema name ${
      JSON.stringify(this.schema)
    }: use lowercase letters, digits and _ (at most 40 characters, not starting with a digit or pg_)`
  }
}

/**
 * Migrating the schema failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class MigrationFailed extends Data.TaggedError("MigrationFailed")<{
  /** The schema being migrated. */
  readonly schema: string
  /** The migrator's error, which names the failed migration, with the SQL error under it. */
  readonly cause: unknown
}> {
  /** Names the schema, then the reasons down the cause chain: the failed migration, the SQL error. */
  override get message(): string {
    // Migrator's error says which migration failed; the SQL error under it says why.
    const reasons: Array<string> = []
    for (let cause = this.cause, depth = 0; cause !== undefined && depth < 4; depth++) {
      const reason = cause instanceof Error ? cause.message : String(cause)
      if (reason !== "" && !reasons.includes(reason)) reasons.push(reason)
      cause = cause instanceof Error ? cause.cause : undefined
    }
    return `Migrating the Facta schema ${JSON.stringify(this.schema)} failed: ${reasons.join(": ")}`
  }
}

/**
 * A validated schema name and the names derived from it.
 *
 * @since 0.1.0
 * @category models
 */
export interface PgSchema {
  /** The schema's name: a lowercase identifier, at most 40 characters, not starting with `pg_`. */
  readonly name: string
  /** The LISTEN/NOTIFY channel appends notify on commit. */
  readonly channel: string
  /** The table `Migrator` records applied migrations in. */
  readonly migrationsTable: string
}

// Postgres reserves the pg_ prefix for system schemas (CREATE SCHEMA refuses it).
const validName = /^(?!pg_)[a-z_][a-z0-9_]{0,39}$/

/**
 * Validates a schema name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (name: string): Either.Either<PgSchema, InvalidSchemaName> =>
  validName.test(name)
    ? Either.right({ name, channel: `${name}_events`, migrationsTable: `${name}.facta_migrations` })
    : Either.left(new InvalidSchemaName({ schema: name }))

/**
 * Validates a schema name (default `facta`) as an Effect, for layer constructors.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (name: string | undefined): Effect.Effect<PgSchema, InvalidSchemaName> =>
  Either.match(make(name ?? defaultName), { onLeft: Effect.fail, onRight: Effect.succeed })

/**
 * The default schema: `facta`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultName = "facta"

/**
 * The migrations, by `<id>_<name>`, for a schema. Ids only ever grow: a released migration is
 * never edited, a change is a new migration.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrations = (schema: PgSchema): Record<string, Effect.Effect<void, SqlError, SqlClient.SqlClient>> => ({
  "1_create_streams_and_events": Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const s = sql(schema.name)
    yield* sql`
      CREATE TABLE ${s}.streams (
        stream_id text PRIMARY KEY,
        version bigint NOT NULL CHECK (version >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`
    yield* sql`
      CREATE TABLE ${s}.events (
        global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id text NOT NULL,
        stream_version bigint NOT NULL CHECK (stream_version >= 1),
        category text GENERATED ALWAYS AS (split_part(stream_id, '-', 1)) STORED,
        event_id uuid NOT NULL UNIQUE,
        type text NOT NULL,
        schema_version integer NOT NULL CHECK (schema_version >= 1),
        data jsonb NOT NULL,
        metadata jsonb NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (stream_id, stream_version)
      )`
    yield* sql`CREATE INDEX events_log_order ON ${s}.events (transaction_id, global_position)`
    yield* sql`CREATE INDEX events_category_log_order ON ${s}.events (category, transaction_id, global_position)`
    yield* sql`CREATE INDEX events_type_log_order ON ${s}.events (type, transaction_id, global_position)`
    // The append function resolves unqualified names in this schema (SET search_path FROM CURRENT).
    yield* sql`SET LOCAL search_path TO ${s}`
    yield* sql.unsafe(AppendFunctions.migration1VersionSatisfies)
    yield* sql.unsafe(AppendFunctions.migration1RepeatOutcome)
    yield* sql.unsafe(AppendFunctions.migration1Append)
  }),
  "2_create_snapshots_and_checkpoints": Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const s = sql(schema.name)
    yield* sql`
      CREATE TABLE ${s}.snapshots (
        stream_id text PRIMARY KEY,
        version bigint NOT NULL,
        schema_version integer NOT NULL,
        state jsonb NOT NULL,
        taken_at timestamptz NOT NULL DEFAULT now()
      )`
    yield* sql`
      CREATE TABLE ${s}.checkpoints (
        name text PRIMARY KEY,
        transaction_id xid8 NOT NULL,
        global_position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`
  }),
  "3_create_projection_leases_and_dead_letters": Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const s = sql(schema.name)
    // Lease expiry is compared with the server's clock only, so runner hosts' clocks never matter.
    yield* sql`
      CREATE TABLE ${s}.projection_leases (
        name text PRIMARY KEY,
        owner text NOT NULL,
        generation bigint NOT NULL CHECK (generation >= 1),
        expires_at timestamptz NOT NULL
      )`
    // A full copy of the parked envelope: it can be listed and replayed without the log.
    yield* sql`
      CREATE TABLE ${s}.projection_dead_letters (
        projection text NOT NULL,
        event_id uuid NOT NULL,
        stream_id text NOT NULL,
        stream_version bigint NOT NULL,
        global_position bigint NOT NULL,
        transaction_id xid8 NOT NULL,
        type text NOT NULL,
        schema_version integer NOT NULL,
        data jsonb NOT NULL,
        metadata jsonb NOT NULL,
        recorded_at timestamptz NOT NULL,
        reason text NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (projection, event_id)
      )`
    yield* sql`
      CREATE INDEX projection_dead_letters_log_order
        ON ${s}.projection_dead_letters (projection, transaction_id, global_position)`
  }),
  "4_leaner_append_events": Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    yield* sql`SET LOCAL search_path TO ${sql(schema.name)}`
    yield* sql.unsafe(AppendFunctions.migration4Append)
  }),
  "5_listeners_and_index_plans": Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    // Processes that LISTEN for appends, each under a lease it renews (see PgEventStore).
    yield* sql`
      CREATE TABLE ${sql(schema.name)}.listeners (
        id uuid PRIMARY KEY,
        expires_at timestamptz NOT NULL
      )`
    yield* sql.unsafe(AppendFunctions.migration5RepeatOutcome(schema.name))
    yield* sql.unsafe(AppendFunctions.migration5Append(schema.name))
  }),
  // Migration 5's `enable_seqscan = off` prices a plan that can only scan (the check for live
  // listeners) at 10^10, far past `jit_above_cost`: on a server with JIT (PostgreSQL's Debian
  // and Ubuntu packages) every append compiled that statement with LLVM, many times the cost of
  // the append itself. These statements are never worth compiling.
  "6_append_without_jit": Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const s = sql(schema.name)
    yield* sql`ALTER FUNCTION ${s}.append_events(text, text, bigint, uuid[], text[], integer[], jsonb[], jsonb[], text) SET jit = off`
    yield* sql`ALTER FUNCTION ${s}.repeat_outcome(text, text, bigint, uuid[]) SET jit = off`
  }),
  // An append waits for its stream's row lock at most `appendLockTimeout` (a holder that never
  // lets go would otherwise keep it, and its pooled connection, forever), and a duplicate id is
  // reported with the stream of the id the decision is about (see AppendFunctions.migration7RepeatOutcome).
  "7_append_lock_timeout_and_duplicate_stream": Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const s = sql(schema.name)
    yield* sql`ALTER FUNCTION ${s}.append_events(text, text, bigint, uuid[], text[], integer[], jsonb[], jsonb[], text) SET lock_timeout = ${
      sql.literal(`'${appendLockTimeout}'`)
    }`
    yield* sql.unsafe(AppendFunctions.migration7RepeatOutcome(schema.name))
  })
})

/**
 * How long an append waits for a lock (its stream's row, mostly) before it fails, as migration 7
 * sets it on `append_events`: `5s`. The append then fails with `EventStoreUnavailable` whose
 * cause has SQLSTATE `55P03` and which wrote nothing. An operator can change it per schema with
 * `ALTER FUNCTION <schema>.append_events(text, text, bigint, uuid[], text[], integer[], jsonb[], jsonb[], text) SET lock_timeout = '…'`.
 *
 * @since 0.1.0
 * @category constants
 */
export const appendLockTimeout = "5s"

/**
 * Creates the schema and runs pending migrations, once, even when several processes start at
 * the same moment: all of it happens in one transaction holding an advisory lock on the schema.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate = (
  schema: PgSchema
): Effect.Effect<ReadonlyArray<readonly [id: number, name: string]>, MigrationFailed, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const run = Migrator.make({})({
      loader: Migrator.fromRecord(migrations(schema)),
      table: schema.migrationsTable
    })
    return yield* sql.withTransaction(
      Effect.gen(function*() {
        yield* sql`SELECT pg_advisory_xact_lock(hashtextextended(${`facta:migrate:${schema.name}`}, 0))`
        yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema.name)}`
        // The same shape Migrator creates; made here so that its existence check cannot abort our transaction.
        yield* sql`
          CREATE TABLE IF NOT EXISTS ${sql(schema.name)}.facta_migrations (
            migration_id integer PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            name text NOT NULL
          )`
        // Migrator turns a failing migration into a defect: make it a failure again, so that it
        // rolls the transaction back and reaches the caller as MigrationFailed.
        return yield* Effect.catchSomeDefect(
          run,
          (defect) => defect instanceof Migrator.MigrationError ? Option.some(Effect.fail(defect)) : Option.none()
        )
      })
    )
  }).pipe(
    Effect.mapError((cause) => new MigrationFailed({ schema: schema.name, cause })),
    Effect.withSpan("PgSchema.migrate", { attributes: { "facta.schema": schema.name } })
  )

import type * as PgClient from "@effect/sql-pg/PgClient"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { CheckpointStore, EventStore, ExpectedVersion, Position, ProjectionStore, SnapshotStore } from "@facta/core"
import { PgCheckpointStore, PgEventStore, PgProjectionStore, PgSchema, PgSnapshotStore, PgStore } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Cause, Chunk, Context, Duration, Effect, Either, Exit, Layer, Option, Stream } from "effect"
import { connect, query } from "./rawPostgres.js"
import { clientLayer, databaseUrl, storesLayer } from "./support.js"

const event = (data: unknown) => ({ eventId: crypto.randomUUID(), type: "Thing", schemaVersion: 1, data, metadata: {} })

/** Drops `schema` (if it was ever created) when the test's scope closes. */
const dropOnClose = (schema: string) =>
  Effect.flatMap(
    connect(),
    (raw) => Effect.addFinalizer(() => Effect.asVoid(query(raw, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`)))
  )

const recordedMigrations = (schema: string) =>
  Effect.flatMap(connect(), (raw) =>
    query<{ readonly migration_id: number; readonly copies: string }>(
      raw,
      `SELECT migration_id, count(*)::text AS copies FROM "${schema}".facta_migrations GROUP BY migration_id ORDER BY migration_id`
    ))

const schemaExists = (schema: string) =>
  Effect.flatMap(connect(), (raw) =>
    Effect.map(
      query<{ readonly found: string }>(raw, `SELECT count(*)::text AS found FROM pg_namespace WHERE nspname = $1`, [
        schema
      ]),
      (rows) => rows[0].found === "1"
    ))

/** The failure of an exit that must be a typed failure (not a defect, not an interruption). */
const typedFailure = <A, E>(exit: Exit.Exit<A, E>): E => {
  expect(Exit.isFailure(exit)).toBe(true)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  expect(Cause.isDie(exit.cause)).toBe(false)
  const failure = Cause.failureOption(exit.cause)
  expect(Option.isSome(failure)).toBe(true)
  return Option.getOrThrow(failure)
}

describe("PgSchema migrations", () => {
  it.scoped("four pools migrating the same fresh schema at once record each migration once", () =>
    Effect.gen(function*() {
      const schema = PgSchema.make(uniqueSchemaName()).pipe(Either.getOrThrow)
      yield* dropOnClose(schema.name)
      // Connect every pool first, so that the migrations themselves start together.
      const clients = yield* Effect.all(Array.from({ length: 4 }, () => Layer.build(clientLayer(2))), {
        concurrency: "unbounded"
      })
      const results = yield* Effect.all(
        clients.map((context) => Effect.provide(PgSchema.migrate(schema), context)),
        { concurrency: "unbounded" }
      )
      const ran = results.filter((result) => result.length > 0)
      expect(ran).toEqual([[
        [1, "create_streams_and_events"],
        [2, "create_snapshots_and_checkpoints"],
        [3, "create_projection_leases_and_dead_letters"],
        [4, "leaner_append_events"],
        [5, "listeners_and_index_plans"],
        [6, "append_without_jit"],
        [7, "append_lock_timeout_and_duplicate_stream"]
      ]])
      expect(results.filter((result) => result.length === 0)).toHaveLength(3)
      expect(yield* recordedMigrations(schema.name)).toEqual([
        { migration_id: 1, copies: "1" },
        { migration_id: 2, copies: "1" },
        { migration_id: 3, copies: "1" },
        { migration_id: 4, copies: "1" },
        { migration_id: 5, copies: "1" },
        { migration_id: 6, copies: "1" },
        { migration_id: 7, copies: "1" }
      ])

      // Migrating again is a no-op that leaves data in place.
      yield* Effect.provide(
        EventStore.append("thing-1", [event({ kept: true })], ExpectedVersion.NoStream),
        PgEventStore.layer({ schema: schema.name, migrate: false }).pipe(
          Layer.provide(Layer.succeedContext(clients[0]))
        )
      )
      expect(yield* Effect.provide(PgSchema.migrate(schema), clients[1])).toEqual([])
      expect(yield* recordedMigrations(schema.name)).toEqual([
        { migration_id: 1, copies: "1" },
        { migration_id: 2, copies: "1" },
        { migration_id: 3, copies: "1" },
        { migration_id: 4, copies: "1" },
        { migration_id: 5, copies: "1" },
        { migration_id: 6, copies: "1" },
        { migration_id: 7, copies: "1" }
      ])
      const raw = yield* connect()
      expect(yield* query(raw, `SELECT data FROM "${schema.name}".events`)).toEqual([{ data: { kept: true } }])
      // Each function created once (overloads would pile up if a migration ran twice).
      const functions = yield* query<{ readonly proname: string; readonly copies: number }>(
        raw,
        `SELECT proname, count(*)::int AS copies FROM pg_proc WHERE pronamespace = $1::regnamespace GROUP BY proname`,
        [schema.name]
      )
      expect(functions.map((f) => f.proname)).toContain("append_events")
      expect(functions.filter((f) => f.copies !== 1)).toEqual([])
      // Every setting the migrations gave the append functions, migration 7's repeat_outcome included.
      const settings = yield* query<{ readonly proname: string; readonly proconfig: ReadonlyArray<string> | null }>(
        raw,
        `SELECT proname, proconfig FROM pg_proc
          WHERE pronamespace = $1::regnamespace AND proname IN ('append_events', 'repeat_outcome') ORDER BY proname`,
        [schema.name]
      )
      expect(settings.map((f) => [f.proname, [...(f.proconfig ?? [])].sort()])).toEqual([
        ["append_events", ["enable_seqscan=off", "jit=off", `lock_timeout=${PgSchema.appendLockTimeout}`]],
        ["repeat_outcome", ["enable_seqscan=off", "jit=off"]]
      ])
    }))

  it.scoped("a schema released at migration 2 upgrades to the projection tables and keeps its data", () =>
    Effect.gen(function*() {
      const schema = PgSchema.make(uniqueSchemaName()).pipe(Either.getOrThrow)
      yield* dropOnClose(schema.name)
      const client = yield* Layer.build(clientLayer(2))
      const released = Object.fromEntries(
        Object.entries(PgSchema.migrations(schema)).filter(([id]) => id.startsWith("1_") || id.startsWith("2_"))
      )
      const raw = yield* connect()
      yield* query(raw, `CREATE SCHEMA "${schema.name}"`)
      yield* Effect.provide(
        Migrator.make({})({ loader: Migrator.fromRecord(released), table: schema.migrationsTable }),
        client
      )
      yield* Effect.provide(
        EventStore.append("thing-1", [event({ kept: true })], ExpectedVersion.NoStream),
        PgEventStore.layer({ schema: schema.name, migrate: false }).pipe(Layer.provide(Layer.succeedContext(client)))
      )
      expect(yield* Effect.provide(PgSchema.migrate(schema), client)).toEqual([
        [3, "create_projection_leases_and_dead_letters"],
        [4, "leaner_append_events"],
        [5, "listeners_and_index_plans"],
        [6, "append_without_jit"],
        [7, "append_lock_timeout_and_duplicate_stream"]
      ])
      expect(yield* query(raw, `SELECT data FROM "${schema.name}".events`)).toEqual([{ data: { kept: true } }])
      const columns = yield* query<
        { readonly table_name: string; readonly column_name: string; readonly data_type: string }
      >(
        raw,
        `SELECT table_name, column_name, data_type FROM information_schema.columns
          WHERE table_schema = $1 AND table_name IN ('projection_leases', 'projection_dead_letters')
          ORDER BY table_name, ordinal_position`,
        [schema.name]
      )
      expect(columns.filter((c) => c.table_name === "projection_leases").map((c) => [c.column_name, c.data_type]))
        .toEqual([
          ["name", "text"],
          ["owner", "text"],
          ["generation", "bigint"],
          ["expires_at", "timestamp with time zone"]
        ])
      expect(columns.filter((c) => c.table_name === "projection_dead_letters").map((c) => c.column_name)).toEqual([
        "projection",
        "event_id",
        "stream_id",
        "stream_version",
        "global_position",
        "transaction_id",
        "type",
        "schema_version",
        "data",
        "metadata",
        "recorded_at",
        "reason",
        "parked_at"
      ])
      const keys = yield* query<{ readonly table: string; readonly key: string }>(
        raw,
        `SELECT conrelid::regclass::text AS table, pg_get_constraintdef(oid) AS key FROM pg_constraint
          WHERE contype = 'p' AND connamespace = $1::regnamespace
            AND conrelid::regclass::text LIKE '%projection%' ORDER BY 1`,
        [schema.name]
      )
      expect(keys.map((k) => k.key)).toEqual(["PRIMARY KEY (projection, event_id)", "PRIMARY KEY (name)"])
    }))

  it.scoped("two store layers on separate pools starting together both come up on one schema", () =>
    Effect.gen(function*() {
      const schema = uniqueSchemaName()
      yield* dropOnClose(schema)
      const [first, second] = yield* Effect.all([Layer.build(clientLayer(2)), Layer.build(clientLayer(2))], {
        concurrency: "unbounded"
      })
      const storesOver = (client: Context.Context<PgClient.PgClient | SqlClient.SqlClient>) =>
        Layer.build(PgStore.layer({ schema }).pipe(Layer.provide(Layer.succeedContext(client))))
      const [a, b] = yield* Effect.all([storesOver(first), storesOver(second)], { concurrency: "unbounded" })
      const streamId = `thing-${crypto.randomUUID()}`
      yield* Effect.provide(EventStore.append(streamId, [event({ n: 1 })], ExpectedVersion.NoStream), a)
      yield* Effect.provide(EventStore.append(streamId, [event({ n: 2 })], ExpectedVersion.Exact(1)), b)
      const read = yield* Effect.provide(Stream.runCollect(EventStore.readStream(streamId)), a)
      expect(Chunk.toReadonlyArray(read).map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }])
      expect(yield* recordedMigrations(schema)).toEqual([
        { migration_id: 1, copies: "1" },
        { migration_id: 2, copies: "1" },
        { migration_id: 3, copies: "1" },
        { migration_id: 4, copies: "1" },
        { migration_id: 5, copies: "1" },
        { migration_id: 6, copies: "1" },
        { migration_id: 7, copies: "1" }
      ])
    }))

  it.scoped("a store migrated before migration 3 keeps its streams and appends the same way after it", () =>
    Effect.gen(function*() {
      const schema = PgSchema.make(uniqueSchemaName()).pipe(Either.getOrThrow)
      yield* dropOnClose(schema.name)
      const client = yield* Layer.build(clientLayer(2))
      const { "1_create_streams_and_events": first, "2_create_snapshots_and_checkpoints": second } = PgSchema
        .migrations(schema)
      const raw = yield* connect()
      yield* Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql.withTransaction(Effect.gen(function*() {
            yield* sql.unsafe(`CREATE SCHEMA "${schema.name}"`)
            yield* first
            yield* second
            yield* sql.unsafe(
              `CREATE TABLE "${schema.name}".facta_migrations (migration_id integer PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), name text NOT NULL)`
            )
            yield* sql.unsafe(
              `INSERT INTO "${schema.name}".facta_migrations (migration_id, name) VALUES (1, 'create_streams_and_events'), (2, 'create_snapshots_and_checkpoints')`
            )
          }))),
        client
      )
      const before = yield* Effect.provide(
        Layer.build(PgEventStore.layer({ schema: schema.name, migrate: false })),
        client
      )
      const old = `thing-${crypto.randomUUID()}`
      const firstEvent = event({ n: 1 })
      yield* Effect.provide(EventStore.append(old, [firstEvent], ExpectedVersion.NoStream), before)

      const after = yield* Effect.provide(Layer.build(PgEventStore.layer({ schema: schema.name })), client)
      expect(yield* recordedMigrations(schema.name)).toEqual([
        { migration_id: 1, copies: "1" },
        { migration_id: 2, copies: "1" },
        { migration_id: 3, copies: "1" },
        { migration_id: 4, copies: "1" },
        { migration_id: 5, copies: "1" },
        { migration_id: 6, copies: "1" },
        { migration_id: 7, copies: "1" }
      ])
      const append = (
        streamId: string,
        events: ReadonlyArray<ReturnType<typeof event>>,
        expected: ExpectedVersion.ExpectedVersion
      ) => Effect.provide(Effect.either(EventStore.append(streamId, events, expected)), after)
      // The repeat of the append made before the upgrade is still recognized.
      expect(yield* append(old, [firstEvent], ExpectedVersion.NoStream)).toMatchObject({
        right: { written: false, nextExpectedVersion: 1 }
      })
      expect(yield* append(old, [event({ n: 2 })], ExpectedVersion.NoStream)).toMatchObject({
        left: { _tag: "ConcurrencyConflict", actual: 1 }
      })
      expect(yield* append(old, [event({ n: 2 })], ExpectedVersion.Exact(0))).toMatchObject({
        left: { _tag: "ConcurrencyConflict", actual: 1 }
      })
      expect(yield* append(old, [event({ n: 2 })], ExpectedVersion.Exact(1))).toMatchObject({
        right: { written: true, nextExpectedVersion: 2 }
      })
      const fresh = `thing-${crypto.randomUUID()}`
      expect(yield* append(fresh, [event({ n: 1 }), event({ n: 2 })], ExpectedVersion.Exact(0))).toMatchObject({
        right: { written: true, nextExpectedVersion: 2 }
      })
      expect(yield* append(fresh, [], ExpectedVersion.Exact(2))).toMatchObject({
        right: { written: false, nextExpectedVersion: 2 }
      })
      const versions = yield* query<{ readonly stream_id: string; readonly version: string }>(
        raw,
        `SELECT stream_id, version::text AS version FROM "${schema.name}".streams ORDER BY version`
      )
      expect(versions.map((row) => row.version)).toEqual(["2", "2"])
    }))

  it.scoped("migrate: false on a fresh schema fails every operation with a typed error and creates nothing", () =>
    Effect.gen(function*() {
      const schema = uniqueSchemaName()
      yield* dropOnClose(schema)
      const stores = yield* Layer.build(
        PgStore.layer({ schema, migrate: false }).pipe(Layer.provideMerge(clientLayer(2)))
      )
      const append = typedFailure(
        yield* Effect.exit(
          Effect.provide(EventStore.append("thing-1", [event({})], ExpectedVersion.NoStream), stores)
        )
      )
      expect(append).toBeInstanceOf(EventStore.EventStoreUnavailable)
      expect(append).toMatchObject({ operation: "append" })
      expect(append.message).toContain(schema)
      const read = typedFailure(
        yield* Effect.exit(Effect.provide(Stream.runDrain(EventStore.readStream("thing-1")), stores))
      )
      expect(read).toMatchObject({ _tag: "EventStoreUnavailable", operation: "readStream" })
      const all = typedFailure(yield* Effect.exit(Effect.provide(Stream.runDrain(EventStore.readAll()), stores)))
      expect(all).toMatchObject({ _tag: "EventStoreUnavailable", operation: "readAll" })
      const version = typedFailure(yield* Effect.exit(Effect.provide(EventStore.streamVersion("thing-1"), stores)))
      expect(version).toMatchObject({ _tag: "EventStoreUnavailable", operation: "streamVersion" })
      const snapshot = typedFailure(
        yield* Effect.exit(
          Effect.provide(Effect.flatMap(SnapshotStore.SnapshotStore, (s) => s.load("thing-1")), stores)
        )
      )
      expect(snapshot).toBeInstanceOf(SnapshotStore.SnapshotStoreUnavailable)
      const checkpoint = typedFailure(
        yield* Effect.exit(Effect.provide(Effect.flatMap(CheckpointStore.CheckpointStore, (c) => c.load("p")), stores))
      )
      expect(checkpoint).toBeInstanceOf(CheckpointStore.CheckpointStoreUnavailable)
      const lease = typedFailure(
        yield* Effect.exit(
          Effect.provide(
            Effect.flatMap(ProjectionStore.ProjectionStore, (p) => p.acquire("p", "me", Duration.seconds(1))),
            stores
          )
        )
      )
      expect(lease).toBeInstanceOf(ProjectionStore.ProjectionStoreUnavailable)
      expect(yield* schemaExists(schema)).toBe(false)
    }))

  it.scoped("a migration that cannot run fails with MigrationFailed and records nothing", () =>
    Effect.gen(function*() {
      const schema = PgSchema.make(uniqueSchemaName()).pipe(Either.getOrThrow)
      yield* dropOnClose(schema.name)
      const raw = yield* connect()
      // Someone else's table where Facta's first migration creates one.
      yield* query(raw, `CREATE SCHEMA "${schema.name}"`)
      yield* query(raw, `CREATE TABLE "${schema.name}".streams (id int)`)
      const exit = yield* Effect.exit(Effect.provide(PgSchema.migrate(schema), clientLayer(2)))
      const error = typedFailure(exit)
      expect(error).toBeInstanceOf(PgSchema.MigrationFailed)
      expect(error.message).toContain(schema.name)
      expect(error.message).toContain("1_create_streams_and_events")
      expect(error.message).toContain("already exists")
      // The whole migration rolled back: no migrations table, no events table, the foreign table as it was.
      const tables = yield* query(
        raw,
        `SELECT to_regclass($1) IS NULL AS no_migrations, to_regclass($2) IS NULL AS no_events, to_regclass($3) IS NOT NULL AS theirs`,
        [schema.migrationsTable, `${schema.name}.events`, `${schema.name}.streams`]
      )
      expect(tables).toEqual([{ no_migrations: true, no_events: true, theirs: true }])
    }))
})

describe("PgSchema names", () => {
  const invalid = ["Bad-Name", "x; drop", "", "1abc", "a".repeat(41), "quo\"te", "tenant.events", "pg_tenant", "café"]

  it.effect("PgSchema.make rejects names that are not plain lowercase identifiers", () =>
    Effect.sync(() => {
      for (const name of invalid) {
        const result = PgSchema.make(name)
        expect(Either.isLeft(result), name).toBe(true)
        if (Either.isLeft(result)) {
          expect(result.left).toBeInstanceOf(PgSchema.InvalidSchemaName)
          expect(result.left.schema).toBe(name)
        }
      }
      expect(Either.isRight(PgSchema.make("tenant_42"))).toBe(true)
      expect(Either.isRight(PgSchema.make("_"))).toBe(true)
      expect(Either.isRight(PgSchema.make("a".repeat(40)))).toBe(true)
    }))

  it.scoped("every layer fails with InvalidSchemaName for an invalid name and creates nothing", () =>
    Effect.gen(function*() {
      const client = yield* Layer.build(clientLayer(2))
      for (const schema of ["Bad-Name", "x; drop", "pg_tenant"]) {
        const build = <A, E>(layer: Layer.Layer<A, E, PgClient.PgClient | SqlClient.SqlClient>) =>
          Effect.exit(Effect.scoped(Layer.build(Layer.provide(layer, Layer.succeedContext(client)))))
        const errors = [
          typedFailure(yield* build(PgStore.layer({ schema }))),
          typedFailure(yield* build(PgEventStore.layer({ schema }))),
          typedFailure(yield* build(PgSnapshotStore.layer({ schema }))),
          typedFailure(yield* build(PgCheckpointStore.layer({ schema }))),
          typedFailure(yield* build(PgProjectionStore.layer({ schema })))
        ]
        for (const error of errors) {
          expect(error).toBeInstanceOf(PgSchema.InvalidSchemaName)
          expect(error).toMatchObject({ schema })
        }
        const fromUrl = typedFailure(
          yield* Effect.exit(Effect.scoped(Layer.build(PgStore.layerFromUrl(databaseUrl(), { schema }))))
        )
        expect(fromUrl).toBeInstanceOf(PgSchema.InvalidSchemaName)
        expect(yield* schemaExists(schema)).toBe(false)
      }
    }))

  it.scoped("the longest valid name migrates and works", () =>
    Effect.gen(function*() {
      const schema = `${uniqueSchemaName()}_${"x".repeat(40)}`.slice(0, 40)
      expect(schema).toHaveLength(40)
      const stores = yield* Layer.build(storesLayer(schema))
      const result = yield* Effect.provide(EventStore.append("thing-1", [event({})], ExpectedVersion.NoStream), stores)
      expect(result.nextExpectedVersion).toBe(1)
    }))
})

describe("PgSchema isolation", () => {
  it.scoped("two schemas in one database do not see each other's events, snapshots or checkpoints", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Effect.all([Layer.build(storesLayer()), Layer.build(storesLayer())])
      const streamId = "thing-shared-name"
      const shared = event({ where: "a" })
      yield* Effect.provide(EventStore.append(streamId, [shared, event({ where: "a" })], ExpectedVersion.NoStream), a)
      // The same stream id and even the same event id are independent in another schema.
      yield* Effect.provide(
        EventStore.append(streamId, [{ ...shared, data: { where: "b" } }], ExpectedVersion.NoStream),
        b
      )
      const readA = yield* Effect.provide(Stream.runCollect(EventStore.readStream(streamId)), a)
      const readB = yield* Effect.provide(Stream.runCollect(EventStore.readStream(streamId)), b)
      expect(Chunk.toReadonlyArray(readA).map((e) => e.data)).toEqual([{ where: "a" }, { where: "a" }])
      expect(Chunk.toReadonlyArray(readB).map((e) => e.data)).toEqual([{ where: "b" }])
      expect(yield* Effect.provide(EventStore.streamVersion(streamId), a)).toEqual(Option.some(2))
      expect(yield* Effect.provide(EventStore.streamVersion(streamId), b)).toEqual(Option.some(1))
      const allB = yield* Effect.provide(Stream.runCollect(EventStore.readAll()), b)
      expect(Chunk.toReadonlyArray(allB).map((e) => e.data)).toEqual([{ where: "b" }])
      expect(yield* Effect.provide(EventStore.streamVersion("thing-only-in-a"), b)).toEqual(Option.none())

      yield* Effect.provide(
        Effect.flatMap(
          SnapshotStore.SnapshotStore,
          (s) => s.save(streamId, { version: 2, schemaVersion: 1, state: "a" })
        ),
        a
      )
      yield* Effect.provide(
        Effect.flatMap(
          CheckpointStore.CheckpointStore,
          (c) => c.save("projection", Position.of(Chunk.unsafeLast(readA)))
        ),
        a
      )
      expect(yield* Effect.provide(Effect.flatMap(SnapshotStore.SnapshotStore, (s) => s.load(streamId)), b)).toEqual(
        Option.none()
      )
      expect(yield* Effect.provide(Effect.flatMap(CheckpointStore.CheckpointStore, (c) => c.load("projection")), b))
        .toEqual(Option.none())
      expect(
        Option.isSome(
          yield* Effect.provide(Effect.flatMap(CheckpointStore.CheckpointStore, (c) => c.load("projection")), a)
        )
      )
        .toBe(true)
    }))
})

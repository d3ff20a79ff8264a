/**
 * Projection setup on Postgres: a projection whose table does not exist yet creates it in its
 * `setup` (in a transaction of its own, so a failing setup leaves nothing behind) and catches
 * up without a single retry; an inline projection's setup runs when the store's layer starts.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { EventCatalog, EventStore, ExpectedVersion, Projection, ProjectionRunner } from "@facta/core"
import { PgStore } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Duration, Effect, Layer, Option, Schedule, Schema } from "effect"
import { connect, dropSchemaOnRelease, query } from "./rawPostgres.js"
import { databaseUrl } from "./support.js"

const Deposited = Schema.TaggedStruct("Deposited", { amount: Schema.Int })
const catalog = EventCatalog.make([Deposited])
const toNew = EventCatalog.toNewEvent(catalog)

const deposit = (streamId: string, ...amounts: ReadonlyArray<number>) =>
  Effect.flatMap(
    Effect.forEach(amounts, (amount) => toNew({ _tag: "Deposited", amount })),
    (events) => EventStore.append(streamId, events, ExpectedVersion.Any)
  )

/** Account totals in `schema`, in a table that only the projection's setup creates. */
const totals = (schema: string, options: { readonly failures: Array<string>; readonly name?: string }) => {
  const table = (sql: SqlClient.SqlClient) => sql`${sql(schema)}.totals`
  return Projection.make({
    name: options.name ?? "totals",
    catalog,
    // Any failure would be retried: the test counts them instead, so there must be none.
    retry: Schedule.spaced(Duration.millis(10)).pipe(Schedule.intersect(Schedule.recurs(100))),
    setup: Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql`CREATE TABLE IF NOT EXISTS ${table(sql)} (account text PRIMARY KEY, total integer NOT NULL)`
    ).pipe(
      Effect.tapError((error) => Effect.sync(() => void options.failures.push(`setup: ${error.message}`)))
    ),
    handle: (event) =>
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql`INSERT INTO ${table(sql)} (account, total) VALUES (${event.streamId}, ${event.data.amount})
            ON CONFLICT (account) DO UPDATE SET total = ${table(sql)}.total + EXCLUDED.total`
      ).pipe(
        Effect.tapError((error) => Effect.sync(() => void options.failures.push(`handle: ${error.message}`)))
      )
  })
}

const tableExists = (schema: string, table: string) =>
  Effect.scoped(
    Effect.flatMap(connect(), (raw) =>
      Effect.map(
        query<{ readonly exists: boolean }>(raw, `SELECT to_regclass($1) IS NOT NULL AS exists`, [
          `"${schema}".${table}`
        ]),
        (rows) => rows[0].exists
      ))
  )

const totalsIn = (schema: string) =>
  Effect.scoped(
    Effect.flatMap(connect(), (raw) =>
      query<{ readonly account: string; readonly total: number }>(
        raw,
        `SELECT account, total FROM "${schema}".totals ORDER BY account`
      ))
  )

describe("Projection setup on Postgres", () => {
  it.live("a runner's projection creates its missing table in setup and catches up without retries", () => {
    const schema = uniqueSchemaName()
    const failures: Array<string> = []
    const projection = totals(schema, { failures })
    const stores = Layer.merge(
      PgStore.layerFromUrl(databaseUrl(), { schema, maxConnections: 4 }),
      dropSchemaOnRelease(schema)
    )
    return Effect.gen(function*() {
      // Events first: the projection's table does not exist yet.
      yield* deposit("account-a", 10, 5)
      yield* deposit("account-b", 7)
      expect(yield* tableExists(schema, "totals")).toBe(false)
      yield* Effect.scoped(Effect.gen(function*() {
        const runner = yield* ProjectionRunner.make([projection])
        yield* runner.waitForCatchUp("totals").pipe(Effect.timeout(Duration.seconds(20)))
        const status = yield* runner.status("totals")
        expect(status).toMatchObject({ state: "live", handled: 3, lag: 0, lastError: Option.none() })
      }))
      expect(failures).toEqual([])
      expect(yield* totalsIn(schema)).toEqual([{ account: "account-a", total: 15 }, { account: "account-b", total: 7 }])
      // Run again on the existing table (setup is idempotent): it goes on from its checkpoint.
      yield* deposit("account-b", 1)
      yield* Effect.scoped(
        Effect.flatMap(ProjectionRunner.make([projection]), (runner) => runner.waitForCatchUp("totals"))
      )
      expect(failures).toEqual([])
      expect(yield* totalsIn(schema)).toEqual([{ account: "account-a", total: 15 }, { account: "account-b", total: 8 }])
    }).pipe(Effect.provide(stores))
  })

  it.live("a failing setup rolls back what it did, and the projection fails with SetupFailed", () => {
    const schema = uniqueSchemaName()
    const projection = Projection.make({
      name: "half_done",
      catalog,
      retry: Schedule.recurs(1),
      setup: Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.zipRight(
          sql`CREATE TABLE ${sql(schema)}.half_done (id integer)`,
          sql`SELECT 1 / 0`
        )),
      handle: () => Effect.void
    })
    const stores = Layer.merge(
      PgStore.layerFromUrl(databaseUrl(), { schema, maxConnections: 4 }),
      dropSchemaOnRelease(schema)
    )
    return Effect.gen(function*() {
      yield* deposit("account-a", 1)
      const failure = yield* Effect.scoped(
        Effect.flatMap(ProjectionRunner.make([projection]), (runner) => Effect.flip(runner.waitForCatchUp("half_done")))
      )
      expect(failure).toBeInstanceOf(Projection.SetupFailed)
      expect(failure.message).toContain("division by zero")
      // Had the CREATE TABLE committed, the retry would have failed on "already exists".
      expect(failure.message).not.toContain("already exists")
      expect(yield* tableExists(schema, "half_done")).toBe(false)
    }).pipe(Effect.provide(stores))
  })

  it.live("an inline projection's setup runs when the layer starts, so the first append finds its table", () => {
    const schema = uniqueSchemaName()
    const failures: Array<string> = []
    const stores = Layer.merge(
      PgStore.layerFromUrl(databaseUrl(), { schema, maxConnections: 4, inline: [totals(schema, { failures })] }),
      dropSchemaOnRelease(schema)
    )
    return Effect.gen(function*() {
      expect(yield* tableExists(schema, "totals")).toBe(true)
      yield* deposit("account-a", 4, 2)
      expect(yield* totalsIn(schema)).toEqual([{ account: "account-a", total: 6 }])
      expect(failures).toEqual([])
    }).pipe(Effect.provide(stores))
  })

  it.live("an inline projection whose setup fails fails the layer with SetupFailed, and what it did is rolled back", () => {
    const schema = uniqueSchemaName()
    const broken = Projection.make({
      name: "broken",
      catalog,
      setup: Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.zipRight(
          sql`CREATE TABLE ${sql(schema)}.broken_first (id integer)`,
          sql`CREATE TABLE ${sql(schema)}.broken (id no_such_type)`
        )),
      handle: () => Effect.void
    })
    return Effect.gen(function*() {
      const failure = yield* Effect.flip(Effect.scoped(Layer.build(
        PgStore.layerFromUrl(databaseUrl(), { schema, maxConnections: 2, inline: [broken] })
      )))
      expect(failure).toBeInstanceOf(Projection.SetupFailed)
      expect(failure.message).toContain("The setup of projection \"broken\" failed")
      expect(failure.message).toContain("no_such_type")
      // The migrations committed; the setup's first table did not.
      expect(yield* tableExists(schema, "events")).toBe(true)
      expect(yield* tableExists(schema, "broken_first")).toBe(false)
    }).pipe(Effect.ensuring(Effect.scoped(Layer.build(dropSchemaOnRelease(schema)))))
  })
})

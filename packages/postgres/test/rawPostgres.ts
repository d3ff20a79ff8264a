/**
 * Raw node-postgres access for the integration tests: what a test does behind the stores' back
 * (holding locks, killing backends, corrupting rows, counting rows) goes through its own
 * connection, never through the `PgClient` under test.
 */
import { Effect, Layer, Schedule } from "effect"
import pg from "pg"
import { databaseUrl } from "./support.js"

/** A raw connection to the run's PostgreSQL (or to `url`), closed when the scope closes. */
export const connect = (url: string = databaseUrl()) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: url })
      // A terminated or failed connection must not crash the test process.
      client.on("error", () => undefined)
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

/** Runs one statement on a raw connection and returns its rows. */
export const query = <A extends Record<string, unknown> = Record<string, unknown>>(
  client: pg.Client,
  text: string,
  values: ReadonlyArray<unknown> = []
): Effect.Effect<ReadonlyArray<A>> => Effect.promise(() => client.query<A>(text, [...values]).then((r) => r.rows))

/**
 * Waits until a backend other than `client`'s runs `append_events` in `schema` while waiting for
 * a lock, and returns its pid.
 */
export const blockedAppendPid = (client: pg.Client, schema: string) =>
  query<{ readonly pid: number }>(
    client,
    `SELECT pid FROM pg_stat_activity
      WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock'
        AND query LIKE '%append_events%' AND query LIKE '%' || $1 || '%'`,
    [schema]
  ).pipe(
    Effect.flatMap((rows) =>
      rows.length === 1 ? Effect.succeed(rows[0].pid) : Effect.fail(`expected one blocked append, found ${rows.length}`)
    ),
    // Needs real time: run it from `it.live`.
    Effect.retry(Schedule.intersect(Schedule.spaced("10 millis"), Schedule.recurs(500))),
    Effect.orDie
  )

/** Waits until none of `pids` is a live backend any more. */
const exited = (client: pg.Client, pids: ReadonlyArray<number>) =>
  query<{ readonly alive: number }>(
    client,
    `SELECT count(*)::int AS alive FROM pg_stat_activity WHERE pid = ANY($1::int[])`,
    [
      pids
    ]
  ).pipe(
    Effect.flatMap(([row]) => (row.alive === 0 ? Effect.void : Effect.fail(`${row.alive} backends still alive`))),
    Effect.retry(Schedule.intersect(Schedule.spaced("5 millis"), Schedule.recurs(1000))),
    Effect.orDie
  )

/** Terminates backend `pid` and waits until it has exited (needs real time). */
export const terminate = (client: pg.Client, pid: number) =>
  query(client, "SELECT pg_terminate_backend($1)", [pid]).pipe(Effect.zipRight(exited(client, [pid])))

/**
 * Terminates the backends of `applicationName` and waits until they have exited (needs real
 * time); returns how many there were.
 */
export const terminateApplication = (client: pg.Client, applicationName: string) =>
  // Two statements: in one, Postgres may evaluate pg_terminate_backend before the other filters.
  query<{ readonly pid: number }>(
    client,
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
    [applicationName]
  ).pipe(
    Effect.map((rows) => rows.map((row) => row.pid)),
    Effect.tap((pids) => query(client, `SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid`, [pids])),
    Effect.tap((pids) => exited(client, pids)),
    Effect.map((pids) => pids.length)
  )

/** Drops `schema` when the layer is released (whether or not it was ever created). */
export const dropSchemaOnRelease = (schema: string) =>
  Layer.scopedDiscard(
    Effect.flatMap(connect(), (client) =>
      Effect.addFinalizer(() => Effect.asVoid(query(client, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`))))
  )

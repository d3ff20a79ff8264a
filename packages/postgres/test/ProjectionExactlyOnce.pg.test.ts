/**
 * Exactly-once on Postgres: a projection whose handler is not idempotent on purpose (it adds one
 * to a counter per event) ends with the counter equal to the number of events and its checkpoint
 * on the last event, however often its runner is interrupted and restarted, its connections are
 * killed mid-batch, or its handler dies halfway through a batch.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { expect, layer } from "@effect/vitest"
import {
  CheckpointStore,
  EventCatalog,
  EventStore,
  ExpectedVersion,
  Position,
  Projection,
  ProjectionRunner
} from "@facta/core"
import { PgStore } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import {
  Chunk,
  Duration,
  Effect,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Option,
  Random,
  Redacted,
  Schedule,
  Schema,
  Stream
} from "effect"
import type pg from "pg"
import { connect, dropSchemaOnRelease, query } from "./rawPostgres.js"
import { databaseUrl } from "./support.js"

const schema = uniqueSchemaName()
const applicationName = `facta-exactly-once-${crypto.randomUUID().slice(0, 8)}`
const category = "tick"
const streams = 20
const perStream = 100
const total = streams * perStream
const batchSize = 50

const stores = Layer.mergeAll(PgStore.layer({ schema, pollInterval: "100 millis" }), dropSchemaOnRelease(schema)).pipe(
  Layer.provideMerge(
    PgClient.layer({ url: Redacted.make(databaseUrl()), maxConnections: 6, applicationName, transformJson: false })
  )
)

const Ticked = Schema.TaggedStruct("Ticked", { n: Schema.Int })
const catalog = EventCatalog.make([Ticked])

const counts = (sql: SqlClient.SqlClient) => sql`${sql(schema)}.counts`

/** Adds one to the projection's counter: not idempotent, so a repeat shows. */
const bump = (name: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE ${counts(sql)} SET n = n + 1 WHERE projection = ${name}`)

const counter = (
  name: string,
  options: {
    readonly handleBatch?: Projection.Projection<typeof Ticked.Type, unknown, SqlClient.SqlClient>["handleBatch"]
  } = {}
) =>
  Projection.make({
    name,
    catalog,
    categories: [category],
    handle: () => bump(name),
    ...(options.handleBatch === undefined ? {} : { handleBatch: options.handleBatch }),
    batchSize,
    // A killed connection fails the handler's statement: retry it rather than stop.
    retry: Schedule.intersect(Schedule.spaced(Duration.millis(10)), Schedule.recurs(1_000))
  })

const runnerOptions = (owner: string): ProjectionRunner.Options => ({
  owner,
  leaseTtl: Duration.seconds(5),
  acquireInterval: Duration.millis(20),
  restartSchedule: Schedule.spaced(Duration.millis(20))
})

const countOf = (raw: pg.Client, name: string) =>
  Effect.map(
    query<{ readonly n: number }>(raw, `SELECT n FROM "${schema}".counts WHERE projection = $1`, [name]),
    (rows) => rows[0]?.n ?? -1
  )

const register = (raw: pg.Client, name: string) =>
  query(raw, `INSERT INTO "${schema}".counts (projection, n) VALUES ($1, 0)`, [name])

/**
 * Retries an operation that met a connection the test killed: the pool may hand out a dead
 * connection once more before it notices.
 */
const despiteKills = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.retry(effect, {
    schedule: Schedule.spaced(Duration.millis(50)),
    times: 10,
    while: (error) => error._tag.endsWith("Unavailable")
  })

/** Runs a runner until the projection has caught up, then checks the count and the checkpoint. */
const finishAndCheck = <E, Err>(
  raw: pg.Client,
  projection: Projection.Projection<E, Err, SqlClient.SqlClient>,
  // The owner of the runs before: a lease they could not release (killed connections) is taken back at once.
  owner = "finisher"
) =>
  Effect.gen(function*() {
    yield* Effect.scoped(
      Effect.flatMap(
        ProjectionRunner.make([projection], runnerOptions(owner)),
        (runner) => despiteKills(runner.waitForCatchUp(projection.name))
      )
    ).pipe(Effect.timeout(Duration.seconds(15)))
    expect(yield* countOf(raw, projection.name)).toBe(total)
    const events = yield* despiteKills(
      EventStore.readAll({ filter: { categories: [category] } }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
    )
    expect(events).toHaveLength(total)
    const checkpoint = yield* despiteKills(
      Effect.flatMap(CheckpointStore.CheckpointStore, (store) => store.load(projection.name))
    )
    expect(checkpoint).toEqual(Option.some(Position.of(events[events.length - 1])))
  })

const setUp = Layer.effectDiscard(
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE ${counts(sql)} (projection text PRIMARY KEY, n integer NOT NULL)`
    for (let stream = 0; stream < streams; stream++) {
      const events = Array.from({ length: perStream }, (_, n) => ({
        eventId: crypto.randomUUID(),
        type: "Ticked",
        schemaVersion: 1,
        data: { n },
        metadata: {}
      }))
      yield* EventStore.append(`${category}-${stream}`, events, ExpectedVersion.NoStream)
    }
  }).pipe(Effect.orDie)
).pipe(Layer.provideMerge(stores))

/** Terminates the runner pool's backends; returns how many there were and how many were inside a transaction. */
const killPool = (raw: pg.Client) =>
  Effect.gen(function*() {
    const backends = yield* query<{ readonly pid: number; readonly in_transaction: boolean }>(
      raw,
      `SELECT pid, xact_start IS NOT NULL AND query NOT LIKE 'LISTEN%' AS in_transaction
         FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
      [applicationName]
    )
    yield* query(raw, `SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid`, [backends.map((b) => b.pid)])
    return { killed: backends.length, inTransaction: backends.filter((b) => b.in_transaction).length }
  })

layer(setUp, { excludeTestServices: true })("Projections on Postgres: exactly once", (it) => {
  it.effect("interrupted and restarted many times at random moments, it counts every event once", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const name = "interrupted"
      yield* register(raw, name)
      let interruptions = 0
      let midway = 0
      // A run interrupted before it got anywhere (a busy machine starts slowly) gets longer next time.
      let longest = 40
      let before = 0
      while (interruptions < 40) {
        const fiber = yield* Effect.fork(
          Effect.scoped(
            Effect.zipRight(ProjectionRunner.make([counter(name)], runnerOptions("restarted")), Effect.never)
          )
        )
        yield* Effect.sleep(Duration.millis(yield* Random.nextIntBetween(2, longest)))
        yield* Fiber.interrupt(fiber)
        interruptions++
        const n = yield* countOf(raw, name)
        if (n > 0 && n < total) midway++
        longest = n === before && n < total ? Math.min(longest * 2, 2_000) : 40
        before = n
      }
      yield* Effect.logInfo(`exactly-once: ${interruptions} interruptions, ${midway} with the projection part-way`)
      expect(midway).toBeGreaterThan(5)
      yield* finishAndCheck(raw, counter(name), "restarted")
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Info)))

  it.effect("its connections killed mid-batch many times while it runs, it counts every event once", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const name = "killed"
      yield* register(raw, name)
      let kills = 0
      let inTransaction = 0
      yield* Effect.scoped(
        Effect.gen(function*() {
          yield* ProjectionRunner.make([counter(name)], runnerOptions("victim"))
          while (kills < 40 && (yield* countOf(raw, name)) < total) {
            yield* Effect.sleep(Duration.millis(yield* Random.nextIntBetween(5, 40)))
            const outcome = yield* killPool(raw)
            if (outcome.killed > 0) kills++
            inTransaction += outcome.inTransaction
          }
        }).pipe(Logger.withMinimumLogLevel(LogLevel.None))
      )
      yield* Effect.logInfo(`exactly-once: ${kills} kills, ${inTransaction} backends killed inside a transaction`)
      expect(kills).toBeGreaterThan(10)
      expect(inTransaction).toBeGreaterThan(3)
      yield* finishAndCheck(raw, counter(name), "victim")
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Info)))

  it.effect("a handler that dies after writing half its batch leaves nothing of that batch", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const name = "dying"
      yield* register(raw, name)
      let deaths = 0
      const projection = counter(name, {
        handleBatch: (events) =>
          Effect.gen(function*() {
            const half = Math.floor(events.length / 2)
            yield* Effect.forEach(events.slice(0, half), () => bump(name), { discard: true })
            if (deaths < 10) {
              deaths++
              return yield* Effect.die(new Error("the handler died halfway through its batch"))
            }
            yield* Effect.forEach(events.slice(half), () => bump(name), { discard: true })
          })
      })
      yield* finishAndCheck(raw, projection).pipe(Logger.withMinimumLogLevel(LogLevel.None))
      yield* Effect.logInfo(`exactly-once: the handler died ${deaths} times halfway through a batch`)
      expect(deaths).toBe(10)
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Info)))

  it.effect("rebuilt while appends go on, it ends counting every event once", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const name = "rebuilt"
      yield* register(raw, name)
      const appendTo = (stream: number, count: number) =>
        EventStore.append(
          `${name}-${stream}`,
          Array.from({ length: count }, (_, n) => ({
            eventId: crypto.randomUUID(),
            type: "Ticked",
            schemaVersion: 1,
            data: { n },
            metadata: {}
          })),
          ExpectedVersion.Any
        )
      for (let stream = 0; stream < 20; stream++) yield* appendTo(stream, 100)
      const projection = Projection.make({
        name,
        catalog,
        categories: [name],
        handle: () => bump(name),
        reset: Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`UPDATE ${counts(sql)} SET n = 0 WHERE projection = ${name}`),
        batchSize
      })
      const runner = yield* ProjectionRunner.make([projection], runnerOptions("rebuilder"))
      yield* runner.waitForCatchUp(name)
      expect(yield* countOf(raw, name)).toBe(2_000)
      let appended = 2_000
      const appending = yield* Effect.fork(
        Effect.forever(
          Effect.zipRight(
            // Suspended: each round appends new events (a repeat of the same ids would write nothing).
            Effect.zipRight(
              Effect.suspend(() =>
                appendTo(appended % 20, 5)
              ),
              Effect.sync(() => void (appended += 5))
            ),
            Effect.sleep(Duration.millis(5))
          )
        )
      )
      yield* runner.rebuild(name)
      yield* Effect.sleep(Duration.millis(300))
      yield* Fiber.interrupt(appending)
      yield* runner.waitForCatchUp(name)
      const events = yield* EventStore.readAll({ filter: { categories: [name] } }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      // Not `appended`: an append interrupted after its commit is recorded but not counted there.
      expect(events.length).toBeGreaterThanOrEqual(appended)
      expect(appended).toBeGreaterThan(2_000)
      expect(yield* countOf(raw, name)).toBe(events.length)
      const checkpoint = yield* Effect.flatMap(CheckpointStore.CheckpointStore, (store) => store.load(name))
      expect(checkpoint).toEqual(Option.some(Position.of(events[events.length - 1])))
    }).pipe(Effect.scoped))
})

/**
 * Failover across processes, simulated by runner instances that each have their own `PgClient`
 * pool on one schema: one instance runs the projection, the other stands by; when the active one
 * is cut off from the database or closes, the other takes over within the lease's time, a stale
 * owner's writes are rejected, and every event is counted exactly once overall.
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
  ProjectionRunner,
  ProjectionStore
} from "@facta/core"
import { PgStore } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import {
  Chunk,
  Context,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Schedule,
  Schema,
  Scope,
  Stream
} from "effect"
import type pg from "pg"
import { partitionProxy } from "./partitionProxy.js"
import { connect, dropSchemaOnRelease, query, terminateApplication } from "./rawPostgres.js"
import { databaseUrl } from "./support.js"

const schema = uniqueSchemaName()
const leaseTtl = Duration.seconds(1)
// Generous: a loaded 2-core machine delays timers and connections; the point is "bounded".
const takeoverMargin = Duration.seconds(3)

const Ticked = Schema.TaggedStruct("Ticked", { n: Schema.Int })
const catalog = EventCatalog.make([Ticked])

const counts = (sql: SqlClient.SqlClient) => sql`${sql(schema)}.counts`
const bump = (name: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE ${counts(sql)} SET n = n + 1 WHERE projection = ${name}`)

const counter = (name: string) =>
  Projection.make({
    name,
    catalog,
    categories: [name],
    handle: () => bump(name),
    batchSize: 20,
    retry: Schedule.intersect(Schedule.spaced(Duration.millis(20)), Schedule.recurs(1_000))
  })

/** A client pool of its own (as another process would have), optionally through `url`. */
const pool = (applicationName: string, url: string = databaseUrl()) =>
  PgClient.layer({ url: Redacted.make(url), maxConnections: 4, applicationName, transformJson: false })

/** One runner instance: its own pool, stores and runner, built in `scope`. */
const instance = (name: string, owner: string, scope: Scope.Scope, url?: string) =>
  Effect.map(
    Layer.buildWithScope(
      ProjectionRunner.layer([counter(name)], {
        owner,
        leaseTtl,
        acquireInterval: Duration.millis(50),
        restartSchedule: Schedule.spaced(Duration.millis(50))
      }).pipe(
        Layer.provideMerge(PgStore.layer({ schema, pollInterval: "50 millis" })),
        Layer.provideMerge(pool(`facta-failover-${owner}`, url))
      ),
      scope
    ),
    (context) => ({
      runner: Context.get(context, ProjectionRunner.ProjectionRunner),
      context
    })
  )

const stores = Layer.mergeAll(PgStore.layer({ schema, pollInterval: "100 millis" }), dropSchemaOnRelease(schema)).pipe(
  Layer.provideMerge(pool("facta-failover-test"))
)

const setUp = Layer.effectDiscard(
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`CREATE TABLE ${counts(sql)} (projection text PRIMARY KEY, n integer NOT NULL)`
  ).pipe(Effect.orDie)
).pipe(Layer.provideMerge(stores))

const register = (raw: pg.Client, name: string) =>
  query(raw, `INSERT INTO "${schema}".counts (projection, n) VALUES ($1, 0)`, [name])

const countOf = (raw: pg.Client, name: string) =>
  Effect.map(
    query<{ readonly n: number }>(raw, `SELECT n FROM "${schema}".counts WHERE projection = $1`, [name]),
    (rows) => rows[0]?.n ?? -1
  )

const appendTicks = (name: string, count: number) =>
  EventStore.append(
    `${name}-${crypto.randomUUID()}`,
    Array.from({ length: count }, (_, n) => ({
      eventId: crypto.randomUUID(),
      type: "Ticked",
      schemaVersion: 1,
      data: { n },
      metadata: {}
    })),
    ExpectedVersion.NoStream
  )

/** Appends a few events every few milliseconds until interrupted. */
const keepAppending = (name: string) =>
  Effect.forever(Effect.zipRight(appendTicks(name, 3), Effect.sleep(Duration.millis(15))))

/** The projection's events in log order. */
const eventsOf = (name: string) =>
  EventStore.readAll({ filter: { categories: [name] } }).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray))

const waitUntil = <E, R>(condition: Effect.Effect<boolean, E, R>, within: Duration.DurationInput = "15 seconds") =>
  Effect.gen(function*() {
    while (!(yield* condition)) yield* Effect.sleep(Duration.millis(10))
  }).pipe(Effect.timeoutFail({ duration: within, onTimeout: () => new Error("condition not met in time") }))

/**
 * After its connections were killed, a pool may hand out a dead connection once more before it
 * notices: a read through it fails with a store "Unavailable" error, and the next one succeeds.
 */
const retryUnavailable = <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
  Effect.retry(self, {
    schedule: Schedule.spaced(Duration.millis(50)),
    times: 10,
    while: (error) => error._tag.endsWith("Unavailable")
  })

/** A runner's status, read through `retryUnavailable`. */
const statusOf = (runner: ProjectionRunner.ProjectionRunnerShape, name: string) => retryUnavailable(runner.status(name))

const active = (runner: ProjectionRunner.ProjectionRunnerShape, name: string) =>
  Effect.map(statusOf(runner, name), (status) => status.state === "live" || status.state === "catching-up")

/** Every event counted once, the checkpoint on the last event. */
const expectExactlyOnce = (raw: pg.Client, name: string) =>
  Effect.gen(function*() {
    const events = yield* eventsOf(name)
    expect(yield* countOf(raw, name)).toBe(events.length)
    const checkpoint = yield* Effect.flatMap(CheckpointStore.CheckpointStore, (store) => store.load(name))
    expect(checkpoint).toEqual(Option.some(Position.of(events[events.length - 1])))
    return events.length
  })

layer(setUp, { excludeTestServices: true })("Projections on Postgres: failover across pools", (it) => {
  it.effect("the active instance cut off from the database: the standby takes over within the lease time, counts stay exact", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const name = `cut_${crypto.randomUUID().slice(0, 8)}`
      yield* register(raw, name)
      yield* appendTicks(name, 100)
      const proxy = yield* partitionProxy(databaseUrl())
      const first = yield* instance(name, "first", yield* Effect.scope, proxy.url)
      yield* first.runner.waitForCatchUp(name)
      const second = yield* instance(name, "second", yield* Effect.scope)
      expect((yield* second.runner.status(name)).state).toBe("standby")
      const appending = yield* Effect.fork(keepAppending(name))
      yield* Effect.sleep(Duration.millis(300))

      // The active instance's host falls off the network: its connections die and cannot come back.
      const cutAt = Date.now()
      yield* proxy.partition
      const killed = yield* terminateApplication(raw, "facta-failover-first")
      yield* waitUntil(active(second.runner, name), Duration.sum(leaseTtl, takeoverMargin))
      const takeover = Date.now() - cutAt
      yield* Effect.logInfo(
        `failover: takeover ${takeover} ms after the cut (lease ${
          Duration.format(leaseTtl)
        }, ${killed} backends left to kill)`
      )
      expect(takeover).toBeLessThan(Duration.toMillis(Duration.sum(leaseTtl, takeoverMargin)))

      // Back on the network, the old holder finds its lease taken and stands by.
      yield* proxy.heal
      yield* waitUntil(Effect.map(statusOf(first.runner, name), (status) => status.state === "standby"))
      yield* Effect.sleep(Duration.millis(300))
      yield* Fiber.interrupt(appending)
      yield* second.runner.waitForCatchUp(name)
      expect((yield* statusOf(first.runner, name)).state).toBe("standby")
      const total = yield* expectExactlyOnce(raw, name)
      expect(total).toBeGreaterThan(100)
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Info)))

  it.effect("the active instance's connections killed repeatedly: it or the standby goes on, counts stay exact", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const name = `killed_${crypto.randomUUID().slice(0, 8)}`
      yield* register(raw, name)
      yield* appendTicks(name, 100)
      const first = yield* instance(name, "first-k", yield* Effect.scope)
      yield* first.runner.waitForCatchUp(name)
      const second = yield* instance(name, "second-k", yield* Effect.scope)
      const appending = yield* Effect.fork(keepAppending(name))
      let kills = 0
      for (let round = 0; round < 40; round++) {
        yield* Effect.sleep(Duration.millis(15))
        kills += yield* terminateApplication(raw, "facta-failover-first-k")
      }
      yield* Fiber.interrupt(appending)
      yield* Effect.logInfo(`failover: ${kills} backends of the active instance killed`)
      const holder = (yield* statusOf(first.runner, name)).state === "standby" ? second.runner : first.runner
      yield* holder.waitForCatchUp(name).pipe(retryUnavailable, Effect.timeout(Duration.seconds(15)))
      yield* expectExactlyOnce(raw, name)
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Info)))

  it.effect("the active instance closes: the standby takes over at once", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const name = `closed_${crypto.randomUUID().slice(0, 8)}`
      yield* register(raw, name)
      yield* appendTicks(name, 50)
      const firstScope = yield* Scope.make()
      const first = yield* instance(name, "first-c", firstScope)
      yield* first.runner.waitForCatchUp(name)
      const second = yield* instance(name, "second-c", yield* Effect.scope)
      const appending = yield* Effect.fork(keepAppending(name))
      yield* Effect.sleep(Duration.millis(200))
      const closedAt = Date.now()
      yield* Scope.close(firstScope, Exit.void)
      // The lease was released: no need to wait for it to expire.
      yield* waitUntil(active(second.runner, name), Duration.sum(leaseTtl, takeoverMargin))
      yield* Effect.logInfo(`failover: takeover ${Date.now() - closedAt} ms after the holder closed`)
      yield* Effect.sleep(Duration.millis(200))
      yield* Fiber.interrupt(appending)
      yield* second.runner.waitForCatchUp(name)
      yield* expectExactlyOnce(raw, name)
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Info)))

  it.effect("a stale owner's writes through its own pool are rejected with LeaseLost and leave nothing", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const name = `stale_${crypto.randomUUID().slice(0, 8)}`
      yield* register(raw, name)
      const storesOf = (owner: string) =>
        Layer.build(PgStore.layer({ schema }).pipe(Layer.provideMerge(pool(`facta-failover-${owner}`))))
      const [a, b] = yield* Effect.all([storesOf("stale-a"), storesOf("stale-b")])
      const storeA = Context.get(a, ProjectionStore.ProjectionStore)
      const storeB = Context.get(b, ProjectionStore.ProjectionStore)
      const stale = Option.getOrThrow(yield* storeA.acquire(name, "a", Duration.millis(300)))
      yield* Effect.sleep(Duration.millis(400))
      const current = Option.getOrThrow(yield* storeB.acquire(name, "b", Duration.seconds(5)))
      expect(current.generation).toBe(stale.generation + 1)
      const write = (store: ProjectionStore.ProjectionStoreShape, lease: ProjectionStore.Lease, at: bigint) =>
        store.transaction(
          lease,
          Effect.zipRight(
            bump(name),
            Effect.flatMap(
              CheckpointStore.CheckpointStore,
              (checkpoints) => checkpoints.save(name, Position.make(at, at))
            )
          )
        )
      const rejected = yield* Effect.flip(Effect.provide(write(storeA, stale, 7n), a))
      expect(rejected).toBeInstanceOf(ProjectionStore.LeaseLost)
      expect(yield* countOf(raw, name)).toBe(0)
      expect(yield* Effect.flatMap(CheckpointStore.CheckpointStore, (c) => c.load(name))).toEqual(Option.none())
      yield* Effect.provide(write(storeB, current, 9n), b)
      expect(yield* countOf(raw, name)).toBe(1)
      expect(yield* Effect.flatMap(CheckpointStore.CheckpointStore, (c) => c.load(name))).toEqual(
        Option.some(Position.make(9n, 9n))
      )
    }).pipe(Effect.scoped))

  it.effect("a takeover waits for the holder's transaction in flight, so the holder's commit is never stale", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const name = `inflight_${crypto.randomUUID().slice(0, 8)}`
      yield* register(raw, name)
      const storesOf = (owner: string) =>
        Layer.build(PgStore.layer({ schema }).pipe(Layer.provideMerge(pool(`facta-failover-${owner}`))))
      const [a, b] = yield* Effect.all([storesOf("inflight-a"), storesOf("inflight-b")])
      const storeA = Context.get(a, ProjectionStore.ProjectionStore)
      const storeB = Context.get(b, ProjectionStore.ProjectionStore)
      const lease = Option.getOrThrow(yield* storeA.acquire(name, "a", Duration.millis(300)))
      // The holder's batch outlives its lease: the lease row stays locked until it commits.
      const batch = yield* Effect.fork(
        Effect.provide(
          storeA.transaction(lease, Effect.zipRight(Effect.sleep(Duration.millis(800)), bump(name))).pipe(
            Effect.zipRight(Effect.sync(() => Date.now()))
          ),
          a
        )
      )
      yield* Effect.sleep(Duration.millis(400))
      const taken = yield* storeB.acquire(name, "b", Duration.seconds(5)).pipe(
        Effect.map((taken) => ({ taken, at: Date.now() }))
      )
      const committedAt = yield* Fiber.join(batch)
      expect(Option.isSome(taken.taken)).toBe(true)
      expect(taken.at).toBeGreaterThanOrEqual(committedAt - 50)
      expect(yield* countOf(raw, name)).toBe(1)
    }).pipe(Effect.scoped))
})

/**
 * The Postgres projection store beyond the runner conformance suite: a COMMIT that fails (or
 * whose reply is lost) is a typed `ProjectionStoreUnavailable`, never a defect; the caller's own
 * failures pass through untouched; parked events keep their whole envelope.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
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
import { Cause, Context, Duration, Effect, Exit, Layer, Option, Redacted, Schedule, Schema } from "effect"
import { cuttingProxy } from "./cuttingProxy.js"
import { connect, query } from "./rawPostgres.js"
import { databaseUrl, recordedEnvelope as envelope, storesLayer } from "./support.js"

const schema = uniqueSchemaName()

const setUp = Layer.effectDiscard(
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`CREATE TABLE ${sql(schema)}.notes (
          id text NOT NULL,
          CONSTRAINT notes_unique UNIQUE (id) DEFERRABLE INITIALLY DEFERRED
        )`).pipe(Effect.orDie)
).pipe(Layer.provideMerge(storesLayer(schema)))

const note = (id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO ${sql(schema)}.notes (id) VALUES (${id})`)

/** The typed failure of an exit that must not be a defect. */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
  return Option.getOrThrow(Cause.failureOption(exit.cause))
}

const leaseOn = (store: ProjectionStore.ProjectionStoreShape, projection: string) =>
  Effect.map(store.acquire(projection, "owner", Duration.seconds(30)), Option.getOrThrow)

layer(setUp, { excludeTestServices: true })("PgProjectionStore", (it) => {
  it.effect("a COMMIT whose reply is lost fails with ProjectionStoreUnavailable, not a defect; the work did commit", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const proxy = yield* cuttingProxy(databaseUrl())
      const throughProxy = yield* Layer.build(
        PgStore.layer({ schema }).pipe(
          Layer.provideMerge(PgClient.layer({ url: Redacted.make(proxy.url), maxConnections: 2, transformJson: false }))
        )
      )
      const store = Context.get(throughProxy, ProjectionStore.ProjectionStore)
      const projection = `lost-commit-${crypto.randomUUID()}`
      const lease = yield* leaseOn(store, projection)
      const id = crypto.randomUUID()
      yield* proxy.cutReplyTo("COMMIT")
      const exit = yield* Effect.exit(
        Effect.provide(
          store.transaction(
            lease,
            Effect.zipRight(
              note(id),
              Effect.flatMap(CheckpointStore.CheckpointStore, (c) => c.save(projection, Position.make(5n, 6n)))
            )
          ),
          throughProxy
        )
      )
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(ProjectionStore.ProjectionStoreUnavailable)
      expect(error).toMatchObject({ operation: "transaction", projection })
      expect(yield* proxy.cuts).toBe(1)
      // The server did commit: the caller must re-read its checkpoint, as the runner does.
      expect(yield* query(raw, `SELECT id FROM "${schema}".notes WHERE id = $1`, [id])).toEqual([{ id }])
      expect(yield* Effect.flatMap(CheckpointStore.CheckpointStore, (c) => c.load(projection))).toEqual(
        Option.some(Position.make(5n, 6n))
      )

      yield* proxy.cutReplyTo("COMMIT")
      const atomically = yield* Effect.exit(
        Effect.provide(store.atomically("atomic-notes", note(crypto.randomUUID())), throughProxy)
      )
      expect(failureOf(atomically)).toMatchObject({
        _tag: "ProjectionStoreUnavailable",
        operation: "atomically",
        projection: "atomic-notes"
      })
    }).pipe(Effect.scoped))

  it.effect("a COMMIT the server refuses (a deferred constraint) fails typed and writes nothing", () =>
    Effect.gen(function*() {
      const store = yield* ProjectionStore.ProjectionStore
      const projection = `refused-commit-${crypto.randomUUID()}`
      const lease = yield* leaseOn(store, projection)
      const id = crypto.randomUUID()
      const exit = yield* Effect.exit(
        store.transaction(
          lease,
          Effect.all([
            note(id),
            note(id),
            Effect.flatMap(CheckpointStore.CheckpointStore, (c) => c.save(projection, Position.make(1n, 1n)))
          ])
        )
      )
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(ProjectionStore.ProjectionStoreUnavailable)
      // The failed COMMIT itself, kept as the cause.
      expect(error.cause).toBeInstanceOf(SqlError)
      expect(String((error.cause as SqlError).cause)).toContain("notes_unique")
      const raw = yield* connect()
      expect(yield* query(raw, `SELECT id FROM "${schema}".notes WHERE id = $1`, [id])).toEqual([])
      expect(yield* Effect.flatMap(CheckpointStore.CheckpointStore, (c) => c.load(projection))).toEqual(Option.none())
    }).pipe(Effect.scoped))

  it.effect("the caller's own failures, SQL errors included, pass through unchanged and roll back", () =>
    Effect.gen(function*() {
      const store = yield* ProjectionStore.ProjectionStore
      const sql = yield* SqlClient.SqlClient
      const projection = `own-failure-${crypto.randomUUID()}`
      const lease = yield* leaseOn(store, projection)
      const id = crypto.randomUUID()
      const exit = yield* Effect.exit(
        store.transaction(lease, Effect.zipRight(note(id), sql`SELECT * FROM ${sql(schema)}.no_such_table`))
      )
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(SqlError)
      const raw = yield* connect()
      expect(yield* query(raw, `SELECT id FROM "${schema}".notes WHERE id = $1`, [id])).toEqual([])
    }).pipe(Effect.scoped))

  it.effect("parked events keep their whole envelope, list in log order, and are replaced, removed and cleared", () =>
    Effect.gen(function*() {
      const store = yield* ProjectionStore.ProjectionStore
      const projection = `parked-${crypto.randomUUID()}`
      const later = envelope()
      const earlier = envelope({ transactionId: 2n ** 62n, globalPosition: 2n ** 60n + 9n, streamVersion: 1 })
      const lease = yield* leaseOn(store, projection)
      yield* store.transaction(
        lease,
        Effect.zipRight(store.park(projection, later, "first reason"), store.park(projection, earlier, "why"))
      )
      yield* store.park(projection, later, "second reason")
      yield* store.park(`${projection}-other`, earlier, "elsewhere")
      const parked = yield* store.parked(projection)
      expect(parked.map((entry) => entry.event)).toEqual([earlier, later])
      expect(parked.map((entry) => entry.reason)).toEqual(["why", "second reason"])
      expect(parked.every((entry) => entry.projection === projection && entry.parkedAt instanceof Date)).toBe(true)
      yield* store.unpark(projection, earlier.eventId.toUpperCase())
      yield* store.unpark(projection, "not-a-uuid")
      expect((yield* store.parked(projection)).map((entry) => entry.event.eventId)).toEqual([later.eventId])
      yield* store.clearParked(projection)
      expect(yield* store.parked(projection)).toEqual([])
      expect((yield* store.parked(`${projection}-other`)).length).toBe(1)
    }))

  it.effect("leases: the same live owner keeps its generation; a takeover or a release bumps it", () =>
    Effect.gen(function*() {
      const store = yield* ProjectionStore.ProjectionStore
      const projection = `generations-${crypto.randomUUID()}`
      const first = Option.getOrThrow(yield* store.acquire(projection, "a", Duration.seconds(30)))
      expect(first.generation).toBe(1)
      expect(yield* store.acquire(projection, "a", Duration.seconds(30))).toEqual(Option.some(first))
      expect(yield* store.acquire(projection, "b", Duration.seconds(30))).toEqual(Option.none())
      yield* store.renew(first, Duration.millis(1))
      yield* Effect.sleep(Duration.millis(20))
      expect(yield* Effect.flip(store.renew(first, Duration.seconds(1)))).toBeInstanceOf(ProjectionStore.LeaseLost)
      const second = Option.getOrThrow(yield* store.acquire(projection, "b", Duration.seconds(30)))
      expect(second.generation).toBe(2)
      yield* store.release(first) // lost already: a no-op
      expect(yield* store.acquire(projection, "a", Duration.seconds(30))).toEqual(Option.none())
      yield* store.release(second)
      expect(yield* store.acquire(projection, "b", Duration.seconds(30))).toEqual(
        Option.some({ projection, owner: "b", generation: 3 })
      )
    }))

  it.effect("a statement error is the handler's; a connection the server terminated is the store being unavailable", () =>
    Effect.gen(function*() {
      const store = yield* ProjectionStore.ProjectionStore
      const sql = yield* SqlClient.SqlClient
      const wrong = yield* Effect.flip(sql`SELECT * FROM ${sql(schema)}.no_such_table`)
      expect(store.isUnavailable(wrong)).toBe(false)
      expect(store.isUnavailable(new Error("anything else"))).toBe(false)
      const cut = yield* Effect.flip(sql`SELECT pg_terminate_backend(pg_backend_pid())`)
      expect(cut).toBeInstanceOf(SqlError)
      expect(store.isUnavailable(cut)).toBe(true)
    }))

  it.effect(
    "a runner whose handler loses its connection pauses and resumes; it neither fails nor parks the event",
    () =>
      Effect.gen(function*() {
        const events = yield* EventStore.EventStore
        const category = `cut${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
        const Noted = Schema.TaggedStruct("Noted", { id: Schema.String })
        const ids = Array.from({ length: 6 }, () => crypto.randomUUID())
        yield* events.append(
          `${category}-1`,
          ids.map((id) => ({
            eventId: id,
            type: "Noted",
            schemaVersion: 1,
            data: { id },
            metadata: {}
          })),
          ExpectedVersion.NoStream
        ).pipe(
          // The pool may hand out the connection the case before terminated, once.
          Effect.retry({ times: 3, while: (error) => error._tag === "EventStoreUnavailable" })
        )
        let cuts = 0
        const projection = Projection.make({
          name: `cut-${category}`,
          catalog: EventCatalog.make([Noted]),
          categories: [category],
          // No retries and the stop policy: a lost connection counted as a handler failure would stop it.
          retry: Schedule.stop,
          batchSize: 2,
          handle: (event) =>
            Effect.gen(function*() {
              const sql = yield* SqlClient.SqlClient
              if (event.streamVersion === 4 && cuts++ < 2) yield* sql`SELECT pg_terminate_backend(pg_backend_pid())`
              yield* note(event.data.id)
            })
        })
        const runner = yield* ProjectionRunner.make([projection], { restartSchedule: Schedule.spaced("20 millis") })
        yield* runner.waitForCatchUp(projection.name).pipe(Effect.timeout("20 seconds"))
        const status = yield* runner.status(projection.name)
        expect(status).toMatchObject({ state: "live", parked: 0, lag: 0 })
        expect(Option.getOrThrow(status.lastError)).toMatch(/projection store is unavailable.*(terminat|Connection)/)
        expect(cuts).toBe(3)
        const rows = yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ readonly id: string }>`SELECT id FROM ${sql(schema)}.notes WHERE id = ANY(${ids}::text[])`
        )
        expect(rows.map((row) => row.id).sort()).toEqual([...ids].sort())
      }).pipe(Effect.scoped),
    30_000
  )
})

/**
 * `PgTransaction.run` around an append, a checkpoint and a read-model write, with real faults at
 * COMMIT: a deferred constraint (23503 → rolled back), a serialization failure under
 * SERIALIZABLE (40001 → rolled back), the backend terminated just before COMMIT (→ unknown).
 * Each is a typed `TransactionFailed`, never a defect; what was rolled back recorded nothing.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { expect, layer } from "@effect/vitest"
import { CheckpointStore, EventStore, ExpectedVersion } from "@facta/core"
import { PgTransaction } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { connect, query, terminate } from "./rawPostgres.js"
import { storesLayer } from "./support.js"

const schema = uniqueSchemaName()

const newEvent = (n: number) => ({
  eventId: crypto.randomUUID(),
  type: "Happened",
  schemaVersion: 1,
  data: { n },
  metadata: {}
})

/** The read model's tables: a child row's parent is checked at COMMIT. */
const readModel = Layer.effectDiscard(
  Effect.flatMap(PgClient.PgClient, (sql) =>
    Effect.all([
      sql.unsafe(`CREATE TABLE "${schema}".parents (id int PRIMARY KEY)`),
      sql.unsafe(`CREATE TABLE "${schema}".children (
        id int PRIMARY KEY,
        parent_id int NOT NULL,
        CONSTRAINT child_has_parent FOREIGN KEY (parent_id) REFERENCES "${schema}".parents (id) DEFERRABLE INITIALLY DEFERRED
      )`),
      sql.unsafe(`CREATE TABLE "${schema}".rooms (room int NOT NULL, slot int NOT NULL)`)
    ], { discard: true }))
).pipe(Layer.orDie)

/** The transaction's failure: typed (never a defect) and a `TransactionFailed`. */
const transactionFailure = <A, E>(exit: Exit.Exit<A, E>): PgTransaction.TransactionFailed => {
  if (Exit.isSuccess(exit)) throw new Error("expected the transaction to fail")
  expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
  const error = Option.getOrThrow(Cause.failureOption(exit.cause))
  expect(error).toBeInstanceOf(PgTransaction.TransactionFailed)
  return error as PgTransaction.TransactionFailed
}

layer(Layer.provideMerge(readModel, storesLayer(schema, { maxConnections: 4 })), { excludeTestServices: true })(
  "PgTransaction",
  (it) => {
    it.effect("commits an append, a checkpoint and a read-model write together; a failure of the body rolls them back and passes through", () =>
      Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        const checkpoints = yield* CheckpointStore.CheckpointStore
        const streamId = `together-${crypto.randomUUID()}`
        const name = `projection-${crypto.randomUUID()}`
        const result = yield* PgTransaction.run(Effect.gen(function*() {
          const appended = yield* EventStore.append(streamId, [newEvent(1)], ExpectedVersion.NoStream)
          yield* checkpoints.save(name, appended.position)
          yield* sql.unsafe(`INSERT INTO "${schema}".parents (id) VALUES (1)`)
          return appended
        }))
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(1))
        expect(yield* checkpoints.load(name)).toEqual(Option.some(result.position))

        const other = `rolled-back-${crypto.randomUUID()}`
        const failed = yield* Effect.flip(PgTransaction.run(Effect.gen(function*() {
          const appended = yield* EventStore.append(other, [newEvent(2)], ExpectedVersion.NoStream)
          yield* checkpoints.save(name, appended.position)
          return yield* Effect.fail("the handler refused" as const)
        })))
        expect(failed).toBe("the handler refused")
        expect(yield* EventStore.streamVersion(other)).toEqual(Option.none())
        expect(yield* checkpoints.load(name)).toEqual(Option.some(result.position))
      }))

    it.effect("a deferred constraint violated at COMMIT: TransactionFailed, rolled-back, 23503, and the append is not recorded", () =>
      Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        const streamId = `deferred-${crypto.randomUUID()}`
        const exit = yield* Effect.exit(PgTransaction.run(Effect.gen(function*() {
          yield* EventStore.append(streamId, [newEvent(1)], ExpectedVersion.NoStream)
          yield* sql.unsafe(`INSERT INTO "${schema}".children (id, parent_id) VALUES (1, 404)`)
        })))
        const error = transactionFailure(exit)
        expect(error).toMatchObject({ outcome: "rolled-back", step: "commit", sqlState: "23503" })
        expect(error.message).toContain("rolled back at COMMIT")
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.none())
      }))

    it.effect("a serialization failure at COMMIT under SERIALIZABLE: TransactionFailed, rolled-back, 40001, nothing recorded", () =>
      Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        const other = yield* connect()
        const streamId = `serializable-${crypto.randomUUID()}`
        const exit = yield* Effect.exit(PgTransaction.run(Effect.gen(function*() {
          yield* sql.unsafe("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
          // Write skew: each transaction reads what the other writes. The other commits first,
          // which dooms this one; it learns so at its COMMIT.
          yield* sql.unsafe(`SELECT count(*) FROM "${schema}".rooms WHERE room = 1`)
          yield* sql.unsafe(`INSERT INTO "${schema}".rooms (room, slot) VALUES (2, 1)`)
          yield* EventStore.append(streamId, [newEvent(1)], ExpectedVersion.NoStream)
          yield* query(other, "BEGIN ISOLATION LEVEL SERIALIZABLE")
          yield* query(other, `SELECT count(*) FROM "${schema}".rooms WHERE room = 2`)
          yield* query(other, `INSERT INTO "${schema}".rooms (room, slot) VALUES (1, 1)`)
          yield* query(other, "COMMIT")
        })))
        const error = transactionFailure(exit)
        expect(error).toMatchObject({ outcome: "rolled-back", step: "commit", sqlState: "40001" })
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.none())
      }).pipe(Effect.scoped))

    it.effect("the backend terminated just before COMMIT: TransactionFailed with an unknown outcome", () =>
      Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        const killer = yield* connect()
        const streamId = `terminated-${crypto.randomUUID()}`
        const exit = yield* Effect.exit(PgTransaction.run(Effect.gen(function*() {
          yield* EventStore.append(streamId, [newEvent(1)], ExpectedVersion.NoStream)
          const [{ pid }] = yield* sql<{ readonly pid: number }>`SELECT pg_backend_pid() AS pid`
          yield* terminate(killer, pid)
        })))
        const error = transactionFailure(exit)
        expect(error).toMatchObject({ outcome: "unknown", step: "commit" })
        expect(error.message).toContain("outcome is unknown")
        // It did not commit here (the backend was gone); the retry with the same ids finds out.
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.none())
      }).pipe(Effect.scoped))
  }
)

/**
 * Checkpoints in Postgres behave as in memory (one contract, run against both), and a checkpoint
 * saved inside `SqlClient.withTransaction` commits or rolls back with the read model's writes.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { expect, layer, type Vitest } from "@effect/vitest"
import { CheckpointStore, Position } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Data, Effect, Exit, Option } from "effect"
import type pg from "pg"
import { connect, query } from "./rawPostgres.js"
import { storesLayer } from "./support.js"

const schema = uniqueSchemaName()

/** The checkpoint store's contract: the same cases for every implementation. */
const checkpointContract = (it: Vitest.MethodsNonLive<CheckpointStore.CheckpointStore>) => {
  const name = () => `projection-${crypto.randomUUID()}`

  it.effect("loads nothing for a projection that never saved", () =>
    Effect.gen(function*() {
      const store = yield* CheckpointStore.CheckpointStore
      expect(yield* store.load(name())).toEqual(Option.none())
    }))

  it.effect("saves and loads; a later save replaces the checkpoint, whatever its position", () =>
    Effect.gen(function*() {
      const store = yield* CheckpointStore.CheckpointStore
      const projection = name()
      yield* store.save(projection, Position.make(10n, 100n))
      expect(yield* store.load(projection)).toEqual(Option.some(Position.make(10n, 100n)))
      yield* store.save(projection, Position.make(12n, 130n))
      expect(yield* store.load(projection)).toEqual(Option.some(Position.make(12n, 130n)))
      // Replaying from an earlier point (a rebuild) moves the checkpoint back.
      yield* store.save(projection, Position.make(3n, 5n))
      expect(yield* store.load(projection)).toEqual(Option.some(Position.make(3n, 5n)))
    }))

  it.effect("keeps positions beyond 2^53 exact, and the start position", () =>
    Effect.gen(function*() {
      const store = yield* CheckpointStore.CheckpointStore
      const projection = name()
      const far = Position.make(2n ** 63n + 12345n, 2n ** 63n - 1n)
      yield* store.save(projection, far)
      expect(yield* store.load(projection)).toEqual(Option.some(far))
      yield* store.save(projection, Position.start)
      expect(yield* store.load(projection)).toEqual(Option.some(Position.start))
    }))

  it.effect("resets a checkpoint; resetting an absent one is a no-op; projections are apart", () =>
    Effect.gen(function*() {
      const store = yield* CheckpointStore.CheckpointStore
      const [a, b] = [name(), `${name()} with "quotes", ünïcödé and ; semicolons`]
      yield* store.save(a, Position.make(1n, 1n))
      yield* store.save(b, Position.make(2n, 2n))
      yield* store.reset(a)
      expect(yield* store.load(a)).toEqual(Option.none())
      expect(yield* store.load(b)).toEqual(Option.some(Position.make(2n, 2n)))
      yield* store.reset(a)
      yield* store.save(a, Position.make(5n, 6n))
      expect(yield* store.load(a)).toEqual(Option.some(Position.make(5n, 6n)))
    }))
}

layer(CheckpointStore.layerMemory)("CheckpointStore (memory)", (it) => {
  checkpointContract(it)
})

layer(storesLayer(schema))("CheckpointStore (Postgres)", (it) => {
  checkpointContract(it)
})

const readModelSchema = uniqueSchemaName()

class ReadModelFailed extends Data.TaggedError("ReadModelFailed")<{}> {}

/** What another connection sees: the read model's rows and the checkpoint. */
const committed = (raw: pg.Client, projection: string) =>
  Effect.zip(
    query<{ readonly account: string; readonly balance: number }>(
      raw,
      `SELECT account, balance FROM "${readModelSchema}".balances ORDER BY account`
    ),
    query<{ readonly position: string }>(
      raw,
      `SELECT transaction_id::text || ':' || global_position::text AS position FROM "${readModelSchema}".checkpoints WHERE name = $1`,
      [projection]
    ).pipe(Effect.map((rows) => rows.map((row) => row.position)))
  ).pipe(Effect.map(([balances, checkpoint]) => ({ balances, checkpoint })))

layer(storesLayer(readModelSchema))("CheckpointStore (Postgres) inside a read model's transaction", (it) => {
  it.effect("commits with the read model's writes, and rolls back with them when the transaction fails", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* CheckpointStore.CheckpointStore
      const raw = yield* connect()
      const projection = "balances"
      yield* query(
        raw,
        `CREATE TABLE "${readModelSchema}".balances (account text PRIMARY KEY, balance integer NOT NULL)`
      )
      const balances = sql(`${readModelSchema}.balances`)

      // Commits: the rows and the checkpoint together; another connection sees neither before the commit.
      yield* sql.withTransaction(
        Effect.gen(function*() {
          yield* sql`INSERT INTO ${balances} (account, balance) VALUES ('a', 10)`
          yield* store.save(projection, Position.make(7n, 70n))
          expect(yield* committed(raw, projection)).toEqual({ balances: [], checkpoint: [] })
          // Inside the transaction, the store reads its own write.
          expect(yield* store.load(projection)).toEqual(Option.some(Position.make(7n, 70n)))
        })
      )
      expect(yield* committed(raw, projection)).toEqual({
        balances: [{ account: "a", balance: 10 }],
        checkpoint: ["7:70"]
      })

      // Rolls back on a typed failure after both writes.
      const failed = yield* Effect.exit(sql.withTransaction(
        Effect.gen(function*() {
          yield* sql`UPDATE ${balances} SET balance = 20 WHERE account = 'a'`
          yield* sql`INSERT INTO ${balances} (account, balance) VALUES ('b', 1)`
          yield* store.save(projection, Position.make(8n, 80n))
          return yield* new ReadModelFailed()
        })
      ))
      expect(Exit.isFailure(failed)).toBe(true)
      expect(yield* committed(raw, projection)).toEqual({
        balances: [{ account: "a", balance: 10 }],
        checkpoint: ["7:70"]
      })
      expect(yield* store.load(projection)).toEqual(Option.some(Position.make(7n, 70n)))

      // Rolls back when a read model write fails after the checkpoint was saved.
      const violated = yield* Effect.exit(sql.withTransaction(
        Effect.gen(function*() {
          yield* store.save(projection, Position.make(9n, 90n))
          yield* sql`INSERT INTO ${balances} (account, balance) VALUES ('a', 99)`
        })
      ))
      expect(Exit.isFailure(violated)).toBe(true)
      expect(yield* committed(raw, projection)).toEqual({
        balances: [{ account: "a", balance: 10 }],
        checkpoint: ["7:70"]
      })

      // And on a defect.
      const died = yield* Effect.exit(sql.withTransaction(
        Effect.zipRight(store.save(projection, Position.make(10n, 100n)), Effect.die("bug in the projection"))
      ))
      expect(Exit.isFailure(died)).toBe(true)
      expect(yield* committed(raw, projection)).toEqual({
        balances: [{ account: "a", balance: 10 }],
        checkpoint: ["7:70"]
      })

      // A reset inside a transaction rolls back too.
      yield* Effect.exit(sql.withTransaction(Effect.zipRight(store.reset(projection), new ReadModelFailed())))
      expect(yield* store.load(projection)).toEqual(Option.some(Position.make(7n, 70n)))
    }).pipe(Effect.scoped))
})

import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it, layer } from "@effect/vitest"
import { CommandHandler, EventStore, ExpectedVersion, Position } from "@facta/core"
import { BankAccount } from "@facta/example-bank-account"
import { PgPool } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Chunk, Data, Effect, Fiber, Layer, Option, Stream } from "effect"
import { storesLayer } from "./support.js"

class Abandoned extends Data.TaggedError("Abandoned") {}

const event = (data: unknown) => ({ eventId: crypto.randomUUID(), type: "Thing", schemaVersion: 1, data, metadata: {} })

layer(storesLayer())("PgEventStore (smoke)", (it) => {
  it.effect("appends and reads back a stream", () =>
    Effect.gen(function*() {
      const streamId = `thing-${crypto.randomUUID()}`
      const result = yield* EventStore.append(
        streamId,
        [event({ a: 1 }), event({ b: [1, 2] })],
        ExpectedVersion.NoStream
      )
      expect(result.nextExpectedVersion).toBe(2)
      expect(result.written).toBe(true)
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(EventStore.readStream(streamId)))
      expect(events.map((e) => e.data)).toEqual([{ a: 1 }, { b: [1, 2] }])
      expect(events.map((e) => e.streamVersion)).toEqual([1, 2])
      expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(2))
      const conflict = yield* Effect.flip(EventStore.append(streamId, [event({})], ExpectedVersion.Exact(1)))
      expect(conflict).toMatchObject({ _tag: "ConcurrencyConflict", actual: 2 })
      const all = yield* Stream.runCollect(EventStore.readAll({ filter: { categories: ["thing"] } }))
      expect(Chunk.size(all)).toBeGreaterThanOrEqual(2)
      const last = Chunk.unsafeLast(all)
      expect(Position.isAfter(Position.of(last), Position.start)).toBe(true)
    }))

  it.effect("a command with an idempotency key, sent again, returns what it recorded and appends nothing", () =>
    Effect.gen(function*() {
      const account = `bank_account-${crypto.randomUUID()}`
      const handle = CommandHandler.make(BankAccount)
      yield* handle(account, { _tag: "OpenAccount", owner: "Ada", overdraftLimit: 0 }, {
        context: { idempotencyKey: `${account}/open` }
      })
      const first = yield* handle(account, { _tag: "Deposit", amountCents: 500, currency: "EUR" }, {
        context: { idempotencyKey: `${account}/deposit-1` }
      })
      const again = yield* handle(account, { _tag: "Deposit", amountCents: 500, currency: "EUR" }, {
        context: { idempotencyKey: `${account}/deposit-1` }
      })
      expect(again).toMatchObject({ repeated: true, version: 2, eventIds: first.eventIds, position: first.position })
      expect(again.state).toEqual(first.state)
      expect(yield* EventStore.streamVersion(account)).toEqual(Option.some(2))
    }))

  it.effect("inside the caller's transaction an append and the reads join it (the PgPool is used only outside)", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const streamId = `thing-${crypto.randomUUID()}`
      const abandoned = yield* Effect.flip(sql.withTransaction(Effect.gen(function*() {
        yield* EventStore.append(streamId, [event({ n: 1 })], ExpectedVersion.NoStream)
        // Read back in the same transaction: visible there, before the commit.
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(1))
        const page = yield* Effect.flatMap(EventStore.EventStore, (store) => store.readStreamPayloads(streamId))
        expect(page.data).toEqual([{ n: 1 }])
        return yield* new Abandoned()
      })))
      expect(abandoned._tag).toBe("Abandoned")
      // Rolled back with the transaction.
      expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.none())
      const committed = yield* sql.withTransaction(
        EventStore.append(streamId, [event({ n: 2 })], ExpectedVersion.NoStream)
      )
      expect(committed.nextExpectedVersion).toBe(1)
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(EventStore.readStream(streamId)))
      expect(events.map((e) => e.data)).toEqual([{ n: 2 }])
    }))
})

const schema = uniqueSchemaName()

layer(storesLayer(schema))("PgEventStore recordedAt", (it) => {
  it.effect("recordedAt is the millisecond that holds the stored instant, on every read that builds envelopes", () =>
    Effect.gen(function*() {
      // Microsecond instants on and next to millisecond boundaries, before and after 1970 and
      // near the ends of the range the float8 transport is exact for.
      const instants: ReadonlyArray<readonly [stored: string, expected: string]> = [
        ["2026-11-23 19:15:01.123+00", "2026-11-23T19:15:01.123Z"],
        ["2026-11-23 19:15:01.122999+00", "2026-11-23T19:15:01.122Z"],
        ["2026-11-23 19:15:01.123001+00", "2026-11-23T19:15:01.123Z"],
        ["2026-11-23 19:15:01.999999+00", "2026-11-23T19:15:01.999Z"],
        ["1970-01-01 00:00:00+00", "1970-01-01T00:00:00.000Z"],
        ["1969-12-31 23:59:59.999999+00", "1969-12-31T23:59:59.999Z"],
        ["1901-02-03 04:05:06.007+00", "1901-02-03T04:05:06.007Z"],
        ["2105-12-31 23:59:59.998999+00", "2105-12-31T23:59:59.998Z"],
        ["2105-12-31 23:59:59.999+00", "2105-12-31T23:59:59.999Z"]
      ]
      const sql = yield* SqlClient.SqlClient
      const streamId = `thing-${crypto.randomUUID()}`
      yield* EventStore.append(streamId, instants.map((_, index) => event({ index })), ExpectedVersion.NoStream)
      for (const [index, [stored]] of instants.entries()) {
        yield* sql`UPDATE ${sql(schema)}.events SET recorded_at = ${stored}::timestamptz
                    WHERE stream_id = ${streamId} AND stream_version = ${index + 1}`
      }
      const expected = instants.map(([, iso]) => iso)
      const isoOf = (events: Chunk.Chunk<{ readonly recordedAt: Date }>) =>
        Chunk.toReadonlyArray(events).map((e) => e.recordedAt.toISOString())
      expect(isoOf(yield* Stream.runCollect(EventStore.readStream(streamId)))).toEqual(expected)
      expect(isoOf(
        yield* Stream.runCollect(
          EventStore.readAll({ filter: { categories: ["thing"] } }).pipe(
            Stream.filter((e) => e.streamId === streamId)
          )
        )
      )).toEqual(expected)
    }))
})

describe("prepared statements", () => {
  it.scoped("the store's statements on the PgPool are prepared once per connection, or never when turned off", () =>
    Effect.gen(function*() {
      for (const preparedStatements of [true, false]) {
        const schema = uniqueSchemaName()
        // One connection: the statements below and the look at pg_prepared_statements share it.
        const stores = yield* Layer.build(storesLayer(schema, { maxConnections: 1, preparedStatements }))
        const streamId = `thing-${crypto.randomUUID()}`
        yield* Effect.gen(function*() {
          yield* EventStore.append(streamId, [event({ n: 1 })], ExpectedVersion.NoStream)
          yield* EventStore.append(streamId, [event({ n: 2 })], ExpectedVersion.Exact(1))
          expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(2))
          const page = yield* Effect.flatMap(EventStore.EventStore, (store) => store.readStreamPayloads(streamId))
          expect(page.data).toEqual([{ n: 1 }, { n: 2 }])
        }).pipe(Effect.provide(stores))
        const pool = Option.getOrThrow(yield* Effect.provide(Effect.serviceOption(PgPool.PgPool), stores))
        const prepared = yield* Effect.promise(() =>
          pool.query<{ readonly name: string; readonly statement: string }>(
            "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'facta\\_%' ORDER BY statement"
          )
        )
        if (preparedStatements) {
          // The append, the stream version and the page read: each once, named after its text.
          expect(prepared.rows.map((row) => row.statement.includes(schema))).toEqual([true, true, true])
          expect(prepared.rows.some((row) => row.statement.includes("append_events"))).toBe(true)
          expect(new Set(prepared.rows.map((row) => row.name)).size).toBe(3)
        } else {
          expect(prepared.rows).toEqual([])
        }
      }
    }))
})

describe("interruption on the PgPool", () => {
  it.scopedLive("an append interrupted while it waits for a connection is never sent; one that waits uninterruptibly is", () =>
    Effect.gen(function*() {
      // One connection, held here: the appends below wait for it.
      const stores = yield* Layer.build(storesLayer(uniqueSchemaName(), { maxConnections: 1 }))
      const pool = Option.getOrThrow(yield* Effect.provide(Effect.serviceOption(PgPool.PgPool), stores))
      const held = yield* Effect.promise(() => pool.connect())
      const interrupted = `thing-${crypto.randomUUID()}`
      const uninterruptible = `thing-${crypto.randomUUID()}`
      const append = (streamId: string) =>
        Effect.provide(EventStore.append(streamId, [event({ n: 1 })], ExpectedVersion.NoStream), stores)
      const waiting = yield* Effect.fork(append(interrupted))
      const shielded = yield* Effect.fork(Effect.uninterruptible(append(uninterruptible)))
      yield* Effect.sleep("200 millis")
      // The interruptible one stops waiting at once, though the pool has no connection to give.
      yield* Fiber.interrupt(waiting)
      const interruptShielded = yield* Effect.fork(Fiber.interrupt(shielded))
      held.release()
      // The uninterruptible one gets the connection, appends, and only then is interrupted.
      yield* Fiber.join(interruptShielded)
      yield* Effect.gen(function*() {
        expect(yield* EventStore.streamVersion(interrupted)).toEqual(Option.none())
        expect(yield* EventStore.streamVersion(uninterruptible)).toEqual(Option.some(1))
      }).pipe(Effect.provide(stores))
    }))
})

/**
 * Connection faults: an append whose connection is killed mid-flight fails with a typed error and
 * writes all of its events or none; the pool recovers after all its connections are killed.
 * The kills target only this file's pool (by application name) and this file's schema.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { expect, layer } from "@effect/vitest"
import { EventStore, ExpectedVersion } from "@facta/core"
import { PgStore } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Cause, Chunk, Effect, Exit, Fiber, Layer, Option, Redacted, Stream } from "effect"
import { cuttingProxy } from "./cuttingProxy.js"
import {
  blockedAppendPid,
  connect,
  dropSchemaOnRelease,
  query,
  terminate,
  terminateApplication
} from "./rawPostgres.js"
import { databaseUrl } from "./support.js"

const schema = uniqueSchemaName()
const applicationName = `facta-faults-${crypto.randomUUID().slice(0, 8)}`

const stores = Layer.mergeAll(PgStore.layer({ schema, pollInterval: "200 millis" }), dropSchemaOnRelease(schema)).pipe(
  Layer.provideMerge(
    PgClient.layer({ url: Redacted.make(databaseUrl()), maxConnections: 4, applicationName, transformJson: false })
  )
)

const batch = (round: number, size: number) =>
  Array.from({ length: size }, (_, n) => ({
    eventId: crypto.randomUUID(),
    type: "Recorded",
    schemaVersion: 1,
    data: { round, n },
    metadata: {}
  }))

/** What the database holds for a stream: the version in `streams` and the events of `eventIds` in `events`. */
const stored = (raw: Parameters<typeof query>[0], streamId: string, eventIds: ReadonlyArray<string>) =>
  Effect.map(
    query<{ readonly version: string | null; readonly found: string; readonly copies: string }>(
      raw,
      `SELECT (SELECT version::text FROM "${schema}".streams WHERE stream_id = $1) AS version,
              (SELECT count(DISTINCT event_id)::text FROM "${schema}".events WHERE event_id = ANY($2::uuid[])) AS found,
              (SELECT count(*)::text FROM "${schema}".events WHERE event_id = ANY($2::uuid[])) AS copies`,
      [streamId, eventIds]
    ),
    ([row]) => ({
      version: row.version === null ? 0 : Number(row.version),
      found: Number(row.found),
      copies: Number(row.copies)
    })
  )

/** The error of a failed exit, checked to be a typed `EventStoreUnavailable` and never a defect. */
const expectUnavailable = <A>(exit: Exit.Exit<A, unknown>, operation: string) => {
  if (Exit.isSuccess(exit)) return
  expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
  const error = Option.getOrThrow(Cause.failureOption(exit.cause))
  expect(error).toBeInstanceOf(EventStore.EventStoreUnavailable)
  expect(error).toMatchObject({ operation })
}

layer(stores, { excludeTestServices: true })("Postgres faults", (it) => {
  it.effect("an append killed mid-flight fails typed, writes all or none, and its retry leaves exactly one copy", () =>
    Effect.gen(function*() {
      const locker = yield* connect()
      const killer = yield* connect()
      for (let round = 0; round < 20; round++) {
        // Half the rounds append to a new stream, half to an existing one (version 1).
        const streamId = `fault-${round}-${crypto.randomUUID()}`
        const base = round % 2 === 0 ? 0 : 1
        if (base === 1) yield* EventStore.append(streamId, batch(round, 1), ExpectedVersion.NoStream)
        const expected = base === 0 ? ExpectedVersion.NoStream : ExpectedVersion.Exact(1)
        const events = batch(round, 10)
        const eventIds = events.map((e) => e.eventId)

        yield* query(locker, "BEGIN")
        if (base === 0) yield* query(locker, `LOCK TABLE "${schema}".streams IN EXCLUSIVE MODE`)
        else yield* query(locker, `SELECT version FROM "${schema}".streams WHERE stream_id = $1 FOR UPDATE`, [streamId])

        const append = yield* Effect.fork(Effect.exit(EventStore.append(streamId, events, expected)))
        const pid = yield* blockedAppendPid(killer, schema)
        // Rounds 0-1 of every 4 kill the append while it waits; rounds 2-3 release the lock at the
        // same moment as the kill, so the append may commit before the kill lands.
        const killWhileBlocked = round % 4 < 2
        if (killWhileBlocked) {
          yield* terminate(killer, pid)
          yield* query(locker, "ROLLBACK")
        } else {
          yield* Effect.all([query(locker, "ROLLBACK"), terminate(killer, pid)], {
            concurrency: "unbounded"
          })
        }
        const exit = yield* Fiber.join(append)
        expectUnavailable(exit, "append")

        const after = yield* stored(killer, streamId, eventIds)
        // All or none, and `streams` agrees with `events`.
        expect([0, 10], `round ${round}`).toContain(after.found)
        expect(after.copies).toBe(after.found)
        expect(after.version).toBe(base + after.found)
        if (Exit.isSuccess(exit)) {
          expect(after.found).toBe(10)
          expect(exit.value.written).toBe(true)
        }
        if (killWhileBlocked) {
          expect(Exit.isFailure(exit)).toBe(true)
          expect(after.found).toBe(0)
        }

        // The caller retries the same append (same ids, same expectation): exactly one copy.
        // @effect/sql-pg returns a connection whose query failed to the pool before it has seen the
        // socket close, so the first retry may get the killed connection and fail typed once more.
        const retried = yield* EventStore.append(streamId, events, expected).pipe(
          Effect.retry({ times: 2, while: (error) => error._tag === "EventStoreUnavailable" })
        )
        expect(retried.written).toBe(after.found === 0)
        expect(retried.nextExpectedVersion).toBe(base + 10)
        expect(yield* stored(killer, streamId, eventIds)).toEqual({ version: base + 10, found: 10, copies: 10 })
        const read = yield* Stream.runCollect(EventStore.readStream(streamId))
        expect(Chunk.toReadonlyArray(read).map((e) => e.streamVersion)).toEqual(
          Array.from({ length: base + 10 }, (_, i) => i + 1)
        )
      }
    }).pipe(Effect.scoped))

  it.effect("an append whose acknowledgement is lost after commit fails typed, and its retry writes nothing more", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const proxy = yield* cuttingProxy(databaseUrl())
      const throughProxy = yield* Layer.build(
        PgStore.layer({ schema }).pipe(
          Layer.provide(PgClient.layer({ url: Redacted.make(proxy.url), maxConnections: 2, transformJson: false }))
        )
      )
      for (let round = 0; round < 5; round++) {
        const streamId = `lost-ack-${round}-${crypto.randomUUID()}`
        const events = batch(round, 10)
        const eventIds = events.map((e) => e.eventId)
        yield* proxy.cutReplyTo("append_events")
        const exit = yield* Effect.exit(
          Effect.provide(EventStore.append(streamId, events, ExpectedVersion.NoStream), throughProxy)
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expectUnavailable(exit, "append")
        // The database did the work the client never heard about: all ten events.
        expect(yield* stored(raw, streamId, eventIds)).toEqual({ version: 10, found: 10, copies: 10 })
        const retried = yield* Effect.provide(
          EventStore.append(streamId, events, ExpectedVersion.NoStream).pipe(
            Effect.retry({ times: 2, while: (error) => error._tag === "EventStoreUnavailable" })
          ),
          throughProxy
        )
        expect(retried).toMatchObject({ written: false, nextExpectedVersion: 10 })
        expect(yield* stored(raw, streamId, eventIds)).toEqual({ version: 10, found: 10, copies: 10 })
      }
      expect(yield* proxy.cuts).toBe(5)
    }).pipe(Effect.scoped))

  it.effect("after every pool connection is killed, operations succeed or fail typed, and the store recovers once the dead connections are gone", () =>
    Effect.gen(function*() {
      const killer = yield* connect()
      const streamId = `pool-${crypto.randomUUID()}`
      yield* EventStore.append(streamId, batch(0, 1), ExpectedVersion.NoStream)
      const operations: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown, EventStore.EventStore>]> = [
        ["append", Effect.suspend(() => EventStore.append(streamId, batch(1, 2), ExpectedVersion.Any))],
        ["readStream", Stream.runDrain(EventStore.readStream(streamId))],
        ["readAll", Stream.runDrain(EventStore.readAll({ limit: 5 }))],
        ["streamVersion", EventStore.streamVersion(streamId)]
      ]
      for (let round = 0; round < 8; round++) {
        // Several connections in the pool, all idle, before the kill.
        yield* Effect.all(Array.from({ length: 4 }, () => EventStore.streamVersion(streamId)), { concurrency: 4 })
        const killed = yield* terminateApplication(killer, applicationName)
        expect(killed).toBeGreaterThan(0)
        const [operation, next] = operations[round % operations.length]
        expectUnavailable(yield* Effect.exit(next), operation)
        // Each killed connection the pool still holds may fail one more operation before the pool
        // drops it (node-postgres notices a closed idle socket asynchronously); then it recovers.
        const [, following] = operations[(round + 1) % operations.length]
        yield* following.pipe(
          Effect.retry({ times: 4, while: (error) => error instanceof EventStore.EventStoreUnavailable })
        )
      }
      const version = Option.getOrThrow(yield* EventStore.streamVersion(streamId))
      const read = yield* Stream.runCollect(EventStore.readStream(streamId))
      expect(Chunk.size(read)).toBe(version)
    }).pipe(Effect.scoped))
})

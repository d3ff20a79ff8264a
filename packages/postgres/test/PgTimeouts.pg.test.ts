/**
 * Appends that time out while their stream is locked: they are canceled on the server (nothing
 * commits when the lock goes away), the pool is free again at once, on the pool's direct path and
 * on the `@effect/sql` path (inside a transaction); and a lock held past the append function's
 * `lock_timeout` fails the append with a typed error that wrote nothing.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { EventStore, ExpectedVersion } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Cause, Context, Effect, Either, Exit, Layer, Option, Schedule } from "effect"
import type pg from "pg"
import { makeRunner, rowsOrFailure } from "../src/internal/statementRunner.js"
import { connect, query } from "./rawPostgres.js"
import { clientLayer, storesLayer } from "./support.js"

const newEvent = (n: number) => ({
  eventId: crypto.randomUUID(),
  type: "Happened",
  schemaVersion: 1,
  data: { n },
  metadata: {}
})

/** The stores in a fresh schema on a pool of four connections, and a stream at version 1 locked by `locker`. */
const lockedStream = Effect.gen(function*() {
  const schema = uniqueSchemaName()
  const context = yield* Layer.build(storesLayer(schema, { maxConnections: 4 }))
  const streamId = `locked-${crypto.randomUUID()}`
  yield* Effect.provide(EventStore.append(streamId, [newEvent(0)], ExpectedVersion.NoStream), context)
  const locker = yield* connect()
  yield* query(locker, "BEGIN")
  yield* query(locker, `SELECT version FROM "${schema}".streams WHERE stream_id = $1 FOR UPDATE`, [streamId])
  return { schema, context, streamId, locker }
})

/** How many statements of `schema`'s appends still run on the server. */
const runningAppends = (raw: pg.Client, schema: string) =>
  Effect.map(
    query<{ readonly running: number }>(
      raw,
      `SELECT count(*)::int AS running FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%append_events%' AND query LIKE '%' || $1 || '%'`,
      [schema]
    ),
    ([row]) => row.running
  )

/** Waits (up to 2 s) until none of `schema`'s appends runs on the server any more, and says whether that happened. */
const appendsEnded = (raw: pg.Client, schema: string) =>
  runningAppends(raw, schema).pipe(
    Effect.filterOrFail((running) => running === 0),
    Effect.retry(Schedule.intersect(Schedule.spaced("20 millis"), Schedule.recurs(100))),
    Effect.as(true),
    Effect.orElseSucceed(() => false)
  )

const countRecorded = (raw: pg.Client, schema: string, eventIds: ReadonlyArray<string>) =>
  Effect.map(
    query<{ readonly found: number }>(
      raw,
      `SELECT count(*)::int AS found FROM "${schema}".events WHERE event_id = ANY($1::uuid[])`,
      [
        eventIds
      ]
    ),
    ([row]) => row.found
  )

/**
 * Four appends to the locked stream, each under a 300 ms timeout, through `viaTransaction` or
 * not; then an append to another stream, the lock released, and what was recorded.
 */
const fourTimedOutAppends = (inTransaction: boolean) =>
  Effect.gen(function*() {
    const { context, locker, schema, streamId } = yield* lockedStream
    // Outside a transaction: inside one, pg_stat_activity keeps what it showed first.
    const observer = yield* connect()
    const sql = Context.get(context, SqlClient.SqlClient)
    const batches = Array.from({ length: 4 }, (_, n) => [newEvent(n + 1)])
    const started = Date.now()
    const exits = yield* Effect.all(
      batches.map((batch) => {
        const append = EventStore.append(streamId, batch, ExpectedVersion.Exact(1))
        return Effect.exit(
          Effect.timeout(Effect.provide(inTransaction ? sql.withTransaction(append) : append, context), "300 millis")
        )
      }),
      { concurrency: "unbounded" }
    )
    const timedOutAfter = Date.now() - started
    for (const exit of exits) {
      expect(Exit.isFailure(exit) && Option.getOrUndefined(Cause.failureOption(exit.cause))).toBeInstanceOf(
        Cause.TimeoutException
      )
    }
    // The interrupted statements were canceled on the server, not left waiting for the lock.
    const ended = yield* appendsEnded(observer, schema)
    // The pool has its four connections back: an unrelated append goes through at once.
    const otherStarted = Date.now()
    const other = yield* Effect.exit(
      Effect.timeout(
        Effect.provide(
          EventStore.append(`free-${crypto.randomUUID()}`, [newEvent(9)], ExpectedVersion.NoStream),
          context
        ),
        "2 seconds"
      )
    )
    const otherTook = Date.now() - otherStarted
    yield* query(locker, "COMMIT")
    // Time for an append that still waited for the lock to commit.
    yield* Effect.sleep("500 millis")
    const recorded = yield* countRecorded(locker, schema, batches.flat().map((event) => event.eventId))
    const version = yield* Effect.provide(EventStore.streamVersion(streamId), context)
    return { timedOutAfter, ended, other: Exit.isSuccess(other), otherTook, recorded, version }
  })

describe("timed-out appends", () => {
  it.scopedLive(
    "on the pool: four appends timed out on a locked stream are canceled, commit nothing, and free the pool",
    () =>
      Effect.gen(function*() {
        const outcome = yield* fourTimedOutAppends(false)
        expect(outcome).toMatchObject({ ended: true, other: true, recorded: 0, version: Option.some(1) })
        expect(outcome.timedOutAfter).toBeLessThan(1_500)
        expect(outcome.otherTook).toBeLessThan(1_000)
      }),
    20_000
  )

  it.scopedLive(
    "through @effect/sql in a transaction: the timeout is honoured at once, nothing commits, the pool is free",
    () =>
      Effect.gen(function*() {
        const outcome = yield* fourTimedOutAppends(true)
        expect(outcome).toMatchObject({ ended: true, other: true, recorded: 0, version: Option.some(1) })
        expect(outcome.timedOutAfter).toBeLessThan(1_500)
        expect(outcome.otherTook).toBeLessThan(1_000)
      }),
    20_000
  )
})

describe("interrupted statements on the pool", () => {
  it.scopedLive(
    "are canceled on the server, and the cancel never reaches the connection's next statement",
    () =>
      Effect.gen(function*() {
        // One connection: the statement after each interrupted one runs on the same backend.
        const context = yield* Layer.build(clientLayer(1))
        const { query: run } = yield* Effect.provide(makeRunner({ prepare: true }), context)
        // Timeouts around the statement's own end too: a cancel sent as it ends must not land later.
        for (let round = 0; round < 40; round++) {
          const started = Date.now()
          const seconds = round < 5 ? 10 : 0.05
          const timeout = round < 5 ? 50 + round * 20 : 40 + (round % 20)
          yield* Effect.exit(Effect.timeout(run("SELECT pg_sleep($1)", [seconds], rowsOrFailure), `${timeout} millis`))
          const next = yield* Effect.either(run("SELECT pg_sleep(0.03), $1::int AS round", [round], rowsOrFailure))
          expect(next).toEqual(Either.right([{ pg_sleep: "", round }]))
          expect(Date.now() - started).toBeLessThan(2_000)
        }
      }),
    20_000
  )
})

describe("lock_timeout", () => {
  it.scopedLive(
    "an append waiting for a lock past lock_timeout fails with EventStoreUnavailable (55P03) and writes nothing",
    () =>
      Effect.gen(function*() {
        const { context, locker, schema, streamId } = yield* lockedStream
        const [{ config }] = yield* query<{ readonly config: ReadonlyArray<string> }>(
          locker,
          `SELECT proconfig AS config FROM pg_proc WHERE oid = $1::regproc`,
          [`"${schema}".append_events`]
        )
        expect(config).toContain("lock_timeout=5s")
        // What docs/postgres.md tells operators to run, made short for the test.
        const admin = yield* connect()
        yield* query(
          admin,
          `ALTER FUNCTION "${schema}".append_events(text, text, bigint, uuid[], text[], integer[], jsonb[], jsonb[], text) SET lock_timeout = '300ms'`
        )
        const sql = Context.get(context, SqlClient.SqlClient)
        for (const inTransaction of [false, true]) {
          const event = newEvent(1)
          const append = EventStore.append(streamId, [event], ExpectedVersion.Exact(1))
          const started = Date.now()
          const error = yield* Effect.flip(
            Effect.provide(inTransaction ? sql.withTransaction(append) : append, context)
          )
          expect(Date.now() - started).toBeLessThan(3_000)
          expect(error).toBeInstanceOf(EventStore.EventStoreUnavailable)
          expect(error.message).toContain(`stream ${JSON.stringify(streamId)} stayed locked by another transaction`)
          expect(error.message).toContain("nothing was written")
          expect(yield* countRecorded(admin, schema, [event.eventId])).toBe(0)
        }
        yield* query(locker, "COMMIT")
      }),
    20_000
  )
})

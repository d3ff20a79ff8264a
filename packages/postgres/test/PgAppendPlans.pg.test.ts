import * as SqlClient from "@effect/sql/SqlClient"
import { EventStore, ExpectedVersion } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { connect, query } from "./rawPostgres.js"
import { storesLayer } from "./support.js"

const event = (n: number) => ({ eventId: crypto.randomUUID(), type: "Thing", schemaVersion: 1, data: { n }, metadata: {} })

type TableStats = {
  readonly relname: string
  readonly seq_scan: number
  readonly n_tup_ins: number
}


describe("append_events plans", () => {
  // PL/pgSQL caches a generic plan per statement and connection. On a new store it is made while
  // the tables are tiny and have no statistics; a sequential scan cached then would read the whole
  // table on every later append of that connection (see PgSchema migration 5).
  it.scoped("a connection that cached its plans on a new store's tiny tables never scans them whole", () =>
    Effect.gen(function*() {
      const schema = uniqueSchemaName()
      // One connection: every append below runs on the plans the warm-up cached.
      const stores = yield* Layer.build(storesLayer(schema, { maxConnections: 1 }))
      const store = yield* Effect.provide(EventStore.EventStore, stores)
      const sql = yield* Effect.provide(SqlClient.SqlClient, stores)
      const raw = yield* connect()

      const streams = Array.from({ length: 20 }, (_, index) => `thing-${index}`)
      let inserted = 0
      const appendRound = (n: number) =>
        Effect.forEach(streams, (streamId) =>
          Effect.gen(function*() {
            // A new stream, an existing one at its exact version, and a conflict (the repeat check).
            yield* store.append(`${streamId}-${n}`, [event(n)], ExpectedVersion.Exact(0))
            yield* store.append(streamId, [event(n)], n === 0 ? ExpectedVersion.NoStream : ExpectedVersion.Exact(n))
            const conflict = yield* Effect.flip(store.append(streamId, [event(n)], ExpectedVersion.Exact(n)))
            expect(conflict).toMatchObject({ _tag: "ConcurrencyConflict", streamId, actual: n + 1 })
            inserted += 2
          }), { discard: true })

      /** The tables' counters once the store's connection has reported all `inserted` rows. */
      const statistics = Effect.gen(function*() {
        yield* sql`SELECT pg_stat_force_next_flush()`
        return yield* query<TableStats>(
          raw,
          `SELECT relname, seq_scan::int AS seq_scan, n_tup_ins::int AS n_tup_ins
             FROM pg_stat_user_tables WHERE schemaname = $1 AND relname IN ('events', 'streams') ORDER BY relname`,
          [schema]
        ).pipe(
          Effect.filterOrFail((rows) => rows.find((row) => row.relname === "events")?.n_tup_ins === inserted),
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds")))
        )
      })

      // Warm-up: past the fifth call of each statement, when PL/pgSQL settles on cached plans.
      for (let n = 0; n < 8; n++) yield* appendRound(n)
      const before = yield* statistics
      for (let n = 8; n < 40; n++) yield* appendRound(n)
      const after = yield* statistics

      expect(after.find((row) => row.relname === "events")?.n_tup_ins).toBe(40 * 40)
      // Every lookup went through an index: not one more whole-table read.
      expect(after.map((row) => [row.relname, row.seq_scan])).toEqual(before.map((row) => [row.relname, row.seq_scan]))
    }))
})

import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { EventStore, ExpectedVersion } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Effect, Layer, Schedule } from "effect"
import { connect, query } from "./rawPostgres.js"
import { storesLayer } from "./support.js"

const event = (n: number) => ({
  eventId: crypto.randomUUID(),
  type: "Thing",
  schemaVersion: 1,
  data: { n },
  metadata: {}
})

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

  // enable_seqscan = off prices a plan that can only scan at 10^10, past jit_above_cost: without
  // jit = off every append compiled such a statement with LLVM (~13 ms on PostgreSQL 15).
  it.scoped("append_events and repeat_outcome never JIT-compile their statements", () =>
    Effect.gen(function*() {
      const schema = uniqueSchemaName()
      const stores = yield* Layer.build(storesLayer(schema, { maxConnections: 1 }))
      yield* Effect.provide(EventStore.EventStore, stores)
      const raw = yield* connect()
      const config = yield* query<{ readonly proname: string; readonly proconfig: ReadonlyArray<string> | null }>(
        raw,
        `SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = $1 AND p.proname IN ('append_events', 'repeat_outcome') ORDER BY p.proname`,
        [schema]
      )
      expect(config.map((row) => [row.proname, row.proconfig?.includes("jit=off") ?? false])).toEqual([
        ["append_events", true],
        ["repeat_outcome", true]
      ])
      // Where the server can JIT (the embedded PostgreSQL cannot; Debian's packages can), the
      // nested plans of real calls, auto_explain'ed with JIT on at its default thresholds, show none.
      const [{ available }] = yield* query<{ readonly available: boolean }>(
        raw,
        "SELECT pg_jit_available() AS available"
      )
      if (!available) return
      const plans: Array<string> = []
      raw.on("notice", (notice) => void plans.push(notice.message ?? ""))
      for (
        const setting of [
          "LOAD 'auto_explain'",
          "SET auto_explain.log_min_duration = 0",
          "SET auto_explain.log_nested_statements = on",
          "SET client_min_messages = log",
          "SET jit = on",
          "RESET jit_above_cost"
        ]
      ) yield* query(raw, setting)
      const eventId = crypto.randomUUID()
      const call = (expected: string) =>
        query(
          raw,
          `SELECT * FROM "${schema}".append_events($1, $2, 0, ARRAY[$3::uuid], ARRAY['Thing'], ARRAY[1], ARRAY['{}'::jsonb], ARRAY['{}'::jsonb], 'unheard')`,
          ["thing-jit", expected, eventId]
        )
      yield* call("no_stream") // a new stream
      yield* call("no_stream") // the same event again: the repeat check
      expect(plans.some((plan) => plan.includes("repeat_outcome"))).toBe(true)
      expect(plans.filter((plan) => plan.includes("JIT:"))).toEqual([])
    }))
})

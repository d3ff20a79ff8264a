/**
 * The event store contract against PostgreSQL while the application has registered node-postgres
 * type parsers of its own, as applications do (bigints as numbers, timestamps and JSON left as
 * text): Facta's stores read what they select the same way whatever those parsers are, on the
 * pool path and through `@effect/sql` alike.
 */
import { expect, layer } from "@effect/vitest"
import { CheckpointStore, Position, ProjectionStore, SnapshotStore } from "@facta/core"
import { EventStoreConformance } from "@facta/testing"
import { Effect, Option } from "effect"
import pg from "pg"
import { afterAll } from "vitest"
import { recordedEnvelope, storesLayer } from "../packages/postgres/test/support.js"

const applicationParsers: ReadonlyArray<readonly [oid: number, parse: (text: string) => unknown]> = [
  [20, (text) => Number.parseInt(text, 10)], // int8 as a number
  [23, (text) => BigInt(text)], // int4 as a bigint
  [1700, (text) => Number.parseFloat(text)], // numeric as a number
  [701, (text) => text], // float8 left as text
  [114, (text) => text], // json left as text
  [3802, (text) => text], // jsonb left as text
  [1184, (text) => text], // timestamptz left as text
  [1114, (text) => text], // timestamp left as text
  [2950, (text) => text.toUpperCase()], // uuid in capitals
  [5069, (text) => BigInt(text)] // xid8 as a bigint
]
const defaults = applicationParsers.map(([oid]) => [oid, pg.types.getTypeParser(oid, "text")] as const)
for (const [oid, parse] of applicationParsers) pg.types.setTypeParser(oid, parse)
afterAll(() => {
  for (const [oid, parse] of defaults) pg.types.setTypeParser(oid, parse)
})

EventStoreConformance.run("postgres under the application's type parsers", storesLayer())
EventStoreConformance.run(
  "postgres without PgPool under the application's type parsers",
  storesLayer(undefined, { withoutPool: true })
)

layer(storesLayer(), { excludeTestServices: true })("the other stores under the application's type parsers", (it) => {
  it.effect("a snapshot loads back as it was saved", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore.SnapshotStore
      const streamId = `thing-${crypto.randomUUID()}`
      const state = { balance: 12.5, owner: "Ada", tags: ["a", { b: null }] }
      const before = Date.now()
      yield* store.save(streamId, { version: 7, schemaVersion: 3, state })
      const snapshot = Option.getOrThrow(yield* store.load(streamId))
      expect(snapshot).toMatchObject({ streamId, version: 7, schemaVersion: 3, state })
      expect(Math.abs(snapshot.takenAt.getTime() - before)).toBeLessThan(5_000)
    }))

  it.effect("a checkpoint beyond 2^53 loads back exactly", () =>
    Effect.gen(function*() {
      const store = yield* CheckpointStore.CheckpointStore
      const name = `parsers-${crypto.randomUUID()}`
      const position = Position.make(2n ** 62n + 3n, 2n ** 60n + 5n)
      yield* store.save(name, position)
      expect(yield* store.load(name)).toEqual(Option.some(position))
    }))

  it.effect("a parked event reads back whole, positions beyond 2^53 included", () =>
    Effect.gen(function*() {
      const store = yield* ProjectionStore.ProjectionStore
      const projection = `parsers-${crypto.randomUUID()}`
      const event = recordedEnvelope()
      const before = Date.now()
      yield* store.park(projection, event, "why")
      const [entry, ...others] = yield* store.parked(projection)
      expect(others).toEqual([])
      expect(entry.event).toEqual(event)
      expect(entry.reason).toBe("why")
      // The server's clock: within a few seconds of this process's.
      expect(Math.abs(entry.parkedAt.getTime() - before)).toBeLessThan(5_000)
    }))
})

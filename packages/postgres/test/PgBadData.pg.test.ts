/**
 * Stored rows that no longer decode: reading them gives a typed error naming the event, other
 * streams keep reading, and the row itself is never touched.
 */
import { expect, layer } from "@effect/vitest"
import { Aggregate, CommandHandler, Decider, EventCatalog, EventStore, ExpectedVersion, Position } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Chunk, Effect, Either, Option, Schema, Stream } from "effect"
import type pg from "pg"
import { connect, query } from "./rawPostgres.js"
import { storesLayer } from "./support.js"

const schema = uniqueSchemaName()

const Incremented = Schema.TaggedStruct("Incremented", { by: Schema.Number })
const Reset = Schema.TaggedStruct("Reset", {})
const TallyEvents = EventCatalog.make([Incremented, Reset])

type TallyEvent = typeof TallyEvents.schema.Type

const Tally = Aggregate.make({
  category: "tally",
  catalog: TallyEvents,
  decider: Decider.make({
    initialState: 0,
    decide: (command: { readonly by: number }, _state: number): ReadonlyArray<TallyEvent> => [
      { _tag: "Incremented", by: command.by }
    ],
    evolve: (state: number, event: TallyEvent) => (event._tag === "Incremented" ? state + event.by : 0)
  })
})

const newTally = () => `tally-${crypto.randomUUID()}`

const incremented = (by: number) => ({
  eventId: crypto.randomUUID(),
  type: "Incremented",
  schemaVersion: 1,
  data: { by },
  metadata: { correlationId: "c-1" }
})

/** Every column of a stream's rows, as text, to compare before and after reading. */
const rowsOf = (raw: pg.Client, streamId: string) =>
  query(
    raw,
    `SELECT e.global_position::text, e.transaction_id::text, e.stream_version::text, e.event_id::text, e.type,
            e.schema_version, e.data::text, e.metadata::text, e.recorded_at::text, s.version::text AS stream_at
       FROM "${schema}".events e JOIN "${schema}".streams s USING (stream_id)
      WHERE e.stream_id = $1 ORDER BY e.stream_version`,
    [streamId]
  )

/** Adds an event row behind the store's back, bumping the stream as an append would. */
const insertRaw = (raw: pg.Client, streamId: string, row: { type: string; schemaVersion: number; data: string }) =>
  Effect.gen(function*() {
    yield* query(raw, "BEGIN")
    const [stream] = yield* query<{ readonly version: string }>(
      raw,
      `INSERT INTO "${schema}".streams (stream_id, version) VALUES ($1, 1)
       ON CONFLICT (stream_id) DO UPDATE SET version = "${schema}".streams.version + 1 RETURNING version::text`,
      [streamId]
    )
    yield* query(
      raw,
      `INSERT INTO "${schema}".events (stream_id, stream_version, event_id, type, schema_version, data, metadata)
       VALUES ($1, $2, gen_random_uuid(), $3, $4, $5::jsonb, '{}')`,
      [streamId, stream.version, row.type, row.schemaVersion, row.data]
    )
    yield* query(raw, "COMMIT")
  })

layer(storesLayer(schema))("Postgres rows that no longer decode", (it) => {
  it.effect("a payload changed in the database gives EventDecodeError and is left as it is", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const broken = newTally()
      const healthy = newTally()
      yield* EventStore.append(broken, [incremented(1), incremented(2), incremented(3)], ExpectedVersion.NoStream)
      yield* EventStore.append(healthy, [incremented(5)], ExpectedVersion.NoStream)
      yield* query(
        raw,
        `UPDATE "${schema}".events SET data = '{"by":"x"}' WHERE stream_id = $1 AND stream_version = 2`,
        [broken]
      )
      const before = yield* rowsOf(raw, broken)
      const bad = before[1]

      const read = yield* Stream.runCollect(Stream.either(EventCatalog.readStream(TallyEvents, broken)))
      const [first, second] = Chunk.toReadonlyArray(read)
      expect(Chunk.size(read)).toBe(2)
      expect(Either.getOrThrow(first).data).toEqual({ _tag: "Incremented", by: 1 })
      const error = Either.flip(second).pipe(Either.getOrThrow)
      expect(error).toBeInstanceOf(EventCatalog.EventDecodeError)
      expect(error).toMatchObject({
        streamId: broken,
        streamVersion: 2,
        globalPosition: BigInt(bad.global_position as string),
        eventId: bad.event_id,
        type: "Incremented",
        schemaVersion: 1
      })
      expect(error.message).toContain(broken)
      expect(error.message).toContain("version 2")

      const loaded = yield* Effect.flip(Aggregate.load(Tally, broken))
      expect(loaded).toMatchObject({ _tag: "EventDecodeError", streamId: broken, streamVersion: 2 })
      const handled = yield* Effect.flip(CommandHandler.handle(Tally, broken, { by: 1 }))
      expect(handled).toMatchObject({ _tag: "EventDecodeError", streamVersion: 2 })
      const decodedLog = yield* Effect.flip(Stream.runDrain(EventCatalog.readAll(TallyEvents)))
      expect(decodedLog).toMatchObject({ _tag: "EventDecodeError", streamId: broken, streamVersion: 2 })

      // The reader goes on: other streams load, and the raw log still shows the stored payload.
      expect((yield* Aggregate.load(Tally, healthy)).state).toBe(5)
      const handledHealthy = yield* CommandHandler.handle(Tally, healthy, { by: 2 })
      expect(handledHealthy).toMatchObject({ version: 2, state: 7 })
      const stored = yield* Stream.runCollect(EventStore.readStream(broken))
      expect(Chunk.toReadonlyArray(stored).map((e) => e.data)).toEqual([{ by: 1 }, { by: "x" }, { by: 3 }])

      expect(yield* rowsOf(raw, broken)).toEqual(before)
      expect(Option.getOrThrow(yield* EventStore.streamVersion(broken))).toBe(3)
    }).pipe(Effect.scoped))

  it.effect("rows inserted behind the store's back: unknown schema version and non-object payloads give EventDecodeError", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const cases = [
        { row: { type: "Incremented", schemaVersion: 7, data: `{"by":1}` }, issue: "schema version 7" },
        { row: { type: "Incremented", schemaVersion: 1, data: `[1,2]` }, issue: "an array" },
        { row: { type: "Incremented", schemaVersion: 1, data: `"by"` }, issue: "not an object" },
        { row: { type: "Incremented", schemaVersion: 1, data: `{}` }, issue: "by" }
      ]
      for (const { issue, row } of cases) {
        const streamId = newTally()
        yield* EventStore.append(streamId, [incremented(1)], ExpectedVersion.NoStream)
        yield* insertRaw(raw, streamId, row)
        const before = yield* rowsOf(raw, streamId)
        const error = yield* Effect.flip(Aggregate.load(Tally, streamId))
        expect(error).toBeInstanceOf(EventCatalog.EventDecodeError)
        expect(error).toMatchObject({ streamId, streamVersion: 2, schemaVersion: row.schemaVersion })
        expect((error as EventCatalog.EventDecodeError).issue).toContain(issue)
        expect(yield* rowsOf(raw, streamId)).toEqual(before)
        // The store itself reads the row back as stored.
        const stored = yield* Stream.runCollect(EventStore.readStream(streamId, { from: 2 }))
        expect(Chunk.toReadonlyArray(stored).map((e) => e.data)).toEqual([JSON.parse(row.data)])
      }
    }).pipe(Effect.scoped))

  it.effect("an event type the catalog does not know gives UnknownEventType; the catalog's log reader skips it", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const streamId = newTally()
      yield* EventStore.append(
        streamId,
        [incremented(1), { ...incremented(0), type: "Mystery", data: { what: "?" } }, incremented(2)],
        ExpectedVersion.NoStream
      )
      const before = yield* rowsOf(raw, streamId)
      const error = yield* Effect.flip(Stream.runDrain(EventCatalog.readStream(TallyEvents, streamId)))
      expect(error).toBeInstanceOf(EventCatalog.UnknownEventType)
      expect(error).toMatchObject({
        streamId,
        streamVersion: 2,
        type: "Mystery",
        eventId: before[1].event_id,
        knownTypes: ["Incremented", "Reset"]
      })
      expect(yield* Effect.flip(Aggregate.load(Tally, streamId))).toMatchObject({
        _tag: "UnknownEventType",
        type: "Mystery"
      })
      // From just before this stream's append (the earlier tests left rows that do not decode).
      const first = before[0]
      const after = Position.make(BigInt(first.transaction_id as string), BigInt(first.global_position as string) - 1n)
      const known = yield* Stream.runCollect(
        EventCatalog.readAll(TallyEvents, { after, filter: { types: ["Incremented", "Mystery"] } })
      )
      expect(Chunk.toReadonlyArray(known).map((e) => [e.streamId, e.streamVersion])).toEqual([[streamId, 1], [
        streamId,
        3
      ]])
      expect(yield* rowsOf(raw, streamId)).toEqual(before)
    }).pipe(Effect.scoped))
})

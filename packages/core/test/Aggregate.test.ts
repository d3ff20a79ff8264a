import { describe, expect, it } from "@effect/vitest"
import {
  Aggregate,
  CommandHandler,
  Decider,
  EventCatalog,
  EventStore,
  ExpectedVersion,
  SnapshotStore
} from "@facta/core"
import { Chunk, Effect, Layer, Option, Schema, Stream, TestClock } from "effect"
import { Counter, counterDecider, CounterEvents, newStreamId, SnapshottedCounter } from "./fixtures/Counter.js"

const stores = Layer.merge(EventStore.layerMemory, SnapshotStore.layerMemory)

const increment = (by: number) => ({ _tag: "Increment" as const, by })

/** Runs `n` increments of 1 on a fresh snapshotted counter stream and returns its id. */
const counterWith = (n: number) =>
  Effect.gen(function*() {
    const streamId = newStreamId()
    for (let i = 0; i < n; i++) yield* CommandHandler.handle(SnapshottedCounter, streamId, increment(1))
    return streamId
  })

describe("Aggregate.load", () => {
  it.effect("loads an absent stream as the initial state at version 0", () =>
    Effect.gen(function*() {
      const loaded = yield* Aggregate.load(Counter, newStreamId())
      expect(loaded).toMatchObject({ state: { value: 0 }, version: 0, eventsFolded: 0 })
      expect(Option.isNone(loaded.snapshotVersion)).toBe(true)
    }).pipe(Effect.provide(stores)))

  it.effect("rejects stream ids of another category", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Aggregate.load(Counter, "order-1"))
      expect(error._tag).toBe("InvalidStreamId")
      const empty = yield* Effect.flip(Aggregate.load(Counter, "counter-"))
      expect(empty._tag).toBe("InvalidStreamId")
    }).pipe(Effect.provide(stores)))

  it.effect("snapshots every N events and loads from the latest snapshot plus the events after it", () =>
    Effect.gen(function*() {
      const streamId = yield* counterWith(12)
      const snapshot = yield* Effect.flatMap(SnapshotStore.SnapshotStore, (s) => s.load(streamId))
      expect(Option.map(snapshot, (s) => [s.version, s.state])).toEqual(Option.some([10, { value: 10 }]))
      const loaded = yield* Aggregate.load(SnapshottedCounter, streamId)
      expect(loaded).toMatchObject({
        state: { value: 12 },
        version: 12,
        eventsFolded: 2,
        snapshotVersion: Option.some(10)
      })
    }).pipe(Effect.provide(stores)))

  it.effect("equals a full replay when loaded through a snapshot", () =>
    Effect.gen(function*() {
      const streamId = yield* counterWith(23)
      const viaSnapshot = yield* Aggregate.load(SnapshottedCounter, streamId)
      const full = yield* Aggregate.load(Counter, streamId)
      expect(viaSnapshot.snapshotVersion).toEqual(Option.some(20))
      expect(viaSnapshot.state).toEqual(full.state)
      expect(viaSnapshot.version).toBe(full.version)
    }).pipe(Effect.provide(stores)))

  it.effect("ignores a snapshot of another state schema version and rebuilds from events", () =>
    Effect.gen(function*() {
      const streamId = yield* counterWith(6)
      const store = yield* SnapshotStore.SnapshotStore
      yield* store.save(streamId, { version: 6, schemaVersion: 2, state: { value: 999 } })
      const loaded = yield* Aggregate.load(SnapshottedCounter, streamId)
      expect(loaded).toMatchObject({ state: { value: 6 }, version: 6, snapshotVersion: Option.none() })
    }).pipe(Effect.provide(stores)))

  it.effect("ignores a snapshot above the stream's version", () =>
    Effect.gen(function*() {
      const streamId = yield* counterWith(3)
      const store = yield* SnapshotStore.SnapshotStore
      yield* store.save(streamId, { version: 50, schemaVersion: 1, state: { value: 999 } })
      const loaded = yield* Aggregate.load(SnapshottedCounter, streamId)
      expect(loaded).toMatchObject({ state: { value: 3 }, version: 3, snapshotVersion: Option.none() })
    }).pipe(Effect.provide(stores)))

  it.effect("ignores a snapshot that does not decode", () =>
    Effect.gen(function*() {
      const streamId = yield* counterWith(7)
      const store = yield* SnapshotStore.SnapshotStore
      yield* store.save(streamId, { version: 7, schemaVersion: 1, state: { value: "seven" } })
      const loaded = yield* Aggregate.load(SnapshottedCounter, streamId)
      expect(loaded).toMatchObject({ state: { value: 7 }, version: 7, snapshotVersion: Option.none() })
    }).pipe(Effect.provide(stores)))

  it.effect("never lets a lower snapshot version overwrite a higher one", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      const store = yield* SnapshotStore.SnapshotStore
      yield* store.save(streamId, { version: 10, schemaVersion: 1, state: { value: 10 } })
      yield* store.save(streamId, { version: 5, schemaVersion: 1, state: { value: 5 } })
      const snapshot = yield* store.load(streamId)
      expect(Option.map(snapshot, (s) => s.version)).toEqual(Option.some(10))
    }).pipe(Effect.provide(stores)))

  it.effect("works without a SnapshotStore in the context", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      for (let i = 0; i < 11; i++) yield* CommandHandler.handle(SnapshottedCounter, streamId, increment(1))
      const loaded = yield* Aggregate.load(SnapshottedCounter, streamId)
      expect(loaded).toMatchObject({ state: { value: 11 }, version: 11, snapshotVersion: Option.none() })
    }).pipe(Effect.provide(EventStore.layerMemory)))

  it.effect("loads the state as of a stream version, through the latest snapshot when it is at or below it", () =>
    Effect.gen(function*() {
      const streamId = yield* counterWith(17)
      const atSixteen = yield* Aggregate.load(SnapshottedCounter, streamId, { version: 16 })
      expect(atSixteen).toMatchObject({ state: { value: 16 }, version: 16, snapshotVersion: Option.some(15) })
      // The latest snapshot (15) is past version 7: replay from the start.
      const atSeven = yield* Aggregate.load(SnapshottedCounter, streamId, { version: 7 })
      expect(atSeven).toMatchObject({ state: { value: 7 }, version: 7, snapshotVersion: Option.none() })
      const atThree = yield* Aggregate.load(SnapshottedCounter, streamId, { version: 3 })
      expect(atThree).toMatchObject({ state: { value: 3 }, version: 3, snapshotVersion: Option.none() })
      const beyond = yield* Aggregate.load(SnapshottedCounter, streamId, { version: 1000 })
      expect(beyond).toMatchObject({ state: { value: 17 }, version: 17 })
      const atZero = yield* Aggregate.load(SnapshottedCounter, streamId, { version: 0 })
      expect(atZero).toMatchObject({ state: { value: 0 }, version: 0 })
    }).pipe(Effect.provide(stores)))

  it.effect("loads the state as of a time: the events recorded at or before it", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      yield* TestClock.setTime(Date.UTC(2026, 0, 1, 9))
      yield* CommandHandler.handle(Counter, streamId, increment(1))
      yield* TestClock.setTime(Date.UTC(2026, 0, 1, 10))
      yield* CommandHandler.handle(Counter, streamId, increment(10))
      yield* TestClock.setTime(Date.UTC(2026, 0, 1, 11))
      yield* CommandHandler.handle(Counter, streamId, increment(20))
      const at = (hour: number, minute = 0) =>
        Aggregate.load(Counter, streamId, { time: new Date(Date.UTC(2026, 0, 1, hour, minute)) })
      expect((yield* at(8)).version).toBe(0)
      expect(yield* at(9)).toMatchObject({ state: { value: 1 }, version: 1 })
      expect(yield* at(10, 30)).toMatchObject({ state: { value: 11 }, version: 2 })
      expect(yield* at(12)).toMatchObject({ state: { value: 31 }, version: 3 })
    }).pipe(Effect.provide(stores)))

  it.effect("fails with EventDecodeError when a stored event no longer decodes", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      yield* EventStore.append(streamId, [
        {
          eventId: crypto.randomUUID(),
          type: "Incremented",
          schemaVersion: 3,
          data: { by: "x", note: "" },
          metadata: {}
        }
      ], ExpectedVersion.NoStream)
      const error = yield* Effect.flip(Aggregate.load(Counter, streamId))
      expect(error._tag).toBe("EventDecodeError")
    }).pipe(Effect.provide(stores)))

  it.effect("folds several pages of old versions and renamed types to the state the catalog decodes", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      const stored = (type: string, schemaVersion: number, data: object) => ({
        eventId: crypto.randomUUID(),
        type,
        schemaVersion,
        data,
        metadata: {}
      })
      // 2,500 events, three pages, every stored form in turn.
      const forms = (i: number) => [
        stored("Incremented", 1, { step: i % 7 }),
        stored("Incremented", 2, { by: i % 11 }),
        stored("Incremented", 3, { by: 1, note: "" }),
        stored("CounterBumped", 3, { by: 2, note: "renamed" }),
        stored("Reset", 1, {})
      ]
      const events = Array.from({ length: 2_500 }, (_, i) => forms(i)[i % 5])
      yield* EventStore.append(streamId, events, ExpectedVersion.NoStream)
      const decoded = yield* Stream.runCollect(EventCatalog.readStream(CounterEvents, streamId))
      const replayed = Chunk.reduce(
        decoded,
        counterDecider.initialState,
        (state, event) => counterDecider.evolve(state, event.data)
      )
      const loaded = yield* Aggregate.load(Counter, streamId)
      expect(loaded).toMatchObject({ state: replayed, version: 2_500, eventsFolded: 2_500 })
      expect(yield* Aggregate.load(Counter, streamId, { version: 1_234 })).toMatchObject({
        version: 1_234,
        eventsFolded: 1_234
      })
    }).pipe(Effect.provide(stores)))

  it.effect("names the stream, version and position of an event that does not decode in the middle of a page", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      const event = (data: object) => ({
        eventId: crypto.randomUUID(),
        type: "Incremented",
        schemaVersion: 3,
        data,
        metadata: {}
      })
      yield* EventStore.append(streamId, [
        event({ by: 1, note: "" }),
        event({ by: 2, note: "" }),
        event({ by: 2.5, note: "" }),
        event({ by: 3, note: "" })
      ], ExpectedVersion.NoStream)
      const [bad] = yield* Effect.flatMap(
        EventStore.EventStore,
        (store) => store.readStreamBatch(streamId, { from: 3, limit: 1 })
      )
      const error = yield* Effect.flip(Aggregate.load(Counter, streamId))
      expect(error).toMatchObject({
        _tag: "EventDecodeError",
        streamId,
        streamVersion: 3,
        globalPosition: bad.globalPosition,
        eventId: bad.eventId
      })
    }).pipe(Effect.provide(stores)))

  it.effect("rejects a stored payload whose own _tag names another type, as Schema does", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      // Payloads are stored without their tag; one that carries a tag keeps it when decoded.
      yield* EventStore.append(streamId, [
        {
          eventId: crypto.randomUUID(),
          type: "Incremented",
          schemaVersion: 3,
          data: { _tag: "Reset", by: 1, note: "" },
          metadata: {}
        }
      ], ExpectedVersion.NoStream)
      const error = yield* Effect.flip(Aggregate.load(Counter, streamId))
      expect(error).toMatchObject({ _tag: "EventDecodeError", streamVersion: 1 })
    }).pipe(Effect.provide(stores)))

  it.effect("folds an event the fast path rejected when it decodes on the second reading, and goes on", () =>
    Effect.gen(function*() {
      // A refinement that fails only the first time it runs.
      let checks = 0
      const Noted = Schema.TaggedStruct("Noted", { text: Schema.String.pipe(Schema.filter(() => ++checks > 1)) })
      const Notes = Aggregate.make({
        category: "notes",
        catalog: EventCatalog.make([Noted]),
        decider: Decider.make({
          initialState: [] as ReadonlyArray<string>,
          decide: () => [],
          evolve: (state: ReadonlyArray<string>, event: typeof Noted.Type) => [...state, event.text]
        })
      })
      const streamId = `notes-${crypto.randomUUID()}`
      yield* EventStore.append(
        streamId,
        ["a", "b", "c"].map((text) => ({
          eventId: crypto.randomUUID(),
          type: "Noted",
          schemaVersion: 1,
          data: { text },
          metadata: {}
        })),
        ExpectedVersion.NoStream
      )
      expect(yield* Aggregate.load(Notes, streamId)).toMatchObject({
        state: ["a", "b", "c"],
        version: 3,
        eventsFolded: 3
      })
    }).pipe(Effect.provide(stores)))
})

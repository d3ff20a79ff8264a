/**
 * Snapshots in Postgres behave as in memory (one contract, run against both), and loading an
 * aggregate through a Postgres snapshot gives the same state as replaying every event.
 */
import { expect, layer, type Vitest } from "@effect/vitest"
import { Aggregate, CommandHandler, Decider, EventCatalog, SnapshotStore, StreamId } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Cause, Effect, Exit, Option, Schema } from "effect"
import { connect, query } from "./rawPostgres.js"
import { storesLayer } from "./support.js"

const schema = uniqueSchemaName()

/** The snapshot store's contract: the same cases for every implementation. */
const snapshotContract = (it: Vitest.MethodsNonLive<SnapshotStore.SnapshotStore>) => {
  const stream = () => `counter-${crypto.randomUUID()}`

  it.effect("loads nothing for a stream without a snapshot", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore.SnapshotStore
      expect(yield* store.load(stream())).toEqual(Option.none())
    }))

  it.effect("saves and loads a snapshot", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore.SnapshotStore
      const streamId = stream()
      const state = { value: 7, history: [1, 2, 4], nested: { snake_key: "s", camelKey: null } }
      yield* store.save(streamId, { version: 3, schemaVersion: 2, state })
      const loaded = Option.getOrThrow(yield* store.load(streamId))
      expect(loaded).toMatchObject({ streamId, version: 3, schemaVersion: 2, state })
      expect(loaded.takenAt).toBeInstanceOf(Date)
    }))

  it.effect("a lower version never overwrites a higher one; the same or a higher version does", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore.SnapshotStore
      const streamId = stream()
      yield* store.save(streamId, { version: 10, schemaVersion: 1, state: "ten" })
      yield* store.save(streamId, { version: 9, schemaVersion: 1, state: "nine" })
      yield* store.save(streamId, { version: 1, schemaVersion: 2, state: "one" })
      expect(Option.map(yield* store.load(streamId), (s) => [s.version, s.state])).toEqual(Option.some([10, "ten"]))
      yield* store.save(streamId, { version: 10, schemaVersion: 2, state: "ten again" })
      expect(Option.map(yield* store.load(streamId), (s) => [s.version, s.schemaVersion, s.state])).toEqual(
        Option.some([10, 2, "ten again"])
      )
      yield* store.save(streamId, { version: 15, schemaVersion: 1, state: "fifteen" })
      expect(Option.map(yield* store.load(streamId), (s) => [s.version, s.state])).toEqual(Option.some([15, "fifteen"]))
    }))

  it.effect("removes a snapshot; removing an absent one is a no-op", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore.SnapshotStore
      const streamId = stream()
      yield* store.save(streamId, { version: 5, schemaVersion: 1, state: { v: 5 } })
      yield* store.remove(streamId)
      expect(yield* store.load(streamId)).toEqual(Option.none())
      yield* store.remove(streamId)
      // After a removal any version may be saved again, even a lower one.
      yield* store.save(streamId, { version: 2, schemaVersion: 1, state: { v: 2 } })
      expect(Option.map(yield* store.load(streamId), (s) => s.version)).toEqual(Option.some(2))
    }))

  it.effect("keeps streams apart", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore.SnapshotStore
      const [a, b] = [stream(), stream()]
      yield* store.save(a, { version: 1, schemaVersion: 1, state: "a" })
      yield* store.save(b, { version: 2, schemaVersion: 1, state: "b" })
      expect(Option.map(yield* store.load(a), (s) => s.state)).toEqual(Option.some("a"))
      expect(Option.map(yield* store.load(b), (s) => s.state)).toEqual(Option.some("b"))
    }))

  it.effect("rejects invalid stream ids with InvalidStreamId", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore.SnapshotStore
      for (const bad of ["", "x\u0000y", "a".repeat(513)]) {
        expect(yield* Effect.flip(store.save(bad, { version: 1, schemaVersion: 1, state: 1 }))).toBeInstanceOf(
          StreamId.InvalidStreamId
        )
        expect(yield* Effect.flip(store.load(bad))).toBeInstanceOf(StreamId.InvalidStreamId)
        expect(yield* Effect.flip(store.remove(bad))).toBeInstanceOf(StreamId.InvalidStreamId)
      }
    }))

  it.effect("a state that is not JSON fails with SnapshotStoreUnavailable, not a defect", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore.SnapshotStore
      const streamId = stream()
      const exit = yield* Effect.exit(store.save(streamId, { version: 1, schemaVersion: 1, state: { big: 1n } }))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
        expect(Option.getOrThrow(Cause.failureOption(exit.cause))).toBeInstanceOf(
          SnapshotStore.SnapshotStoreUnavailable
        )
      }
      expect(yield* store.load(streamId)).toEqual(Option.none())
    }))
}

layer(SnapshotStore.layerMemory)("SnapshotStore (memory)", (it) => {
  snapshotContract(it)
})

layer(storesLayer(schema))("SnapshotStore (Postgres)", (it) => {
  snapshotContract(it)
})

// A small aggregate: a counter snapshotted every 5 events.
const Added = Schema.TaggedStruct("Added", { amount: Schema.Number })
const CounterEvents = EventCatalog.make([Added])
const CounterState = Schema.Struct({ total: Schema.Number, count: Schema.Number })
const counterDecider = Decider.make({
  initialState: { total: 0, count: 0 },
  decide: (
    command: { readonly amount: number },
    _state: typeof CounterState.Type
  ): ReadonlyArray<typeof Added.Type> => [
    { _tag: "Added", amount: command.amount }
  ],
  evolve: (state: typeof CounterState.Type, event: typeof Added.Type) => ({
    total: state.total + event.amount,
    count: state.count + 1
  })
})
const Snapshotted = Aggregate.make({
  category: "counter",
  catalog: CounterEvents,
  decider: counterDecider,
  snapshots: { schema: CounterState, every: 5 }
})
const Replayed = Aggregate.make({ category: "counter", catalog: CounterEvents, decider: counterDecider })

const aggregateSchema = uniqueSchemaName()

layer(storesLayer(aggregateSchema))("Aggregate.load through a Postgres snapshot", (it) => {
  /** Handles `n` commands on a fresh counter stream; returns its id. */
  const counterWith = (n: number) =>
    Effect.gen(function*() {
      const streamId = `counter-${crypto.randomUUID()}`
      for (let i = 1; i <= n; i++) yield* CommandHandler.handle(Snapshotted, streamId, { amount: i })
      return streamId
    })

  it.effect("equals a full replay, at the latest version and at earlier ones", () =>
    Effect.gen(function*() {
      const streamId = yield* counterWith(23)
      const store = yield* SnapshotStore.SnapshotStore
      const snapshot = Option.getOrThrow(yield* store.load(streamId))
      expect(snapshot).toMatchObject({ version: 20, schemaVersion: 1, state: { total: 210, count: 20 } })

      const viaSnapshot = yield* Aggregate.load(Snapshotted, streamId)
      const replayed = yield* Aggregate.load(Replayed, streamId)
      expect(viaSnapshot).toMatchObject({ snapshotVersion: Option.some(20), eventsFolded: 3 })
      expect(replayed).toMatchObject({ snapshotVersion: Option.none(), eventsFolded: 23 })
      expect(viaSnapshot.state).toEqual(replayed.state)
      expect(viaSnapshot.state).toEqual({ total: 276, count: 23 })
      expect(viaSnapshot.version).toBe(replayed.version)
      for (const version of [0, 4, 5, 12, 20, 21]) {
        const earlier = yield* Aggregate.load(Snapshotted, streamId, { version })
        const earlierReplayed = yield* Aggregate.load(Replayed, streamId, { version })
        expect(earlier.state, `as of ${version}`).toEqual(earlierReplayed.state)
        expect(earlier.version, `as of ${version}`).toBe(earlierReplayed.version)
      }
    }))

  it.effect("a snapshot that no longer decodes, or claims a version the stream never reached, is ignored", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const garbled = yield* counterWith(7)
      yield* query(raw, `UPDATE "${aggregateSchema}".snapshots SET state = '{"total":"lots"}' WHERE stream_id = $1`, [
        garbled
      ])
      const store = yield* SnapshotStore.SnapshotStore
      expect(Option.map(yield* store.load(garbled), (s) => [s.version, s.state])).toEqual(
        Option.some([5, { total: "lots" }])
      )
      const loaded = yield* Aggregate.load(Snapshotted, garbled)
      expect(loaded).toMatchObject({ state: { total: 28, count: 7 }, version: 7, snapshotVersion: Option.none() })

      const ahead = yield* counterWith(3)
      yield* store.save(ahead, { version: 99, schemaVersion: 1, state: { total: 1_000, count: 99 } })
      const loadedAhead = yield* Aggregate.load(Snapshotted, ahead)
      expect(loadedAhead).toMatchObject({ state: { total: 6, count: 3 }, version: 3 })
    }).pipe(Effect.scoped))
})

import { Aggregate, CommandHandler, EventStore, ExpectedVersion, SnapshotStore } from "@facta/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Ref, Schedule, Stream } from "effect"
import type { CounterEvent } from "./fixtures/Counter.js"
import { contendedCounter, Counter, currentStream, newStreamId, SnapshottedCounter } from "./fixtures/Counter.js"

const stores = Layer.merge(EventStore.layerMemory, SnapshotStore.layerMemory)
const increment = (by: number) => ({ _tag: "Increment" as const, by })

describe("CommandHandler.handle", () => {
  it.effect("appends the decided events and returns them with the new version and state", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      const first = yield* CommandHandler.handle(Counter, streamId, increment(2))
      expect(first).toMatchObject({ events: [{ _tag: "Incremented", by: 2 }], version: 1, state: { value: 2 }, attempts: 1 })
      const second = yield* CommandHandler.handle(Counter, streamId, increment(3))
      expect(second).toMatchObject({ version: 2, state: { value: 5 } })
      expect(second.eventIds).toHaveLength(1)
      expect(Option.getOrThrow(yield* EventStore.streamVersion(streamId))).toBe(2)
    }).pipe(Effect.provide(stores)))

  it.effect("surfaces domain errors typed and appends nothing", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      yield* CommandHandler.handle(Counter, streamId, increment(90))
      const error = yield* Effect.flip(CommandHandler.handle(Counter, streamId, increment(20)))
      expect(error).toMatchObject({ _tag: "TooLarge", value: 90, by: 20 })
      expect(Option.getOrThrow(yield* EventStore.streamVersion(streamId))).toBe(1)
    }).pipe(Effect.provide(stores)))

  it.effect("appends nothing when decide returns no events", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      const result = yield* CommandHandler.handle(Counter, streamId, { _tag: "Reset" })
      expect(result).toMatchObject({ events: [], version: 0, position: undefined })
      expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.none())
    }).pipe(Effect.provide(stores)))

  it.effect("records correlation, causation (the command id) and user on every event", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      const commandId = crypto.randomUUID()
      yield* CommandHandler.handle(Counter, streamId, increment(1), {
        context: { commandId, correlationId: "req-7", userId: "alice", metadata: { tenant: "acme" } }
      })
      yield* CommandHandler.handle(Counter, streamId, increment(1))
      const events = Array.from(yield* Stream.runCollect(EventStore.readStream(streamId)))
      expect(events[0].metadata).toEqual({ correlationId: "req-7", causationId: commandId, userId: "alice", tenant: "acme" })
      // Without a context, the command gets a fresh id that is both correlation and causation.
      expect(events[1].metadata.causationId).toMatch(/^[0-9a-f-]{36}$/)
      expect(events[1].metadata.correlationId).toBe(events[1].metadata.causationId)
    }).pipe(Effect.provide(stores)))

  it.effect("reloads and decides again after a concurrency conflict", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      yield* Ref.set(currentStream, streamId)
      const rivals = yield* Ref.make(1)
      const result = yield* CommandHandler.handle(contendedCounter(rivals), streamId, increment(1), {
        retry: Schedule.recurs(3)
      })
      expect(result).toMatchObject({ attempts: 2, version: 2, state: { value: 2 } })
    }).pipe(Effect.provide(stores)))

  it.effect("surfaces the conflict, with the actual version, when retries run out", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      yield* Ref.set(currentStream, streamId)
      const rivals = yield* Ref.make(10)
      const error = yield* Effect.flip(
        CommandHandler.handle(contendedCounter(rivals), streamId, increment(1), { retry: Schedule.recurs(2) })
      )
      expect(error._tag).toBe("ConcurrencyConflict")
      if (error._tag !== "ConcurrencyConflict") return
      expect(error.actual).toBe(3)
      expect(error.expected).toEqual(ExpectedVersion.Exact(2))
    }).pipe(Effect.provide(stores)))

  it.live("retries with the default jittered schedule", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      yield* Ref.set(currentStream, streamId)
      const rivals = yield* Ref.make(2)
      const result = yield* CommandHandler.handle(contendedCounter(rivals), streamId, increment(1))
      expect(result.attempts).toBe(3)
    }).pipe(Effect.provide(stores)))

  it.effect("settles concurrent commands on one stream: every increment lands exactly once", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      yield* Effect.forEach(
        Array.from({ length: 20 }, () => increment(1)),
        (command) => CommandHandler.handle(Counter, streamId, command, { retry: Schedule.recurs(50) }),
        { concurrency: "unbounded" }
      )
      const loaded = yield* Aggregate.load(Counter, streamId)
      expect(loaded).toMatchObject({ state: { value: 20 }, version: 20 })
    }).pipe(Effect.provide(stores)))

  it.effect("does not fail the command when the snapshot write fails", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      for (let i = 0; i < 6; i++) yield* CommandHandler.handle(SnapshottedCounter, streamId, increment(1))
      const loaded = yield* Aggregate.load(SnapshottedCounter, streamId)
      expect(loaded).toMatchObject({ state: { value: 6 }, version: 6, snapshotVersion: Option.none() })
    }).pipe(
      Effect.provide(Layer.merge(EventStore.layerMemory, Layer.succeed(SnapshotStore.SnapshotStore, failingSnapshots)))
    ))

  it.effect("binds a handler to an aggregate with defaults", () =>
    Effect.gen(function*() {
      const handle = CommandHandler.make(Counter, { context: { userId: "bob" } })
      const streamId = newStreamId()
      yield* handle(streamId, increment(4))
      const [event] = Array.from(yield* Stream.runCollect(EventStore.readStream(streamId)))
      expect(event.metadata.userId).toBe("bob")
    }).pipe(Effect.provide(stores)))
})

const failingSnapshots: SnapshotStore.SnapshotStoreShape = {
  save: () => Effect.fail(new SnapshotStore.SnapshotStoreUnavailable({ operation: "save", cause: "disk full" })),
  load: () => Effect.fail(new SnapshotStore.SnapshotStoreUnavailable({ operation: "load", cause: "disk full" })),
  remove: () => Effect.void
}

export type { CounterEvent }

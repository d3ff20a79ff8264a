import { describe, expect, it } from "@effect/vitest"
import { Aggregate, CommandHandler, EventStore, ExpectedVersion, SnapshotStore } from "@facta/core"
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
      expect(first).toMatchObject({
        events: [{ _tag: "Incremented", by: 2 }],
        version: 1,
        state: { value: 2 },
        attempts: 1
      })
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
      expect(events[0].metadata).toEqual({
        correlationId: "req-7",
        causationId: commandId,
        userId: "alice",
        tenant: "acme"
      })
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

describe("CommandHandler.handle with an idempotency key", () => {
  const keyed = (idempotencyKey: string) => ({ context: { idempotencyKey } })

  it.effect("derives the events' ids from the key: the same ids on every run, UUID v5", () =>
    Effect.gen(function*() {
      const first = CommandHandler.eventIdFor("order-42/pay", 0)
      expect(first).toBe(CommandHandler.eventIdFor("order-42/pay", 0))
      expect(first).not.toBe(CommandHandler.eventIdFor("order-42/pay", 1))
      expect(first).not.toBe(CommandHandler.eventIdFor("order-42/pay2", 0))
      expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      const streamId = newStreamId()
      const result = yield* CommandHandler.handle(Counter, streamId, increment(2), keyed("k-1"))
      expect(result.eventIds).toEqual([CommandHandler.eventIdFor("k-1", 0)])
      expect(result.repeated).toBe(false)
    }).pipe(Effect.provide(stores)))

  it.effect("a command sent again returns what it recorded, decides nothing and appends nothing", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      const original = yield* CommandHandler.handle(Counter, streamId, increment(5), keyed("pay-1"))
      yield* CommandHandler.handle(Counter, streamId, increment(1))
      // Retried after a lost acknowledgement: even though the state moved on since, and deciding
      // again would record a second increment, it returns the first result.
      const again = yield* CommandHandler.handle(Counter, streamId, increment(5), keyed("pay-1"))
      expect(again).toMatchObject({
        repeated: true,
        attempts: 0,
        events: original.events,
        eventIds: original.eventIds,
        version: 1,
        state: { value: 5 },
        position: original.position
      })
      expect(Option.getOrThrow(yield* EventStore.streamVersion(streamId))).toBe(2)
    }).pipe(Effect.provide(stores)))

  it.effect("two copies of a command racing record it once; both return its events", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      const [a, b] = yield* Effect.all([
        CommandHandler.handle(Counter, streamId, increment(3), keyed("race")),
        CommandHandler.handle(Counter, streamId, increment(3), keyed("race"))
      ], { concurrency: 2 })
      expect(a.eventIds).toEqual(b.eventIds)
      expect(Option.getOrThrow(yield* EventStore.streamVersion(streamId))).toBe(1)
    }).pipe(Effect.provide(stores)))

  it.effect("a key reused on another stream is a DuplicateEventId naming the stream that has it", () =>
    Effect.gen(function*() {
      const [one, two] = [newStreamId(), newStreamId()]
      yield* CommandHandler.handle(Counter, one, increment(1), keyed("shared"))
      const error = yield* Effect.flip(CommandHandler.handle(Counter, two, increment(1), keyed("shared")))
      expect(error._tag).toBe("DuplicateEventId")
      expect(error.message).toContain(one)
      expect(yield* EventStore.streamVersion(two)).toEqual(Option.none())
    }).pipe(Effect.provide(stores)))

  it.effect("different keys are different commands", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      yield* CommandHandler.handle(Counter, streamId, increment(1), keyed("a"))
      const b = yield* CommandHandler.handle(Counter, streamId, increment(1), keyed("b"))
      expect(b).toMatchObject({ repeated: false, version: 2, state: { value: 2 } })
    }).pipe(Effect.provide(stores)))
})

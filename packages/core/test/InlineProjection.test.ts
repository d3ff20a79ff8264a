import { describe, expect, it } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import { EventCatalog, EventStore, ExpectedVersion, InlineProjection, Projection } from "@facta/core"
import { Effect, Option, Schema, Stream } from "effect"

const Opened = Schema.TaggedStruct("Opened", { name: Schema.String })
const Renamed = Schema.TaggedStruct("Renamed", { name: Schema.String })
const Events = EventCatalog.make([Opened, Renamed])

const newEvent = (type: string, data: unknown): RecordedEvent.NewEvent => ({
  eventId: crypto.randomUUID(),
  type,
  schemaVersion: 1,
  data,
  metadata: {}
})

/** A name index kept inline: names must be unique, so a taken name rejects the append. */
const nameIndex = () => {
  const names = new Map<string, string>()
  const calls: Array<number> = []
  const projection = Projection.make({
    name: "names",
    catalog: Events,
    handle: (event) => Effect.void.pipe(Effect.andThen(() => void event)),
    handleBatch: (events) =>
      Effect.gen(function*() {
        calls.push(events.length)
        for (const event of events) {
          const owner = names.get(event.data.name)
          if (owner !== undefined && owner !== event.streamId) {
            return yield* Effect.fail(`the name ${event.data.name} is taken by ${owner}`)
          }
        }
        for (const event of events) names.set(event.data.name, event.streamId)
      })
  })
  return {
    names,
    calls,
    projection: {
      ...projection,
      handle: (event: RecordedEvent.RecordedEvent<never>) => projection.handleBatch!([event])
    }
  }
}

const count = (streamId: string) => EventStore.readStream(streamId).pipe(Stream.runCount)

describe("InlineProjection.layerMemory", () => {
  it.effect("the read model is updated inside the append, with the recorded positions", () => {
    const index = nameIndex()
    return Effect.gen(function*() {
      const seen: Array<RecordedEvent.RecordedEvent> = []
      const watcher = Projection.make({
        name: "watcher",
        catalog: Events,
        handle: (event) => Effect.sync(() => void seen.push(event))
      })
      const store = yield* InlineProjection.makeMemory([index.projection, watcher])
      const result = yield* store.append("thing-1", [newEvent("Opened", { name: "ada" })], ExpectedVersion.NoStream)
      expect(index.names.get("ada")).toBe("thing-1")
      expect(seen).toHaveLength(1)
      expect(seen[0]).toMatchObject({ streamId: "thing-1", streamVersion: 1, data: { _tag: "Opened", name: "ada" } })
      expect(seen[0].globalPosition).toBe(result.lastGlobalPosition)
      expect(seen[0].transactionId).toBe(result.position.transactionId)
    })
  })

  it.effect("a failing inline projection rejects the append typed, and no event is recorded", () => {
    const index = nameIndex()
    return Effect.gen(function*() {
      yield* EventStore.append("thing-1", [newEvent("Opened", { name: "ada" })], ExpectedVersion.NoStream)
      const error = yield* Effect.flip(
        EventStore.append(
          "thing-2",
          [newEvent("Opened", { name: "bob" }), newEvent("Renamed", { name: "ada" })],
          ExpectedVersion.NoStream
        )
      )
      expect(error).toBeInstanceOf(Projection.InlineProjectionFailed)
      expect(error).toMatchObject({
        projection: "names",
        streamId: "thing-2",
        cause: "the name ada is taken by thing-1"
      })
      expect(yield* count("thing-2")).toBe(0)
      expect(yield* EventStore.streamVersion("thing-2")).toEqual(Option.none())
      expect(index.names.has("bob")).toBe(false)
      // The stream is free: a valid append goes through at the same version.
      yield* EventStore.append("thing-2", [newEvent("Opened", { name: "bob" })], ExpectedVersion.NoStream)
      expect(index.names.get("bob")).toBe("thing-2")
    }).pipe(Effect.provide(InlineProjection.layerMemory([index.projection])))
  })

  it.effect("an event the projection cannot decode rejects the append with the decode error as cause", () => {
    const index = nameIndex()
    return Effect.gen(function*() {
      const error = yield* Effect.flip(
        EventStore.append("thing-9", [newEvent("Opened", { name: 42 })], ExpectedVersion.NoStream)
      )
      expect(error).toMatchObject({ _tag: "InlineProjectionFailed", cause: { _tag: "EventDecodeError" } })
      expect(yield* count("thing-9")).toBe(0)
    }).pipe(Effect.provide(InlineProjection.layerMemory([index.projection])))
  })

  it.effect("a repeated append does not run the projections again; a conflicting one runs none", () => {
    const index = nameIndex()
    return Effect.gen(function*() {
      const events = [newEvent("Opened", { name: "ada" }), newEvent("Renamed", { name: "ada2" })]
      yield* EventStore.append("thing-1", events, ExpectedVersion.NoStream)
      const repeat = yield* EventStore.append("thing-1", events, ExpectedVersion.NoStream)
      expect(repeat.written).toBe(false)
      const conflict = yield* Effect.flip(
        EventStore.append("thing-1", [newEvent("Renamed", { name: "x" })], ExpectedVersion.Exact(1))
      )
      expect(conflict._tag).toBe("ConcurrencyConflict")
      expect(index.calls).toEqual([2])
    }).pipe(Effect.provide(InlineProjection.layerMemory([index.projection])))
  })

  it.effect("appends stay atomic under concurrency: racing appends of the same name, one wins", () => {
    const index = nameIndex()
    return Effect.gen(function*() {
      const results = yield* Effect.forEach(
        Array.from({ length: 16 }, (_, n) => `thing-${n}`),
        (streamId) =>
          Effect.either(EventStore.append(streamId, [newEvent("Opened", { name: "same" })], ExpectedVersion.NoStream)),
        { concurrency: "unbounded" }
      )
      expect(results.filter((result) => result._tag === "Right")).toHaveLength(1)
      const all = yield* EventStore.readAll().pipe(Stream.runCount)
      expect(all).toBe(1)
    }).pipe(Effect.provide(InlineProjection.layerMemory([index.projection])))
  })
})

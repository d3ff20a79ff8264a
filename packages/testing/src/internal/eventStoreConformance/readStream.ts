import { describe, expect } from "@effect/vitest"
import { EventStore, ExpectedVersion } from "@facta/core"
import { Effect, Option } from "effect"
import type { Suite } from "./fixtures.js"
import { idsOf, newEvent, newEvents, range, readStream, seed, uniqueStream, versionsOf } from "./fixtures.js"

/** A stream at version 10, and a way to read its versions. */
const tenEvents = Effect.gen(function*() {
  const streamId = uniqueStream()
  yield* seed(streamId, 10)
  return (options?: EventStore.ReadStreamOptions) => Effect.map(readStream(streamId, options), versionsOf)
})

export const readStreamCases = ({ settings, test }: Suite) => {
  describe("readStream", () => {
    test("reads an absent stream as empty, forwards and backwards", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        expect(yield* readStream(streamId)).toEqual([])
        expect(yield* readStream(streamId, { direction: "backwards" })).toEqual([])
      }))

    test("reads every event forwards by default, and backwards when asked", () =>
      Effect.gen(function*() {
        const read = yield* tenEvents
        expect(yield* read()).toEqual(range(1, 10))
        expect(yield* read({ direction: "forwards" })).toEqual(range(1, 10))
        expect(yield* read({ direction: "backwards" })).toEqual(range(1, 10).reverse())
      }))

    test("bounds the versions read with from and to, both inclusive, in either direction", () =>
      Effect.gen(function*() {
        const read = yield* tenEvents
        expect(yield* read({ from: 3, to: 7 })).toEqual([3, 4, 5, 6, 7])
        expect(yield* read({ from: 3, to: 7, direction: "backwards" })).toEqual([7, 6, 5, 4, 3])
        expect(yield* read({ from: 8 })).toEqual([8, 9, 10])
        expect(yield* read({ to: 2 })).toEqual([1, 2])
        expect(yield* read({ from: 8, direction: "backwards" })).toEqual([10, 9, 8])
        expect(yield* read({ to: 2, direction: "backwards" })).toEqual([2, 1])
        expect(yield* read({ from: 5, to: 5 })).toEqual([5])
      }))

    test("limits forwards reads to the first events from the lower bound", () =>
      Effect.gen(function*() {
        const read = yield* tenEvents
        expect(yield* read({ limit: 4 })).toEqual([1, 2, 3, 4])
        expect(yield* read({ from: 3, limit: 2 })).toEqual([3, 4])
        expect(yield* read({ from: 3, to: 4, limit: 5 })).toEqual([3, 4])
        expect(yield* read({ limit: 100 })).toEqual(range(1, 10))
      }))

    test("limits backwards reads to the last events from the upper bound (limit 1 = the last event)", () =>
      Effect.gen(function*() {
        const read = yield* tenEvents
        expect(yield* read({ direction: "backwards", limit: 1 })).toEqual([10])
        expect(yield* read({ direction: "backwards", limit: 3 })).toEqual([10, 9, 8])
        expect(yield* read({ direction: "backwards", to: 7, limit: 2 })).toEqual([7, 6])
        expect(yield* read({ direction: "backwards", from: 3, to: 7, limit: 10 })).toEqual([7, 6, 5, 4, 3])
      }))

    test("reads nothing when from > to, from is past the end, or limit is 0; clips to past the end", () =>
      Effect.gen(function*() {
        const read = yield* tenEvents
        expect(yield* read({ from: 7, to: 3 })).toEqual([])
        expect(yield* read({ from: 7, to: 3, direction: "backwards" })).toEqual([])
        expect(yield* read({ from: 11 })).toEqual([])
        expect(yield* read({ from: 11, direction: "backwards" })).toEqual([])
        expect(yield* read({ limit: 0 })).toEqual([])
        expect(yield* read({ from: 9, to: 1000 })).toEqual([9, 10])
      }))

    test("reads only the stream asked for, not streams whose id starts with it", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        yield* seed(streamId, 2)
        yield* seed(`${streamId}x`, 3)
        yield* seed(`${streamId}-child`, 4)
        expect(yield* Effect.map(readStream(streamId), versionsOf)).toEqual([1, 2])
        expect(yield* Effect.map(readStream(`${streamId}x`), versionsOf)).toEqual([1, 2, 3])
        expect(yield* EventStore.streamVersion(`${streamId}-child`)).toEqual(Option.some(4))
      }))

    test(`reads a stream of ${settings.largeStreamEvents} events, appended in batches, completely and in order`, () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const total = settings.largeStreamEvents
        const batch = 250
        const appended: Array<string> = []
        for (let first = 1; first <= total; first += batch) {
          const events = newEvents(Math.min(batch, total - first + 1), "Bulk", first)
          yield* EventStore.append(streamId, events, ExpectedVersion.Exact(first - 1))
          appended.push(...idsOf(events))
        }
        const forwards = yield* readStream(streamId)
        expect(forwards.length).toBe(total)
        expect(versionsOf(forwards)).toEqual(range(1, total))
        expect(idsOf(forwards)).toEqual(appended)
        expect(forwards.map((event) => (event.data as { n: number }).n)).toEqual(range(1, total))
        const backwards = yield* readStream(streamId, { direction: "backwards" })
        expect(versionsOf(backwards)).toEqual(range(1, total).reverse())
      }))
  })

  describe("readStreamBatch", () => {
    const batch = (
      streamId: string,
      options?: { readonly from?: number; readonly to?: number; readonly limit?: number }
    ) => Effect.flatMap(EventStore.EventStore, (store) => store.readStreamBatch(streamId, options))

    test("reads one page forwards, bounded by from and to (inclusive) and limit, as readStream does", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        yield* seed(streamId, 10)
        const page = (options: { readonly from?: number; readonly to?: number; readonly limit?: number }) =>
          Effect.map(batch(streamId, options), versionsOf)
        expect(yield* page({})).toEqual(range(1, 10))
        expect(yield* page({ to: 4 })).toEqual([1, 2, 3, 4])
        expect(yield* page({ from: 3, to: 7 })).toEqual([3, 4, 5, 6, 7])
        expect(yield* page({ from: 3, to: 7, limit: 2 })).toEqual([3, 4])
        expect(yield* page({ from: 3, to: 4, limit: 5 })).toEqual([3, 4])
        expect(yield* page({ from: 5, to: 5 })).toEqual([5])
        expect(yield* page({ from: 6, limit: 3 })).toEqual([6, 7, 8])
        expect(yield* page({ from: 9, to: 1000 })).toEqual([9, 10])
        expect(yield* page({ from: 7, to: 3 })).toEqual([])
        expect(yield* page({ from: 11 })).toEqual([])
        expect(yield* page({ limit: 0 })).toEqual([])
        expect(idsOf(yield* batch(streamId, { from: 2, to: 8 }))).toEqual(
          idsOf(yield* readStream(streamId, { from: 2, to: 8 }))
        )
        expect(yield* batch(uniqueStream(), { to: 3 })).toEqual([])
      }))
  })

  describe("readStreamPayloads", () => {
    /** A page's events as `[version, type, schema version, payload]`, and whether more follow. */
    const payloads = (
      streamId: string,
      options?: { readonly from?: number; readonly to?: number; readonly limit?: number }
    ) =>
      Effect.flatMap(EventStore.EventStore, (store) => store.readStreamPayloads(streamId, options)).pipe(
        Effect.map((page) => ({
          versions: [...page.streamVersions],
          more: page.more,
          events: page.types.map((
            type,
            index
          ) => [page.streamVersions[index], type, page.schemaVersions[index], page.data[index]])
        }))
      )

    test("reads an absent stream as an empty last page", () =>
      Effect.gen(function*() {
        expect(yield* payloads(uniqueStream())).toEqual({ versions: [], more: false, events: [] })
      }))

    test("gives each event's version, type, schema version and payload, as readStream does", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const appended = [
          ...newEvents(3),
          newEvent("Other", { nested: { list: [1, "two", null] } }, { schemaVersion: 4 }),
          newEvent("Plain", ["an", "array"]),
          newEvent("Plain", "text")
        ]
        yield* EventStore.append(streamId, appended, ExpectedVersion.NoStream)
        const recorded = yield* readStream(streamId)
        const page = yield* payloads(streamId)
        expect(page.more).toBe(false)
        expect(page.events).toEqual(
          recorded.map((event) => [event.streamVersion, event.type, event.schemaVersion, event.data])
        )
      }))

    test("bounds pages by from, to and limit, and says whether more events follow within the bounds", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        yield* seed(streamId, 10)
        const page = (options: { readonly from?: number; readonly to?: number; readonly limit?: number }) =>
          Effect.map(payloads(streamId, options), ({ more, versions }) => ({ versions, more }))
        expect(yield* page({})).toEqual({ versions: range(1, 10), more: false })
        expect(yield* page({ limit: 4 })).toEqual({ versions: [1, 2, 3, 4], more: true })
        expect(yield* page({ from: 5, limit: 4 })).toEqual({ versions: [5, 6, 7, 8], more: true })
        expect(yield* page({ from: 7, limit: 4 })).toEqual({ versions: [7, 8, 9, 10], more: false })
        expect(yield* page({ from: 9, limit: 4 })).toEqual({ versions: [9, 10], more: false })
        expect(yield* page({ from: 3, to: 6, limit: 4 })).toEqual({ versions: [3, 4, 5, 6], more: false })
        expect(yield* page({ from: 3, to: 7, limit: 4 })).toEqual({ versions: [3, 4, 5, 6], more: true })
        expect(yield* page({ from: 11 })).toEqual({ versions: [], more: false })
        expect(yield* page({ from: 7, to: 3 })).toEqual({ versions: [], more: false })
        expect(yield* page({ from: 10, limit: 0 })).toEqual({ versions: [], more: true })
      }))

    test("hands out fresh payloads on every read", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        yield* EventStore.append(streamId, [newEvent("Happened", { n: 1 })], ExpectedVersion.NoStream)
        const first = yield* Effect.flatMap(EventStore.EventStore, (store) => store.readStreamPayloads(streamId))
        ;(first.data[0] as { n: number }).n = 99
        expect((yield* payloads(streamId)).events).toEqual([[1, "Happened", 1, { n: 1 }]])
      }))

    test("rejects an invalid stream id", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.flatMap(EventStore.EventStore, (store) => store.readStreamPayloads("")))
        expect(error._tag).toBe("InvalidStreamId")
      }))
  })

  describe("streamVersion", () => {
    test("is None for an absent stream", () =>
      Effect.gen(function*() {
        expect(yield* EventStore.streamVersion(uniqueStream())).toEqual(Option.none())
      }))

    test("is Some(version) after appends, counting every event", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        yield* EventStore.append(streamId, newEvents(1), ExpectedVersion.NoStream)
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(1))
        yield* EventStore.append(streamId, newEvents(4), ExpectedVersion.Exact(1))
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(5))
      }))
  })
}

import { describe, expect } from "@effect/vitest"
import { EventStore, ExpectedVersion, Position } from "@facta/core"
import { Effect, Option } from "effect"
import type { Suite } from "./fixtures.js"
import { newEvents, readCategory, streamIn, uniqueCategory, uniqueType } from "./fixtures.js"

export const headCases = ({ test }: Suite) =>
  describe("head, countAfter and locate", () => {
    test("locate finds where an event id is recorded, in any letter case; None when it is not, or is no UUID", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const streamId = streamIn(uniqueCategory())
        const events = newEvents(3)
        const result = yield* store.append(streamId, events, ExpectedVersion.NoStream)
        const third = yield* store.locate(events[2].eventId.toUpperCase())
        expect(third).toEqual(Option.some({ streamId, streamVersion: 3, position: result.position }))
        const first = Option.getOrThrow(yield* store.locate(events[0].eventId))
        expect(first).toMatchObject({ streamId, streamVersion: 1 })
        expect(Position.order(first.position, result.position)).toBe(-1)
        expect(yield* store.locate(crypto.randomUUID())).toEqual(Option.none())
        expect(yield* store.locate("not-a-uuid'; DROP TABLE events; --")).toEqual(Option.none())
      }))

    test("head is None for a filter nothing matches, and countAfter is 0", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const filter = { categories: [uniqueCategory()] }
        expect(Option.isNone(yield* store.head(filter))).toBe(true)
        expect(yield* store.countAfter(Position.start, filter)).toBe(0)
      }))

    test("head is the position of the last event appended that matches the filter", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const category = uniqueCategory()
        const rare = uniqueType("Rare")
        yield* store.append(streamIn(category), newEvents(2, rare), ExpectedVersion.NoStream)
        const last = yield* store.append(streamIn(category), newEvents(3), ExpectedVersion.NoStream)
        expect(yield* store.head({ categories: [category] })).toEqual(Option.some(last.position))
        const events = yield* readCategory(category)
        expect(yield* store.head({ categories: [category], types: [rare] })).toEqual(
          Option.some(Position.of(events[1]))
        )
        const unfiltered = yield* store.head()
        expect(Option.isSome(unfiltered) && Position.order(unfiltered.value, last.position) >= 0).toBe(true)
      }))

    test("countAfter counts the matching events strictly after a position", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const category = uniqueCategory()
        const rare = uniqueType("Rare")
        yield* store.append(streamIn(category), newEvents(4), ExpectedVersion.NoStream)
        yield* store.append(streamIn(category), newEvents(2, rare), ExpectedVersion.NoStream)
        const events = yield* readCategory(category)
        const filter = { categories: [category] }
        expect(yield* store.countAfter(Position.start, filter)).toBe(6)
        expect(yield* store.countAfter(Position.of(events[0]), filter)).toBe(5)
        expect(yield* store.countAfter(Position.of(events[3]), filter)).toBe(2)
        expect(yield* store.countAfter(Position.of(events[5]), filter)).toBe(0)
        expect(yield* store.countAfter(Position.start, { categories: [category], types: [rare] })).toBe(2)
        expect(yield* store.countAfter(Position.of(events[4]), { categories: [category], types: [rare] })).toBe(1)
      }))
  })

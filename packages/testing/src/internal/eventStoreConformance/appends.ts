import { describe, expect } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import { EventStore, ExpectedVersion, Position } from "@facta/core"
import { Effect, Option } from "effect"
import type { Suite } from "./fixtures.js"
import {
  expectFailure,
  expectRefused,
  newEvent,
  newEvents,
  readCategory,
  readStream,
  seed,
  streamIn,
  uniqueCategory
} from "./fixtures.js"

/** What a failed append must leave untouched: the stream's version, its events, and its category's log. */
const snapshotOf = (streamId: string, category: string) =>
  Effect.all({
    version: EventStore.streamVersion(streamId),
    stream: readStream(streamId),
    log: readCategory(category)
  })

const circular: Record<string, unknown> = { name: "loop" }
circular.self = circular

const invalidEvents: ReadonlyArray<readonly [label: string, event: () => RecordedEvent.NewEvent]> = [
  ["an event id that is not a UUID", () => newEvent("Happened", {}, { eventId: "not-a-uuid" })],
  ["an empty event id", () => newEvent("Happened", {}, { eventId: "" })],
  ["an empty type", () => newEvent("", {})],
  ["schema version 0", () => newEvent("Happened", {}, { schemaVersion: 0 })],
  ["a negative schema version", () => newEvent("Happened", {}, { schemaVersion: -1 })],
  ["a fractional schema version", () => newEvent("Happened", {}, { schemaVersion: 1.5 })],
  ["a payload with a BigInt", () => newEvent("Happened", { amount: 10n })],
  ["an undefined payload", () => newEvent("Happened", {}, { data: undefined })],
  ["a payload that is a function", () => newEvent("Happened", () => 1)],
  ["a circular payload", () => newEvent("Happened", circular)],
  ["a payload string containing a NUL character", () => newEvent("Happened", { text: "a\u0000b" })],
  ["a payload key containing a NUL character", () => newEvent("Happened", { ["a\u0000b"]: 1 })],
  ["metadata containing a NUL character", () => newEvent("Happened", {}, { metadata: { note: "a\u0000b" } })],
  ["a type containing a NUL character", () => newEvent("Happ\u0000ened", {})],
  ["a type containing a line break", () => newEvent("Happ\nened", {})],
  ["a payload string with a lone surrogate", () => newEvent("Happened", { text: "broken \ud800 text" })],
  ["a payload key with a lone surrogate", () => newEvent("Happened", { ["\udc00"]: 1 })]
]

export const appendCases = ({ test }: Suite) => {
  describe("atomic appends", () => {
    test("a conflicting append writes nothing", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamId = streamIn(category)
        yield* seed(streamId, 3)
        const before = yield* snapshotOf(streamId, category)
        yield* expectFailure(
          EventStore.append(streamId, newEvents(5), ExpectedVersion.Exact(1)),
          "ConcurrencyConflict"
        )
        expect(yield* snapshotOf(streamId, category)).toEqual(before)
      }))

    test("an append with one invalid event writes none of its events", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamId = streamIn(category)
        yield* seed(streamId, 2)
        const before = yield* snapshotOf(streamId, category)
        const events = [newEvent(), newEvent(), newEvent("Happened", {}, { schemaVersion: 0 }), newEvent()]
        const invalid = yield* expectFailure(
          EventStore.append(streamId, events, ExpectedVersion.Exact(2)),
          "InvalidEvent"
        )
        expect(invalid.index).toBe(2)
        expect(yield* snapshotOf(streamId, category)).toEqual(before)
      }))

    test("a failed append to a new stream does not create the stream", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamId = streamIn(category)
        yield* expectFailure(
          EventStore.append(streamId, [newEvent(), newEvent("")], ExpectedVersion.NoStream),
          "InvalidEvent"
        )
        yield* expectFailure(
          EventStore.append(streamId, newEvents(2), ExpectedVersion.StreamExists),
          "ConcurrencyConflict"
        )
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.none())
        expect(yield* readCategory(category)).toEqual([])
        // and the stream can still be created afterwards
        const result = yield* EventStore.append(streamId, newEvents(1), ExpectedVersion.NoStream)
        expect(result.nextExpectedVersion).toBe(1)
      }))
  })

  describe("invalid events", () => {
    for (const [label, makeEvent] of invalidEvents) {
      test(`rejects ${label} with InvalidEvent naming its index, and writes nothing`, () =>
        Effect.asVoid(expectRefused(makeEvent())))
    }
  })

  describe("empty appends", () => {
    test("on an absent stream: check the expectation, return version 0, create nothing", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamId = streamIn(category)
        for (const expected of [ExpectedVersion.NoStream, ExpectedVersion.Any, ExpectedVersion.Exact(0)]) {
          const result = yield* EventStore.append(streamId, [], expected)
          expect(result.nextExpectedVersion).toBe(0)
          expect(result.lastGlobalPosition).toBe(0n)
          expect(result.written).toBe(false)
        }
        const conflict = yield* expectFailure(
          EventStore.append(streamId, [], ExpectedVersion.StreamExists),
          "ConcurrencyConflict"
        )
        expect(conflict.actual).toBe(0)
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.none())
        expect(yield* readCategory(category)).toEqual([])
      }))

    test("on an existing stream: return its version and last position, write nothing", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamId = streamIn(category)
        yield* seed(streamId, 3)
        const before = yield* snapshotOf(streamId, category)
        const last = before.stream[2]
        for (const expected of [ExpectedVersion.Exact(3), ExpectedVersion.StreamExists, ExpectedVersion.Any]) {
          const result = yield* EventStore.append(streamId, [], expected)
          expect(result.nextExpectedVersion).toBe(3)
          expect(result.lastGlobalPosition).toBe(last.globalPosition)
          expect(result.position).toEqual(Position.of(last))
          expect(result.written).toBe(false)
        }
        expect(yield* snapshotOf(streamId, category)).toEqual(before)
      }))

    test("with a wrong expectation: fail with ConcurrencyConflict", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        yield* seed(streamId, 3)
        for (const expected of [ExpectedVersion.Exact(2), ExpectedVersion.NoStream]) {
          const conflict = yield* expectFailure(EventStore.append(streamId, [], expected), "ConcurrencyConflict")
          expect(conflict.actual).toBe(3)
        }
      }))
  })
}

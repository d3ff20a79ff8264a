import { describe, expect } from "@effect/vitest"
import { EventStore, ExpectedVersion } from "@facta/core"
import { Effect, Option } from "effect"
import type { Suite } from "./fixtures.js"
import { expectFailure, idsOf, newEvent, newEvents, readStream, uniqueStream, versionsOf } from "./fixtures.js"

export const idempotencyCases = ({ test }: Suite) =>
  describe("idempotent appends (by event id)", () => {
    test("repeating an append with the same expectation returns its result with written: false", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const events = newEvents(3)
        const original = yield* EventStore.append(streamId, events, ExpectedVersion.NoStream)
        expect(original.written).toBe(true)
        const before = yield* readStream(streamId)
        const repeat = yield* EventStore.append(streamId, events, ExpectedVersion.NoStream)
        expect(repeat).toEqual({ ...original, written: false })
        expect(yield* readStream(streamId)).toEqual(before)
      }))

    test("repeating an append with ExpectedVersion.Any returns its result with written: false", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        yield* EventStore.append(streamId, newEvents(2), ExpectedVersion.NoStream)
        const events = newEvents(2, "Happened", 3)
        const original = yield* EventStore.append(streamId, events, ExpectedVersion.Any)
        const repeat = yield* EventStore.append(streamId, events, ExpectedVersion.Any)
        expect(repeat).toEqual({ ...original, written: false })
        expect(versionsOf(yield* readStream(streamId))).toEqual([1, 2, 3, 4])
      }))

    test("a repeat is recognised after the stream has moved on, and the stream goes on from its head", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const events = newEvents(2)
        const original = yield* EventStore.append(streamId, events, ExpectedVersion.NoStream)
        yield* EventStore.append(streamId, newEvents(3, "Later"), ExpectedVersion.Exact(2))
        const repeat = yield* EventStore.append(streamId, events, ExpectedVersion.NoStream)
        expect(repeat).toEqual({ ...original, written: false })
        const next = yield* EventStore.append(streamId, newEvents(1, "Next"), ExpectedVersion.Exact(5))
        expect(next.nextExpectedVersion).toBe(6)
        expect(versionsOf(yield* readStream(streamId))).toEqual([1, 2, 3, 4, 5, 6])
      }))

    test("compares event ids case-insensitively", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const events = newEvents(2)
        const original = yield* EventStore.append(streamId, events, ExpectedVersion.NoStream)
        const shouted = events.map((event) => ({ ...event, eventId: event.eventId.toUpperCase() }))
        const repeat = yield* EventStore.append(streamId, shouted, ExpectedVersion.NoStream)
        expect(repeat).toEqual({ ...original, written: false })
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(2))
      }))

    test("the same ids with a different expectation fail with DuplicateEventId naming where they are recorded", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const events = newEvents(2)
        yield* EventStore.append(streamId, events, ExpectedVersion.NoStream)
        const before = yield* readStream(streamId)
        // Exact(2) matches the stream now, but not the append that recorded these ids (at version 0).
        for (const expected of [ExpectedVersion.Exact(1), ExpectedVersion.Exact(2), ExpectedVersion.StreamExists]) {
          const duplicate = yield* expectFailure(EventStore.append(streamId, events, expected), "DuplicateEventId")
          expect(duplicate.streamId).toBe(streamId)
          expect(duplicate.eventId).toBe(events[0].eventId.toLowerCase())
          expect(duplicate.reason).toContain("version 0")
        }
        expect(yield* readStream(streamId)).toEqual(before)
      }))

    test("a batch mixing recorded and new ids fails with DuplicateEventId and writes nothing", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const [first, second] = newEvents(2)
        yield* EventStore.append(streamId, [first, second], ExpectedVersion.NoStream)
        const before = yield* readStream(streamId)
        for (const batch of [[first, second, newEvent()], [newEvent(), second], [second, first]]) {
          const append = EventStore.append(streamId, batch, ExpectedVersion.Any)
          const duplicate = yield* expectFailure(append, "DuplicateEventId")
          expect(duplicate.streamId).toBe(streamId)
          expect([first.eventId, second.eventId]).toContain(duplicate.eventId)
        }
        expect(yield* readStream(streamId)).toEqual(before)
      }))

    test("an id recorded in another stream fails with DuplicateEventId and creates nothing", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const otherStreamId = uniqueStream()
        const event = newEvent()
        yield* EventStore.append(streamId, [event], ExpectedVersion.NoStream)
        const duplicate = yield* expectFailure(
          EventStore.append(otherStreamId, [event], ExpectedVersion.Any),
          "DuplicateEventId"
        )
        expect(duplicate.streamId).toBe(otherStreamId)
        expect(duplicate.eventId).toBe(event.eventId.toLowerCase())
        expect(duplicate.message).toContain(event.eventId.toLowerCase())
        expect(yield* EventStore.streamVersion(otherStreamId)).toEqual(Option.none())
        expect(idsOf(yield* readStream(streamId))).toEqual([event.eventId])
      }))

    test("a duplicate is decided on the batch's first recorded id, with that id's own stream and version", () =>
      Effect.gen(function*() {
        const [first, second] = [uniqueStream(), uniqueStream()]
        const [x, y, a, b] = newEvents(4)
        yield* EventStore.append(first, [x], ExpectedVersion.NoStream)
        yield* EventStore.append(second, [y, a, b], ExpectedVersion.NoStream)
        const before = yield* readStream(second)
        const notExact = (version: number) =>
          `it is already recorded at version ${version}, but the append is not an exact repeat of the append that recorded it`
        const elsewhere = `it is already recorded in stream ${JSON.stringify(first)}`
        const cases: ReadonlyArray<readonly [batch: ReadonlyArray<typeof x>, eventId: string, reason: string]> = [
          // y is recorded here, x elsewhere: the decision is about y, recorded in this stream.
          [[y, x], y.eventId, notExact(1)],
          // x, recorded in another stream, comes first: the decision names x and that stream.
          [[x, y], x.eventId, elsewhere],
          // Only the second id is recorded, in another stream.
          [[newEvent(), x], x.eventId, elsewhere],
          // Recorded in this stream, at other positions than this batch would give them.
          [[b, a], b.eventId, notExact(3)],
          [[newEvent(), a], a.eventId, notExact(2)],
          // A partial repeat: the recorded append and a new event.
          [[y, a, b, newEvent()], y.eventId, notExact(1)]
        ]
        for (const [batch, eventId, reason] of cases) {
          const duplicate = yield* expectFailure(
            EventStore.append(second, batch, ExpectedVersion.Any),
            "DuplicateEventId"
          )
          expect({ streamId: duplicate.streamId, eventId: duplicate.eventId, reason: duplicate.reason })
            .toEqual({ streamId: second, eventId, reason })
        }
        expect(yield* readStream(second)).toEqual(before)
        expect(idsOf(yield* readStream(first))).toEqual([x.eventId])
      }))

    test("the same id twice in one batch fails with DuplicateEventId and writes nothing", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const event = newEvent()
        const sameId = newEvent("Other", { other: true }, { eventId: event.eventId.toUpperCase() })
        for (const batch of [[event, event], [event, newEvent(), sameId]]) {
          const append = EventStore.append(streamId, batch, ExpectedVersion.Any)
          const duplicate = yield* expectFailure(append, "DuplicateEventId")
          expect(duplicate.eventId).toBe(event.eventId.toLowerCase())
        }
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.none())
      }))
  })

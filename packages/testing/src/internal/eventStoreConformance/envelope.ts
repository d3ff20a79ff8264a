import { describe, expect } from "@effect/vitest"
import { EventStore, ExpectedVersion, Position } from "@facta/core"
import { Effect } from "effect"
import type { Suite } from "./fixtures.js"
import { newEvent, range, readStream, uniqueStream } from "./fixtures.js"

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A payload that trips up stores which transform keys, reorder, or re-encode JSON. */
const awkwardPayload = {
  camelCaseKey: "stays camelCase",
  snake_case_key: "stays snake_case",
  PascalKey: 1,
  "kebab-key": 2,
  "key with spaces": 3,
  nested: { deeperStill: { deepest_key: [1, "two", { three: 3 }, [4, [5]]] }, emptyObject: {}, emptyArray: [] },
  unicode: "héllo wörld — 日本語 — 😀 — \u00e9 vs e\u0301",
  escapes: "quote \" backslash \\ tab \t newline \n",
  notANul: "the six characters \\u0000 are just text",
  numbers: [0, 1, -1, 42.5, -0.001, 1e-7, 3.141592653589793, 0.1 + 0.2, Number.MAX_SAFE_INTEGER, 1.5e300],
  nothing: null,
  yes: true,
  no: false,
  list: [null, true, false, "", {}]
}

export const envelopeCases = ({ test }: Suite) =>
  describe("recorded event envelope", () => {
    test("records id, stream, dense versions, positions, transaction, type, schema version and time", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const first = [newEvent("Opened", { a: 1 }), newEvent("Renamed", { b: 2 }, { schemaVersion: 3 })]
        const second = [newEvent("Closed", { c: 3 }, { schemaVersion: 7 })]
        yield* EventStore.append(streamId, first, ExpectedVersion.NoStream)
        yield* EventStore.append(streamId, second, ExpectedVersion.Exact(2))
        const events = yield* readStream(streamId)
        const appended = [...first, ...second]
        expect(events.map((event) => event.eventId)).toEqual(appended.map((event) => event.eventId))
        expect(events.map((event) => event.streamId)).toEqual([streamId, streamId, streamId])
        expect(events.map((event) => event.streamVersion)).toEqual(range(1, 3))
        expect(events.map((event) => event.type)).toEqual(["Opened", "Renamed", "Closed"])
        expect(events.map((event) => event.schemaVersion)).toEqual([1, 3, 7])
        expect(events.map((event) => event.data)).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }])
        for (const event of events) {
          expect(event.eventId).toMatch(uuidPattern)
          expect(typeof event.globalPosition).toBe("bigint")
          expect(typeof event.transactionId).toBe("bigint")
          expect(event.globalPosition > 0n).toBe(true)
          expect(event.recordedAt).toBeInstanceOf(Date)
          expect(Number.isNaN(event.recordedAt.getTime())).toBe(false)
        }
        expect(events[0].globalPosition < events[1].globalPosition).toBe(true)
        expect(events[1].globalPosition < events[2].globalPosition).toBe(true)
        // one append = one transaction; a later append comes later in the log
        expect(events[0].transactionId).toBe(events[1].transactionId)
        expect(Position.isAfter(events[2], events[1])).toBe(true)
      }))

    test("stores event ids lowercased, whatever case they were given in", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const id = crypto.randomUUID()
        yield* EventStore.append(
          streamId,
          [newEvent("Happened", {}, { eventId: id.toUpperCase() })],
          ExpectedVersion.Any
        )
        const [event] = yield* readStream(streamId)
        expect(event.eventId).toBe(id.toLowerCase())
      }))

    test("returns the last event's version and log position from append", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const first = yield* EventStore.append(streamId, [newEvent(), newEvent()], ExpectedVersion.NoStream)
        const second = yield* EventStore.append(streamId, [newEvent()], ExpectedVersion.Exact(2))
        const events = yield* readStream(streamId)
        expect(first.written).toBe(true)
        expect(first.nextExpectedVersion).toBe(2)
        expect(first.lastGlobalPosition).toBe(events[1].globalPosition)
        expect(first.position).toEqual(Position.of(events[1]))
        expect(second.nextExpectedVersion).toBe(3)
        expect(second.lastGlobalPosition).toBe(events[2].globalPosition)
        expect(second.position).toEqual(Position.of(events[2]))
      }))

    test("round-trips payloads exactly: nested values, unicode, numbers, null, booleans, key casing", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        yield* EventStore.append(streamId, [newEvent("Awkward", awkwardPayload)], ExpectedVersion.NoStream)
        const [event] = yield* readStream(streamId)
        expect(event.data).toEqual(awkwardPayload)
        expect(Object.keys(event.data as object).sort()).toEqual(Object.keys(awkwardPayload).sort())
      }))

    test("accepts any JSON value as a payload: object, array, string, number, boolean, null", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const payloads: ReadonlyArray<unknown> = [{}, [], [1, [2]], "", "text", 0, -12.5, true, false, null]
        yield* EventStore.append(streamId, payloads.map((data) => newEvent("Any", data)), ExpectedVersion.NoStream)
        const events = yield* readStream(streamId)
        expect(events.map((event) => event.data)).toEqual(payloads)
      }))

    test("round-trips metadata: correlation, causation, user and free keys", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const metadata = {
          correlationId: crypto.randomUUID(),
          causationId: crypto.randomUUID(),
          userId: "user-ü-42",
          tenant_id: "acme",
          traceParent: "00-abc-def-01",
          nested: { retries: 2, tags: ["a", "b"], flag: null }
        }
        yield* EventStore.append(
          streamId,
          [newEvent("WithMetadata", {}, { metadata }), newEvent("WithoutMetadata")],
          ExpectedVersion.NoStream
        )
        const events = yield* readStream(streamId)
        expect(events[0].metadata).toEqual(metadata)
        expect(events[1].metadata).toEqual({})
      }))
  })

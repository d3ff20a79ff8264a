import { describe, expect } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import { EventCatalog, EventStore, ExpectedVersion } from "@facta/core"
import { Effect, Option, Schema, Stream } from "effect"
import type { Suite } from "./fixtures.js"
import {
  collect,
  expectFailure,
  expectRefused,
  newEvent,
  readCategory,
  readStream,
  streamIn,
  uniqueCategory,
  within
} from "./fixtures.js"

// What an append stores is the JSON of its payload, exactly: a value JSON would change is
// refused with a reason naming its path, and what a read returns is parsed from that JSON,
// fresh for each reader. The store runs with the default payload limits
// (EventStore.defaultMaxPayloadBytes and EventStore.defaultMaxDepth).

const cycle = (): Record<string, unknown> => {
  const value: Record<string, unknown> = { name: "loop" }
  value.self = value
  return value
}

const nested = (levels: number): unknown => {
  let value: unknown = "bottom"
  for (let level = 0; level < levels; level++) value = { a: value }
  return value
}

class Money {
  constructor(readonly cents: number) {}
}

/** A payload JSON would change, the start of the reason (its path first), and where it goes. */
interface BadValue {
  readonly label: string
  readonly value: () => unknown
  readonly reason: string
  readonly in?: "data" | "metadata"
}

const badValues: ReadonlyArray<BadValue> = [
  { label: "NaN", value: () => ({ readings: [1, 2, 3, Number.NaN] }), reason: "data.readings[3] is NaN" },
  { label: "Infinity", value: () => ({ total: Number.POSITIVE_INFINITY }), reason: "data.total is Infinity" },
  { label: "-Infinity", value: () => ({ low: Number.NEGATIVE_INFINITY }), reason: "data.low is -Infinity" },
  { label: "-0", value: () => ({ delta: -0 }), reason: "data.delta is -0" },
  { label: "a field set to undefined", value: () => ({ note: undefined }), reason: "data.note is undefined" },
  { label: "undefined in an array", value: () => ({ tags: ["a", undefined] }), reason: "data.tags[1] is undefined" },
  { label: "a Map", value: () => ({ seen: new Map([["a", 1]]) }), reason: "data.seen is a Map" },
  { label: "a Set", value: () => ({ seen: new Set([1]) }), reason: "data.seen is a Set" },
  { label: "a function", value: () => ({ callback: () => 1 }), reason: "data.callback is a function" },
  { label: "a symbol value", value: () => ({ kind: Symbol("kind") }), reason: "data.kind is a symbol" },
  { label: "a symbol key", value: () => ({ [Symbol("key")]: 1 }), reason: "data has a symbol key" },
  { label: "a Date", value: () => ({ at: new Date(0) }), reason: "data.at is a Date" },
  {
    label: "an object with toJSON",
    value: () => ({ price: { toJSON: () => "1.00" } }),
    reason: "data.price.toJSON is a function"
  },
  { label: "a class instance", value: () => ({ price: new Money(100) }), reason: "data.price is an instance of Money" },
  { label: "a BigInt", value: () => ({ amount: 10n }), reason: "data.amount is a BigInt" },
  { label: "a cycle", value: cycle, reason: "data.self is a cycle" },
  {
    label: "a nested cycle",
    value: () => ({ list: [1, { inner: cycle() }] }),
    reason: "data.list[1].inner.self is a cycle"
  },
  {
    label: "a NUL character",
    value: () => ({ lines: ["ok", "a\u0000b"] }),
    reason: "data.lines[1] contains a NUL character"
  },
  {
    label: "a lone surrogate",
    value: () => ({ text: "broken \ud800 text" }),
    reason: "data.text contains a lone surrogate"
  },
  {
    label: "a key that is not an identifier",
    value: () => ({ "two words": [Number.NaN] }),
    reason: `data["two words"][0] is NaN`
  },
  {
    label: "a top-level \"__proto__\" key",
    value: () => JSON.parse(`{"__proto__": {"admin": true}}`),
    reason: "data.__proto__ is a \"__proto__\" key"
  },
  {
    label: "a \"__proto__\" key in a record",
    value: () => JSON.parse(`{"balances": {"eur": 1, "__proto__": {"admin": true}}}`),
    reason: "data.balances.__proto__ is a \"__proto__\" key"
  },
  {
    label: "metadata with a field set to undefined",
    value: () => ({ foo: undefined }),
    reason: "metadata.foo is undefined",
    in: "metadata"
  },
  { label: "metadata with NaN", value: () => ({ score: Number.NaN }), reason: "metadata.score is NaN", in: "metadata" },
  {
    label: "metadata with a Date",
    value: () => ({ at: new Date(0) }),
    reason: "metadata.at is a Date",
    in: "metadata"
  },
  {
    label: "metadata with a \"__proto__\" key",
    value: () => JSON.parse(`{"__proto__": {"userId": "root"}}`),
    reason: "metadata.__proto__ is a \"__proto__\" key",
    in: "metadata"
  }
]

/** A string of `bytes` UTF-8 bytes of JSON once quoted (`"` + ASCII + `"`). */
const jsonOfBytes = (bytes: number): string => "x".repeat(bytes - 2)

/** The ways to read events back, each of one stream. */
const reads = (streamId: string, category: string) => ({
  readStream: Effect.map(readStream(streamId), (events) => events.map((event) => event.data)),
  readStreamBatch: Effect.map(
    Effect.flatMap(EventStore.EventStore, (store) => store.readStreamBatch(streamId)),
    (events) => events.map((event) => event.data)
  ),
  readStreamPayloads: Effect.map(
    Effect.flatMap(EventStore.EventStore, (store) => store.readStreamPayloads(streamId)),
    (page) => page.data
  ),
  readAll: Effect.map(readCategory(category), (events) => events.map((event) => event.data))
})

/** Type names that `Object.prototype` has as members. */
const prototypeNames = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "isPrototypeOf"] as const

export const payloadCases = ({ settings, test }: Suite) => {
  describe("values JSON cannot carry exactly", () => {
    for (const bad of badValues) {
      test(`rejects ${bad.label} with InvalidEvent naming its path (${bad.reason}), and writes nothing`, () =>
        Effect.gen(function*() {
          const event = bad.in === "metadata"
            ? newEvent("Happened", {}, { metadata: bad.value() as RecordedEvent.EventMetadata })
            : newEvent("Happened", bad.value())
          const invalid = yield* expectRefused(event)
          expect(invalid.reason.startsWith(bad.reason)).toBe(true)
        }))
    }

    test("rejects a schema version beyond what every store can keep (2^31 - 1)", () =>
      Effect.gen(function*() {
        const invalid = yield* expectRefused(newEvent("Happened", {}, { schemaVersion: 2 ** 31 }))
        expect(invalid.reason).toContain("schema version")
        const streamId = streamIn(uniqueCategory())
        yield* EventStore.append(
          streamId,
          [newEvent("Happened", {}, { schemaVersion: 2 ** 31 - 1 })],
          ExpectedVersion.NoStream
        )
        expect((yield* readStream(streamId)).map((event) => event.schemaVersion)).toEqual([2 ** 31 - 1])
      }))

    test("an existing stream keeps its version when an append to it is refused", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        yield* EventStore.append(streamId, [newEvent("Happened", { n: 1 })], ExpectedVersion.NoStream)
        const invalid = yield* expectFailure(
          EventStore.append(streamId, [newEvent("Happened", { n: Number.NaN })], ExpectedVersion.Exact(1)),
          "InvalidEvent"
        )
        expect(invalid.reason).toContain("data.n is NaN")
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(1))
        expect((yield* readStream(streamId)).map((event) => event.data)).toEqual([{ n: 1 }])
      }))

    test("keeps what JSON carries exactly: numbers, strings, null, nested plain objects and arrays", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        const data = {
          numbers: [0, 1, -1, 0.1, 1e21, -1e-7, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, Number.MAX_VALUE],
          strings: ["", "é", "日本", "\ud83d\ude00", "\"quoted\" \\ back"],
          none: null,
          flags: [true, false],
          empty: { object: {}, array: [] },
          "two words": { constructor: "a field named constructor", toString: 1 }
        }
        yield* EventStore.append(streamId, [newEvent("Happened", data)], ExpectedVersion.NoStream)
        const [event] = yield* readStream(streamId)
        expect(event.data).toEqual(data)
        expect(Object.is((event.data as typeof data).numbers[0], 0)).toBe(true)
      }))
  })

  describe("payload limits", () => {
    const maxDepth = EventStore.defaultMaxDepth
    const maxBytes = EventStore.defaultMaxPayloadBytes

    test(`takes a payload ${maxDepth} levels deep and refuses one ${maxDepth + 1} levels deep, naming the depth`, () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        yield* EventStore.append(streamId, [newEvent("Happened", nested(maxDepth))], ExpectedVersion.NoStream)
        expect((yield* readStream(streamId)).map((event) => event.data)).toEqual([nested(maxDepth)])
        const invalid = yield* expectRefused(newEvent("Happened", nested(maxDepth + 1)))
        expect(invalid.reason).toContain(`nested more than ${maxDepth} levels deep`)
        expect(invalid.reason).toContain("maxDepth")
      }))

    test("refuses a payload 10,000 levels deep for its depth, in data and in metadata", () =>
      Effect.gen(function*() {
        const invalid = yield* expectRefused(newEvent("Happened", nested(10_000)))
        expect(invalid.reason).toContain(`data is nested more than ${maxDepth} levels deep`)
        expect(invalid.reason).not.toMatch(/BigInt|cycle/)
        const inMetadata = yield* expectRefused(
          newEvent("Happened", {}, { metadata: { deep: nested(10_000) } as RecordedEvent.EventMetadata })
        )
        expect(inMetadata.reason).toContain(`metadata is nested more than ${maxDepth} levels deep`)
      }))

    test(`takes a payload of ${maxBytes} bytes of JSON and refuses one byte more, naming the limit`, () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        const largest = jsonOfBytes(maxBytes)
        yield* EventStore.append(streamId, [newEvent("Happened", largest)], ExpectedVersion.NoStream)
        expect((yield* readStream(streamId)).map((event) => event.data)).toEqual([largest])
        const invalid = yield* expectRefused(newEvent("Happened", jsonOfBytes(maxBytes + 1)))
        expect(invalid.reason).toContain("maxPayloadBytes")
      }))

    test("counts the limit in UTF-8 bytes, not in characters", () =>
      Effect.gen(function*() {
        // Two bytes per "é": within the limit in characters, twice over it in bytes.
        const invalid = yield* expectRefused(newEvent("Happened", { text: "é".repeat(maxBytes / 2) }))
        expect(invalid.reason).toContain("maxPayloadBytes")
        const metadata = yield* expectRefused(
          newEvent("Happened", {}, { metadata: { note: "x".repeat(maxBytes) } })
        )
        expect(metadata.reason).toContain("metadata takes")
      }))
  })

  describe("event type names that Object.prototype has as members", () => {
    test("append, read back, filter and decode through a catalog that defines them", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamId = streamIn(category)
        const events = prototypeNames.map((name, index) => newEvent(name, { n: index }))
        yield* EventStore.append(streamId, events, ExpectedVersion.NoStream)
        expect((yield* readStream(streamId)).map((event) => event.type)).toEqual([...prototypeNames])
        for (const name of prototypeNames) {
          const filtered = yield* collect(EventStore.readAll({ filter: { categories: [category], types: [name] } }))
          expect(filtered.map((event) => event.type)).toEqual([name])
        }
        const Defined = EventCatalog.make(prototypeNames.map((name) => Schema.TaggedStruct(name, { n: Schema.Number })))
        const decoded = yield* collect(EventCatalog.readStream(Defined, streamId))
        expect(decoded.map((event) => event.data)).toEqual(
          prototypeNames.map((name, index) => ({ _tag: name, n: index }))
        )
        const all = yield* collect(EventCatalog.readAll(Defined, { filter: { categories: [category] } }))
        expect(all.map((event) => event.data._tag)).toEqual([...prototypeNames])
      }))

    test("decode through a catalog that renames them, and are unknown to a catalog that does not", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamId = streamIn(category)
        yield* EventStore.append(
          streamId,
          prototypeNames.map((name) => newEvent(name, { n: 1 })),
          ExpectedVersion.NoStream
        )
        const Current = Schema.TaggedStruct("Current", { n: Schema.Number })
        const renames: Record<string, string> = {}
        // Defined as own keys: `{ __proto__: … }` in a literal would set a prototype instead.
        for (const name of prototypeNames) Object.defineProperty(renames, name, { value: "Current", enumerable: true })
        const Renaming = EventCatalog.make([Current], { renames })
        const decoded = yield* collect(EventCatalog.readStream(Renaming, streamId))
        expect(decoded.map((event) => event.data)).toEqual(prototypeNames.map(() => ({ _tag: "Current", n: 1 })))
        const Unaware = EventCatalog.make([Current])
        const unknown = yield* Effect.flip(collect(EventCatalog.readStream(Unaware, streamId)))
        expect(unknown._tag).toBe("UnknownEventType")
        expect(unknown._tag === "UnknownEventType" && unknown.type).toBe("constructor")
        // readAll through a catalog keeps only its own types (current and renamed).
        expect(yield* collect(EventCatalog.readAll(Unaware, { filter: { categories: [category] } }))).toEqual([])
      }))
  })

  describe("what a read returns", () => {
    test("recordedAt is the time of the append", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamId = streamIn(category)
        // Allowance for a store whose clock (a database server's) is not quite the caller's.
        const skew = 5_000
        const before = Date.now()
        yield* EventStore.append(streamId, [newEvent(), newEvent()], ExpectedVersion.NoStream)
        const after = Date.now()
        const events = yield* readStream(streamId)
        for (const event of events) {
          expect(event.recordedAt.getTime()).toBeGreaterThanOrEqual(before - skew)
          expect(event.recordedAt.getTime()).toBeLessThanOrEqual(after + skew)
        }
        // Every read reports the same time for an event.
        const times = (read: ReadonlyArray<RecordedEvent.RecordedEvent>) =>
          read.map((event) => event.recordedAt.getTime())
        expect(times(yield* readCategory(category))).toEqual(times(events))
        const batch = yield* Effect.flatMap(EventStore.EventStore, (store) => store.readStreamBatch(streamId))
        expect(times(batch)).toEqual(times(events))
      }))

    test("payloads read back are their JSON, not the appended objects", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamId = streamIn(category)
        const data = { items: [{ sku: "a", quantity: 1 }], note: "first" }
        const metadata = { correlationId: "c-1", tags: ["x"] }
        yield* EventStore.append(streamId, [newEvent("Happened", data, { metadata })], ExpectedVersion.NoStream)
        data.items.push({ sku: "b", quantity: 2 })
        data.items[0].quantity = 99
        data.note = "changed"
        metadata.tags.push("y")
        const expected = { items: [{ sku: "a", quantity: 1 }], note: "first" }
        for (const [name, read] of Object.entries(reads(streamId, category))) {
          const [payload] = yield* read
          expect(payload, name).toEqual(expected)
          expect(payload, name).not.toBe(data)
        }
        const [event] = yield* readStream(streamId)
        expect(event.metadata).toEqual({ correlationId: "c-1", tags: ["x"] })
      }))

    test("two reads never share a parsed payload: readStream, readStreamBatch, readStreamPayloads, readAll, subscribe", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const streamId = streamIn(category)
        const expected = { nested: { list: [1, 2] }, n: 1 }
        yield* EventStore.append(streamId, [newEvent("Happened", expected)], ExpectedVersion.NoStream)
        const subscribed = EventStore.subscribe({ filter: { categories: [category] } }).pipe(
          Stream.take(1),
          collect,
          within(settings, "the event of a subscription"),
          Effect.map((events) => events.map((event) => event.data))
        )
        const every = { ...reads(streamId, category), subscribe: subscribed }
        // Every read twice, then each first read's payload changed: no other read may see it.
        const firsts: Array<readonly [string, unknown]> = []
        for (const [name, read] of Object.entries(every)) {
          const [first] = yield* read
          const [second] = yield* read
          expect(first, name).not.toBe(second)
          firsts.push([name, first])
          const changed = first as { nested: { list: Array<number> }; n: number }
          changed.n = 99
          changed.nested.list.push(3)
          expect(second, name).toEqual(expected)
        }
        for (const [name, read] of Object.entries(every)) {
          expect((yield* read)[0], name).toEqual(expected)
        }
        expect(new Set(firsts.map(([, first]) => first)).size).toBe(firsts.length)
      }))
  })
}

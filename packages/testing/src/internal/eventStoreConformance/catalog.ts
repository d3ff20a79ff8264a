import { describe, expect } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import { Aggregate, EventCatalog, EventStore, ExpectedVersion } from "@facta/core"
import { Effect, Either, Fiber, Schema, Stream } from "effect"
import type { Suite } from "./fixtures.js"
import {
  collect,
  expectFailure,
  newEvent,
  readStream,
  streamIn,
  uniqueCategory,
  uniqueType,
  within
} from "./fixtures.js"

// A small catalog with a three-version history and a renamed type, stored and read through the
// store under test, so that upcasting runs on payloads exactly as the store hands them back.

/** v1: the quantity was called `qty`. */
const ItemAddedV1 = Schema.TaggedStruct("ItemAdded", { sku: Schema.String, qty: Schema.Number })

/** v2: `qty` became `quantity`, and a unit was added. */
const ItemAddedV2 = Schema.TaggedStruct("ItemAdded", {
  sku: Schema.String,
  quantity: Schema.Number,
  unit: Schema.Literal("piece", "kg")
})

/** v3 (current): a label for display. */
const ItemAdded = Schema.TaggedStruct("ItemAdded", {
  sku: Schema.String,
  quantity: Schema.Number,
  unit: Schema.Literal("piece", "kg"),
  label: Schema.String
})

const ItemAddedHistory = EventCatalog.history(ItemAddedV1)
  .upcast(ItemAddedV2, (v1) => ({ _tag: "ItemAdded" as const, sku: v1.sku, quantity: v1.qty, unit: "piece" as const }))
  .upcast(ItemAdded, (v2) => ({ ...v2, label: `${v2.quantity} ${v2.unit} of ${v2.sku}` }))

/** One version, with fields whose encoded form differs from the decoded one. */
const OrderPlaced = Schema.TaggedStruct("OrderPlaced", {
  orderId: Schema.String,
  placedAt: Schema.Date,
  totalCents: Schema.BigInt
})

/** `ProductAdded` is what `ItemAdded` was called before; stored events keep the old name. */
const TestCatalog = EventCatalog.make([ItemAddedHistory, OrderPlaced], { renames: { ProductAdded: "ItemAdded" } })

type TestEvent = Schema.Schema.Type<typeof TestCatalog.schema>

const toNewEvent = EventCatalog.toNewEvent(TestCatalog)
const decode = EventCatalog.decode(TestCatalog)

/** Stored payloads of every past shape of `ItemAdded`, and what each reads back as today. */
const history: ReadonlyArray<{ readonly stored: RecordedEvent.NewEvent; readonly current: TestEvent }> = [
  {
    stored: newEvent("ItemAdded", { sku: "apple", qty: 3 }, { schemaVersion: 1 }),
    current: { _tag: "ItemAdded", sku: "apple", quantity: 3, unit: "piece", label: "3 piece of apple" }
  },
  {
    stored: newEvent("ItemAdded", { sku: "flour", quantity: 2, unit: "kg" }, { schemaVersion: 2 }),
    current: { _tag: "ItemAdded", sku: "flour", quantity: 2, unit: "kg", label: "2 kg of flour" }
  },
  {
    stored: newEvent("ItemAdded", { sku: "pear", quantity: 1, unit: "piece", label: "a pear" }, { schemaVersion: 3 }),
    current: { _tag: "ItemAdded", sku: "pear", quantity: 1, unit: "piece", label: "a pear" }
  },
  {
    stored: newEvent("ProductAdded", { sku: "plum", qty: 5 }, { schemaVersion: 1 }),
    current: { _tag: "ItemAdded", sku: "plum", quantity: 5, unit: "piece", label: "5 piece of plum" }
  },
  {
    stored: newEvent("ProductAdded", { sku: "salt", quantity: 1, unit: "kg" }, { schemaVersion: 2 }),
    current: { _tag: "ItemAdded", sku: "salt", quantity: 1, unit: "kg", label: "1 kg of salt" }
  }
]

/** The same stored event under a fresh id: ids are unique across the whole store. */
const fresh = (event: RecordedEvent.NewEvent): RecordedEvent.NewEvent => ({ ...event, eventId: crypto.randomUUID() })

const storeHistory = (streamId: string) =>
  EventStore.append(streamId, history.map(({ stored }) => fresh(stored)), ExpectedVersion.NoStream)

/** The parts of a stored event that must never change. */
const storedForm = (event: RecordedEvent.NewEvent | RecordedEvent.RecordedEvent) => ({
  eventId: event.eventId,
  type: event.type,
  schemaVersion: event.schemaVersion,
  data: event.data
})

export const catalogCases = ({ settings, test }: Suite) =>
  describe("decoding and upcasting through an EventCatalog", () => {
    test("reads schema versions 1, 2, 3 and a renamed type as the current type, upcast", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        yield* storeHistory(streamId)
        const events = yield* collect(EventCatalog.readStream(TestCatalog, streamId))
        expect(events.map((event) => event.data)).toEqual(history.map(({ current }) => current))
        expect(events.map((event) => [event.type, event.schemaVersion])).toEqual(
          history.map(({ stored }) => [stored.type, stored.schemaVersion])
        )
      }))

    test("EventCatalog.decode upcasts raw events read from the store", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        yield* storeHistory(streamId)
        const raw = yield* readStream(streamId)
        const decoded = raw.map(decode)
        expect(decoded.map((result) => Either.map(result, (event) => event.data))).toEqual(
          history.map(({ current }) => Either.right(current))
        )
      }))

    test("EventCatalog.readAll decodes a category's events and skips types outside the catalog", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        yield* storeHistory(streamIn(category))
        yield* EventStore.append(streamIn(category), [newEvent(uniqueType("NotInCatalog"))], ExpectedVersion.NoStream)
        const events = yield* collect(EventCatalog.readAll(TestCatalog, { filter: { categories: [category] } }))
        expect(events.map((event) => event.data)).toEqual(history.map(({ current }) => current))
      }))

    test("EventCatalog.subscribe decodes live events", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const subscription = yield* EventCatalog.subscribe(TestCatalog, { filter: { categories: [category] } }).pipe(
          Stream.take(history.length),
          collect,
          within(settings, "decoded events of a catalog subscription"),
          Effect.fork
        )
        yield* storeHistory(streamIn(category))
        const events = yield* Fiber.join(subscription)
        expect(events.map((event) => event.data)).toEqual(history.map(({ current }) => current))
      }))

    test("toNewEvent stores the encoded payload without _tag, at the current schema version", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        const placed: TestEvent = {
          _tag: "OrderPlaced",
          orderId: "o-1",
          placedAt: new Date("2024-05-06T07:08:09.010Z"),
          totalCents: 12345678901234567890n
        }
        const added: TestEvent = { _tag: "ItemAdded", sku: "fig", quantity: 2, unit: "piece", label: "two figs" }
        const metadata = { correlationId: crypto.randomUUID(), userId: "u-1" }
        const encoded = [yield* toNewEvent(placed, metadata), yield* toNewEvent(added)]
        yield* EventStore.append(streamId, encoded, ExpectedVersion.NoStream)
        const raw = yield* readStream(streamId)
        expect(raw.map(storedForm)).toEqual([
          {
            eventId: encoded[0].eventId,
            type: "OrderPlaced",
            schemaVersion: 1,
            data: { orderId: "o-1", placedAt: "2024-05-06T07:08:09.010Z", totalCents: "12345678901234567890" }
          },
          {
            eventId: encoded[1].eventId,
            type: "ItemAdded",
            schemaVersion: 3,
            data: { sku: "fig", quantity: 2, unit: "piece", label: "two figs" }
          }
        ])
        expect(raw[0].metadata).toEqual(metadata)
        const decoded = yield* collect(EventCatalog.readStream(TestCatalog, streamId))
        expect(decoded.map((event) => event.data)).toEqual([placed, added])
      }))

    test("a stored payload that no longer decodes fails with EventDecodeError naming where it is", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        const bad = newEvent("ItemAdded", { sku: 42, quantity: 1, unit: "piece", label: "x" }, { schemaVersion: 3 })
        yield* EventStore.append(streamId, [fresh(history[0].stored), bad], ExpectedVersion.NoStream)
        const [, recorded] = yield* readStream(streamId)
        const error = yield* expectFailure(collect(EventCatalog.readStream(TestCatalog, streamId)), "EventDecodeError")
        expect(error).toMatchObject({
          streamId,
          streamVersion: 2,
          globalPosition: recorded.globalPosition,
          eventId: bad.eventId,
          type: "ItemAdded",
          schemaVersion: 3
        })
        expect(error.issue).toContain("sku")
        expect(error.issue).toContain("Expected string, actual 42")
        expect(error.message).toContain(streamId)
        expect(error.message).toContain(String(recorded.globalPosition))
        // the events before it still decode
        const first = yield* collect(EventCatalog.readStream(TestCatalog, streamId, { to: 1 }))
        expect(first.map((event) => event.data)).toEqual([history[0].current])
      }))

    test("an old payload that no longer decodes through its upcasters fails with EventDecodeError", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        yield* EventStore.append(streamId, [newEvent("ProductAdded", { sku: "apple" })], ExpectedVersion.NoStream)
        const error = yield* expectFailure(collect(EventCatalog.readStream(TestCatalog, streamId)), "EventDecodeError")
        expect(error).toMatchObject({ streamId, streamVersion: 1, type: "ProductAdded", schemaVersion: 1 })
        expect(error.issue).toContain("qty")
      }))

    test("a schema version newer than the catalog knows fails with EventDecodeError", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        const future = newEvent("ItemAdded", { sku: "kiwi", quantity: 1, unit: "piece", label: "k" }, {
          schemaVersion: 4
        })
        yield* EventStore.append(streamId, [future], ExpectedVersion.NoStream)
        const error = yield* expectFailure(collect(EventCatalog.readStream(TestCatalog, streamId)), "EventDecodeError")
        expect(error).toMatchObject({ streamId, streamVersion: 1, type: "ItemAdded", schemaVersion: 4 })
        expect(error.issue).toContain("4")
      }))

    test("an event type the catalog does not know fails with UnknownEventType", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        const type = uniqueType("Mystery")
        const mystery = newEvent(type, { what: "?" })
        yield* EventStore.append(streamId, [mystery], ExpectedVersion.NoStream)
        const [recorded] = yield* readStream(streamId)
        const error = yield* expectFailure(collect(EventCatalog.readStream(TestCatalog, streamId)), "UnknownEventType")
        expect(error).toMatchObject({
          streamId,
          streamVersion: 1,
          globalPosition: recorded.globalPosition,
          eventId: mystery.eventId,
          type
        })
        expect([...error.knownTypes].sort()).toEqual(["ItemAdded", "OrderPlaced"])
      }))

    test("Aggregate.load decodes every past version and names an event that does not decode", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const Items = Aggregate.make({
          category,
          catalog: TestCatalog,
          decider: {
            initialState: [] as ReadonlyArray<TestEvent>,
            decide: () => Effect.succeed([]),
            evolve: (state: ReadonlyArray<TestEvent>, event: TestEvent) => [...state, event]
          }
        })
        const healthy = streamIn(category)
        yield* storeHistory(healthy)
        const loaded = yield* Aggregate.load(Items, healthy)
        expect(loaded).toMatchObject({ version: history.length, eventsFolded: history.length })
        expect(loaded.state).toEqual(history.map(({ current }) => current))

        const broken = streamIn(category)
        const bad = newEvent("ItemAdded", { sku: 42, quantity: 1, unit: "piece", label: "x" }, { schemaVersion: 3 })
        const mystery = newEvent(uniqueType("Mystery"), {})
        yield* EventStore.append(broken, [fresh(history[0].stored), bad], ExpectedVersion.NoStream)
        const [, recordedBad] = yield* readStream(broken)
        const error = yield* expectFailure(Aggregate.load(Items, broken), "EventDecodeError")
        expect(error).toMatchObject({
          streamId: broken,
          streamVersion: 2,
          globalPosition: recordedBad.globalPosition,
          eventId: bad.eventId,
          type: "ItemAdded",
          schemaVersion: 3
        })
        expect(error.issue).toContain("Expected string, actual 42")
        expect((yield* Aggregate.load(Items, broken, { version: 1 })).state).toEqual([history[0].current])
        const mysterious = streamIn(category)
        yield* EventStore.append(mysterious, [fresh(history[0].stored), mystery], ExpectedVersion.NoStream)
        const [, recordedMystery] = yield* readStream(mysterious)
        const unknown = yield* expectFailure(Aggregate.load(Items, mysterious), "UnknownEventType")
        expect(unknown).toMatchObject({
          streamId: mysterious,
          streamVersion: 2,
          globalPosition: recordedMystery.globalPosition,
          eventId: mystery.eventId,
          type: mystery.type
        })
      }))

    test("events that fail to decode stay stored exactly as written", () =>
      Effect.gen(function*() {
        const streamId = streamIn(uniqueCategory())
        const stored = [
          newEvent("ItemAdded", { sku: 42 }, { schemaVersion: 3 }),
          newEvent("ItemAdded", { sku: "kiwi" }, { schemaVersion: 9 }),
          newEvent(uniqueType("Mystery"), { what: "?" }),
          newEvent("OrderPlaced", ["not", "an", "object"])
        ]
        yield* EventStore.append(streamId, stored, ExpectedVersion.NoStream)
        for (const version of [1, 2, 3, 4]) {
          const failure = yield* Effect.flip(
            collect(EventCatalog.readStream(TestCatalog, streamId, { from: version, to: version }))
          )
          expect(["EventDecodeError", "UnknownEventType"]).toContain(failure._tag)
        }
        const raw = yield* readStream(streamId)
        expect(raw.map(storedForm)).toEqual(stored.map(storedForm))
      }))
  })

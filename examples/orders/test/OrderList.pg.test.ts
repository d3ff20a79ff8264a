/**
 * The order list projection on Postgres: given events in the store, the rows it writes; replaying
 * the same events (handled again, or a rebuild) gives the same rows; old v1 `ItemAdded` events
 * appended raw are read as v2 by the aggregate and by the projection.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Aggregate, EventCatalog, EventStore, ExpectedVersion, ProjectionRunner } from "@facta/core"
import type { RecordedEvent } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Effect, Layer, Option, Stream } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import type { OrderEvent } from "../src/Order.js"
import { Order, OrderEvents } from "../src/Order.js"
import * as OrderList from "../src/OrderList.js"

const schema = uniqueSchemaName()
const stores = storesLayer(schema)
const readModel = Layer.effectDiscard(OrderList.migrate(schema)).pipe(Layer.provide(stores))
const runner = ProjectionRunner.layer([OrderList.projection(schema)], { leaseTtl: "2 seconds" })
const app = runner.pipe(Layer.provideMerge(Layer.merge(stores, readModel)))

const toNewEvent = EventCatalog.toNewEvent(OrderEvents)

/** Given: `events` appended to `order-<orderId>` as the command handler would. */
const given = (orderId: string, events: ReadonlyArray<OrderEvent>) =>
  Effect.forEach(events, (event) => toNewEvent(event)).pipe(
    Effect.flatMap((newEvents) => EventStore.append(`order-${orderId}`, newEvents, ExpectedVersion.Any))
  )

const caughtUp = ProjectionRunner.waitForCatchUp(OrderList.name).pipe(Effect.timeout("10 seconds"))

const rowOf = (orderId: string) =>
  OrderList.get(schema, orderId).pipe(
    Effect.map(Option.map(({ placedAt: _p, updatedAt: _u, ...row }) => row)),
    Effect.map(Option.getOrUndefined)
  )

const everyRow = OrderList.list(schema, { limit: 1000 })

const placed = (customerId: string): OrderEvent => ({ _tag: "OrderPlaced", customerId, currency: "EUR" })
const added = (sku: string, quantity: number, unitPriceCents: number): OrderEvent => ({
  _tag: "ItemAdded",
  sku,
  quantity,
  unitPriceCents,
  currency: "EUR"
})

layer(app, { excludeTestServices: true })("OrderList on Postgres", (it) => {
  describe("given events, the rows", () => {
    it.effect("a placed order is an open row with no items", () =>
      Effect.gen(function*() {
        yield* given("p1", [placed("ada")])
        yield* caughtUp
        expect(yield* rowOf("p1")).toEqual({
          orderId: "p1",
          customerId: "ada",
          status: "open",
          itemCount: 0,
          totalCents: 0,
          currency: "EUR",
          version: 1
        })
      }))

    it.effect("items added and removed give the item count and total", () =>
      Effect.gen(function*() {
        yield* given("p2", [
          placed("ada"),
          added("book", 2, 1500),
          added("pen", 3, 200),
          { _tag: "ItemRemoved", sku: "pen", quantity: 3, unitPriceCents: 200 },
          added("book", 1, 1500)
        ])
        yield* caughtUp
        expect(yield* rowOf("p2")).toMatchObject({ status: "open", itemCount: 3, totalCents: 4500, version: 5 })
      }))

    it.effect("shipping and cancelling set the status and keep what was ordered", () =>
      Effect.gen(function*() {
        yield* given("p3", [placed("bob"), added("mug", 1, 900), { _tag: "OrderShipped", carrier: "UPS" }])
        yield* given("p4", [placed("bob"), added("mug", 2, 900), {
          _tag: "OrderCancelled",
          reason: "out of stock",
          releasedItems: [{ sku: "mug", quantity: 2 }]
        }])
        yield* caughtUp
        expect(yield* rowOf("p3")).toMatchObject({ status: "shipped", itemCount: 1, totalCents: 900, version: 3 })
        expect(yield* rowOf("p4")).toMatchObject({ status: "cancelled", itemCount: 2, totalCents: 1800, version: 3 })
        const bobs = yield* OrderList.list(schema, { customerId: "bob" })
        expect(bobs.map((row) => row.orderId)).toEqual(["p3", "p4"])
        const cancelled = yield* OrderList.list(schema, { customerId: "bob", status: "cancelled" })
        expect(cancelled.map((row) => row.orderId)).toEqual(["p4"])
      }))

    it.effect("placed and updated times are the events' recorded times", () =>
      Effect.gen(function*() {
        yield* given("p5", [placed("cy"), added("book", 1, 1500)])
        yield* caughtUp
        const recorded = yield* EventCatalog.readStream(OrderEvents, "order-p5").pipe(Stream.runCollect)
        const [first, last] = [...recorded]
        const row = Option.getOrThrow(yield* OrderList.get(schema, "p5"))
        expect(row.placedAt.getTime()).toBe(first.recordedAt.getTime())
        expect(row.updatedAt.getTime()).toBe(last.recordedAt.getTime())
      }))
  })

  describe("replaying", () => {
    it.effect("handling every event a second time gives the same rows", () =>
      Effect.gen(function*() {
        yield* caughtUp
        const before = yield* everyRow
        expect(before.length).toBeGreaterThanOrEqual(5)
        const events = yield* EventCatalog.readAll(OrderEvents, { filter: { categories: ["order"] } }).pipe(
          Stream.runCollect
        )
        const projection = OrderList.projection(schema)
        yield* Effect.forEach(events, (event: RecordedEvent.RecordedEvent<OrderEvent>) => projection.handle(event), {
          discard: true
        })
        expect(yield* everyRow).toEqual(before)
      }))

    it.effect("a rebuild (reset, then replay from the start) gives the same rows", () =>
      Effect.gen(function*() {
        yield* caughtUp
        const before = yield* everyRow
        yield* ProjectionRunner.rebuild(OrderList.name)
        yield* caughtUp
        expect(yield* everyRow).toEqual(before)
      }))
  })

  describe("old ItemAdded v1 events (decimal euros)", () => {
    it.effect("appended raw with schema version 1, they read as v2 in the aggregate and in the order list", () =>
      Effect.gen(function*() {
        yield* EventStore.append("order-legacy", [
          {
            eventId: crypto.randomUUID(),
            type: "OrderPlaced",
            schemaVersion: 1,
            data: { customerId: "dora", currency: "EUR" },
            metadata: {}
          },
          {
            eventId: crypto.randomUUID(),
            type: "ItemAdded",
            schemaVersion: 1,
            data: { sku: "book", quantity: 2, price: 12.99 },
            metadata: {}
          },
          {
            eventId: crypto.randomUUID(),
            type: "ItemAdded",
            schemaVersion: 1,
            data: { sku: "pen", quantity: 4, price: 0.5 },
            metadata: {}
          }
        ], ExpectedVersion.NoStream)
        const stored = yield* EventStore.readStream("order-legacy").pipe(Stream.runCollect)
        expect([...stored].map((event) => event.schemaVersion)).toEqual([1, 1, 1])

        const loaded = yield* Aggregate.load(Order, "order-legacy")
        expect(loaded.state).toEqual({
          _tag: "Open",
          customerId: "dora",
          currency: "EUR",
          lines: [{ sku: "book", quantity: 2, unitPriceCents: 1299 }, { sku: "pen", quantity: 4, unitPriceCents: 50 }]
        })

        yield* caughtUp
        expect(yield* rowOf("legacy")).toEqual({
          orderId: "legacy",
          customerId: "dora",
          status: "open",
          itemCount: 6,
          totalCents: 2 * 1299 + 4 * 50,
          currency: "EUR",
          version: 3
        })
      }))
  })
})

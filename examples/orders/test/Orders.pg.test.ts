/**
 * End to end on Postgres: commands through `CommandHandler`, the order list kept by the
 * `ProjectionRunner`, `waitForCatchUp`, then queries.
 */
import { describe, expect, layer } from "@effect/vitest"
import { CommandHandler, EventCatalog, EventStore, ProjectionRunner } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Effect, Layer, Option, Stream } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import type { OrderCommand } from "../src/Order.js"
import { Order, OrderEvents } from "../src/Order.js"
import * as OrderList from "../src/OrderList.js"

const schema = uniqueSchemaName()
const stores = storesLayer(schema)
const readModel = Layer.effectDiscard(OrderList.migrate(schema)).pipe(Layer.provide(stores))
const runner = ProjectionRunner.layer([OrderList.projection(schema)], { leaseTtl: "2 seconds" })
const app = runner.pipe(Layer.provideMerge(Layer.merge(stores, readModel)))

const handle = CommandHandler.make(Order)
const run = (orderId: string, ...commands: ReadonlyArray<OrderCommand>) =>
  Effect.forEach(commands, (command) => handle(`order-${orderId}`, command, { context: { userId: "clerk-7" } }), {
    discard: true
  })

const caughtUp = ProjectionRunner.waitForCatchUp(OrderList.name).pipe(Effect.timeout("10 seconds"))

const summaries = (customerId: string) =>
  OrderList.list(schema, { customerId }).pipe(
    Effect.map((rows) => rows.map(({ placedAt: _p, updatedAt: _u, ...row }) => row))
  )

layer(app, { excludeTestServices: true })("Orders end to end on Postgres", (it) => {
  describe("commands, projection, queries", () => {
    it.effect("a customer's orders are listed with status, item count and total once the projection caught up", () =>
      Effect.gen(function*() {
        yield* run(
          "o-1",
          { _tag: "PlaceOrder", customerId: "ada", currency: "EUR" },
          { _tag: "AddItem", sku: "book", quantity: 2, unitPriceCents: 1500 },
          { _tag: "AddItem", sku: "pen", quantity: 3, unitPriceCents: 200 },
          { _tag: "RemoveItem", sku: "pen" },
          { _tag: "ShipOrder", carrier: "DHL" }
        )
        yield* run(
          "o-2",
          { _tag: "PlaceOrder", customerId: "ada", currency: "EUR" },
          { _tag: "AddItem", sku: "mug", quantity: 1, unitPriceCents: 900 },
          { _tag: "CancelOrder", reason: "ordered by mistake" }
        )
        yield* run("o-3", { _tag: "PlaceOrder", customerId: "ada", currency: "EUR" }, {
          _tag: "AddItem",
          sku: "lamp",
          quantity: 1,
          unitPriceCents: 4999
        })
        yield* caughtUp
        expect(yield* summaries("ada")).toEqual([
          {
            orderId: "o-1",
            customerId: "ada",
            status: "shipped",
            itemCount: 2,
            totalCents: 3000,
            currency: "EUR",
            version: 5
          },
          {
            orderId: "o-2",
            customerId: "ada",
            status: "cancelled",
            itemCount: 1,
            totalCents: 900,
            currency: "EUR",
            version: 3
          },
          {
            orderId: "o-3",
            customerId: "ada",
            status: "open",
            itemCount: 1,
            totalCents: 4999,
            currency: "EUR",
            version: 2
          }
        ])
        const open = yield* OrderList.list(schema, { customerId: "ada", status: "open" })
        expect(open.map((row) => row.orderId)).toEqual(["o-3"])
      }))

    it.effect("the cancellation in the log carries the released items and who asked", () =>
      Effect.gen(function*() {
        const events = yield* EventCatalog.readStream(OrderEvents, "order-o-2").pipe(Stream.runCollect)
        const cancellation = [...events].find((event) => event.data._tag === "OrderCancelled")
        expect(cancellation?.data).toEqual({
          _tag: "OrderCancelled",
          reason: "ordered by mistake",
          releasedItems: [{ sku: "mug", quantity: 1 }]
        })
        expect(cancellation?.metadata.userId).toBe("clerk-7")
      }))

    it.effect("a rejected command appends nothing and leaves the row as it was", () =>
      Effect.gen(function*() {
        const error = yield* handle("order-o-1", { _tag: "CancelOrder", reason: "too late" }).pipe(Effect.flip)
        expect(error._tag).toBe("ShippedOrderCannotBeCancelled")
        const emptyShip = yield* run("o-4", { _tag: "PlaceOrder", customerId: "bob", currency: "EUR" }, {
          _tag: "ShipOrder",
          carrier: "DHL"
        }).pipe(Effect.flip)
        expect(emptyShip._tag).toBe("EmptyOrderCannotBeShipped")
        expect(yield* EventStore.streamVersion("order-o-1")).toEqual(Option.some(5))
        expect(yield* EventStore.streamVersion("order-o-4")).toEqual(Option.some(1))
        yield* caughtUp
        expect(yield* summaries("bob")).toEqual([
          {
            orderId: "o-4",
            customerId: "bob",
            status: "open",
            itemCount: 0,
            totalCents: 0,
            currency: "EUR",
            version: 1
          }
        ])
      }))

    it.effect("the list follows later commands live", () =>
      Effect.gen(function*() {
        yield* run("o-3", { _tag: "AddItem", sku: "lamp", quantity: 1, unitPriceCents: 4999 }, {
          _tag: "ShipOrder",
          carrier: "UPS"
        })
        yield* caughtUp
        const row = Option.getOrThrow(yield* OrderList.get(schema, "o-3"))
        expect(row).toMatchObject({ status: "shipped", itemCount: 2, totalCents: 9998, version: 4 })
        expect(row.updatedAt.getTime()).toBeGreaterThanOrEqual(row.placedAt.getTime())
      }))
  })
})

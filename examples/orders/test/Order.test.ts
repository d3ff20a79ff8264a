import { describe, expect, it } from "@effect/vitest"
import { Aggregate, EventStore, ExpectedVersion } from "@facta/core"
import { DeciderSpec } from "@facta/testing"
import { Effect } from "effect"
import {
  EmptyOrderCannotBeShipped,
  InvalidQuantity,
  ItemNotInOrder,
  Order,
  OrderAlreadyPlaced,
  OrderAlreadyShipped,
  type OrderCommand,
  type OrderEvent,
  OrderIsCancelled,
  OrderNotPlaced,
  PriceDiffers,
  ShippedOrderCannotBeCancelled
} from "../src/Order.js"

const spec = DeciderSpec.for(Order)

const placed: OrderEvent = { _tag: "OrderPlaced", customerId: "ada", currency: "EUR" }
const added = (sku: string, quantity: number, unitPriceCents: number): OrderEvent => ({
  _tag: "ItemAdded",
  sku,
  quantity,
  unitPriceCents,
  currency: "EUR"
})
const removed = (sku: string, quantity: number, unitPriceCents: number): OrderEvent => ({
  _tag: "ItemRemoved",
  sku,
  quantity,
  unitPriceCents
})
const shipped: OrderEvent = { _tag: "OrderShipped", carrier: "DHL" }
const cancelled = (releasedItems: ReadonlyArray<{ sku: string; quantity: number }>): OrderEvent => ({
  _tag: "OrderCancelled",
  reason: "customer changed their mind",
  releasedItems
})

const place: OrderCommand = { _tag: "PlaceOrder", customerId: "ada", currency: "EUR" }
const add = (sku: string, quantity: number, unitPriceCents: number): OrderCommand => ({
  _tag: "AddItem",
  sku,
  quantity,
  unitPriceCents
})
const remove = (sku: string): OrderCommand => ({ _tag: "RemoveItem", sku })
const ship: OrderCommand = { _tag: "ShipOrder", carrier: "DHL" }
const cancel: OrderCommand = { _tag: "CancelOrder", reason: "customer changed their mind" }

const withItems = [placed, added("book", 2, 1500), added("pen", 3, 200)]

describe("Order", () => {
  describe("placing", () => {
    it.effect("places an empty open order in the customer's currency", () =>
      spec.when(place).then([placed], { state: { _tag: "Open", customerId: "ada", currency: "EUR", lines: [] } }))

    it.effect("refuses to place the same order twice", () =>
      spec.given([placed]).when(place).thenFails(new OrderAlreadyPlaced()))
  })

  describe("adding items", () => {
    it.effect("adds a line priced in the order's currency", () =>
      spec.given([placed]).when(add("book", 2, 1500)).then([added("book", 2, 1500)], {
        state: {
          _tag: "Open",
          customerId: "ada",
          currency: "EUR",
          lines: [{ sku: "book", quantity: 2, unitPriceCents: 1500 }]
        }
      }))

    it.effect("adding more of an item at the same price adds to its line", () =>
      spec.given(withItems).when(add("book", 1, 1500)).thenState({
        _tag: "Open",
        customerId: "ada",
        currency: "EUR",
        lines: [{ sku: "book", quantity: 3, unitPriceCents: 1500 }, { sku: "pen", quantity: 3, unitPriceCents: 200 }]
      }))

    it.effect("refuses more of an item at another price, naming both prices", () =>
      spec.given(withItems).when(add("book", 1, 1400)).thenFails(
        new PriceDiffers({ sku: "book", orderedUnitPriceCents: 1500, requestedUnitPriceCents: 1400 })
      ))

    it.effect("refuses a zero quantity", () =>
      spec.given([placed]).when(add("book", 0, 1500)).thenFails(new InvalidQuantity({ sku: "book", quantity: 0 })))

    it.effect("refuses a negative quantity", () =>
      spec.given([placed]).when(add("book", -2, 1500)).thenFails(new InvalidQuantity({ sku: "book", quantity: -2 })))

    it.effect("refuses a fractional quantity", () =>
      spec.given([placed]).when(add("book", 1.5, 1500)).thenFails("InvalidQuantity"))

    it.effect("refuses items before the order is placed", () =>
      spec.when(add("book", 1, 1500)).thenFails(new OrderNotPlaced()))

    it.effect("refuses items after shipping", () =>
      spec.given([...withItems, shipped]).when(add("book", 1, 1500)).thenFails(
        new OrderAlreadyShipped({ attempted: "add an item" })
      ))

    it.effect("refuses items after cancelling", () =>
      spec.given([placed, cancelled([])]).when(add("book", 1, 1500)).thenFails(
        new OrderIsCancelled({ attempted: "add an item" })
      ))
  })

  describe("removing items", () => {
    it.effect("removes the whole line, recording its quantity and price", () =>
      spec.given(withItems).when(remove("book")).then([removed("book", 2, 1500)], {
        state: {
          _tag: "Open",
          customerId: "ada",
          currency: "EUR",
          lines: [{ sku: "pen", quantity: 3, unitPriceCents: 200 }]
        }
      }))

    it.effect("refuses to remove an item the order does not hold, listing what it holds", () =>
      spec.given(withItems).when(remove("mug")).thenFails(
        new ItemNotInOrder({ sku: "mug", skusInOrder: ["book", "pen"] })
      ))

    it.effect("refuses to remove an item already removed", () =>
      spec.given([placed, added("book", 2, 1500), removed("book", 2, 1500)]).when(remove("book")).thenFails(
        new ItemNotInOrder({ sku: "book", skusInOrder: [] })
      ))

    it.effect("refuses removals before the order is placed", () =>
      spec.when(remove("book")).thenFails(new OrderNotPlaced()))

    it.effect("refuses removals after shipping", () =>
      spec.given([...withItems, shipped]).when(remove("book")).thenFails(
        new OrderAlreadyShipped({ attempted: "remove an item" })
      ))

    it.effect("refuses removals after cancelling", () =>
      spec.given([...withItems, cancelled([])]).when(remove("book")).thenFails(
        new OrderIsCancelled({ attempted: "remove an item" })
      ))
  })

  describe("shipping", () => {
    it.effect("ships an order with items", () =>
      spec.given(withItems).when(ship).then([shipped], {
        state: {
          _tag: "Shipped",
          customerId: "ada",
          currency: "EUR",
          carrier: "DHL",
          lines: [{ sku: "book", quantity: 2, unitPriceCents: 1500 }, { sku: "pen", quantity: 3, unitPriceCents: 200 }]
        }
      }))

    it.effect("refuses to ship an empty order", () =>
      spec.given([placed]).when(ship).thenFails(new EmptyOrderCannotBeShipped()))

    it.effect("refuses to ship an order whose items were all removed", () =>
      spec.given([placed, added("book", 2, 1500), removed("book", 2, 1500)]).when(ship).thenFails(
        new EmptyOrderCannotBeShipped()
      ))

    it.effect("refuses to ship twice", () =>
      spec.given([...withItems, shipped]).when(ship).thenFails(new OrderAlreadyShipped({ attempted: "ship it again" })))

    it.effect("refuses to ship a cancelled order", () =>
      spec.given([...withItems, cancelled([])]).when(ship).thenFails(new OrderIsCancelled({ attempted: "ship it" })))

    it.effect("refuses to ship an order never placed", () => spec.when(ship).thenFails(new OrderNotPlaced()))
  })

  describe("cancelling (a compensating event)", () => {
    it.effect("cancels an open order, releasing every item it held", () =>
      spec.given(withItems).when(cancel).then(
        [cancelled([{ sku: "book", quantity: 2 }, { sku: "pen", quantity: 3 }])],
        {
          state: { _tag: "Cancelled", customerId: "ada", reason: "customer changed their mind" }
        }
      ))

    it.effect("releases only what is still in the order", () =>
      spec.given([...withItems, removed("pen", 3, 200), added("book", 1, 1500)]).when(cancel).then([
        cancelled([{ sku: "book", quantity: 3 }])
      ]))

    it.effect("cancels an empty order, releasing nothing", () =>
      spec.given([placed]).when(cancel).then([cancelled([])]))

    it.effect("refuses to cancel a shipped order", () =>
      spec.given([...withItems, shipped]).when(cancel).thenFails(new ShippedOrderCannotBeCancelled()))

    it.effect("cancelling a cancelled order again changes nothing", () =>
      spec.given([placed, cancelled([])]).when(cancel).thenNothing())

    it.effect("refuses to cancel an order never placed", () => spec.when(cancel).thenFails(new OrderNotPlaced()))
  })

  describe("errors say what to do", () => {
    it("names the item and the prices", () => {
      expect(new PriceDiffers({ sku: "book", orderedUnitPriceCents: 1500, requestedUnitPriceCents: 1400 }).message)
        .toBe(
          "book is in the order at 1500 cents a unit, not 1400; remove the line and add it again to change its price"
        )
      expect(new ItemNotInOrder({ sku: "mug", skusInOrder: ["book"] }).message).toBe(
        "The order has no mug to remove (it holds book)"
      )
      expect(new ShippedOrderCannotBeCancelled().message).toContain("start a return instead")
    })
  })

  describe("ItemAdded v1 (decimal euros) is read as v2 (cents and currency)", () => {
    it.effect("an aggregate loaded from v1 events has cent prices in euros", () =>
      Effect.gen(function*() {
        yield* EventStore.append("order-legacy", [
          {
            eventId: crypto.randomUUID(),
            type: "OrderPlaced",
            schemaVersion: 1,
            data: { customerId: "ada", currency: "EUR" },
            metadata: {}
          },
          {
            eventId: crypto.randomUUID(),
            type: "ItemAdded",
            schemaVersion: 1,
            data: { sku: "book", quantity: 2, price: 12.99 },
            metadata: {}
          },
          // 0.1 + 0.2 is not 0.3 in binary: the upcaster rounds to the nearest cent.
          {
            eventId: crypto.randomUUID(),
            type: "ItemAdded",
            schemaVersion: 1,
            data: { sku: "pen", quantity: 1, price: 0.1 + 0.2 },
            metadata: {}
          }
        ], ExpectedVersion.NoStream)
        const loaded = yield* Aggregate.load(Order, "order-legacy")
        expect(loaded.state).toEqual({
          _tag: "Open",
          customerId: "ada",
          currency: "EUR",
          lines: [{ sku: "book", quantity: 2, unitPriceCents: 1299 }, { sku: "pen", quantity: 1, unitPriceCents: 30 }]
        })
      }).pipe(Effect.provide(EventStore.layerMemory)))
  })
})

import { describe, expect, it } from "@effect/vitest"
import { Laws } from "@facta/testing"
import { Arbitrary, Effect, FastCheck, Schema } from "effect"
import { AddItem, Order, OrderCommand, RemoveItem } from "../src/Order.js"

const skus = ["book", "pen", "mug"] as const

/**
 * Schema-random SKUs and prices almost never meet again, so removals would always miss and
 * prices never clash; three SKUs and two prices make both common.
 */
const onAFewItems = (command: OrderCommand): OrderCommand => {
  switch (command._tag) {
    case "AddItem":
      return {
        ...command,
        sku: skus[command.quantity % 3],
        quantity: 1 + (command.quantity % 3),
        unitPriceCents: command.unitPriceCents % 2 === 0 ? 500 : 750
      }
    case "RemoveItem":
      return { ...command, sku: skus[command.sku.length % 3] }
    case "PlaceOrder":
    case "ShipOrder":
    case "CancelOrder":
      return command
  }
}

/** Every kind of command, derived from the command schema. */
const anyCommand = Arbitrary.make(OrderCommand).map(onAFewItems)
/** Lines change more often than orders are placed, shipped or cancelled. */
const lineChanges = Arbitrary.make(Schema.Union(AddItem, AddItem, RemoveItem)).map(onAFewItems)
const commands = FastCheck.oneof(anyCommand, lineChanges, lineChanges)
const maxCommands = 30

describe("Order laws", () => {
  it.effect("the command arbitrary gives interesting histories", () =>
    Effect.gen(function*() {
      const samples = FastCheck.sample(FastCheck.array(commands, { maxLength: maxCommands, size: "max" }), {
        numRuns: 300,
        seed: 7
      })
      const histories = yield* Effect.forEach(samples, (sample) => Laws.history(Order, sample))
      const share = (predicate: (history: (typeof histories)[number]) => boolean) =>
        histories.filter(predicate).length / histories.length
      const rejectedWith = (tag: string) => (h: (typeof histories)[number]) =>
        h.steps.some((step) => step._tag === "Rejected" && step.error._tag === tag)
      expect(share((h) => h.state._tag === "Shipped")).toBeGreaterThan(0.1)
      expect(share((h) => h.events.some((e) => e._tag === "OrderCancelled" && e.releasedItems.length > 0)))
        .toBeGreaterThan(0.05)
      expect(share((h) => h.events.some((e) => e._tag === "ItemRemoved"))).toBeGreaterThan(0.1)
      expect(share(rejectedWith("PriceDiffers"))).toBeGreaterThan(0.05)
      expect(share(rejectedWith("ItemNotInOrder"))).toBeGreaterThan(0.05)
      expect(share(rejectedWith("EmptyOrderCannotBeShipped"))).toBeGreaterThan(0.02)
    }))

  it.effect("all laws hold", () =>
    Effect.gen(function*() {
      const checked = yield* Laws.check(Order, { commands, maxCommands, numRuns: 200 })
      expect(checked).toEqual([
        "replayIsDeterministic",
        "snapshotRestoresState",
        "eventsRoundTrip",
        "evolveIsTotal",
        "oldVersionsUpcast"
      ])
    }))

  it.effect("the laws also hold for commands straight from the schema", () =>
    Effect.asVoid(Laws.check(Order, { commands: Arbitrary.make(OrderCommand), numRuns: 50 })))
})

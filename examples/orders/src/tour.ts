/**
 * A short scripted scenario on the stores in the context: orders placed, changed, shipped and
 * cancelled (a compensating event), rejected commands, an order from the first release whose
 * `ItemAdded` v1 events are upcast on read, and the order list kept in PostgreSQL.
 *
 * The read model lives in a fresh Postgres schema, dropped at the end; ids get a per-run suffix
 * (never printed) so the tour can run again on the same database and print the same lines.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { CheckpointStore, ProjectionStore, SnapshotStore } from "@facta/core"
import { Aggregate, CommandHandler, EventStore, ExpectedVersion, ProjectionRunner } from "@facta/core"
import { Console, Effect } from "effect"
import type { OrderCommand, OrderState } from "./Order.js"
import { Order, totalCents } from "./Order.js"
import * as OrderList from "./OrderList.js"

/** A fresh schema per run, dropped when the tour ends. */
const readModelSchema = `orders_tour_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`

const euros = (cents: number) => `€${(cents / 100).toFixed(2)}`

const describeState = (state: OrderState): string => {
  switch (state._tag) {
    case "NotPlaced":
      return "not placed"
    case "Open":
    case "Shipped": {
      const items = state.lines.map((line) => `${line.quantity} × ${line.sku}`).join(", ") || "no items"
      return `${state._tag.toLowerCase()}, ${items}, total ${euros(totalCents(state.lines))}`
    }
    case "Cancelled":
      return `cancelled (${state.reason})`
  }
}

/**
 * Runs the orders tour and prints what happens.
 *
 * @since 0.1.0
 * @category tour
 */
export const tour: Effect.Effect<
  void,
  unknown,
  | EventStore.EventStore
  | SnapshotStore.SnapshotStore
  | CheckpointStore.CheckpointStore
  | ProjectionStore.ProjectionStore
  | SqlClient.SqlClient
> = Effect.gen(function*() {
  const run = crypto.randomUUID().slice(0, 8)
  const customer = `ada-${run}`
  const stream = (label: string) => `order-${label}-${run}`
  const send = (label: string, command: OrderCommand) =>
    CommandHandler.handle(Order, stream(label), command, { context: { userId: "tour" } })
  const refused = (label: string, command: OrderCommand) =>
    send(label, command).pipe(
      Effect.flip,
      Effect.flatMap((error) => Console.log(`  ${command._tag} on ${label} refused: ${error.message}`))
    )

  yield* Console.log("== Orders")
  yield* send("A", { _tag: "PlaceOrder", customerId: customer, currency: "EUR" })
  yield* send("A", { _tag: "AddItem", sku: "book", quantity: 2, unitPriceCents: 1500 })
  yield* send("A", { _tag: "AddItem", sku: "pen", quantity: 3, unitPriceCents: 200 })
  const a = yield* send("A", { _tag: "RemoveItem", sku: "pen" })
  yield* Console.log(`  order A placed, 2 books and 3 pens added, pens removed: ${describeState(a.state)}`)
  yield* refused("A", { _tag: "AddItem", sku: "book", quantity: 1, unitPriceCents: 1400 })
  yield* refused("A", { _tag: "RemoveItem", sku: "mug" })
  const shipped = yield* send("A", { _tag: "ShipOrder", carrier: "DHL" })
  yield* Console.log(`  order A shipped with DHL: ${describeState(shipped.state)}`)
  yield* refused("A", { _tag: "CancelOrder", reason: "changed my mind" })

  yield* send("B", { _tag: "PlaceOrder", customerId: customer, currency: "EUR" })
  yield* refused("B", { _tag: "ShipOrder", carrier: "DHL" })
  yield* send("B", { _tag: "AddItem", sku: "mug", quantity: 1, unitPriceCents: 900 })
  const cancelled = yield* send("B", { _tag: "CancelOrder", reason: "ordered by mistake" })
  for (const event of cancelled.events) {
    if (event._tag === "OrderCancelled") {
      const released = event.releasedItems.map((item) => `${item.quantity} × ${item.sku}`).join(", ")
      yield* Console.log(`  order B cancelled (${event.reason}); the compensating event releases ${released}`)
    }
  }

  yield* Console.log("== An order from the first release (ItemAdded v1: price in decimal euros)")
  yield* EventStore.append(stream("C"), [
    {
      eventId: crypto.randomUUID(),
      type: "OrderPlaced",
      schemaVersion: 1,
      data: { customerId: customer, currency: "EUR" },
      metadata: {}
    },
    {
      eventId: crypto.randomUUID(),
      type: "ItemAdded",
      schemaVersion: 1,
      data: { sku: "lamp", quantity: 2, price: 12.99 },
      metadata: {}
    }
  ], ExpectedVersion.NoStream)
  const legacy = yield* Aggregate.load(Order, stream("C"))
  yield* Console.log(
    `  stored {"price": 12.99}, loaded as ${
      JSON.stringify(legacy.state._tag === "Open" ? legacy.state.lines[0] : null)
    }`
  )

  yield* Console.log("== The order list (PostgreSQL, kept by a projection)")
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(readModelSchema)}`
  yield* OrderList.migrate(readModelSchema)
  const rows = yield* ProjectionRunner.waitForCatchUp(OrderList.name).pipe(
    Effect.zipRight(OrderList.list(readModelSchema, { customerId: customer })),
    Effect.provide(ProjectionRunner.layer([OrderList.projection(readModelSchema)])),
    Effect.ensuring(Effect.ignore(sql`DROP SCHEMA IF EXISTS ${sql(readModelSchema)} CASCADE`))
  )
  for (const [index, row] of rows.entries()) {
    const label = ["A", "B", "C"][index] ?? "?"
    const items = `${row.itemCount} item${row.itemCount === 1 ? "" : "s"}`
    yield* Console.log(`  order ${label}  ${row.status.padEnd(9)}  ${items.padEnd(7)}  ${euros(row.totalCents)}`)
  }
})

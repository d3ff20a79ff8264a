/**
 * An order: placed by a customer, items added and removed while it is open, then shipped or
 * cancelled. Cancelling is a compensating event: `OrderCancelled` carries the items whose
 * reservation it releases, so a stock service can undo exactly what the order held.
 *
 * Money is integer cents. `ItemAdded` went through two schema versions: v1 stored `price` as a
 * decimal number of euros (the shop sold only in euros then), v2 (current) stores
 * `unitPriceCents` and a `currency`. Old v1 events stay in the store; the upcaster reads them as v2.
 *
 * @since 0.1.0
 */
import { Aggregate, Decider, EventCatalog } from "@facta/core"
import { Data, Effect, Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

const Cents = Schema.Int.pipe(Schema.nonNegative())
const Quantity = Schema.Int.pipe(Schema.positive())
const Sku = Schema.NonEmptyTrimmedString

/**
 * An ISO 4217 currency code such as `EUR`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Currency = Schema.String.pipe(Schema.pattern(/^[A-Z]{3}$/))

/**
 * A customer placed the order; every price in it is in `currency`.
 *
 * @since 0.1.0
 * @category events
 */
export const OrderPlaced = Schema.TaggedStruct("OrderPlaced", {
  customerId: Schema.NonEmptyTrimmedString,
  currency: Currency
})

/**
 * `ItemAdded` as first stored (schema version 1): `price` is a decimal number of euros.
 *
 * @since 0.1.0
 * @category events
 */
export const ItemAddedV1 = Schema.TaggedStruct("ItemAdded", {
  sku: Sku,
  quantity: Quantity,
  // What the first release accepted: the upcaster turns every such price into valid cents.
  price: Schema.Number.pipe(Schema.nonNegative(), Schema.lessThanOrEqualTo(Number.MAX_SAFE_INTEGER / 100))
})

/**
 * Today's `ItemAdded` (schema version 2): the unit price in integer cents and its currency.
 *
 * @since 0.1.0
 * @category events
 */
export const ItemAdded = Schema.TaggedStruct("ItemAdded", {
  sku: Sku,
  quantity: Quantity,
  unitPriceCents: Cents,
  currency: Currency
})

/**
 * The history of `ItemAdded`: v1 decimals become cents (rounded to the nearest cent) in euros.
 *
 * @since 0.1.0
 * @category events
 */
export const ItemAddedHistory = EventCatalog.history(ItemAddedV1).upcast(ItemAdded, (v1) => ({
  _tag: "ItemAdded" as const,
  sku: v1.sku,
  quantity: v1.quantity,
  unitPriceCents: Math.round(v1.price * 100),
  currency: "EUR"
}))

/**
 * A line left the order; the event keeps its quantity and unit price so readers need no lookup.
 *
 * @since 0.1.0
 * @category events
 */
export const ItemRemoved = Schema.TaggedStruct("ItemRemoved", {
  sku: Sku,
  quantity: Quantity,
  unitPriceCents: Cents
})

/**
 * The order left the warehouse with `carrier`.
 *
 * @since 0.1.0
 * @category events
 */
export const OrderShipped = Schema.TaggedStruct("OrderShipped", { carrier: Schema.NonEmptyTrimmedString })

/**
 * An item reservation that a cancellation gives back.
 *
 * @since 0.1.0
 * @category models
 */
export const ReleasedItem = Schema.Struct({ sku: Sku, quantity: Quantity })

/**
 * The compensating event: the order is cancelled for `reason`, and `releasedItems` are the
 * reservations it undoes (the lines the order held when it was cancelled).
 *
 * @since 0.1.0
 * @category events
 */
export const OrderCancelled = Schema.TaggedStruct("OrderCancelled", {
  reason: Schema.NonEmptyTrimmedString,
  releasedItems: Schema.Array(ReleasedItem)
})

/**
 * Every order event, with the upcasting history of `ItemAdded`.
 *
 * @since 0.1.0
 * @category events
 */
export const OrderEvents = EventCatalog.make([OrderPlaced, ItemAddedHistory, ItemRemoved, OrderShipped, OrderCancelled])

/**
 * An order event (current versions).
 *
 * @since 0.1.0
 * @category events
 */
export type OrderEvent = typeof OrderEvents.schema.Type

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

/**
 * Places a new order for a customer, priced in `currency`.
 *
 * @since 0.1.0
 * @category commands
 */
export const PlaceOrder = Schema.TaggedStruct("PlaceOrder", {
  customerId: Schema.NonEmptyTrimmedString,
  currency: Currency
})

/**
 * Adds `quantity` units of `sku` at `unitPriceCents` (in the order's currency).
 *
 * @since 0.1.0
 * @category commands
 */
export const AddItem = Schema.TaggedStruct("AddItem", { sku: Sku, quantity: Quantity, unitPriceCents: Cents })

/**
 * Removes the whole line of `sku`.
 *
 * @since 0.1.0
 * @category commands
 */
export const RemoveItem = Schema.TaggedStruct("RemoveItem", { sku: Sku })

/**
 * Ships the order with `carrier`.
 *
 * @since 0.1.0
 * @category commands
 */
export const ShipOrder = Schema.TaggedStruct("ShipOrder", { carrier: Schema.NonEmptyTrimmedString })

/**
 * Cancels the order for `reason`, releasing the items it holds.
 *
 * @since 0.1.0
 * @category commands
 */
export const CancelOrder = Schema.TaggedStruct("CancelOrder", { reason: Schema.NonEmptyTrimmedString })

/**
 * Every order command.
 *
 * @since 0.1.0
 * @category commands
 */
export const OrderCommand = Schema.Union(PlaceOrder, AddItem, RemoveItem, ShipOrder, CancelOrder)

/**
 * An order command.
 *
 * @since 0.1.0
 * @category commands
 */
export type OrderCommand = typeof OrderCommand.Type

// ---------------------------------------------------------------------------------------------
// domain errors
// ---------------------------------------------------------------------------------------------

/**
 * The order was placed already.
 *
 * @since 0.1.0
 * @category errors
 */
export class OrderAlreadyPlaced extends Data.TaggedError("OrderAlreadyPlaced")<{}> {
  override get message() {
    return "The order is already placed; use a new order id for a new order"
  }
}

/**
 * The command needs a placed order.
 *
 * @since 0.1.0
 * @category errors
 */
export class OrderNotPlaced extends Data.TaggedError("OrderNotPlaced")<{}> {
  override get message() {
    return "There is no such order; place it first"
  }
}

/**
 * A shipped order no longer changes.
 *
 * @since 0.1.0
 * @category errors
 */
export class OrderAlreadyShipped extends Data.TaggedError("OrderAlreadyShipped")<{
  readonly attempted: "add an item" | "remove an item" | "ship it again"
}> {
  override get message() {
    return `The order has shipped, so you cannot ${this.attempted}; start a new order or a return instead`
  }
}

/**
 * A shipped order cannot be cancelled.
 *
 * @since 0.1.0
 * @category errors
 */
export class ShippedOrderCannotBeCancelled extends Data.TaggedError("ShippedOrderCannotBeCancelled")<{}> {
  override get message() {
    return "The order has shipped and can no longer be cancelled; start a return instead"
  }
}

/**
 * A cancelled order no longer changes.
 *
 * @since 0.1.0
 * @category errors
 */
export class OrderIsCancelled extends Data.TaggedError("OrderIsCancelled")<{
  readonly attempted: "add an item" | "remove an item" | "ship it"
}> {
  override get message() {
    return `The order is cancelled, so you cannot ${this.attempted}; place a new order instead`
  }
}

/**
 * An order needs at least one item to ship.
 *
 * @since 0.1.0
 * @category errors
 */
export class EmptyOrderCannotBeShipped extends Data.TaggedError("EmptyOrderCannotBeShipped")<{}> {
  override get message() {
    return "The order has no items; add at least one before shipping it"
  }
}

/**
 * Quantities are positive integers.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidQuantity
  extends Data.TaggedError("InvalidQuantity")<{ readonly sku: string; readonly quantity: number }>
{
  override get message() {
    return `The quantity of ${this.sku} must be a positive whole number, not ${this.quantity}`
  }
}

/**
 * `RemoveItem` named an item the order does not hold.
 *
 * @since 0.1.0
 * @category errors
 */
export class ItemNotInOrder extends Data.TaggedError("ItemNotInOrder")<{
  readonly sku: string
  readonly skusInOrder: ReadonlyArray<string>
}> {
  override get message() {
    const held = this.skusInOrder.length === 0 ? "it has no items" : `it holds ${this.skusInOrder.join(", ")}`
    return `The order has no ${this.sku} to remove (${held})`
  }
}

/**
 * Adding more of an item must keep its unit price.
 *
 * @since 0.1.0
 * @category errors
 */
export class PriceDiffers extends Data.TaggedError("PriceDiffers")<{
  readonly sku: string
  readonly orderedUnitPriceCents: number
  readonly requestedUnitPriceCents: number
}> {
  override get message() {
    return `${this.sku} is in the order at ${this.orderedUnitPriceCents} cents a unit, not ${this.requestedUnitPriceCents}; ` +
      "remove the line and add it again to change its price"
  }
}

/**
 * Every domain error of an order.
 *
 * @since 0.1.0
 * @category errors
 */
export type OrderError =
  | OrderAlreadyPlaced
  | OrderNotPlaced
  | OrderAlreadyShipped
  | ShippedOrderCannotBeCancelled
  | OrderIsCancelled
  | EmptyOrderCannotBeShipped
  | InvalidQuantity
  | ItemNotInOrder
  | PriceDiffers

// ---------------------------------------------------------------------------------------------
// state and decider
// ---------------------------------------------------------------------------------------------

/**
 * One line of an order.
 *
 * @since 0.1.0
 * @category state
 */
export const OrderLine = Schema.Struct({ sku: Schema.String, quantity: Schema.Number, unitPriceCents: Schema.Number })

/**
 * An order line.
 *
 * @since 0.1.0
 * @category state
 */
export type OrderLine = typeof OrderLine.Type

const Lines = Schema.Array(OrderLine)

/**
 * The state of an order (also its snapshot schema).
 *
 * @since 0.1.0
 * @category state
 */
export const OrderState = Schema.Union(
  Schema.TaggedStruct("NotPlaced", {}),
  Schema.TaggedStruct("Open", { customerId: Schema.String, currency: Schema.String, lines: Lines }),
  Schema.TaggedStruct("Shipped", {
    customerId: Schema.String,
    currency: Schema.String,
    lines: Lines,
    carrier: Schema.String
  }),
  Schema.TaggedStruct("Cancelled", { customerId: Schema.String, reason: Schema.String })
)

/**
 * An order's state.
 *
 * @since 0.1.0
 * @category state
 */
export type OrderState = typeof OrderState.Type

type Decision = Effect.Effect<ReadonlyArray<OrderEvent>, OrderError>

const lineOf = (lines: ReadonlyArray<OrderLine>, sku: string) => lines.find((line) => line.sku === sku)

/** Why a command that changes the lines cannot run on an order that is not open. */
const notOpen = (
  state: Exclude<OrderState, { readonly _tag: "Open" }>,
  attempted: "add an item" | "remove an item"
): OrderError => {
  switch (state._tag) {
    case "NotPlaced":
      return new OrderNotPlaced()
    case "Shipped":
      return new OrderAlreadyShipped({ attempted })
    case "Cancelled":
      return new OrderIsCancelled({ attempted })
  }
}

const addItem = (command: typeof AddItem.Type, state: OrderState): Decision => {
  if (state._tag !== "Open") return Effect.fail(notOpen(state, "add an item"))
  if (!Number.isSafeInteger(command.quantity) || command.quantity <= 0) {
    return Effect.fail(new InvalidQuantity({ sku: command.sku, quantity: command.quantity }))
  }
  const line = lineOf(state.lines, command.sku)
  if (line !== undefined && line.unitPriceCents !== command.unitPriceCents) {
    return Effect.fail(
      new PriceDiffers({
        sku: command.sku,
        orderedUnitPriceCents: line.unitPriceCents,
        requestedUnitPriceCents: command.unitPriceCents
      })
    )
  }
  return Effect.succeed([{
    _tag: "ItemAdded",
    sku: command.sku,
    quantity: command.quantity,
    unitPriceCents: command.unitPriceCents,
    currency: state.currency
  }])
}

const removeItem = (command: typeof RemoveItem.Type, state: OrderState): Decision => {
  if (state._tag !== "Open") return Effect.fail(notOpen(state, "remove an item"))
  const line = lineOf(state.lines, command.sku)
  return line === undefined
    ? Effect.fail(new ItemNotInOrder({ sku: command.sku, skusInOrder: state.lines.map((l) => l.sku) }))
    : Effect.succeed([{ _tag: "ItemRemoved", ...line }])
}

const ship = (command: typeof ShipOrder.Type, state: OrderState): Decision => {
  switch (state._tag) {
    case "NotPlaced":
      return Effect.fail(new OrderNotPlaced())
    case "Shipped":
      return Effect.fail(new OrderAlreadyShipped({ attempted: "ship it again" }))
    case "Cancelled":
      return Effect.fail(new OrderIsCancelled({ attempted: "ship it" }))
    case "Open":
      return state.lines.length === 0
        ? Effect.fail(new EmptyOrderCannotBeShipped())
        : Effect.succeed([{ _tag: "OrderShipped", carrier: command.carrier }])
  }
}

const cancel = (command: typeof CancelOrder.Type, state: OrderState): Decision => {
  switch (state._tag) {
    case "NotPlaced":
      return Effect.fail(new OrderNotPlaced())
    case "Shipped":
      return Effect.fail(new ShippedOrderCannotBeCancelled())
    case "Cancelled":
      // Cancelling twice (a retried request) changes nothing.
      return Effect.succeed([])
    case "Open":
      return Effect.succeed([{
        _tag: "OrderCancelled",
        reason: command.reason,
        releasedItems: state.lines.map(({ quantity, sku }) => ({ sku, quantity }))
      }])
  }
}

/**
 * Decides what a command does to an order: its events, or the domain error that forbids it.
 *
 * @since 0.1.0
 * @category decider
 */
export const decide = (command: OrderCommand, state: OrderState): Decision => {
  switch (command._tag) {
    case "PlaceOrder":
      return state._tag === "NotPlaced"
        ? Effect.succeed([{ _tag: "OrderPlaced", customerId: command.customerId, currency: command.currency }])
        : Effect.fail(new OrderAlreadyPlaced())
    case "AddItem":
      return addItem(command, state)
    case "RemoveItem":
      return removeItem(command, state)
    case "ShipOrder":
      return ship(command, state)
    case "CancelOrder":
      return cancel(command, state)
  }
}

/**
 * Folds one event into the state. Total: an event that does not fit the state leaves it as it is.
 *
 * @since 0.1.0
 * @category decider
 */
export const evolve = (state: OrderState, event: OrderEvent): OrderState => {
  switch (event._tag) {
    case "OrderPlaced":
      return state._tag === "NotPlaced"
        ? { _tag: "Open", customerId: event.customerId, currency: event.currency, lines: [] }
        : state
    case "ItemAdded": {
      if (state._tag !== "Open") return state
      const line = lineOf(state.lines, event.sku)
      const lines = line === undefined
        ? [...state.lines, { sku: event.sku, quantity: event.quantity, unitPriceCents: event.unitPriceCents }]
        : state.lines.map((l) => (l.sku === event.sku ? { ...l, quantity: l.quantity + event.quantity } : l))
      return { ...state, lines }
    }
    case "ItemRemoved":
      return state._tag === "Open" ? { ...state, lines: state.lines.filter((line) => line.sku !== event.sku) } : state
    case "OrderShipped":
      return state._tag === "Open" ? { ...state, _tag: "Shipped", carrier: event.carrier } : state
    case "OrderCancelled":
      return state._tag === "Open" ? { _tag: "Cancelled", customerId: state.customerId, reason: event.reason } : state
  }
}

/**
 * The order decider.
 *
 * @since 0.1.0
 * @category decider
 */
export const OrderDecider = Decider.make({
  initialState: { _tag: "NotPlaced" } as OrderState,
  decide,
  evolve,
  isTerminal: (state: OrderState) => state._tag === "Shipped" || state._tag === "Cancelled"
})

/**
 * The order aggregate: streams `order-<id>`, a snapshot every 20 events.
 *
 * @since 0.1.0
 * @category aggregate
 */
export const Order = Aggregate.make({
  category: "order",
  catalog: OrderEvents,
  decider: OrderDecider,
  snapshots: { schema: OrderState, schemaVersion: 1, every: 20 }
})

/**
 * The total of an order's lines in cents.
 *
 * @since 0.1.0
 * @category state
 */
export const totalCents = (lines: ReadonlyArray<OrderLine>): number =>
  lines.reduce((total, line) => total + line.quantity * line.unitPriceCents, 0)

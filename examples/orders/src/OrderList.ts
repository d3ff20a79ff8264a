/**
 * The order list: one PostgreSQL row per order with its customer, status, item count, total and
 * when it was placed and last updated, kept by a projection. Each row remembers the stream
 * version it reflects, so an event handled twice (a replay, a rebuild) changes nothing.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { RecordedEvent } from "@facta/core"
import { Projection, StreamId } from "@facta/core"
import { Effect, Option, Schema } from "effect"
import type { OrderEvent } from "./Order.js"
import { Order, OrderEvents } from "./Order.js"

/**
 * The status of an order in the list.
 *
 * @since 0.1.0
 * @category models
 */
export const OrderStatus = Schema.Literal("open", "shipped", "cancelled")

/**
 * A row of the order list.
 *
 * @since 0.1.0
 * @category models
 */
export const OrderSummary = Schema.Struct({
  orderId: Schema.String,
  customerId: Schema.String,
  status: OrderStatus,
  /** The number of units over all lines. */
  itemCount: Schema.Number,
  totalCents: Schema.Number,
  currency: Schema.String,
  placedAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf,
  /** The order stream version the row reflects. */
  version: Schema.Number
})

/**
 * A row of the order list.
 *
 * @since 0.1.0
 * @category models
 */
export type OrderSummary = typeof OrderSummary.Type

/**
 * The projection's name (and checkpoint key).
 *
 * @since 0.1.0
 * @category constants
 */
export const name = "order_list"

/**
 * Creates the order list table in `schema` if it is not there.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate = (schema: string): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.asVoid(
      sql`
      CREATE TABLE IF NOT EXISTS ${sql(schema)}.order_list (
        order_id     text PRIMARY KEY,
        customer_id  text NOT NULL,
        status       text NOT NULL,
        item_count   integer NOT NULL DEFAULT 0,
        total_cents  bigint NOT NULL DEFAULT 0,
        currency     text NOT NULL,
        placed_at    timestamptz NOT NULL,
        updated_at   timestamptz NOT NULL,
        version      integer NOT NULL
      )`.pipe(
        Effect.zipRight(sql`
          CREATE INDEX IF NOT EXISTS order_list_customer ON ${sql(schema)}.order_list (customer_id, placed_at)`)
      )
    ))

const orderIdOf = (streamId: string): string => streamId.slice(StreamId.category(streamId).length + 1)

/** Applies one event; a no-op when the row already reflects its version. */
const apply = (schema: string, event: RecordedEvent.RecordedEvent<OrderEvent>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const table = sql`${sql(schema)}.order_list`
    const orderId = orderIdOf(event.streamId)
    const at = event.recordedAt
    const version = event.streamVersion
    const data = event.data
    switch (data._tag) {
      case "OrderPlaced":
        return sql`
          INSERT INTO ${table} (order_id, customer_id, status, currency, placed_at, updated_at, version)
          VALUES (${orderId}, ${data.customerId}, 'open', ${data.currency}, ${at}, ${at}, ${version})
          ON CONFLICT (order_id) DO NOTHING`
      case "ItemAdded":
        return sql`
          UPDATE ${table}
             SET item_count = item_count + ${data.quantity},
                 total_cents = total_cents + ${data.quantity}::bigint * ${data.unitPriceCents}::bigint,
                 version = ${version}, updated_at = ${at}
           WHERE order_id = ${orderId} AND version < ${version}`
      case "ItemRemoved":
        return sql`
          UPDATE ${table}
             SET item_count = item_count - ${data.quantity},
                 total_cents = total_cents - ${data.quantity}::bigint * ${data.unitPriceCents}::bigint,
                 version = ${version}, updated_at = ${at}
           WHERE order_id = ${orderId} AND version < ${version}`
      case "OrderShipped":
        return sql`
          UPDATE ${table} SET status = 'shipped', version = ${version}, updated_at = ${at}
           WHERE order_id = ${orderId} AND version < ${version}`
      case "OrderCancelled":
        return sql`
          UPDATE ${table} SET status = 'cancelled', version = ${version}, updated_at = ${at}
           WHERE order_id = ${orderId} AND version < ${version}`
    }
  })

/**
 * The order list projection, writing to `schema`.
 *
 * @since 0.1.0
 * @category projections
 */
export const projection = (schema: string) =>
  Projection.make({
    name,
    catalog: OrderEvents,
    categories: [Order.category],
    handle: (event) => Effect.asVoid(apply(schema, event)),
    reset: Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(sql`DELETE FROM ${sql(schema)}.order_list`)),
    batchSize: 200
  })

interface OrderRow {
  readonly order_id: string
  readonly customer_id: string
  readonly status: "open" | "shipped" | "cancelled"
  readonly item_count: number
  readonly total_cents: string
  readonly currency: string
  readonly placed_at: Date
  readonly updated_at: Date
  readonly version: number
}

const toSummary = (row: OrderRow): OrderSummary => ({
  orderId: row.order_id,
  customerId: row.customer_id,
  status: row.status,
  itemCount: row.item_count,
  // Totals are bigint in SQL (node-postgres gives text); an order's total fits a double easily.
  totalCents: Number(row.total_cents),
  currency: row.currency,
  placedAt: row.placed_at,
  updatedAt: row.updated_at,
  version: row.version
})

/**
 * Filters of {@link list}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  readonly customerId?: string
  readonly status?: typeof OrderStatus.Type
  readonly limit?: number
}

/**
 * The order list, oldest order first, narrowed by customer and status.
 *
 * @since 0.1.0
 * @category queries
 */
export const list = (
  schema: string,
  options: ListOptions = {}
): Effect.Effect<ReadonlyArray<OrderSummary>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<OrderRow>`
      SELECT order_id, customer_id, status, item_count, total_cents::text AS total_cents, currency,
             placed_at, updated_at, version
        FROM ${sql(schema)}.order_list
       WHERE ${options.customerId === undefined ? sql`true` : sql`customer_id = ${options.customerId}`}
         AND ${options.status === undefined ? sql`true` : sql`status = ${options.status}`}
       ORDER BY placed_at, order_id
       LIMIT ${options.limit ?? 100}`.pipe(Effect.map((rows) => rows.map(toSummary))))

/**
 * One order's row, if the projection has seen the order.
 *
 * @since 0.1.0
 * @category queries
 */
export const get = (
  schema: string,
  orderId: string
): Effect.Effect<Option.Option<OrderSummary>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<OrderRow>`
      SELECT order_id, customer_id, status, item_count, total_cents::text AS total_cents, currency,
             placed_at, updated_at, version
        FROM ${sql(schema)}.order_list
       WHERE order_id = ${orderId}`.pipe(Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toSummary))))

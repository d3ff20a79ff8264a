/**
 * The orders example: the order aggregate and its Postgres order list.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * from "./Order.js"

/** @since 0.1.0 */
export * as OrderList from "./OrderList.js"

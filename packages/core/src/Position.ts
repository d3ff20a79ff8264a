/**
 * Positions in the global log, used by `readAll`, `subscribe` and checkpoints.
 *
 * The log's total order is `(transactionId, globalPosition)`: events are grouped by the
 * transaction (commit) that wrote them. A database hands out identity values before commit, so
 * `globalPosition` alone can commit out of order; ordering by the pair and checkpointing the pair
 * lets a reader resume without ever skipping a late-committing event.
 *
 * @since 0.1.0
 */
import { Order, Schema } from "effect"

/**
 * A point in the global log. Reads "after" a position return the events strictly after it.
 *
 * @since 0.1.0
 * @category models
 */
export class Position extends Schema.Class<Position>("@facta/core/Position")({
  /** The commit group: all events of one append share it; it grows in commit order. */
  transactionId: Schema.BigInt,
  /** The event's position in the log. */
  globalPosition: Schema.BigInt
}) {}

/**
 * Anything that has a log position: a `Position` or a recorded event.
 *
 * @since 0.1.0
 * @category models
 */
export interface PositionLike {
  /** The commit group that wrote the event: the log is ordered by it first. */
  readonly transactionId: bigint
  /** The event's position in the log: the order within its commit group. */
  readonly globalPosition: bigint
}

// Both fields are bigints by construction here: skip the schema check on this hot path.
const disableValidation = true

/**
 * The position before every event: reading after it reads the whole log.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start: Position = new Position({ transactionId: 0n, globalPosition: 0n })

/**
 * Builds a position.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (transactionId: bigint, globalPosition: bigint): Position =>
  new Position({ transactionId, globalPosition }, disableValidation)

/**
 * The position of an event, for checkpointing after handling it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const of = (event: PositionLike): Position =>
  new Position({ transactionId: event.transactionId, globalPosition: event.globalPosition }, disableValidation)

/**
 * The log's order: by transaction, then by global position.
 *
 * @since 0.1.0
 * @category ordering
 */
export const order: Order.Order<PositionLike> = Order.combine(
  Order.mapInput(Order.bigint, (p: PositionLike) => p.transactionId),
  Order.mapInput(Order.bigint, (p: PositionLike) => p.globalPosition)
)

/**
 * Whether `self` comes strictly after `that` in the log.
 *
 * @since 0.1.0
 * @category ordering
 */
export const isAfter = (self: PositionLike, that: PositionLike): boolean => order(self, that) === 1

/**
 * A compact text form, `"<transactionId>/<globalPosition>"`, for logs and the CLI.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (position: Position): string => `${position.transactionId}/${position.globalPosition}`

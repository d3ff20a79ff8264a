/**
 * @facta/postgres — Facta's event store, snapshots, checkpoints and projection leases on PostgreSQL.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as PgCheckpointStore from "./PgCheckpointStore.js"

/** @since 0.1.0 */
export * as PgEventStore from "./PgEventStore.js"

/** @since 0.1.0 */
export * as PgPool from "./PgPool.js"

/** @since 0.1.0 */
export * as PgProjectionStore from "./PgProjectionStore.js"

/** @since 0.1.0 */
export * as PgSchema from "./PgSchema.js"

/** @since 0.1.0 */
export * as PgSnapshotStore from "./PgSnapshotStore.js"

/** @since 0.1.0 */
export * as PgStore from "./PgStore.js"

/** @since 0.1.0 */
export * as PgTransaction from "./PgTransaction.js"

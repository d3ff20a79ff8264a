/**
 * @facta/core — an Effect-native event-sourcing toolkit.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Aggregate from "./Aggregate.js"

/** @since 0.1.0 */
export * as CheckpointStore from "./CheckpointStore.js"

/** @since 0.1.0 */
export * as CommandHandler from "./CommandHandler.js"

/** @since 0.1.0 */
export * as Decider from "./Decider.js"

/** @since 0.1.0 */
export * as EventCatalog from "./EventCatalog.js"

/** @since 0.1.0 */
export * as EventFilter from "./EventFilter.js"

/** @since 0.1.0 */
export * as EventStore from "./EventStore.js"

/** @since 0.1.0 */
export * as EventStoreBackend from "./EventStoreBackend.js"

/** @since 0.1.0 */
export * as EventStoreError from "./EventStoreError.js"

/** @since 0.1.0 */
export * as ExpectedVersion from "./ExpectedVersion.js"

/** @since 0.1.0 */
export * as InlineProjection from "./InlineProjection.js"

/** @since 0.1.0 */
export * as Metrics from "./Metrics.js"

/** @since 0.1.0 */
export * as Position from "./Position.js"

/** @since 0.1.0 */
export * as Projection from "./Projection.js"

/** @since 0.1.0 */
export * as ProjectionRunner from "./ProjectionRunner.js"

/** @since 0.1.0 */
export * as ProjectionStore from "./ProjectionStore.js"

/** @since 0.1.0 */
export * as RecordedEvent from "./RecordedEvent.js"

/** @since 0.1.0 */
export * as SnapshotStore from "./SnapshotStore.js"

/** @since 0.1.0 */
export * as Spans from "./Spans.js"

/** @since 0.1.0 */
export * as StreamId from "./StreamId.js"

/** @since 0.1.0 */
export * as Subscription from "./Subscription.js"

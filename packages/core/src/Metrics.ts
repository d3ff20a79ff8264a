/**
 * The metrics Facta records, as Effect `Metric`s. Read them with `Metric.value` or export them
 * with any Effect metrics exporter (e.g. OpenTelemetry).
 *
 * @since 0.1.0
 */
import { Metric } from "effect"

/**
 * Successful appends (one per `append` call that wrote or idempotently matched events).
 *
 * @since 0.1.0
 * @category metrics
 */
export const appends = Metric.counter("facta_appends_total", {
  description: "Successful appends to the event store",
  incremental: true
})

/**
 * Events written by successful appends (idempotent re-appends write none).
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsAppended = Metric.counter("facta_events_appended_total", {
  description: "Events written to the event store",
  incremental: true
})

/**
 * Appends rejected with `ConcurrencyConflict`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const conflicts = Metric.counter("facta_concurrency_conflicts_total", {
  description: "Appends rejected by the optimistic concurrency check",
  incremental: true
})

/**
 * Events read from the event store (stream reads, log reads and subscriptions).
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsRead = Metric.counter("facta_events_read_total", {
  description: "Events read from the event store",
  incremental: true
})

/**
 * Commands handled, whatever their outcome.
 *
 * @since 0.1.0
 * @category metrics
 */
export const commands = Metric.counter("facta_commands_total", {
  description: "Commands handled",
  incremental: true
})

/**
 * Commands that failed with a domain error from `decide`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const commandsRejected = Metric.counter("facta_commands_rejected_total", {
  description: "Commands rejected by the decider",
  incremental: true
})

/**
 * Times a command was decided again after a concurrency conflict.
 *
 * @since 0.1.0
 * @category metrics
 */
export const commandRetries = Metric.counter("facta_command_retries_total", {
  description: "Command retries after a concurrency conflict",
  incremental: true
})

/**
 * Aggregate loads, and how many events each folded.
 *
 * @since 0.1.0
 * @category metrics
 */
export const aggregateLoads = Metric.counter("facta_aggregate_loads_total", {
  description: "Aggregate loads",
  incremental: true
})

/**
 * Snapshots written.
 *
 * @since 0.1.0
 * @category metrics
 */
export const snapshotsSaved = Metric.counter("facta_snapshots_saved_total", {
  description: "Snapshots written",
  incremental: true
})

/**
 * Snapshot loads that found a snapshot (every store's `SnapshotStore.load`): against
 * `aggregateLoads`, how many aggregate loads start from a snapshot.
 *
 * @since 0.1.0
 * @category metrics
 */
export const snapshotsLoaded = Metric.counter("facta_snapshots_loaded_total", {
  description: "Snapshot loads that found a snapshot",
  incremental: true
})

/**
 * Snapshot writes that failed (the command still succeeded).
 *
 * @since 0.1.0
 * @category metrics
 */
export const snapshotFailures = Metric.counter("facta_snapshot_failures_total", {
  description: "Snapshot writes that failed",
  incremental: true
})

/**
 * Events handled by projections, tagged `projection`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsProjected = Metric.counter("facta_events_projected_total", {
  description: "Events handled by projections",
  incremental: true
})

/**
 * Events parked by projections (dead letters), tagged `projection`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventsParked = Metric.counter("facta_events_parked_total", {
  description: "Events parked by projections",
  incremental: true
})

/**
 * Lease renewals and fenced transactions refused with `LeaseLost` (another instance took the
 * projection over), tagged `projection`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const leasesLost = Metric.counter("facta_leases_lost_total", {
  description: "Lease renewals and fenced transactions refused because the lease was lost",
  incremental: true
})

/**
 * A projection's lag in events at its last status check, tagged `projection`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const projectionLag = Metric.gauge("facta_projection_lag", {
  description: "Events after a projection's checkpoint at its last status check"
})

/**
 * @facta/testing — given/when/then decider specs, property laws, the event store and
 * projection runner conformance suites, a span-recording tracer, and events in their stored form.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as DeciderSpec from "./DeciderSpec.js"

/** @since 0.1.0 */
export * as Laws from "./Laws.js"

/** @since 0.1.0 */
export * as EventStoreConformance from "./EventStoreConformance.js"

/** @since 0.1.0 */
export * as ProjectionRunnerConformance from "./ProjectionRunnerConformance.js"

/** @since 0.1.0 */
export * as RecordingTracer from "./RecordingTracer.js"

/** @since 0.1.0 */
export * as StoredEvents from "./StoredEvents.js"

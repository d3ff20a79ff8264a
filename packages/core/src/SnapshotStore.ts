/**
 * Snapshots: an aggregate's encoded state at a stream version, so loading folds only the events
 * after it. A snapshot is an optimization, never the source of truth: loading ignores one that
 * does not fit and replays the events instead.
 *
 * @since 0.1.0
 */
import type { MetricLabel } from "effect"
import { Context, Data, Effect, FiberRef, Layer, Option } from "effect"
import * as Metrics from "./Metrics.js"
import * as Spans from "./Spans.js"
import * as StreamId from "./StreamId.js"

/**
 * A stored snapshot.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  /** The stream whose state this is. */
  readonly streamId: StreamId.StreamId
  /** The stream version the state includes. */
  readonly version: number
  /** The version of the state schema the state was encoded with. */
  readonly schemaVersion: number
  /** The encoded state (JSON). */
  readonly state: unknown
  /** When it was taken. */
  readonly takenAt: Date
}

/**
 * The snapshot store could not be reached or failed during `operation`.
 *
 * @since 0.1.0
 * @category errors
 */
export class SnapshotStoreUnavailable extends Data.TaggedError("SnapshotStoreUnavailable")<{
  /** The store operation that failed: `save`, `load` or `remove`. */
  readonly operation: string
  /** The underlying failure (a SQL error, or a state that does not serialize to JSON). */
  readonly cause: unknown
}> {
  /** Names the operation, then the cause. */
  override get message(): string {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `The snapshot store is unavailable during ${this.operation}: ${cause}`
  }
}

/**
 * The snapshot store service.
 *
 * @since 0.1.0
 * @category models
 */
export interface SnapshotStoreShape {
  /** Saves a snapshot unless one at a higher version is already stored (a lower version never overwrites a higher one). */
  readonly save: (
    streamId: string,
    snapshot: { readonly version: number; readonly schemaVersion: number; readonly state: unknown }
  ) => Effect.Effect<void, SnapshotStoreUnavailable | StreamId.InvalidStreamId>
  /** Loads the latest snapshot of a stream. */
  readonly load: (
    streamId: string
  ) => Effect.Effect<Option.Option<Snapshot>, SnapshotStoreUnavailable | StreamId.InvalidStreamId>
  /** Deletes a stream's snapshot (for example after a state schema change). */
  readonly remove: (streamId: string) => Effect.Effect<void, SnapshotStoreUnavailable | StreamId.InvalidStreamId>
}

/**
 * The `SnapshotStore` service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class SnapshotStore extends Context.Tag("@facta/core/SnapshotStore")<SnapshotStore, SnapshotStoreShape>() {}

/**
 * The storage primitives a snapshot store implements, on stream ids already validated by
 * {@link make}: what a new store writes, and all it writes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Backend {
  /** Saves a snapshot unless one at a higher version is already stored. */
  readonly save: (
    streamId: StreamId.StreamId,
    snapshot: { readonly version: number; readonly schemaVersion: number; readonly state: unknown }
  ) => Effect.Effect<void, SnapshotStoreUnavailable>
  /** Loads the latest snapshot of a stream. */
  readonly load: (streamId: StreamId.StreamId) => Effect.Effect<Option.Option<Snapshot>, SnapshotStoreUnavailable>
  /** Deletes a stream's snapshot. */
  readonly remove: (streamId: StreamId.StreamId) => Effect.Effect<void, SnapshotStoreUnavailable>
}

/** `body` on the validated stream id, in a span named `name` (an invalid id fails inside it). */
const onStream = <A>(
  name: string,
  streamId: string,
  body: (id: StreamId.StreamId) => Effect.Effect<A, SnapshotStoreUnavailable>
): Effect.Effect<A, SnapshotStoreUnavailable | StreamId.InvalidStreamId> =>
  Spans.withSpan(Effect.flatMap(StreamId.make(streamId), body), name, { "facta.stream_id": streamId })

/** Counts a load that found a snapshot, synchronously (no extra step on every aggregate load). */
const countLoaded = (snapshot: Option.Option<Snapshot>, labels: ReadonlyArray<MetricLabel.MetricLabel>) => {
  if (Option.isSome(snapshot)) Metrics.snapshotsLoaded.unsafeUpdate(1, labels)
  return snapshot
}

/**
 * Builds the `SnapshotStore` service from a storage backend, the same way for every store: it
 * validates stream ids once (an invalid one fails with `InvalidStreamId` before the backend is
 * called), wraps every operation in a span (`SnapshotStore.save`, `load`, `remove`, with
 * `facta.stream_id`) and counts the snapshots loaded (`Metrics.snapshotsLoaded`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (backend: Backend): SnapshotStoreShape => ({
  save: (streamId, snapshot) => onStream("SnapshotStore.save", streamId, (id) => backend.save(id, snapshot)),
  load: (streamId) =>
    onStream("SnapshotStore.load", streamId, (id) =>
      Effect.withFiberRuntime((fiber) => {
        const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
        return Effect.map(backend.load(id), (snapshot) => countLoaded(snapshot, labels))
      })),
  remove: (streamId) => onStream("SnapshotStore.remove", streamId, backend.remove)
})

interface StoredSnapshot {
  readonly version: number
  readonly schemaVersion: number
  readonly state: string
  readonly takenAt: number
}

/**
 * An in-memory snapshot store; states are kept as JSON text.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<SnapshotStoreShape> = Effect.sync(() => {
  const snapshots = new Map<string, StoredSnapshot>()
  return make({
    save: (id, snapshot) =>
      Effect.gen(function*() {
        const state = yield* Effect.try({
          try: () => JSON.stringify(snapshot.state),
          catch: (cause) => new SnapshotStoreUnavailable({ operation: "save", cause })
        })
        const takenAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const existing = snapshots.get(id)
        if (existing === undefined || existing.version <= snapshot.version) {
          snapshots.set(id, { version: snapshot.version, schemaVersion: snapshot.schemaVersion, state, takenAt })
        }
      }),
    load: (id) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(snapshots.get(id)), (stored) => ({
          streamId: id,
          version: stored.version,
          schemaVersion: stored.schemaVersion,
          state: JSON.parse(stored.state),
          takenAt: new Date(stored.takenAt)
        }))
      ),
    remove: (id) => Effect.sync(() => void snapshots.delete(id))
  })
})

/**
 * A layer with a fresh in-memory snapshot store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<SnapshotStore> = Layer.effect(SnapshotStore, makeMemory)

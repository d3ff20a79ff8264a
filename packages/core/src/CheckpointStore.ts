/**
 * Checkpoints: how far a projection (or any log reader) has got, as the `Position` of the last
 * event it handled. Resuming reads the log strictly after it.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Layer, Option } from "effect"
import { describeCause } from "./internal/describeCause.js"
import * as Position from "./Position.js"
import * as Spans from "./Spans.js"

/**
 * The checkpoint store could not be reached or failed during `operation`.
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointStoreUnavailable extends Data.TaggedError("CheckpointStoreUnavailable")<{
  /** The store operation that failed: `load`, `save` or `reset`. */
  readonly operation: string
  /** The name of the checkpoint it was working on (a projection's name, say). */
  readonly name: string
  /** The underlying failure (a SQL error, say). */
  readonly cause: unknown
}> {
  /** Names the operation, the checkpoint and the cause. */
  override get message(): string {
    return `The checkpoint store is unavailable during ${this.operation} of ${JSON.stringify(this.name)}: ${
      describeCause(this.cause)
    }`
  }
}

/**
 * The checkpoint store service. On SQL stores, `save` joins the caller's transaction when it
 * runs inside one, so a read model's writes and its checkpoint commit together.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointStoreShape {
  /** The checkpoint saved under `name`, if any. */
  readonly load: (name: string) => Effect.Effect<Option.Option<Position.Position>, CheckpointStoreUnavailable>
  /** Saves the checkpoint under `name`, replacing the previous one. */
  readonly save: (name: string, position: Position.Position) => Effect.Effect<void, CheckpointStoreUnavailable>
  /** Forgets the checkpoint (before a rebuild from the start). */
  readonly reset: (name: string) => Effect.Effect<void, CheckpointStoreUnavailable>
}

/**
 * The `CheckpointStore` service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class CheckpointStore extends Context.Tag("@facta/core/CheckpointStore")<
  CheckpointStore,
  CheckpointStoreShape
>() {}

/**
 * The storage primitives a checkpoint store implements: the service's operations, which
 * {@link make} wraps.
 *
 * @since 0.1.0
 * @category models
 */
export type Backend = CheckpointStoreShape

/**
 * Builds the `CheckpointStore` service from a storage backend, the same way for every store: a
 * span per operation (`CheckpointStore.load`, `save`, `reset`, with the checkpoint's name as
 * `facta.projection`, which is what the runner names checkpoints after). A span is all it adds,
 * so `save` still joins the caller's transaction.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (backend: Backend): CheckpointStoreShape => ({
  load: (name) => Spans.withSpan(backend.load(name), "CheckpointStore.load", { "facta.projection": name }),
  save: (name, position) =>
    Spans.withSpan(backend.save(name, position), "CheckpointStore.save", { "facta.projection": name }),
  reset: (name) => Spans.withSpan(backend.reset(name), "CheckpointStore.reset", { "facta.projection": name })
})

/**
 * An in-memory checkpoint store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<CheckpointStoreShape> = Effect.sync(() => {
  const checkpoints = new Map<string, Position.Position>()
  return make({
    load: (name) => Effect.sync(() => Option.fromNullable(checkpoints.get(name))),
    save: (name, position) => Effect.sync(() => void checkpoints.set(name, position)),
    reset: (name) => Effect.sync(() => void checkpoints.delete(name))
  })
})

/**
 * A layer with a fresh in-memory checkpoint store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<CheckpointStore> = Layer.effect(CheckpointStore, makeMemory)

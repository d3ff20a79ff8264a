/**
 * The projection's own code (handler, setup, reset) as the runner runs it: with the layer's
 * services, its failures kept apart from the stores' errors as `HandlerFailed`.
 */
import { Data, type Effect } from "effect"
import * as ProjectionStore from "../../ProjectionStore.js"
import type { RecordedEvent } from "../../RecordedEvent.js"
import { handleEvents, runWithContext } from "../runHandler.js"
import type { Decoded, Environment, Slot } from "./environment.js"

/** A handler's failure (or defect), kept apart from the stores' errors. */
export class HandlerFailed extends Data.TaggedError("HandlerFailed")<{ readonly cause: unknown }> {}

/** Runs the projection's `reset` with the layer's services; any failure or defect becomes `HandlerFailed`. */
export const runProjectionReset = (env: Environment, code: Effect.Effect<void, unknown, unknown>) =>
  runWithContext(code, env.context, (cause) => new HandlerFailed({ cause }))

/**
 * Runs the projection's own code (handler, setup) with the layer's services. Its failures
 * are `HandlerFailed`, except a lost database connection met in its writes: that is the
 * store being unavailable, so the runner pauses and resumes.
 */
export const runProjectionCode = (
  env: Environment,
  slot: Slot,
  operation: string,
  code: Effect.Effect<void, unknown, unknown>
): Effect.Effect<void, HandlerFailed | ProjectionStore.ProjectionStoreUnavailable> =>
  runWithContext(code, env.context, (cause) =>
    env.projectionStore.isUnavailable(cause)
      ? new ProjectionStore.ProjectionStoreUnavailable({ operation, projection: slot.projection.name, cause })
      : new HandlerFailed({ cause }))

/** Runs the handler on `events` (see {@link runProjectionCode}). */
export const runHandler = (
  env: Environment,
  slot: Slot,
  events: ReadonlyArray<Decoded>
): Effect.Effect<void, HandlerFailed | ProjectionStore.ProjectionStoreUnavailable> =>
  runProjectionCode(env, slot, "handle", handleEvents(slot.projection, events as ReadonlyArray<RecordedEvent<never>>))

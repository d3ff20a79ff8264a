/**
 * Projections: values that turn the event log into read models. A projection names the events
 * it handles (through an `EventCatalog`, so handlers receive decoded, upcast events) and how to
 * handle them; a `ProjectionRunner` runs it, and on SQL stores commits its writes together with
 * its checkpoint.
 *
 * @since 0.1.0
 */
import { Data, Duration, Effect, Schedule } from "effect"
import * as EventCatalog from "./EventCatalog.js"
import type { EventFilter } from "./EventFilter.js"
import { describeCause } from "./internal/describeCause.js"
import type { RecordedEvent } from "./RecordedEvent.js"

/**
 * What happens to an event the projection cannot handle once its retries are spent (or that
 * does not decode): `"stop"` stops the projection with `ProjectionFailed`, its checkpoint just
 * before the event; `"park"` moves the event to the dead-letter list and goes on.
 *
 * @since 0.1.0
 * @category models
 */
export type FailurePolicy = "stop" | "park"

/**
 * A projection. Build one with {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Projection<E, Err, R> {
  /** Marks the value as a projection. */
  readonly _tag: "Projection"
  /** Unique among the projections of a runner; the key of its checkpoint. */
  readonly name: string
  /** Decodes the stored events (with upcasting) before they reach the handler. */
  readonly catalog: EventCatalog.EventCatalog<{ readonly _tag: string }>
  /** The store filter the projection reads with. */
  readonly filter: EventFilter
  /** The current event type names the handler receives; others are skipped. */
  readonly handles: ReadonlySet<string>
  /** Handles one event. */
  readonly handle: (event: RecordedEvent<E>) => Effect.Effect<void, Err, R>
  /** Handles a batch at once (a multi-row write, say); events one by one when absent. */
  readonly handleBatch: ((events: ReadonlyArray<RecordedEvent<E>>) => Effect.Effect<void, Err, R>) | undefined
  /** Empties the read model before a rebuild. */
  readonly reset: Effect.Effect<void, Err, R> | undefined
  /** Prepares the read model (creates its tables) before the projection runs; see {@link make}. */
  readonly setup: Effect.Effect<void, unknown, R> | undefined
  /** What to do with an event that keeps failing. */
  readonly onFailure: FailurePolicy
  /** How a failing event or batch is retried before `onFailure` applies. */
  readonly retry: Schedule.Schedule<unknown, unknown>
  /** How many events one batch (one transaction, one checkpoint) holds at most. */
  readonly batchSize: number
}

/**
 * Any projection, for collections of projections with different events and services.
 *
 * @since 0.1.0
 * @category models
 */
export type Any = Projection<never, unknown, unknown>

/**
 * The services a projection's handlers need.
 *
 * @since 0.1.0
 * @category models
 */
export type Context<P> = P extends Projection<infer _E, infer _Err, infer R> ? R : never

/**
 * The default retry schedule: exponential from 100 ms, each wait capped at 5 seconds, five retries.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Schedule.exponential(Duration.millis(100)).pipe(
  Schedule.union(Schedule.spaced(Duration.seconds(5))),
  Schedule.intersect(Schedule.recurs(5))
)

/**
 * Defines a projection.
 *
 * - `types` narrows the events the handler receives (default: every type of the catalog);
 *   events stored under an old name that the catalog renames are included.
 * - `categories` narrows the streams read. With `categories` and no `types`, every event of
 *   those streams is read, so one whose type the catalog does not know follows the failure
 *   policy instead of being skipped silently.
 * - `setup` prepares the read model, e.g. `CREATE TABLE IF NOT EXISTS`. It must be idempotent:
 *   it runs again and again — each time a `ProjectionRunner` takes the projection's lease to run
 *   it (at start, after a pause, a takeover or `start`), before it loads the checkpoint, and so
 *   before a rebuild's `reset`; and, for an inline projection, when the event store's layer
 *   starts. It runs in a transaction of its own (on SQL stores). A runner retries a failing
 *   setup under `retry`, then stops the projection in state `failed` with `SetupFailed`; an
 *   event store fails to start with `SetupFailed`.
 *
 * @example
 * const Balances = Projection.make({
 *   name: "balances",
 *   catalog: BankEvents,
 *   types: ["Opened", "Deposited"],
 *   handle: (event) => event.data._tag === "Opened" ? insert(event) : addToBalance(event)
 * })
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  E extends { readonly _tag: string },
  const T extends E["_tag"] = E["_tag"],
  Err = never,
  R = never
>(options: {
  readonly name: string
  readonly catalog: EventCatalog.EventCatalog<E>
  readonly types?: ReadonlyArray<T>
  readonly categories?: ReadonlyArray<string>
  readonly handle: (event: RecordedEvent<Extract<E, { readonly _tag: T }>>) => Effect.Effect<void, Err, R>
  readonly handleBatch?: (
    events: ReadonlyArray<RecordedEvent<Extract<E, { readonly _tag: T }>>>
  ) => Effect.Effect<void, Err, R>
  readonly reset?: Effect.Effect<void, Err, R>
  readonly setup?: Effect.Effect<void, unknown, R>
  readonly onFailure?: FailurePolicy
  readonly retry?: Schedule.Schedule<unknown, unknown>
  readonly batchSize?: number
}): Projection<Extract<E, { readonly _tag: T }>, Err, R> => {
  if (options.name.trim() === "") throw new TypeError("Projection.make: a projection needs a name")
  const handles = new Set<string>(options.types ?? options.catalog.types)
  for (const type of handles) {
    if (!options.catalog.types.includes(type)) {
      throw new TypeError(`Projection.make: ${options.name} handles ${type}, which its catalog does not define`)
    }
  }
  const storedNames = [
    ...handles,
    ...Object.entries(options.catalog.renames).filter(([, to]) => handles.has(to)).map(([from]) => from)
  ]
  const readsEveryType = options.types === undefined && options.categories !== undefined
  return {
    _tag: "Projection",
    name: options.name,
    catalog: options.catalog as unknown as EventCatalog.EventCatalog<{ readonly _tag: string }>,
    filter: {
      ...(options.categories === undefined ? {} : { categories: options.categories }),
      ...(readsEveryType ? {} : { types: storedNames })
    },
    handles,
    handle: options.handle,
    handleBatch: options.handleBatch,
    reset: options.reset,
    setup: options.setup,
    onFailure: options.onFailure ?? "stop",
    retry: options.retry ?? defaultRetry,
    batchSize: Math.max(1, Math.floor(options.batchSize ?? 500))
  }
}

/**
 * A projection could not handle an event (after its retries), or the event did not decode.
 * The projection's checkpoint is just before the event.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProjectionFailed extends Data.TaggedError("ProjectionFailed")<{
  /** The projection's name. */
  readonly projection: string
  /** The id of the event it failed on. */
  readonly eventId: string
  /** The stream the event belongs to. */
  readonly streamId: string
  /** The event's version in its stream. */
  readonly streamVersion: number
  /** The event's position in the global log. */
  readonly globalPosition: bigint
  /** The event type name as stored. */
  readonly type: string
  /** The handler's last failure, or the event's decoding error. */
  readonly cause: unknown
}> {
  /** Names the projection, the event's type, stream, version and global position, then the cause. */
  override get message(): string {
    return `Projection ${JSON.stringify(this.projection)} failed on ${this.type} ` +
      `(stream ${
        JSON.stringify(this.streamId)
      } version ${this.streamVersion}, global position ${this.globalPosition}): ` +
      describeCause(this.cause)
  }
}

/**
 * A projection's `setup` failed, so it does not run: in a `ProjectionRunner`, after its retries
 * (the projection is then `failed`; `ProjectionRunner.start` tries again); for an inline
 * projection, when the event store's layer started (the layer fails). Nothing of it committed.
 *
 * @since 0.1.0
 * @category errors
 */
export class SetupFailed extends Data.TaggedError("SetupFailed")<{
  /** The projection's name. */
  readonly projection: string
  /** What `setup` failed or died with. */
  readonly cause: unknown
}> {
  /** Names the projection, then why its setup failed. */
  override get message(): string {
    return `The setup of projection ${JSON.stringify(this.projection)} failed, so it does not run: ${
      describeCause(this.cause)
    }`
  }
}

/**
 * Decodes a stored event for `projection`: the decoded envelope, `undefined` for a type the
 * projection does not handle, or the decoding error.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeFor = (projection: Any) => {
  const decode = EventCatalog.decodeDataOrError(projection.catalog)
  return (
    recorded: RecordedEvent
  ): RecordedEvent<{ readonly _tag: string }> | undefined | EventCatalog.DecodeError => {
    const data = decode(recorded)
    if (data instanceof EventCatalog.EventDecodeError || data instanceof EventCatalog.UnknownEventType) return data
    return projection.handles.has(data._tag) ? { ...recorded, data } : undefined
  }
}

/**
 * An inline projection failed, so the append was rejected (defined with the event store's errors).
 *
 * @since 0.1.0
 * @category errors
 */
export { InlineProjectionFailed } from "./EventStoreError.js"

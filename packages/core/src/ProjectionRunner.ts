/**
 * Runs projections in the background of an Effect application: per projection, take its lease,
 * load its checkpoint, catch up from the log in batches, then follow live appends. Each batch's
 * read-model writes and its checkpoint commit together in one fenced transaction (see
 * `ProjectionStore`), so on a SQL store every event takes effect exactly once.
 *
 * Closing the layer's scope lets the batch in flight commit, releases the leases and stops.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Context, Duration, Effect, Layer, Option, Schedule } from "effect"
import * as Commit from "./internal/projectionRunner/commit.js"
import * as Environment from "./internal/projectionRunner/environment.js"
import * as Lifecycle from "./internal/projectionRunner/lifecycle.js"
import type {
  Failure,
  ProjectionStopped,
  RebuildError,
  Requirements,
  Status,
  StoreError,
  UnknownProjection
} from "./internal/projectionRunner/models.js"
import * as Progress from "./internal/projectionRunner/status.js"
import type * as Projection from "./Projection.js"
import type * as ProjectionStore from "./ProjectionStore.js"

// ---------------------------------------------------------------------------------------------
// models and errors (defined below the engine, re-exported here)
// ---------------------------------------------------------------------------------------------

export {
  /** @since 0.1.0 */
  ProjectionStopped,
  /** @since 0.1.0 */
  ResetFailed,
  /** @since 0.1.0 */
  UnknownProjection
} from "./internal/projectionRunner/models.js"

export type {
  /** @since 0.1.0 */
  Failure,
  /** @since 0.1.0 */
  RebuildError,
  /** @since 0.1.0 */
  Requirements,
  /** @since 0.1.0 */
  State,
  /** @since 0.1.0 */
  Status,
  /** @since 0.1.0 */
  StoreError
} from "./internal/projectionRunner/models.js"

// ---------------------------------------------------------------------------------------------
// the service
// ---------------------------------------------------------------------------------------------

/**
 * The runner service.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProjectionRunnerShape {
  /** This runner instance's lease owner id. */
  readonly owner: string
  /** One projection's status, with its lag counted now. */
  readonly status: (projection: string) => Effect.Effect<Status, UnknownProjection | StoreError>
  /** Every projection's status. */
  readonly statuses: Effect.Effect<ReadonlyArray<Status>, StoreError>
  /**
   * Waits until the projection has handled every event committed before the call (read your
   * own writes). Fails with the projection's `Failure` (`ProjectionFailed` or `SetupFailed`)
   * if it fails meanwhile. Another instance's progress counts when this one is on standby.
   * Bound it with `Effect.timeout`.
   */
  readonly waitForCatchUp: (
    projection: string
  ) => Effect.Effect<void, UnknownProjection | ProjectionStopped | Failure | StoreError>
  /**
   * Rebuilds the read model: stops the projection (the batch in flight commits), then, under its
   * lease, runs its `setup` (in a transaction of its own), then its `reset`, forgets its
   * checkpoint and parked events in one transaction, and replays the log from the start while
   * appends go on. Returns once the reset has committed;
   * `waitForCatchUp` tells when the replay has caught up. Other projections keep running.
   */
  readonly rebuild: (projection: string) => Effect.Effect<void, UnknownProjection | RebuildError>
  /** Stops a projection (the batch in flight commits) and gives its lease up. */
  readonly stop: (projection: string) => Effect.Effect<void, UnknownProjection>
  /** Starts a stopped or failed projection again from its checkpoint. A no-op if it runs. */
  readonly start: (projection: string) => Effect.Effect<void, UnknownProjection>
  /** The events a projection parked. */
  readonly parked: (
    projection: string
  ) => Effect.Effect<ReadonlyArray<ProjectionStore.ParkedEvent>, UnknownProjection | StoreError>
  /**
   * Hands parked events to the projection again (all of them, or one by event id), each in its
   * own transaction; an event that now succeeds leaves the dead-letter list. Returns how many
   * succeeded; the others stay parked with their new failure as the reason.
   */
  readonly replayParked: (
    projection: string,
    eventId?: string
  ) => Effect.Effect<number, UnknownProjection | StoreError>
}

/**
 * The `ProjectionRunner` service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class ProjectionRunner extends Context.Tag("@facta/core/ProjectionRunner")<
  ProjectionRunner,
  ProjectionRunnerShape
>() {}

/**
 * Runner options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** This instance's lease owner id (default: host, process id and a random suffix). */
  readonly owner?: string
  /** How long a lease lasts without renewal: the takeover time when a holder dies (default 10 s). */
  readonly leaseTtl?: Duration.DurationInput
  /** How often a standby instance tries to take a lease (default: a third of `leaseTtl`). */
  readonly acquireInterval?: Duration.DurationInput
  /**
   * The back-off after a store error before the projection resumes (default: 100 ms doubling,
   * capped at 5 s, forever). It starts over once the projection makes progress; when it ends,
   * the projection stops (state `stopped`, the error in `lastError`).
   */
  readonly restartSchedule?: Schedule.Schedule<unknown, unknown>
  /** Start the projections when the layer is built (default `true`). */
  readonly autoStart?: boolean
  /**
   * How long an open transaction in the store may hold delivery back before the status says so
   * (`heldBack`) and a warning naming the blocking session is logged (default 10 s).
   */
  readonly heldBackThreshold?: Duration.DurationInput
  /** The least time between two held-back warnings of one projection (default 1 minute). */
  readonly heldBackWarningInterval?: Duration.DurationInput
}

const defaultOwner = (): string => {
  const host = typeof process === "object" ? `${process.env["HOSTNAME"] ?? "host"}-${process.pid}` : "runner"
  return `${host}-${crypto.randomUUID().slice(0, 8)}`
}

/** The options with their defaults applied. */
const settingsOf = (options: Options): Environment.Settings => {
  const leaseTtl = Duration.decode(options.leaseTtl ?? Duration.seconds(10))
  const renewEvery = Duration.times(leaseTtl, 1 / 3)
  const heldBackThreshold = Duration.decode(options.heldBackThreshold ?? Duration.seconds(10))
  return {
    owner: options.owner ?? defaultOwner(),
    leaseTtl,
    renewEvery,
    acquireEvery: Duration.decode(options.acquireInterval ?? renewEvery),
    restartSchedule: options.restartSchedule ??
      Schedule.exponential(Duration.millis(100)).pipe(Schedule.union(Schedule.spaced(Duration.seconds(5)))),
    heldBackThreshold,
    heldBackWarningInterval: Duration.toMillis(options.heldBackWarningInterval ?? Duration.minutes(1)),
    heldBackCheckEvery: Duration.max(Duration.millis(10), Duration.times(heldBackThreshold, 1 / 2))
  }
}

/**
 * Builds a runner for `projections`, forking their fibers into the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const Ps extends ReadonlyArray<Projection.Any>>(
  projections: Ps,
  options: Options = {}
): Effect.Effect<ProjectionRunnerShape, never, Requirements<Ps> | Scope.Scope> =>
  Effect.gen(function*() {
    const env = yield* Environment.make(projections, settingsOf(options))
    const slots = [...env.slots.values()]
    const slotOf = (name: string) => Environment.slotOf(env, name)
    const shape: ProjectionRunnerShape = {
      owner: env.owner,
      status: (name) => Effect.flatMap(slotOf(name), (slot) => Progress.withLag(env, slot)),
      statuses: Effect.forEach(slots, (slot) => Progress.withLag(env, slot)),
      waitForCatchUp: (name) => Effect.flatMap(slotOf(name), (slot) => Progress.waitForCatchUp(env, slot)),
      rebuild: (name) => Effect.flatMap(slotOf(name), (slot) => Lifecycle.rebuild(env, slot)),
      stop: (name) => Effect.flatMap(slotOf(name), Lifecycle.stop),
      start: (name) => Effect.flatMap(slotOf(name), (slot) => Lifecycle.start(env, slot)),
      parked: (name) => Effect.flatMap(slotOf(name), (slot) => env.projectionStore.parked(slot.projection.name)),
      replayParked: (name, eventId) =>
        Effect.flatMap(slotOf(name), (slot) => slot.control.withPermits(1)(Commit.replayParked(env, slot, eventId)))
    }
    if (options.autoStart ?? true) {
      for (const slot of slots) yield* Lifecycle.launch(env, slot, Option.none())
    }
    // On scope close: stop every projection (batches in flight commit), then release leases.
    yield* Effect.addFinalizer(() => Effect.forEach(slots, Lifecycle.halt, { concurrency: "unbounded", discard: true }))
    return shape
  })

/**
 * A layer running `projections` for the life of its scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <const Ps extends ReadonlyArray<Projection.Any>>(
  projections: Ps,
  options: Options = {}
): Layer.Layer<ProjectionRunner, never, Requirements<Ps>> => Layer.scoped(ProjectionRunner, make(projections, options))

/**
 * Waits until a projection has handled every event committed before the call (accessor; see
 * `ProjectionRunnerShape.waitForCatchUp`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const waitForCatchUp = (
  projection: string
): Effect.Effect<void, UnknownProjection | ProjectionStopped | Failure | StoreError, ProjectionRunner> =>
  Effect.flatMap(ProjectionRunner, (runner) => runner.waitForCatchUp(projection))

/**
 * A projection's status, with its lag counted now (accessor).
 *
 * @since 0.1.0
 * @category accessors
 */
export const status = (projection: string): Effect.Effect<Status, UnknownProjection | StoreError, ProjectionRunner> =>
  Effect.flatMap(ProjectionRunner, (runner) => runner.status(projection))

/**
 * Every projection's status, in the order the runner was given them (accessor).
 *
 * @since 0.1.0
 * @category accessors
 */
export const statuses: Effect.Effect<ReadonlyArray<Status>, StoreError, ProjectionRunner> = Effect.flatMap(
  ProjectionRunner,
  (runner) => runner.statuses
)

/**
 * Rebuilds a projection's read model from the start of the log (accessor; see
 * `ProjectionRunnerShape.rebuild`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const rebuild = (
  projection: string
): Effect.Effect<void, UnknownProjection | RebuildError, ProjectionRunner> =>
  Effect.flatMap(ProjectionRunner, (runner) => runner.rebuild(projection))

/**
 * Stops a projection on this instance (accessor): the batch in flight commits, the lease is
 * given up, and the state is `stopped` until {@link start}.
 *
 * @since 0.1.0
 * @category accessors
 */
export const stop = (projection: string): Effect.Effect<void, UnknownProjection, ProjectionRunner> =>
  Effect.flatMap(ProjectionRunner, (runner) => runner.stop(projection))

/**
 * Starts a stopped or failed projection again from its checkpoint, its `setup` first (accessor).
 * A no-op while it runs.
 *
 * @since 0.1.0
 * @category accessors
 */
export const start = (projection: string): Effect.Effect<void, UnknownProjection, ProjectionRunner> =>
  Effect.flatMap(ProjectionRunner, (runner) => runner.start(projection))

/**
 * The events a projection parked, in log order (accessor).
 *
 * @since 0.1.0
 * @category accessors
 */
export const parked = (
  projection: string
): Effect.Effect<ReadonlyArray<ProjectionStore.ParkedEvent>, UnknownProjection | StoreError, ProjectionRunner> =>
  Effect.flatMap(ProjectionRunner, (runner) => runner.parked(projection))

/**
 * Hands a projection's parked events to it again, all of them or the one with `eventId`
 * (accessor; see `ProjectionRunnerShape.replayParked`). Returns how many succeeded and left the
 * dead-letter list.
 *
 * @since 0.1.0
 * @category accessors
 */
export const replayParked = (
  projection: string,
  eventId?: string
): Effect.Effect<number, UnknownProjection | StoreError, ProjectionRunner> =>
  Effect.flatMap(ProjectionRunner, (runner) => runner.replayParked(projection, eventId))

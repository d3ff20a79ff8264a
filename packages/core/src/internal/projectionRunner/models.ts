/**
 * The projection runner's public models and errors, below the engine so that every part of it
 * can name them; `ProjectionRunner` re-exports them all.
 */
import type { Option } from "effect"
import { Data } from "effect"
import type * as CheckpointStore from "../../CheckpointStore.js"
import type * as EventStore from "../../EventStore.js"
import type * as Position from "../../Position.js"
import type * as Projection from "../../Projection.js"
import type * as ProjectionStore from "../../ProjectionStore.js"
import { describeCause } from "../describeCause.js"

/**
 * Where a projection is:
 * - `standby`: waiting for its lease (another instance runs it, or it is starting), or running
 *   its `setup` under the lease;
 * - `catching-up`: reading the log in full batches;
 * - `live`: caught up, following appends;
 * - `rebuilding`: resetting its read model before replaying from the start;
 * - `stopped`: stopped on request; `failed`: stopped by `ProjectionFailed`.
 *
 * @since 0.1.0
 * @category models
 */
export type State = "standby" | "catching-up" | "live" | "rebuilding" | "stopped" | "failed"

/**
 * A projection's status.
 *
 * @since 0.1.0
 * @category models
 */
export interface Status {
  /** The projection's name. */
  readonly projection: string
  /** Where the projection is: on standby, catching up, live, rebuilding, stopped or failed. */
  readonly state: State
  /** The position of the last event this runner committed, if it has run. */
  readonly checkpoint: Option.Option<Position.Position>
  /** Events matching the projection's filter after its checkpoint (committed, not yet handled). */
  readonly lag: number
  /**
   * Events this runner instance handed to the projection's handler and committed with their
   * checkpoint, since the runner was built or the projection's last rebuild (a rebuild resets
   * it to 0; `stop` and `start` do not). Not counted: events of types the projection does not
   * handle, events it parked, parked events replayed with `replayParked`, and events another
   * instance handled while this one was on standby.
   */
  readonly handled: number
  /**
   * Events this runner instance parked, since the runner was built or the projection's last
   * rebuild (not reduced when `replayParked` replays them: `parked(name)` lists what is parked).
   */
  readonly parked: number
  /** The failure that stopped it, in state `failed`: an event that failed for good, or its `setup`. */
  readonly failure: Option.Option<Failure>
  /** The last error it met, even one it recovered from (a lost connection, a retried handler). */
  readonly lastError: Option.Option<string>
  /**
   * Set while an open transaction in the store has held delivery back for at least the runner's
   * `heldBackThreshold`: events are committed that no reader may pass until it ends (they arrive
   * then; nothing is skipped). Says how many, since when, and which session holds them. Checked
   * on each call, like `lag`; `None` in states `stopped` and `failed`.
   */
  readonly heldBack: Option.Option<EventStore.HeldBack>
}

/**
 * Why a projection stopped in state `failed`: an event it could not handle (with the `"stop"`
 * policy) or its `setup`, once their retries were spent.
 *
 * @since 0.1.0
 * @category errors
 */
export type Failure = Projection.ProjectionFailed | Projection.SetupFailed

/**
 * No projection of that name runs here.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownProjection extends Data.TaggedError("UnknownProjection")<{
  /** The name asked for. */
  readonly projection: string
  /** The names of the projections the runner runs. */
  readonly known: ReadonlyArray<string>
}> {
  /** Names the projection asked for and the ones the runner has. */
  override get message(): string {
    return `No projection named ${JSON.stringify(this.projection)} runs here; the runner has ${
      this.known.map((name) => JSON.stringify(name)).join(", ") || "none"
    }`
  }
}

/**
 * `waitForCatchUp` was asked of a projection stopped on request.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProjectionStopped extends Data.TaggedError("ProjectionStopped")<{
  /** The stopped projection's name. */
  readonly projection: string
}> {
  /** Names the projection and says to start it. */
  override get message(): string {
    return `Projection ${JSON.stringify(this.projection)} is stopped; start it to catch up`
  }
}

/**
 * A rebuild's `reset` failed. Its transaction rolled back: the read model, checkpoint and parked
 * events are as they were, and the projection goes on from its checkpoint.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResetFailed extends Data.TaggedError("ResetFailed")<{
  /** The projection that was not rebuilt. */
  readonly projection: string
  /** What its `reset` failed with. */
  readonly cause: unknown
}> {
  /** Names the projection, then why its reset failed. */
  override get message(): string {
    return `The reset of projection ${JSON.stringify(this.projection)} failed, so it was not rebuilt: ${
      describeCause(this.cause)
    }`
  }
}

/**
 * What a rebuild can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type RebuildError = ResetFailed | StoreError

/**
 * What reading the log, checkpoints or the projection store can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type StoreError =
  | EventStore.EventStoreUnavailable
  | CheckpointStore.CheckpointStoreUnavailable
  | ProjectionStore.ProjectionStoreUnavailable

/**
 * What a runner of the projections `Ps` needs: the event, checkpoint and projection stores, and
 * the services the projections' handlers use.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements<Ps extends ReadonlyArray<Projection.Any>> =
  | EventStore.EventStore
  | CheckpointStore.CheckpointStore
  | ProjectionStore.ProjectionStore
  | Projection.Context<Ps[number]>

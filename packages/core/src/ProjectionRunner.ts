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
import {
  Cause,
  Chunk,
  Clock,
  Context,
  Data,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Metric,
  Option,
  Ref,
  Schedule,
  Stream,
  SubscriptionRef
} from "effect"
import * as CheckpointStore from "./CheckpointStore.js"
import * as EventCatalog from "./EventCatalog.js"
import * as EventStore from "./EventStore.js"
import { describeCause } from "./internal/describeCause.js"
import { describeHeldBack, heldBackAnnotations } from "./internal/heldBackWarning.js"
import * as Metrics from "./Metrics.js"
import * as Position from "./Position.js"
import * as Projection from "./Projection.js"
import * as ProjectionStore from "./ProjectionStore.js"
import type { RecordedEvent } from "./RecordedEvent.js"

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

/** What the runner keeps of a status between calls: `lag` and `heldBack` are asked of the store on each call. */
type Tracked = Omit<Status, "lag" | "heldBack">

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

/** A handler's failure (or defect), kept apart from the stores' errors. */
class HandlerFailed extends Data.TaggedError("HandlerFailed")<{ readonly cause: unknown }> {}

/** Another instance holds the lease (while waiting for it). */
class LeaseHeldElsewhere extends Data.TaggedError("LeaseHeldElsewhere")<{}> {}

/** A defect met while following the log. */
class Unexpected extends Data.TaggedError("Unexpected")<{ readonly message: string }> {}

/** The failure policy stopped the projection, or its setup failed for good. */
class Halted extends Data.TaggedError("Halted")<{ readonly failure: Failure }> {}

/** What a fenced commit fails with, besides the handler. */
type CommitError =
  | ProjectionStore.LeaseLost
  | ProjectionStore.ProjectionStoreUnavailable
  | CheckpointStore.CheckpointStoreUnavailable

type Decoded = RecordedEvent<{ readonly _tag: string }>

interface Slot {
  readonly projection: Projection.Any
  readonly decode: (recorded: RecordedEvent) => Decoded | undefined | EventCatalog.DecodeError
  readonly status: SubscriptionRef.SubscriptionRef<Tracked>
  readonly fiber: Ref.Ref<Option.Option<Fiber.RuntimeFiber<void, unknown>>>
  readonly control: Effect.Semaphore
}

/** Handler failures and defects become `HandlerFailed`; interruption stays interruption. */
const asHandlerFailure = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, HandlerFailed, R> =>
  Effect.catchAllCause(effect, (cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause as Cause.Cause<never>)
      : Effect.fail(new HandlerFailed({ cause: Cause.squash(cause) })))

const failureOf = (projection: string, event: RecordedEvent, cause: unknown) =>
  new Projection.ProjectionFailed({
    projection,
    eventId: event.eventId,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    globalPosition: event.globalPosition,
    type: event.type,
    cause
  })

const samePosition = Option.getEquivalence((a: Position.Position, b: Position.Position) => Position.order(a, b) === 0)

const defaultOwner = (): string => {
  const host = typeof process === "object" ? `${process.env["HOSTNAME"] ?? "host"}-${process.pid}` : "runner"
  return `${host}-${crypto.randomUUID().slice(0, 8)}`
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
): Effect.Effect<
  ProjectionRunnerShape,
  never,
  | EventStore.EventStore
  | CheckpointStore.CheckpointStore
  | ProjectionStore.ProjectionStore
  | Projection.Context<Ps[number]>
  | Scope.Scope
> =>
  Effect.gen(function*() {
    const names = new Set<string>()
    for (const projection of projections) {
      if (names.has(projection.name)) {
        return yield* Effect.dieMessage(
          `ProjectionRunner: two projections are named ${JSON.stringify(projection.name)}`
        )
      }
      names.add(projection.name)
    }
    const store = yield* EventStore.EventStore
    const checkpoints = yield* CheckpointStore.CheckpointStore
    const projectionStore = yield* ProjectionStore.ProjectionStore
    // Handlers run with the services the layer was built with.
    const context = yield* Effect.context<Projection.Context<Ps[number]>>()
    const scope = yield* Effect.scope
    const owner = options.owner ?? defaultOwner()
    const leaseTtl = Duration.decode(options.leaseTtl ?? Duration.seconds(10))
    const renewEvery = Duration.times(leaseTtl, 1 / 3)
    const acquireEvery = Duration.decode(options.acquireInterval ?? renewEvery)
    const restartSchedule = options.restartSchedule ??
      Schedule.exponential(Duration.millis(100)).pipe(Schedule.union(Schedule.spaced(Duration.seconds(5))))
    const heldBackThreshold = Duration.decode(options.heldBackThreshold ?? Duration.seconds(10))
    const heldBackWarningInterval = Duration.toMillis(options.heldBackWarningInterval ?? Duration.minutes(1))
    const heldBackCheckEvery = Duration.max(Duration.millis(10), Duration.times(heldBackThreshold, 1 / 2))
    // When each projection last warned that it is held back: the rate limit outlives restarts.
    const heldBackWarnedAt = new Map<string, number>()

    const slots = new Map<string, Slot>()
    for (const projection of projections) {
      slots.set(projection.name, {
        projection,
        decode: Projection.decodeFor(projection),
        status: yield* SubscriptionRef.make<Tracked>({
          projection: projection.name,
          state: "stopped",
          checkpoint: Option.none(),
          handled: 0,
          parked: 0,
          failure: Option.none(),
          lastError: Option.none()
        }),
        fiber: yield* Ref.make(Option.none<Fiber.RuntimeFiber<void, unknown>>()),
        control: yield* Effect.makeSemaphore(1)
      })
    }

    const slotOf = (name: string): Effect.Effect<Slot, UnknownProjection> => {
      const slot = slots.get(name)
      return slot === undefined
        ? Effect.fail(new UnknownProjection({ projection: name, known: [...slots.keys()] }))
        : Effect.succeed(slot)
    }

    const setStatus = (slot: Slot, patch: Partial<Omit<Tracked, "projection">>) =>
      SubscriptionRef.update(slot.status, (status) => ({ ...status, ...patch }))

    /**
     * Runs the projection's own code (handler, setup) with the layer's services. Its failures
     * are `HandlerFailed`, except a lost database connection met in its writes: that is the
     * store being unavailable, so the runner pauses and resumes.
     */
    const runOwn = (
      slot: Slot,
      operation: string,
      run: Effect.Effect<void, unknown, unknown>
    ): Effect.Effect<void, HandlerFailed | ProjectionStore.ProjectionStoreUnavailable> =>
      asHandlerFailure(Effect.provide(run as Effect.Effect<void, unknown, Projection.Context<Ps[number]>>, context))
        .pipe(
          Effect.mapError((failure) =>
            projectionStore.isUnavailable(failure.cause)
              ? new ProjectionStore.ProjectionStoreUnavailable({
                operation,
                projection: slot.projection.name,
                cause: failure.cause
              })
              : failure
          )
        )

    /** Runs the handler on `events` (see {@link runOwn}). */
    const handlerOf = (slot: Slot) =>
    (
      events: ReadonlyArray<Decoded>
    ): Effect.Effect<void, HandlerFailed | ProjectionStore.ProjectionStoreUnavailable> => {
      const { handle, handleBatch } = slot.projection
      const run = handleBatch !== undefined && events.length > 1
        ? handleBatch(events as ReadonlyArray<RecordedEvent<never>>)
        : Effect.forEach(events, (event) => handle(event as RecordedEvent<never>), { discard: true })
      return runOwn(slot, "handle", run)
    }

    /** One fenced transaction: the writes, then the checkpoint at `last`. Uninterruptible: it commits or rolls back. */
    const commit = <E>(slot: Slot, lease: ProjectionStore.Lease, writes: Effect.Effect<void, E>, last: RecordedEvent) =>
      projectionStore.transaction(
        lease,
        Effect.zipRight(writes, checkpoints.save(slot.projection.name, Position.of(last)))
      ).pipe(Effect.uninterruptible)

    /** Records a commit; `state` (live or catching up) changes with the checkpoint, so readers never see one without the other. */
    const recordProgress = (slot: Slot, last: RecordedEvent, handled: number, parked: number, state?: State) =>
      Effect.zipRight(
        SubscriptionRef.update(slot.status, (status) => ({
          ...status,
          state: state ?? status.state,
          checkpoint: Option.some(Position.of(last)),
          handled: status.handled + handled,
          parked: status.parked + parked
        })),
        Metric.incrementBy(Metric.tagged(Metrics.eventsProjected, "projection", slot.projection.name), handled)
      )

    /** Applies the failure policy to an event that failed for good. */
    const giveUp = (
      slot: Slot,
      lease: ProjectionStore.Lease,
      event: RecordedEvent,
      cause: unknown,
      state?: State
    ): Effect.Effect<void, Halted | CommitError> => {
      const failure = failureOf(slot.projection.name, event, cause)
      if (slot.projection.onFailure === "stop") return Effect.fail(new Halted({ failure }))
      return commit(slot, lease, projectionStore.park(slot.projection.name, event, failure.message), event).pipe(
        Effect.zipRight(recordProgress(slot, event, 0, 1, state)),
        Effect.zipRight(Metric.increment(Metric.tagged(Metrics.eventsParked, "projection", slot.projection.name))),
        Effect.zipRight(Effect.logWarning(`Facta: parked an event: ${failure.message}`))
      )
    }

    /** One event in its own transaction, retried under the projection's schedule, then the policy. */
    const handleOne = (
      slot: Slot,
      lease: ProjectionStore.Lease,
      event: RecordedEvent,
      state?: State
    ): Effect.Effect<void, Halted | CommitError> => {
      const decoded = slot.decode(event)
      if (decoded instanceof EventCatalog.EventDecodeError || decoded instanceof EventCatalog.UnknownEventType) {
        // Decoding is deterministic: retrying cannot help.
        return giveUp(slot, lease, event, decoded, state)
      }
      const writes = decoded === undefined ? Effect.void : handlerOf(slot)([decoded])
      return commit(slot, lease, writes, event).pipe(
        Effect.tapError((error) =>
          error._tag === "HandlerFailed"
            ? setStatus(slot, { lastError: Option.some(describeCause(error.cause)) })
            : Effect.void
        ),
        Effect.retry(Schedule.whileInput(slot.projection.retry, (error) => error instanceof HandlerFailed)),
        Effect.zipRight(recordProgress(slot, event, decoded === undefined ? 0 : 1, 0, state)),
        Effect.catchTag("HandlerFailed", (error) => giveUp(slot, lease, event, error.cause, state))
      )
    }

    /** A batch in one transaction; if any event fails, the batch again one event at a time. */
    const handleBatch = (slot: Slot, lease: ProjectionStore.Lease, events: Chunk.Chunk<RecordedEvent>, state: State) =>
      Effect.gen(function*() {
        const recorded = Chunk.toReadonlyArray(events)
        const last = recorded[recorded.length - 1]
        if (last === undefined) return
        const decoded: Array<Decoded> = []
        let undecodable = false
        for (const event of recorded) {
          const result = slot.decode(event)
          if (result instanceof EventCatalog.EventDecodeError || result instanceof EventCatalog.UnknownEventType) {
            undecodable = true
            break
          }
          if (result !== undefined) decoded.push(result)
        }
        if (!undecodable) {
          const exit = yield* Effect.exit(commit(slot, lease, handlerOf(slot)(decoded), last))
          if (Exit.isSuccess(exit)) return yield* recordProgress(slot, last, decoded.length, 0, state)
          const error = Cause.failureOption(exit.cause)
          if (Option.isNone(error) || error.value._tag !== "HandlerFailed") {
            return yield* Effect.failCause(exit.cause as Cause.Cause<CommitError>)
          }
        }
        for (const event of recorded) yield* handleOne(slot, lease, event, event === last ? state : undefined)
      })

    /** The store's held-back report for the projection, once it has lasted `heldBackThreshold`. */
    const heldBackOf = (slot: Slot) =>
      Effect.map(
        store.heldBack(slot.projection.filter),
        Option.filter((held) => Duration.greaterThanOrEqualTo(held.heldFor, heldBackThreshold))
      )

    /**
     * While the projection makes no progress, asks the store whether an open transaction holds
     * its delivery back, and warns (at most once per `heldBackWarningInterval`) naming who.
     * Runs beside `follow`, which it never fails: a store error here is `follow`'s to meet.
     */
    const watchHeldBack = (slot: Slot) =>
      Effect.gen(function*() {
        const { name } = slot.projection
        let seen = (yield* SubscriptionRef.get(slot.status)).checkpoint
        let warned = false
        for (;;) {
          yield* Effect.sleep(heldBackCheckEvery)
          const { checkpoint } = yield* SubscriptionRef.get(slot.status)
          const progressed = !samePosition(checkpoint, seen)
          seen = checkpoint
          const held = progressed ? Option.none() : yield* Effect.orElseSucceed(heldBackOf(slot), () => undefined)
          if (held === undefined) continue
          if (Option.isSome(held)) {
            const now = yield* Clock.currentTimeMillis
            const last = heldBackWarnedAt.get(name)
            if (last === undefined || now - last >= heldBackWarningInterval) {
              heldBackWarnedAt.set(name, now)
              yield* Effect.logWarning(describeHeldBack(name, held.value)).pipe(
                Effect.annotateLogs(heldBackAnnotations(name, held.value))
              )
            }
            warned = true
          } else if (warned) {
            warned = false
            yield* Effect.logInfo(`Facta: projection ${JSON.stringify(name)} is no longer held back`)
          }
        }
      })

    /** Reads from the checkpoint on, forever; fails with a store error, `LeaseLost` or `Halted`. */
    const follow = (slot: Slot, lease: ProjectionStore.Lease) =>
      Effect.gen(function*() {
        const { batchSize, filter, name } = slot.projection
        // Catching up means reading what was committed when it started (its head then); live
        // from there on, or as soon as a short batch says nothing is left. `lag` tells the rest.
        const checkpoint = yield* checkpoints.load(name)
        const target = yield* store.head(filter)
        const reached = (position: Option.Option<Position.Position>) =>
          Option.isNone(target) || (Option.isSome(position) && Position.order(position.value, target.value) >= 0)
        let live = reached(checkpoint)
        yield* setStatus(slot, { state: live ? "live" : "catching-up", checkpoint })
        // A child of this fiber: it ends with it.
        yield* Effect.fork(watchHeldBack(slot))
        yield* store.subscribe({ after: Option.getOrElse(checkpoint, () => Position.start), filter, batchSize }).pipe(
          Stream.runForEachChunk((events) => {
            live ||= events.length < batchSize || reached(Option.map(Chunk.last(events), Position.of))
            return handleBatch(slot, lease, events, live ? "live" : "catching-up")
          })
        )
      })

    /** Renews the lease until it is lost; fails with `LeaseLost` (or a store error once the lease has lapsed). */
    const keepLease = (lease: ProjectionStore.Lease) =>
      projectionStore.renew(lease, leaseTtl).pipe(
        Effect.delay(renewEvery),
        // A renewal that cannot reach the store is retried while the lease may still be valid.
        Effect.retry(
          Schedule.spaced(Duration.millis(Math.max(10, Duration.toMillis(renewEvery) / 4))).pipe(
            Schedule.upTo(Duration.subtract(leaseTtl, renewEvery)),
            Schedule.whileInput((error: ProjectionStore.LeaseLost | ProjectionStore.ProjectionStoreUnavailable) =>
              error._tag === "ProjectionStoreUnavailable"
            )
          )
        ),
        Effect.forever
      )

    /** Waits for the lease, however long it takes; a store that cannot be reached shows in `lastError`. */
    const acquireLease = (slot: Slot) =>
      projectionStore.acquire(slot.projection.name, owner, leaseTtl).pipe(
        Effect.tapError((error) => setStatus(slot, { lastError: Option.some(error.message) })),
        Effect.flatMap(Option.match({
          onNone: () => Effect.zipRight(setStatus(slot, { state: "standby" }), Effect.fail(new LeaseHeldElsewhere())),
          onSome: Effect.succeed
        })),
        Effect.retry(Schedule.spaced(acquireEvery)),
        Effect.orDie // the schedule never ends
      )

    /**
     * The projection's setup in a fenced transaction of its own, retried under its `retry`
     * schedule like a failing event; when that ends, `Halted` with `SetupFailed`. A store error
     * or a lost lease fails as it would in `follow` (pause and resume, back to standby).
     */
    const runSetup = (slot: Slot, lease: ProjectionStore.Lease): Effect.Effect<void, Halted | CommitError> => {
      const { name, retry, setup } = slot.projection
      if (setup === undefined) return Effect.void
      return projectionStore.transaction(lease, runOwn(slot, "setup", setup)).pipe(
        Effect.uninterruptible,
        Effect.tapError((error) =>
          error._tag === "HandlerFailed"
            ? setStatus(slot, { lastError: Option.some(`setup failed: ${describeCause(error.cause)}`) })
            : Effect.void
        ),
        Effect.retry(Schedule.whileInput(retry, (error) => error instanceof HandlerFailed)),
        Effect.catchTag(
          "HandlerFailed",
          (error) =>
            Effect.fail(new Halted({ failure: new Projection.SetupFailed({ projection: name, cause: error.cause }) }))
        )
      )
    }

    /** Rebuild's first step, under the lease: reset, forget the checkpoint and parked events, atomically. */
    const resetUnder = (slot: Slot, lease: ProjectionStore.Lease) => {
      const { name, reset } = slot.projection
      const work = Effect.all([
        reset === undefined
          ? Effect.void
          : asHandlerFailure(
            Effect.provide(reset as Effect.Effect<void, unknown, Projection.Context<Ps[number]>>, context)
          ),
        checkpoints.reset(name),
        projectionStore.clearParked(name)
      ], { discard: true })
      return projectionStore.transaction(lease, work).pipe(
        Effect.uninterruptible,
        Effect.zipRight(setStatus(slot, { checkpoint: Option.none(), handled: 0, parked: 0 }))
      )
    }

    /** Runs a requested rebuild's reset and reports to its caller; a failed reset leaves the read model as it was. */
    const runReset = (slot: Slot, lease: ProjectionStore.Lease, done: Deferred.Deferred<void, RebuildError>) =>
      Effect.gen(function*() {
        yield* setStatus(slot, { state: "rebuilding" })
        const exit = yield* Effect.exit(resetUnder(slot, lease))
        if (Exit.isSuccess(exit)) return yield* Deferred.succeed(done, undefined)
        const error = Cause.failureOption(exit.cause)
        if (Option.isNone(error)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
        switch (error.value._tag) {
          case "LeaseLost":
            return yield* Effect.fail(error.value) // retried under the next lease
          case "HandlerFailed": {
            const failed = new ResetFailed({ projection: slot.projection.name, cause: error.value.cause })
            yield* setStatus(slot, { lastError: Option.some(failed.message) })
            return yield* Deferred.fail(done, failed)
          }
          default:
            yield* Deferred.fail(done, error.value)
        }
      })

    /**
     * The life of one projection on this instance: take the lease, set up, (reset,) follow the log;
     * on a lost lease go back to standby, on a store error back off and resume, on a failure
     * stop in state `failed`.
     */
    const lifecycle = (slot: Slot, rebuild: Option.Option<Deferred.Deferred<void, RebuildError>>) =>
      Effect.gen(function*() {
        let pendingReset = rebuild
        const backoff = yield* Schedule.driver(restartSchedule)
        let handledAtLastError = -1
        for (;;) {
          yield* setStatus(slot, { state: "standby" })
          const lease = yield* acquireLease(slot)
          const run = Effect.gen(function*() {
            yield* runSetup(slot, lease)
            if (Option.isSome(pendingReset)) {
              yield* runReset(slot, lease, pendingReset.value)
              pendingReset = Option.none()
            }
            return yield* follow(slot, lease)
          })
          // The lease is renewed from the start: a setup's retries may outlast it.
          const outcome = yield* Effect.raceFirst(run, keepLease(lease)).pipe(
            Effect.ensuring(Effect.ignore(projectionStore.release(lease))),
            Effect.exit
          )
          if (Exit.isSuccess(outcome)) return
          if (Cause.isInterruptedOnly(outcome.cause)) {
            return yield* Effect.failCause(outcome.cause as Cause.Cause<never>)
          }
          // A defect (a failed COMMIT in @effect/sql, a bug) pauses the projection like a store error.
          const failure = Option.getOrElse(
            Cause.failureOption(outcome.cause),
            () => new Unexpected({ message: Cause.pretty(outcome.cause) })
          )
          if (failure._tag === "Halted") {
            yield* Effect.logError(`Facta: ${failure.failure.message}`)
            return yield* setStatus(slot, {
              state: "failed",
              failure: Option.some(failure.failure),
              lastError: Option.some(failure.failure.message)
            })
          }
          yield* setStatus(slot, { lastError: Option.some(failure.message) })
          if (failure._tag === "LeaseLost") {
            yield* Effect.logWarning(`Facta: ${failure.message}; back to standby`)
            continue
          }
          yield* Effect.logWarning(`Facta: projection ${slot.projection.name} paused: ${failure.message}`)
          const { handled } = yield* SubscriptionRef.get(slot.status)
          if (handled !== handledAtLastError) yield* backoff.reset
          handledAtLastError = handled
          const more = yield* Effect.option(backoff.next(undefined))
          if (Option.isNone(more)) return yield* setStatus(slot, { state: "stopped" })
        }
      })

    const launch = (slot: Slot, rebuild: Option.Option<Deferred.Deferred<void, RebuildError>>) =>
      Effect.gen(function*() {
        yield* setStatus(slot, { state: "standby", failure: Option.none() })
        const fiber = yield* Effect.forkIn(lifecycle(slot, rebuild), scope)
        yield* Ref.set(slot.fiber, Option.some(fiber))
      })

    const halt = (slot: Slot) =>
      Effect.gen(function*() {
        const fiber = yield* Ref.getAndSet(slot.fiber, Option.none())
        if (Option.isSome(fiber)) yield* Fiber.interrupt(fiber.value)
      })

    const running = (slot: Slot) =>
      Effect.map(
        Ref.get(slot.fiber),
        Option.match({
          onNone: () => Effect.succeed(false),
          onSome: (fiber) => Effect.map(fiber.poll, Option.isNone)
        })
      ).pipe(Effect.flatten)

    const withLag = (slot: Slot) =>
      Effect.gen(function*() {
        const status = yield* SubscriptionRef.get(slot.status)
        const checkpoint = Option.isSome(status.checkpoint)
          ? status.checkpoint
          : yield* checkpoints.load(slot.projection.name)
        const lag = yield* store.countAfter(Option.getOrElse(checkpoint, () => Position.start), slot.projection.filter)
        yield* Metric.set(Metric.tagged(Metrics.projectionLag, "projection", slot.projection.name), lag)
        // Held-back events are committed, so counted in the lag: no lag, nothing held back.
        const heldBack = lag === 0 || status.state === "stopped" || status.state === "failed"
          ? Option.none()
          : yield* heldBackOf(slot)
        return { ...status, checkpoint, lag, heldBack }
      })

    const waitForCatchUp = (slot: Slot) =>
      Effect.gen(function*() {
        const target = yield* store.head(slot.projection.filter)
        if (Option.isNone(target)) return
        for (;;) {
          const status = yield* SubscriptionRef.get(slot.status)
          if (status.state === "failed" && Option.isSome(status.failure)) {
            return yield* Effect.fail(status.failure.value)
          }
          if (status.state === "stopped") {
            return yield* Effect.fail(new ProjectionStopped({ projection: status.projection }))
          }
          // On standby another instance runs the projection: its checkpoint is in the store.
          const checkpoint = status.state === "standby" || status.state === "rebuilding"
            ? yield* checkpoints.load(slot.projection.name)
            : status.checkpoint
          if (Option.isSome(checkpoint) && Position.order(checkpoint.value, target.value) >= 0) return
          yield* Effect.raceFirst(
            slot.status.changes.pipe(Stream.drop(1), Stream.take(1), Stream.runDrain),
            Effect.sleep(Duration.millis(100))
          )
        }
      })

    const replayParked = (slot: Slot, eventId: string | undefined) =>
      Effect.gen(function*() {
        const { name } = slot.projection
        const parked = (yield* projectionStore.parked(name)).filter((entry) =>
          eventId === undefined || entry.event.eventId === eventId
        )
        let replayed = 0
        for (const entry of parked) {
          const decoded = slot.decode(entry.event)
          const writes =
            decoded instanceof EventCatalog.EventDecodeError || decoded instanceof EventCatalog.UnknownEventType
              ? Effect.fail(new HandlerFailed({ cause: decoded }))
              : decoded === undefined
              ? Effect.void
              : handlerOf(slot)([decoded])
          // The read-model writes and the removal from the dead-letter list commit together.
          const outcome = yield* projectionStore.atomically(
            name,
            Effect.zipRight(writes, projectionStore.unpark(name, entry.event.eventId))
          ).pipe(Effect.uninterruptible, Effect.either)
          if (outcome._tag === "Right") {
            replayed++
          } else if (outcome.left._tag === "HandlerFailed") {
            yield* projectionStore.park(name, entry.event, failureOf(name, entry.event, outcome.left.cause).message)
          } else {
            return yield* Effect.fail(outcome.left)
          }
        }
        return replayed
      })

    const shape: ProjectionRunnerShape = {
      owner,
      status: (name) => Effect.flatMap(slotOf(name), withLag),
      statuses: Effect.forEach([...slots.values()], withLag),
      waitForCatchUp: (name) => Effect.flatMap(slotOf(name), waitForCatchUp),
      rebuild: (name) =>
        Effect.flatMap(slotOf(name), (slot) =>
          slot.control.withPermits(1)(
            Effect.gen(function*() {
              yield* halt(slot)
              const done = yield* Deferred.make<void, RebuildError>()
              yield* launch(slot, Option.some(done))
              return done
            })
          ).pipe(Effect.flatMap(Deferred.await))),
      stop: (name) =>
        Effect.flatMap(slotOf(name), (slot) =>
          slot.control.withPermits(1)(
            Effect.zipRight(halt(slot), setStatus(slot, { state: "stopped" }))
          )),
      start: (name) =>
        Effect.flatMap(slotOf(name), (slot) =>
          slot.control.withPermits(1)(
            Effect.flatMap(running(slot), (isRunning) => isRunning ? Effect.void : launch(slot, Option.none()))
          )),
      parked: (name) => Effect.flatMap(slotOf(name), (slot) => projectionStore.parked(slot.projection.name)),
      replayParked: (name, eventId) =>
        Effect.flatMap(slotOf(name), (slot) => slot.control.withPermits(1)(replayParked(slot, eventId)))
    }

    if (options.autoStart ?? true) {
      for (const slot of slots.values()) yield* launch(slot, Option.none())
    }
    // On scope close: stop every projection (batches in flight commit), then release leases.
    yield* Effect.addFinalizer(() =>
      Effect.forEach([...slots.values()], (slot) => halt(slot), { concurrency: "unbounded", discard: true })
    )
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
): Layer.Layer<
  ProjectionRunner,
  never,
  | EventStore.EventStore
  | CheckpointStore.CheckpointStore
  | ProjectionStore.ProjectionStore
  | Projection.Context<Ps[number]>
> => Layer.scoped(ProjectionRunner, make(projections, options))

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

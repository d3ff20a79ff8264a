/**
 * Batches and their fenced commits: a batch in one transaction with its checkpoint, one event
 * at a time when it fails, the failure policy (stop or park), and replaying parked events.
 */
import { Cause, Chunk, Data, Effect, Exit, Metric, Option, Schedule } from "effect"
import type * as CheckpointStore from "../../CheckpointStore.js"
import * as EventCatalog from "../../EventCatalog.js"
import * as Metrics from "../../Metrics.js"
import * as Position from "../../Position.js"
import * as Projection from "../../Projection.js"
import type * as ProjectionStore from "../../ProjectionStore.js"
import type { RecordedEvent } from "../../RecordedEvent.js"
import { describeCause } from "../describeCause.js"
import type { Decoded, Environment, Slot } from "./environment.js"
import { HandlerFailed, runHandler } from "./handler.js"
import type { Failure, State } from "./models.js"
import { recordProgress, setStatus } from "./status.js"

/** The failure policy stopped the projection, or its setup failed for good. */
export class Halted extends Data.TaggedError("Halted")<{ readonly failure: Failure }> {}

/** What a fenced commit fails with, besides the handler. */
export type CommitError =
  | ProjectionStore.LeaseLost
  | ProjectionStore.ProjectionStoreUnavailable
  | CheckpointStore.CheckpointStoreUnavailable

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

const undecodable = (decoded: Decoded | undefined | EventCatalog.DecodeError): decoded is EventCatalog.DecodeError =>
  decoded instanceof EventCatalog.EventDecodeError || decoded instanceof EventCatalog.UnknownEventType

/** One fenced transaction: the writes, then the checkpoint at `last`. Uninterruptible: it commits or rolls back. */
const commit = <E>(
  env: Environment,
  slot: Slot,
  lease: ProjectionStore.Lease,
  writes: Effect.Effect<void, E>,
  last: RecordedEvent
) =>
  env.projectionStore.transaction(
    lease,
    Effect.zipRight(writes, env.checkpoints.save(slot.projection.name, Position.of(last)))
  ).pipe(Effect.uninterruptible)

/** Applies the failure policy to an event that failed for good. */
const giveUp = (
  env: Environment,
  slot: Slot,
  lease: ProjectionStore.Lease,
  event: RecordedEvent,
  cause: unknown,
  state?: State
): Effect.Effect<void, Halted | CommitError> => {
  const failure = failureOf(slot.projection.name, event, cause)
  if (slot.projection.onFailure === "stop") return Effect.fail(new Halted({ failure }))
  return commit(env, slot, lease, env.projectionStore.park(slot.projection.name, event, failure.message), event).pipe(
    Effect.zipRight(recordProgress(slot, event, 0, 1, state)),
    Effect.zipRight(Metric.increment(Metric.tagged(Metrics.eventsParked, "projection", slot.projection.name))),
    Effect.zipRight(Effect.logWarning(`Facta: parked an event: ${failure.message}`))
  )
}

/** One event in its own transaction, retried under the projection's schedule, then the policy. */
const handleOne = (
  env: Environment,
  slot: Slot,
  lease: ProjectionStore.Lease,
  event: RecordedEvent,
  state?: State
): Effect.Effect<void, Halted | CommitError> => {
  const decoded = slot.decode(event)
  if (undecodable(decoded)) {
    // Decoding is deterministic: retrying cannot help.
    return giveUp(env, slot, lease, event, decoded, state)
  }
  const writes = decoded === undefined ? Effect.void : runHandler(env, slot, [decoded])
  return commit(env, slot, lease, writes, event).pipe(
    Effect.tapError((error) =>
      error._tag === "HandlerFailed"
        ? setStatus(slot, { lastError: Option.some(describeCause(error.cause)) })
        : Effect.void
    ),
    Effect.retry(Schedule.whileInput(slot.projection.retry, (error) => error instanceof HandlerFailed)),
    Effect.zipRight(recordProgress(slot, event, decoded === undefined ? 0 : 1, 0, state)),
    Effect.catchTag("HandlerFailed", (error) => giveUp(env, slot, lease, event, error.cause, state))
  )
}

/** A batch in one transaction; if any event fails, the batch again one event at a time. */
export const handleBatch = (
  env: Environment,
  slot: Slot,
  lease: ProjectionStore.Lease,
  events: Chunk.Chunk<RecordedEvent>,
  state: State
) =>
  Effect.gen(function*() {
    const recorded = Chunk.toReadonlyArray(events)
    const last = recorded[recorded.length - 1]
    if (last === undefined) return
    const decoded: Array<Decoded> = []
    let failedToDecode = false
    for (const event of recorded) {
      const result = slot.decode(event)
      if (undecodable(result)) {
        failedToDecode = true
        break
      }
      if (result !== undefined) decoded.push(result)
    }
    if (!failedToDecode) {
      const exit = yield* Effect.exit(commit(env, slot, lease, runHandler(env, slot, decoded), last))
      if (Exit.isSuccess(exit)) return yield* recordProgress(slot, last, decoded.length, 0, state)
      const error = Cause.failureOption(exit.cause)
      if (Option.isNone(error) || error.value._tag !== "HandlerFailed") {
        return yield* Effect.failCause(exit.cause as Cause.Cause<CommitError>)
      }
    }
    for (const event of recorded) yield* handleOne(env, slot, lease, event, event === last ? state : undefined)
  })

/** Hands parked events to the projection again, each in its own transaction; returns how many succeeded. */
export const replayParked = (env: Environment, slot: Slot, eventId: string | undefined) =>
  Effect.gen(function*() {
    const { name } = slot.projection
    const { projectionStore } = env
    const parked = (yield* projectionStore.parked(name)).filter((entry) =>
      eventId === undefined || entry.event.eventId === eventId
    )
    let replayed = 0
    for (const entry of parked) {
      const decoded = slot.decode(entry.event)
      const writes = undecodable(decoded)
        ? Effect.fail(new HandlerFailed({ cause: decoded }))
        : decoded === undefined
        ? Effect.void
        : runHandler(env, slot, [decoded])
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

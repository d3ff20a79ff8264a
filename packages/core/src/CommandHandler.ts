/**
 * Command handling: load an aggregate, decide, append at the loaded version, and on a
 * concurrency conflict reload and decide again under a retry schedule.
 *
 * @since 0.1.0
 */
import { Effect, Metric, Schedule } from "effect"
import * as Aggregate from "./Aggregate.js"
import * as EventCatalog from "./EventCatalog.js"
import * as EventStore from "./EventStore.js"
import * as ExpectedVersion from "./ExpectedVersion.js"
import * as Metrics from "./Metrics.js"
import type * as Position from "./Position.js"
import type { EventMetadata } from "./RecordedEvent.js"
import type * as StreamId from "./StreamId.js"

/**
 * Who sent a command and why: recorded on every event it causes.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandContext {
  /** The command's id; becomes the events' `causationId`. Default: a fresh UUID. */
  readonly commandId?: string
  /** The id of the request or workflow; default: the command id. */
  readonly correlationId?: string
  /** Who sent the command. */
  readonly userId?: string
  /** Extra metadata keys recorded on every event. */
  readonly metadata?: Readonly<Record<string, unknown>>
}

/**
 * Options for {@link handle}.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandleOptions {
  readonly context?: CommandContext
  /**
   * How to retry after a concurrency conflict (reload, decide again, append). Default:
   * {@link defaultRetrySchedule}. `Schedule.stop` disables retries.
   */
  readonly retry?: Schedule.Schedule<unknown, EventStore.ConcurrencyConflict>
}

/**
 * The default retry schedule: up to 4 retries with jittered exponential backoff from 5 ms.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, EventStore.ConcurrencyConflict> = Schedule.exponential(
  "5 millis"
).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(4)))

/**
 * What handling a command produced.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandleResult<S, E> {
  readonly streamId: StreamId.StreamId
  /** The new events (empty when the command changed nothing). */
  readonly events: ReadonlyArray<E>
  /** Their event ids, in order. */
  readonly eventIds: ReadonlyArray<string>
  /** The stream's version after the command. */
  readonly version: number
  /** The state after the command. */
  readonly state: S
  /** The log position of the last new event, for waiting on projections. */
  readonly position: Position.Position | undefined
  /** How many times the command was decided (1 without conflicts). */
  readonly attempts: number
}

/**
 * Everything handling can fail with besides the decider's domain errors.
 *
 * @since 0.1.0
 * @category errors
 */
export type HandleError = Aggregate.LoadError | EventStore.AppendError | EventCatalog.EventEncodeError

const isConflict = (error: unknown): boolean => error instanceof EventStore.ConcurrencyConflict

/**
 * Handles `command` on the aggregate stream `streamId`: loads the state, runs `decide`, appends
 * the new events expecting the loaded version, and snapshots when the policy says so. A
 * `ConcurrencyConflict` reloads and decides again under `options.retry`; when retries run out
 * the conflict is returned. Domain errors from `decide` are returned as they are, and nothing
 * is appended. Each event records `correlationId`, `causationId` (the command id) and `userId`.
 *
 * @since 0.1.0
 * @category handling
 */
export const handle = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  streamId: string,
  command: C,
  options: HandleOptions = {}
): Effect.Effect<HandleResult<S, E>, Err | HandleError, R | EventStore.EventStore> => {
  const context = options.context ?? {}
  const toNewEvent = EventCatalog.toNewEvent(aggregate.catalog)
  return Effect.gen(function*() {
    const commandId = context.commandId ?? crypto.randomUUID()
    const metadata: EventMetadata = {
      ...context.metadata,
      correlationId: context.correlationId ?? commandId,
      causationId: commandId,
      ...(context.userId === undefined ? {} : { userId: context.userId })
    }
    let attempts = 0
    const attempt = Effect.gen(function*() {
      attempts++
      if (attempts > 1) yield* Metric.increment(Metrics.commandRetries)
      const loaded = yield* Aggregate.load(aggregate, streamId)
      const decided = yield* aggregate.decider.decide(command, loaded.state).pipe(
        Effect.tapError(() => Metric.increment(Metrics.commandsRejected))
      )
      let state = loaded.state
      for (const event of decided) state = aggregate.decider.evolve(state, event)
      if (decided.length === 0) {
        return { loaded, decided, eventIds: [], state, version: loaded.version, position: undefined }
      }
      const newEvents = yield* Effect.forEach(decided, (event) => toNewEvent(event, metadata))
      const appended = yield* EventStore.append(
        loaded.streamId,
        newEvents,
        ExpectedVersion.fromLoadedVersion(loaded.version)
      )
      return {
        loaded,
        decided,
        eventIds: newEvents.map((event) => event.eventId),
        state,
        version: appended.nextExpectedVersion,
        position: appended.position
      }
    })
    const outcome = yield* attempt.pipe(
      Effect.retry({
        // `while` lets only conflicts reach the schedule, so its input type holds.
        schedule: (options.retry ?? defaultRetrySchedule) as Schedule.Schedule<unknown, unknown>,
        while: isConflict
      })
    )
    if (outcome.decided.length > 0) {
      yield* Aggregate.snapshotIfDue(aggregate, outcome.loaded.streamId, outcome.loaded.version, outcome.version, outcome.state)
    }
    yield* Effect.annotateCurrentSpan({ "facta.version": outcome.version, "facta.attempts": attempts, "facta.event_count": outcome.decided.length })
    return {
      streamId: outcome.loaded.streamId,
      events: outcome.decided,
      eventIds: outcome.eventIds,
      version: outcome.version,
      state: outcome.state,
      position: outcome.position,
      attempts
    }
  }).pipe(
    Effect.zipLeft(Metric.increment(Metrics.commands)),
    Effect.tapError(() => Metric.increment(Metrics.commands)),
    Effect.withSpan("CommandHandler.handle", {
      attributes: { "facta.stream_id": streamId, "facta.category": aggregate.category }
    })
  )
}

/**
 * A handler bound to one aggregate: `(streamId, command, options?) => Effect`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  defaults: HandleOptions = {}
) =>
(streamId: string, command: C, options: HandleOptions = {}) =>
  handle(aggregate, streamId, command, { ...defaults, ...options })

/**
 * Command handling: load an aggregate, decide, append at the loaded version, and on a
 * concurrency conflict reload and decide again under a retry schedule.
 *
 * @since 0.1.0
 */
import { Effect, Either, Metric, Option, Schedule } from "effect"
import { v5 as uuidV5 } from "uuid"
import * as Aggregate from "./Aggregate.js"
import * as EventCatalog from "./EventCatalog.js"
import * as EventStore from "./EventStore.js"
import * as ExpectedVersion from "./ExpectedVersion.js"
import * as Metrics from "./Metrics.js"
import * as Position from "./Position.js"
import type { EventMetadata } from "./RecordedEvent.js"
import * as Spans from "./Spans.js"
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
  /**
   * Makes the command idempotent: its events get ids derived from the key ({@link eventIdFor}),
   * and a command whose events are already recorded (a retry after a lost acknowledgement)
   * returns what it recorded, with `repeated: true`, instead of deciding again. The key belongs
   * to one stream: reusing it on another fails with `DuplicateEventId`. A command that decided
   * no events leaves nothing to find, and is decided again.
   */
  readonly idempotencyKey?: string
}

/**
 * Options for {@link handle}.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandleOptions {
  /** Who sent the command and why, recorded on its events; also carries its idempotency key. */
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
  /** The stream the command was handled on. */
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
  /** How many times the command was decided (1 without conflicts; 0 for a repeat). */
  readonly attempts: number
  /** The command's idempotency key was already recorded: these are the events it recorded then. */
  readonly repeated: boolean
}

/**
 * Everything handling can fail with besides the decider's domain errors.
 *
 * @since 0.1.0
 * @category errors
 */
export type HandleError = Aggregate.LoadError | EventStore.AppendError | EventCatalog.EventEncodeError

const isConflict = (error: unknown): boolean => error instanceof EventStore.ConcurrencyConflict

/** The namespace of Facta's idempotency-key event ids (UUID v5). Changing it changes every id. */
const idempotencyNamespace = "6f0a8f2e-3c1b-4d7e-9a5f-2b8c4e1d7a90"

/**
 * The id of the `index`-th event (0-based) of the command with this idempotency key: the UUID v5
 * of the name `<key>/<index>` (UTF-8) in Facta's namespace, the same on every machine, every
 * retry and every release.
 *
 * @since 0.1.0
 * @category idempotency
 */
export const eventIdFor = (idempotencyKey: string, index: number): string =>
  uuidV5(`${idempotencyKey}/${index}`, idempotencyNamespace)

/**
 * What a keyed command recorded, if its first event is in the store: the events from there on
 * that carry the key's ids, and the state after them.
 */
const recordedFor = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  streamId: StreamId.StreamId,
  key: string
): Effect.Effect<Option.Option<HandleResult<S, E>>, HandleError, EventStore.EventStore> =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const firstId = eventIdFor(key, 0)
    const found = yield* store.locate(firstId)
    if (Option.isNone(found)) return Option.none()
    const at = found.value
    if (at.streamId !== streamId) {
      return yield* Effect.fail(
        new EventStore.DuplicateEventId({
          streamId,
          eventId: firstId,
          reason: `the idempotency key ${JSON.stringify(key)} was used by a command on stream ${
            JSON.stringify(at.streamId)
          }`
        })
      )
    }
    const page = yield* store.readStreamBatch(streamId, { from: at.streamVersion })
    const decode = EventCatalog.decodeData(aggregate.catalog)
    const events: Array<E> = []
    const eventIds: Array<string> = []
    let position: Position.Position = at.position
    for (const [index, recorded] of page.entries()) {
      if (recorded.eventId !== eventIdFor(key, index)) break
      events.push(yield* Either.match(decode(recorded), { onLeft: Effect.fail, onRight: Effect.succeed }))
      eventIds.push(recorded.eventId)
      position = Position.of(recorded)
    }
    const version = at.streamVersion + events.length - 1
    const loaded = yield* Aggregate.load(aggregate, streamId, { version })
    return Option.some({
      streamId,
      events,
      eventIds,
      version,
      state: loaded.state,
      position,
      attempts: 0,
      repeated: true
    })
  })

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
  const key = context.idempotencyKey
  return Effect.gen(function*() {
    if (key !== undefined) {
      const validId = yield* Aggregate.validateStreamId(aggregate, streamId)
      const repeat = yield* recordedFor(aggregate, validId, key)
      if (Option.isSome(repeat)) return repeat.value
    }
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
      const newEvents = yield* Effect.forEach(
        decided,
        (event, index) =>
          key === undefined ? toNewEvent(event, metadata) : toNewEvent(event, metadata, eventIdFor(key, index))
      )
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
      }),
      // The same keyed command, run concurrently, recorded first: return what it recorded.
      Effect.catchIf(
        (error): error is EventStore.DuplicateEventId =>
          key !== undefined && error instanceof EventStore.DuplicateEventId,
        (error) =>
          Effect.flatMap(
            Aggregate.validateStreamId(aggregate, streamId),
            (validId) =>
              Effect.flatMap(
                recordedFor(aggregate, validId, key!),
                Option.match({
                  onNone: () => Effect.fail(error),
                  onSome: (repeat) => Effect.succeed({ repeat })
                })
              )
          )
      )
    )
    if ("repeat" in outcome) return outcome.repeat
    if (outcome.decided.length > 0) {
      yield* Aggregate.snapshotIfDue(
        aggregate,
        outcome.loaded.streamId,
        outcome.loaded.version,
        outcome.version,
        outcome.state
      )
    }
    yield* Effect.annotateCurrentSpan({
      "facta.version": outcome.version,
      "facta.attempts": attempts,
      "facta.event_count": outcome.decided.length
    })
    return {
      streamId: outcome.loaded.streamId,
      events: outcome.decided,
      eventIds: outcome.eventIds,
      version: outcome.version,
      state: outcome.state,
      position: outcome.position,
      attempts,
      repeated: false
    }
  }).pipe(
    Effect.zipLeft(Metric.increment(Metrics.commands)),
    Effect.tapError(() => Metric.increment(Metrics.commands)),
    (handled) =>
      Spans.withSpan(handled, "CommandHandler.handle", {
        "facta.stream_id": streamId,
        "facta.category": aggregate.category
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

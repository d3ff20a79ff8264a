/**
 * Idempotent command handling: a command carries an idempotency key, and the ids of the events
 * it causes are derived from that key (UUID v5 of `key/index`), so handling the same command
 * again cannot record it twice.
 *
 * - A retry that finds the key's first event id among the stream's last `window` events returns
 *   the original events (`repeated: true`) without deciding again — the posting may have moved
 *   on, and deciding on today's state would give another answer.
 * - Two copies decided on the same state (a retry racing the original, or a retry after a lost
 *   acknowledgement that decided before the original was visible) append the same ids at the
 *   same version: the event store's idempotent append returns the original result.
 *
 * Causation is chained: the first event of a command is caused by `context.causationId` (the
 * previous step's last event id, or the command id), every further event by the event before
 * it. All carry the posting's correlation id and the idempotency key.
 *
 * Core's `CommandHandler.handle` takes an idempotency key as well, but records one causation id
 * on every event of a command; to chain causation within a command this module loads, decides
 * and appends itself with `Aggregate.load`, `EventCatalog.toNewEvent` and `EventStore.append`
 * (see the README).
 */
import type { EventCatalog, RecordedEvent } from "@facta/core"
import { Aggregate, EventCatalog as Catalog, EventStore, ExpectedVersion, Position } from "@facta/core"
import { Chunk, Effect, Schedule, Stream } from "effect"
import { createHash } from "node:crypto"

/** The UUID v5 namespace of this example's idempotency keys: a fixed UUID; changing it changes every derived id. */
export const namespace = "5b1f0b4e-1b0a-5c2a-9f4e-3c6d8a7e2f10"

const uuidBytes = (uuid: string): Buffer => Buffer.from(uuid.replaceAll("-", ""), "hex")

/** The id of the `index`-th event caused by the command with `idempotencyKey`: a UUID v5. */
export const eventIdFor = (idempotencyKey: string, index: number): string => {
  const hash = createHash("sha1").update(uuidBytes(namespace)).update(`${idempotencyKey}/${index}`, "utf8").digest()
  const bytes = hash.subarray(0, 16)
  bytes[6] = (bytes[6]! & 0x0f) | 0x50
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Who asked and why: the correlation id of the workflow and the cause of the command. */
export interface StepContext {
  /** The posting's correlation id, recorded on every event. */
  readonly correlationId: string
  /** The previous step's last event id; default: the idempotency key's command (no event). */
  readonly causationId?: string
  readonly userId?: string
}

/** What handling produced. */
export interface Result<E> {
  readonly streamId: string
  /** The command's events: new ones, or the original ones when `repeated`. */
  readonly events: ReadonlyArray<E>
  readonly eventIds: ReadonlyArray<string>
  /** The stream version of the command's last event (the loaded version when it decided nothing). */
  readonly version: number
  readonly position: Position.Position | undefined
  /** `true` when the command had already been recorded and nothing was appended. */
  readonly repeated: boolean
}

/** Options of {@link handle}. */
export interface Options {
  readonly idempotencyKey: string
  /**
   * The context, or how to make it from the stream's latest event (read afresh on each attempt,
   * so a command decided again after a conflict is caused by the event that is latest then).
   */
  readonly context: StepContext | ((latest: RecordedEvent.RecordedEvent<unknown> | undefined) => StepContext)
  /** How many of the stream's last events to search for an earlier copy of the command. Default 100. */
  readonly window?: number
}

const metadataFor = (key: string, context: StepContext, eventIds: ReadonlyArray<string>, index: number) => ({
  correlationId: context.correlationId,
  causationId: index === 0 ? (context.causationId ?? key) : eventIds[index - 1]!,
  ...(context.userId === undefined ? {} : { userId: context.userId }),
  idempotencyKey: key
})

/** The events of an earlier copy of the command among the stream's last `window` events, if any. */
const findRecorded = <E extends { readonly _tag: string }>(
  catalog: EventCatalog.EventCatalog<E>,
  streamId: string,
  idempotencyKey: string,
  window: number
) =>
  Effect.gen(function*() {
    const tail = yield* Catalog.readStream(catalog, streamId, { direction: "backwards", limit: window }).pipe(
      Stream.runCollect,
      Effect.map((chunk) => Chunk.toReadonlyArray(chunk).slice().reverse())
    )
    const start = tail.findIndex((event) => event.eventId === eventIdFor(idempotencyKey, 0))
    const recorded = []
    for (
      let i = Math.max(start, 0);
      start >= 0 && i < tail.length && tail[i]!.eventId === eventIdFor(idempotencyKey, i - start);
      i++
    ) {
      recorded.push(tail[i]!)
    }
    return { recorded, latest: tail[tail.length - 1] }
  })

/**
 * Appends `events` decided on the stream at `loadedVersion`, with ids derived from the key.
 * Appending the same decision twice is an exact repeat: the second append writes nothing and
 * returns the first one's result (`written: false`).
 */
export const appendDecided = <E extends { readonly _tag: string }>(
  catalog: EventCatalog.EventCatalog<E>,
  streamId: string,
  loadedVersion: number,
  events: ReadonlyArray<E>,
  idempotencyKey: string,
  context: StepContext
) =>
  Effect.gen(function*() {
    const toNewEvent = Catalog.toNewEvent(catalog)
    const eventIds = events.map((_, index) => eventIdFor(idempotencyKey, index))
    const newEvents = yield* Effect.forEach(events, (event, index) =>
      toNewEvent(event, metadataFor(idempotencyKey, context, eventIds, index), eventIds[index]))
    const appended = yield* EventStore.append(streamId, newEvents, ExpectedVersion.fromLoadedVersion(loadedVersion))
    return { eventIds, appended }
  })

/**
 * Handles `command` on `streamId` idempotently (see the module comment). A concurrency conflict
 * reloads, looks for an earlier copy again and decides again (up to 4 times).
 */
export const handle = <C, S, E extends { readonly _tag: string }, Err, R>(
  aggregate: Aggregate.Aggregate<C, S, E, Err, R>,
  streamId: string,
  command: C,
  options: Options
) =>
  Effect.gen(function*() {
    const { latest, recorded: earlier } = yield* findRecorded(
      aggregate.catalog,
      streamId,
      options.idempotencyKey,
      options.window ?? 100
    )
    if (earlier.length > 0) {
      const last = earlier[earlier.length - 1]!
      return {
        streamId,
        events: earlier.map((event) => event.data),
        eventIds: earlier.map((event) => event.eventId),
        version: last.streamVersion,
        position: Position.of(last),
        repeated: true
      } satisfies Result<E>
    }
    const loaded = yield* Aggregate.load(aggregate, streamId)
    const events = yield* aggregate.decider.decide(command, loaded.state)
    if (events.length === 0) {
      return {
        streamId,
        events,
        eventIds: [],
        version: loaded.version,
        position: undefined,
        repeated: false
      } satisfies Result<E>
    }
    const context = typeof options.context === "function" ? options.context(latest) : options.context
    const { appended, eventIds } = yield* appendDecided(
      aggregate.catalog,
      streamId,
      loaded.version,
      events,
      options.idempotencyKey,
      context
    )
    let state = loaded.state
    for (const event of events) state = aggregate.decider.evolve(state, event)
    yield* Aggregate.snapshotIfDue(aggregate, loaded.streamId, loaded.version, appended.nextExpectedVersion, state)
    return {
      streamId,
      events,
      eventIds,
      version: appended.nextExpectedVersion,
      position: appended.position,
      repeated: !appended.written
    } satisfies Result<E>
  }).pipe(
    Effect.retry({
      schedule: Schedule.recurs(4),
      while: (error) => error instanceof EventStore.ConcurrencyConflict
    })
  )

import { Chunk, Clock, Effect, Option, Stream, SubscriptionRef } from "effect"
import { type EventFilter, matches as matchesFilter } from "../EventFilter.js"
import type { AppendResult, Backend, SerializedEvent } from "../EventStoreBackend.js"
import { ConcurrencyConflict, DuplicateEventId } from "../EventStoreError.js"
import type { InlineProjectionFailed } from "../EventStoreError.js"
import * as ExpectedVersion from "../ExpectedVersion.js"
import * as Position from "../Position.js"
import type { EventMetadata, RecordedEvent } from "../RecordedEvent.js"
import type { StreamId } from "../StreamId.js"
import { catchUpThenLive } from "../Subscription.js"

interface StoredEvent {
  /** The metadata parsed once and deep-frozen, so reads can share it safely. */
  parsedMetadata: EventMetadata | undefined
  readonly eventId: string
  readonly streamId: StreamId
  readonly streamVersion: number
  readonly globalPosition: bigint
  readonly transactionId: bigint
  readonly type: string
  readonly schemaVersion: number
  readonly data: string
  readonly metadata: string
  readonly recordedAt: number
}

const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

// Payloads are parsed on every read, as a database client would; metadata (which no catalog
// decodes) is parsed once and shared frozen.
const toRecorded = (stored: StoredEvent): RecordedEvent => ({
  eventId: stored.eventId,
  streamId: stored.streamId,
  streamVersion: stored.streamVersion,
  globalPosition: stored.globalPosition,
  transactionId: stored.transactionId,
  type: stored.type,
  schemaVersion: stored.schemaVersion,
  data: JSON.parse(stored.data),
  metadata: stored.parsedMetadata ??= deepFreeze(JSON.parse(stored.metadata)),
  recordedAt: new Date(stored.recordedAt)
})

const readChunkSize = 1_000

const notHeldBack = Effect.succeed(Option.none())

type AppendFailure = ConcurrencyConflict | DuplicateEventId

/**
 * The in-memory backend. Every append runs synchronously from check to write, so it is atomic
 * with respect to every other fiber; payloads are kept as JSON text like a database keeps them.
 * The log array's index `i` holds global position `i + 1`.
 */
export const makeMemoryBackend = (
  options: {
    /** Runs inside the append, on the events it records, before they become visible; a failure records nothing. */
    readonly inline?: (appended: ReadonlyArray<RecordedEvent>) => Effect.Effect<void, InlineProjectionFailed>
  } = {}
): Effect.Effect<Backend> =>
  Effect.gen(function*() {
    const log: Array<StoredEvent> = []
    const streams = new Map<string, Array<StoredEvent>>()
    const byEventId = new Map<string, StoredEvent>()
    let lastTransactionId = 0n
    // Bumped after every write; live subscribers wait on it.
    const head = yield* SubscriptionRef.make(0)

    const versionOf = (streamId: string) => streams.get(streamId)?.length ?? 0

    const positionAt = (streamId: string, version: number): Position.Position => {
      const event = version === 0 ? undefined : streams.get(streamId)?.[version - 1]
      return event === undefined ? Position.start : Position.of(event)
    }

    /** The outcome for an append whose every event id is already recorded, or a reason it is not a repeat. */
    const checkRepeat = (
      streamId: StreamId,
      events: ReadonlyArray<SerializedEvent>,
      expected: ExpectedVersion.ExpectedVersion
    ): Effect.Effect<AppendResult, AppendFailure> | undefined => {
      const recorded = events.map((event) => byEventId.get(event.eventId))
      const first = recorded.findIndex((event) => event !== undefined)
      if (first === -1) return undefined
      const found = recorded[first]!
      const duplicate = (reason: string): Effect.Effect<AppendResult, AppendFailure> =>
        Effect.fail(new DuplicateEventId({ streamId, eventId: found.eventId, reason }))
      if (found.streamId !== streamId) {
        return duplicate(`it is already recorded in stream ${JSON.stringify(found.streamId)}`)
      }
      const base = recorded[0]?.streamVersion
      const isExactRepeat = base !== undefined && recorded.every((event, index) =>
        event !== undefined && event.streamId === streamId && event.streamVersion === base + index
      )
      if (!isExactRepeat) {
        return duplicate(
          `it is already recorded at version ${found.streamVersion}, but the append is not an exact repeat of the append that recorded it`
        )
      }
      const before = base - 1
      if (!ExpectedVersion.isSatisfiedBy(expected, before)) {
        return duplicate(
          `it is already recorded at version ${found.streamVersion}, by an append made when the stream was at version ${before}, which ${
            ExpectedVersion.format(expected)
          } does not match`
        )
      }
      const last = recorded[recorded.length - 1]!
      return Effect.succeed({
        nextExpectedVersion: last.streamVersion,
        lastGlobalPosition: last.globalPosition,
        position: Position.of(last),
        written: false
      })
    }

    /**
     * Checks and records an append. Synchronous from check to write, so atomic with respect to
     * every other fiber; with inline projections, `project` runs between building the events and
     * recording them, and appends take turns.
     */
    const appendWith = (
      streamId: StreamId,
      events: ReadonlyArray<SerializedEvent>,
      expected: ExpectedVersion.ExpectedVersion,
      project: ((appended: ReadonlyArray<RecordedEvent>) => Effect.Effect<void, InlineProjectionFailed>) | undefined
    ) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now): Effect.Effect<AppendResult, AppendFailure | InlineProjectionFailed> => {
          const repeat = checkRepeat(streamId, events, expected)
          if (repeat !== undefined) return repeat
          const current = versionOf(streamId)
          if (!ExpectedVersion.isSatisfiedBy(expected, current)) {
            return Effect.fail(new ConcurrencyConflict({ streamId, expected, actual: current }))
          }
          if (events.length === 0) {
            const position = positionAt(streamId, current)
            return Effect.succeed({
              nextExpectedVersion: current,
              lastGlobalPosition: position.globalPosition,
              position,
              written: false
            })
          }
          const transactionId = lastTransactionId + 1n
          const stored: Array<StoredEvent> = events.map((event, index) => ({
            eventId: event.eventId,
            streamId,
            streamVersion: current + index + 1,
            globalPosition: BigInt(log.length + index + 1),
            transactionId,
            type: event.type,
            schemaVersion: event.schemaVersion,
            data: event.data,
            metadata: event.metadata,
            parsedMetadata: undefined,
            recordedAt: now
          }))
          // Synchronous: nothing may run between the check above and these writes.
          const record = () => {
            lastTransactionId = transactionId
            let stream = streams.get(streamId)
            if (stream === undefined) {
              stream = []
              streams.set(streamId, stream)
            }
            for (const event of stored) {
              log.push(event)
              stream.push(event)
              byEventId.set(event.eventId, event)
            }
            const written = stored[stored.length - 1]
            return SubscriptionRef.set(head, log.length).pipe(
              Effect.as({
                nextExpectedVersion: written.streamVersion,
                lastGlobalPosition: written.globalPosition,
                position: Position.of(written),
                written: true
              })
            )
          }
          return project === undefined ? record() : Effect.flatMap(project(stored.map(toRecorded)), record)
        }
      )

    const turns = yield* Effect.makeSemaphore(1)
    const append: Backend["append"] = options.inline === undefined
      ? (streamId, events, expected) => appendWith(streamId, events, expected, undefined)
      : (streamId, events, expected, span) =>
        // The handlers' spans belong under the append's.
        Effect.withParentSpan(turns.withPermits(1)(appendWith(streamId, events, expected, options.inline)), span)

    const readStream: Backend["readStream"] = (streamId, { direction, from, limit, to }) =>
      Stream.suspend(() => {
        const stream = streams.get(streamId) ?? []
        const low = from - 1
        const high = Math.min(to, stream.length)
        if (high <= low || limit === 0) return Stream.empty
        const selected = direction === "forwards"
          ? stream.slice(low, Math.min(high, low + limit))
          : stream.slice(Math.max(low, high - limit), high).reverse()
        return Stream.fromIterable(selected).pipe(Stream.rechunk(readChunkSize), Stream.map(toRecorded))
      })

    const readStreamBatch: Backend["readStreamBatch"] = (streamId, { from, limit, to }) =>
      Effect.sync(() => {
        const stream = streams.get(streamId)
        if (stream === undefined) return []
        const start = from - 1
        const end = Math.min(to, stream.length, start + limit)
        if (end <= start) return []
        const out: Array<RecordedEvent> = new Array(end - start)
        for (let index = start; index < end; index++) out[index - start] = toRecorded(stream[index])
        return out
      })

    const readStreamPayloads: Backend["readStreamPayloads"] = (streamId, { from, limit, to }) =>
      Effect.sync(() => {
        const stream = streams.get(streamId)
        const start = from - 1
        const last = stream === undefined ? 0 : Math.min(to, stream.length)
        const end = Math.min(last, start + limit)
        const count = Math.max(0, end - start)
        const streamVersions: Array<number> = new Array(count)
        const types: Array<string> = new Array(count)
        const schemaVersions: Array<number> = new Array(count)
        const data: Array<unknown> = new Array(count)
        for (let index = 0; index < count; index++) {
          const stored = stream![start + index]
          streamVersions[index] = stored.streamVersion
          types[index] = stored.type
          schemaVersions[index] = stored.schemaVersion
          data[index] = JSON.parse(stored.data)
        }
        return { streamVersions, types, schemaVersions, data, more: end < last }
      })

    /** Up to `limit` events after `after` that pass `filter`, taken from the log as it is now. */
    const readAfter = (after: Position.Position, limit: number, filter: EventFilter): Array<RecordedEvent> => {
      const out: Array<RecordedEvent> = []
      const start = Number(after.globalPosition)
      for (let index = Math.max(0, start); index < log.length && out.length < limit; index++) {
        const event = log[index]
        if (matchesFilter(filter, event)) out.push(toRecorded(event))
      }
      return out
    }

    const readAll: Backend["readAll"] = ({ after, filter, limit }) =>
      Stream.paginateChunkEffect({ after, remaining: limit }, ({ after, remaining }) =>
        Effect.sync(() => {
          const batch = readAfter(after, Math.min(readChunkSize, remaining), filter)
          const left = remaining - batch.length
          const next = batch.length === 0 || left === 0
            ? Option.none()
            : Option.some({ after: Position.of(batch[batch.length - 1]), remaining: left })
          return [Chunk.unsafeFromArray(batch), next] as const
        }))

    const subscribe: Backend["subscribe"] = ({ after, batchSize, filter }) =>
      catchUpThenLive({
        after,
        batchSize,
        currentToken: SubscriptionRef.get(head),
        readBatch: (position, limit) => Effect.sync(() => readAfter(position, limit, filter)),
        waitForAppend: (seen) =>
          head.changes.pipe(Stream.filter((length) => length > seen), Stream.take(1), Stream.runDrain)
      })

    const streamVersion: Backend["streamVersion"] = (streamId) => Effect.sync(() => versionOf(streamId))

    const locate: Backend["locate"] = (eventId) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(byEventId.get(eventId)), (event) => ({
          streamId: event.streamId,
          streamVersion: event.streamVersion,
          position: Position.of(event)
        }))
      )

    // Memory transaction ids grow with global positions, so the log's array order is its order.
    const headOf: Backend["head"] = (filter) =>
      Effect.sync(() => {
        for (let index = log.length - 1; index >= 0; index--) {
          if (matchesFilter(filter, log[index])) return Option.some(Position.of(log[index]))
        }
        return Option.none()
      })

    const countAfter: Backend["countAfter"] = (after, filter) =>
      Effect.sync(() => {
        let count = 0
        for (let index = Math.max(0, Number(after.globalPosition)); index < log.length; index++) {
          if (matchesFilter(filter, log[index])) count++
        }
        return count
      })

    // Appends record their events in log order in one synchronous step: nothing committed is ever
    // out of a reader's reach.
    const heldBack: Backend["heldBack"] = () => notHeldBack

    return {
      append,
      readStream,
      readStreamBatch,
      readStreamPayloads,
      readAll,
      subscribe,
      streamVersion,
      locate,
      head: headOf,
      countAfter,
      heldBack
    }
  })

import { expect } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import { EventStore, ExpectedVersion } from "@facta/core"
import { Chunk, Data, Duration, Effect, Option, Stream } from "effect"

/**
 * What every group of cases receives: `test` registers one case on the shared store, and the
 * settings size the heavier cases.
 */
export interface Suite {
  readonly test: (name: string, body: () => Effect.Effect<void, unknown, EventStore.EventStore>) => void
  readonly settings: Settings
}

export interface Settings {
  readonly raceRounds: number
  readonly raceFibers: number
  readonly largeStreamEvents: number
  /** How long a subscription may wait for an event before the case fails instead of hanging. */
  readonly waitTimeout: Duration.Duration
}

// Every case works in its own category and streams, so cases never see each other's events on a
// shared store (and a Postgres database reused across runs).

/** A category no other case (or earlier run) uses: letters, digits and `_`, no `-`. */
export const uniqueCategory = (): string => `conformance_${crypto.randomUUID().replaceAll("-", "")}`

/** A new stream id in `category`. */
export const streamIn = (category: string): string => `${category}-${crypto.randomUUID()}`

/** A new stream id in a new category. */
export const uniqueStream = (): string => streamIn(uniqueCategory())

/** An event type name no other case uses. */
export const uniqueType = (name: string): string => `${name}_${crypto.randomUUID().slice(0, 8)}`

/** A valid event with a fresh id. */
export const newEvent = (
  type = "Happened",
  data: unknown = {},
  overrides: Partial<RecordedEvent.NewEvent> = {}
): RecordedEvent.NewEvent => ({
  eventId: crypto.randomUUID(),
  type,
  data,
  schemaVersion: 1,
  metadata: {},
  ...overrides
})

/** `count` valid events numbered from `first` in their payload. */
export const newEvents = (count: number, type = "Happened", first = 1): Array<RecordedEvent.NewEvent> =>
  Array.from({ length: count }, (_, index) => newEvent(type, { n: first + index }))

export const collect = <A, E, R>(stream: Stream.Stream<A, E, R>): Effect.Effect<ReadonlyArray<A>, E, R> =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

export const readStream = (streamId: string, options?: EventStore.ReadStreamOptions) =>
  collect(EventStore.readStream(streamId, options))

/** The events of one category in log order (optionally after a position / limited). */
export const readCategory = (category: string, options: Omit<EventStore.ReadAllOptions, "filter"> = {}) =>
  collect(EventStore.readAll({ ...options, filter: { categories: [category] } }))

/** Appends `count` events to a new stream, leaving it at version `count` (nothing for 0). */
export const seed = (streamId: string, count: number) =>
  count === 0 ? Effect.void : Effect.asVoid(EventStore.append(streamId, newEvents(count), ExpectedVersion.NoStream))

export const versionsOf = (events: ReadonlyArray<RecordedEvent.RecordedEvent>): Array<number> =>
  events.map((event) => event.streamVersion)

export const idsOf = (events: ReadonlyArray<{ readonly eventId: string }>): Array<string> =>
  events.map((event) => event.eventId.toLowerCase())

/** `[from, from + 1, …, to]`. */
export const range = (from: number, to: number): Array<number> =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index)

const show = (value: unknown): string => {
  try {
    return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${v}n` : v))
  } catch {
    return String(value)
  }
}

/**
 * Runs `self`, expecting it to fail with the error tagged `tag`, and returns that error. Any
 * other outcome fails the case with a message that says what happened instead.
 */
export const expectFailure = <A, E extends { readonly _tag: string }, R, const T extends E["_tag"]>(
  self: Effect.Effect<A, E, R>,
  tag: T
): Effect.Effect<Extract<E, { readonly _tag: T }>, never, R> =>
  Effect.matchEffect(self, {
    onSuccess: (value) => Effect.dieMessage(`Expected the failure ${tag}, but it succeeded with ${show(value)}`),
    onFailure: (error) =>
      error._tag === tag
        ? Effect.succeed(error as Extract<E, { readonly _tag: T }>)
        : Effect.dieMessage(
          `Expected the failure ${tag}, got ${error._tag}: ${(error as { message?: string }).message}`
        )
  })

/** A wait on the store that did not end: a lost event or a subscription that never woke up. */
export class Stalled extends Data.TaggedError("Stalled")<{ readonly what: string; readonly after: Duration.Duration }> {
  override get message(): string {
    return `Gave up after ${Duration.format(this.after)} waiting for ${this.what}`
  }
}

/** Bounds a wait so that a missed event fails the case rather than hanging the run. */
export const within =
  (settings: Settings, what: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | Stalled, R> =>
    Effect.timeoutFail(self, {
      duration: settings.waitTimeout,
      onTimeout: () => new Stalled({ what, after: settings.waitTimeout })
    })

/** Appends `[a good event, bad]` to a new stream: InvalidEvent for event #1, and nothing written. */
export const expectRefused = (bad: RecordedEvent.NewEvent) =>
  Effect.gen(function*() {
    const category = uniqueCategory()
    const streamId = streamIn(category)
    const invalid = yield* expectFailure(
      EventStore.append(streamId, [newEvent(), bad], ExpectedVersion.Any),
      "InvalidEvent"
    )
    expect(invalid.streamId).toBe(streamId)
    expect(invalid.index).toBe(1)
    expect(invalid.message).toContain(invalid.reason)
    expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.none())
    expect(yield* readCategory(category)).toEqual([])
    return invalid
  })

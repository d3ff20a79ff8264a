import { describe, expect } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import { EventStore, ExpectedVersion, Position } from "@facta/core"
import { Deferred, Effect, Fiber, Stream } from "effect"
import type { Suite } from "./fixtures.js"
import {
  collect,
  idsOf,
  newEvent,
  newEvents,
  range,
  readCategory,
  streamIn,
  uniqueCategory,
  uniqueType,
  within
} from "./fixtures.js"

/** Appends `count` events in batches of `batch`, alternating between two streams of `category`. */
const appendInBatches = (category: string, count: number, batch: number) =>
  Effect.gen(function*() {
    const streams = [streamIn(category), streamIn(category)]
    for (let done = 0, round = 0; done < count; done += batch, round++) {
      yield* EventStore.append(streams[round % 2], newEvents(Math.min(batch, count - done)), ExpectedVersion.Any)
      yield* Effect.yieldNow()
    }
  })

const expectSameEvents = (
  received: ReadonlyArray<RecordedEvent.RecordedEvent>,
  logged: ReadonlyArray<RecordedEvent.RecordedEvent>
) => {
  expect(idsOf(received)).toEqual(idsOf(logged))
  expect(received.map(Position.of)).toEqual(logged.map(Position.of))
  expect(new Set(idsOf(received)).size).toBe(received.length)
}

export const subscribeCases = ({ settings, test }: Suite) =>
  describe("subscribe", () => {
    test("catches up on existing events, then delivers live appends without gaps, repeats or reordering", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        yield* appendInBatches(category, 50, 5)
        const caughtUp = yield* Deferred.make<void>()
        // The writer starts only once the subscriber has consumed the 50 existing events, so the
        // next 50 can only arrive live.
        const writer = yield* Effect.fork(
          Deferred.await(caughtUp).pipe(Effect.zipRight(appendInBatches(category, 50, 3)))
        )
        const received = yield* EventStore.subscribe({ filter: { categories: [category] }, batchSize: 8 }).pipe(
          Stream.zipWithIndex,
          Stream.tap(([, index]) => (index === 49 ? Deferred.succeed(caughtUp, undefined) : Effect.void)),
          Stream.map(([event]) => event),
          Stream.take(100),
          collect,
          within(settings, "100 events of a subscription")
        )
        yield* Fiber.join(writer)
        expectSameEvents(received, yield* readCategory(category))
      }))

    test("resumes strictly after the given position, then goes on live", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        yield* appendInBatches(category, 20, 4)
        const existing = yield* readCategory(category)
        const after = Position.of(existing[11])
        const subscription = yield* EventStore.subscribe({ after, filter: { categories: [category] } }).pipe(
          Stream.take(9),
          collect,
          within(settings, "9 events after a resume position"),
          Effect.fork
        )
        const [late] = newEvents(1)
        yield* EventStore.append(streamIn(category), [late], ExpectedVersion.NoStream)
        const received = yield* Fiber.join(subscription)
        expect(idsOf(received)).toEqual([...idsOf(existing.slice(12)), late.eventId])
      }))

    test("a subscriber started before any matching event receives the first append", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const subscription = yield* EventStore.subscribe({ filter: { categories: [category] } }).pipe(
          Stream.take(3),
          collect,
          within(settings, "the first append to a new category"),
          Effect.fork
        )
        // Let the subscriber reach the live wait; the assertions hold either way.
        yield* Effect.sleep("20 millis")
        const events = newEvents(3)
        yield* EventStore.append(streamIn(category), events, ExpectedVersion.NoStream)
        const received = yield* Fiber.join(subscription)
        expect(idsOf(received)).toEqual(idsOf(events))
      }))

    test("delivers only events that pass its filter (categories and types)", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const [wanted, unwanted] = [uniqueType("Wanted"), uniqueType("Unwanted")]
        const subscription = yield* EventStore.subscribe({ filter: { categories: [category], types: [wanted] } }).pipe(
          Stream.take(4),
          collect,
          within(settings, "4 events of a filtered subscription"),
          Effect.fork
        )
        const streamId = streamIn(category)
        const expected: Array<string> = []
        for (const type of [unwanted, wanted, unwanted, wanted, wanted, unwanted, wanted]) {
          const event = newEvent(type)
          yield* EventStore.append(streamId, [event], ExpectedVersion.Any)
          yield* EventStore.append(streamIn(uniqueCategory()), [newEvent(wanted)], ExpectedVersion.NoStream)
          if (type === wanted) expected.push(event.eventId)
        }
        const received = yield* Fiber.join(subscription)
        expect(idsOf(received)).toEqual(expected)
        expect(received.every((event) => event.type === wanted && event.streamId === streamId)).toBe(true)
      }))

    test("in small batches, a filter over several categories and types (some named twice) delivers the log order once", () =>
      Effect.gen(function*() {
        const [home, away, other] = [uniqueCategory(), uniqueCategory(), uniqueCategory()]
        const [a, b, c] = [uniqueType("A"), uniqueType("B"), uniqueType("C")]
        // Interleaved appends of 1 to 3 events, so batches cut through transactions and types.
        for (let round = 0; round < 12; round++) {
          const category = [home, away, other][round % 3]
          const events = range(1, 1 + (round % 3)).map((n) => newEvent([a, b, c][(round + n) % 3]))
          yield* EventStore.append(streamIn(category), events, ExpectedVersion.NoStream)
        }
        const log = yield* collect(EventStore.readAll({ filter: { categories: [home, away, other] } }))
        const expectFiltered = (
          keep: (event: RecordedEvent.RecordedEvent) => boolean,
          filter: EventStore.EventFilter
        ) =>
          Effect.gen(function*() {
            const logged = log.filter(keep)
            const received = yield* EventStore.subscribe({ filter, batchSize: 2 }).pipe(
              Stream.take(logged.length),
              collect,
              within(settings, `${logged.length} events of a filtered subscription`)
            )
            expectSameEvents(received, logged)
          })
        yield* expectFiltered((e) => [a, b].includes(e.type), {
          categories: [home, away, other, home],
          types: [a, b, a]
        })
        yield* expectFiltered((e) => !e.streamId.startsWith(other), { categories: [away, home, away] })
        const typed = yield* collect(EventStore.readAll({ filter: { types: [c, b] } }))
        expect(typed.every((e) => e.type === b || e.type === c)).toBe(true)
        const received = yield* EventStore.subscribe({ filter: { types: [c, b, c] }, batchSize: 3 }).pipe(
          Stream.take(typed.length),
          collect,
          within(settings, `${typed.length} events of a typed subscription`)
        )
        expectSameEvents(received, typed)
      }))

    test("delivers every event of concurrent writers exactly once, in log order", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const writers = 8
        const appendsPerWriter = 10
        const total = writers * appendsPerWriter * 2
        const subscription = yield* EventStore.subscribe({ filter: { categories: [category] }, batchSize: 16 }).pipe(
          Stream.take(total),
          collect,
          within(settings, `${total} events from concurrent writers`),
          Effect.fork
        )
        yield* Effect.forEach(
          range(1, writers),
          () =>
            Effect.gen(function*() {
              const streamId = streamIn(category)
              for (let round = 0; round < appendsPerWriter; round++) {
                yield* EventStore.append(streamId, newEvents(2), ExpectedVersion.Any)
                yield* Effect.yieldNow()
              }
            }),
          { concurrency: "unbounded" }
        )
        const received = yield* Fiber.join(subscription)
        expectSameEvents(received, yield* readCategory(category))
      }))

    test("two subscribers see the same events in the same order", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        yield* appendInBatches(category, 10, 3)
        const subscribe = (batchSize: number) =>
          EventStore.subscribe({ filter: { categories: [category] }, batchSize }).pipe(
            Stream.take(30),
            collect,
            within(settings, "30 events on each of two subscriptions"),
            Effect.fork
          )
        const one = yield* subscribe(1)
        const other = yield* subscribe(500)
        yield* appendInBatches(category, 20, 7)
        const [a, b] = yield* Fiber.join(Fiber.zip(one, other))
        expect(idsOf(a)).toEqual(idsOf(b))
        expectSameEvents(a, yield* readCategory(category))
      }))
  })

/** The first `count` events of a subscription, and the sizes of the chunks they came in. */
const subscribeCounting = (settings: Suite["settings"], options: EventStore.SubscribeOptions, count: number) =>
  Effect.gen(function*() {
    const sizes: Array<number> = []
    const events = yield* EventStore.subscribe(options).pipe(
      Stream.mapChunks((chunk) => {
        sizes.push(chunk.length)
        return chunk
      }),
      Stream.take(count),
      collect,
      within(settings, `${count} events of a subscription`)
    )
    return { events, sizes }
  })

// A runner takes a chunk shorter than its batch size to mean "caught up", so the batch size is
// part of the contract: each catch-up read delivers at most that many events, as one chunk.
export const subscribeBatchCases = ({ settings, test }: Suite) =>
  describe("subscribe in batches", () => {
    test("delivers catch-up reads in chunks of at most its batch size", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        yield* appendInBatches(category, 40, 10)
        const logged = yield* readCategory(category)
        for (const batchSize of [1, 3, 7, 40]) {
          const { events, sizes } = yield* subscribeCounting(settings, {
            filter: { categories: [category] },
            batchSize
          }, 40)
          expectSameEvents(events, logged)
          expect(Math.max(...sizes)).toBeLessThanOrEqual(batchSize)
          expect(sizes.length).toBeGreaterThanOrEqual(Math.ceil(40 / batchSize))
        }
      }))

    test(`catches up on ${settings.largeStreamEvents} events over many batches, default and large batch sizes`, () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const total = settings.largeStreamEvents
        yield* appendInBatches(category, total, 250)
        const logged = yield* readCategory(category)
        expect(logged.length).toBe(total)
        const byDefault = yield* subscribeCounting(settings, { filter: { categories: [category] } }, total)
        expectSameEvents(byDefault.events, logged)
        expect(Math.max(...byDefault.sizes)).toBeLessThanOrEqual(500)
        const large = yield* subscribeCounting(
          settings,
          { filter: { categories: [category] }, batchSize: 1_500 },
          total
        )
        expectSameEvents(large.events, logged)
        expect(Math.max(...large.sizes)).toBeLessThanOrEqual(1_500)
      }))
  })

import { describe, expect } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import { EventStore, ExpectedVersion, Position, StreamId } from "@facta/core"
import { Effect } from "effect"
import type { Suite } from "./fixtures.js"
import {
  collect,
  idsOf,
  newEvent,
  newEvents,
  range,
  readCategory,
  seed,
  streamIn,
  uniqueCategory,
  uniqueType
} from "./fixtures.js"

/** Appends batches of `sizes` round-robin to `streams` streams of `category`; returns the ids in append order. */
const appendRoundRobin = (category: string, streams: number, sizes: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const streamIds = range(1, streams).map(() => streamIn(category))
    const ids: Array<string> = []
    for (const [index, size] of sizes.entries()) {
      const events = newEvents(size)
      yield* EventStore.append(streamIds[index % streams], events, ExpectedVersion.Any)
      ids.push(...idsOf(events))
    }
    return ids
  })

const expectLogOrder = (events: ReadonlyArray<RecordedEvent.RecordedEvent>) => {
  for (let index = 1; index < events.length; index++) {
    expect(Position.isAfter(events[index], events[index - 1])).toBe(true)
  }
}

export const readAllCases = ({ test }: Suite) =>
  describe("readAll", () => {
    test("reads events in log order, (transactionId, globalPosition), the order appends completed", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const appended = yield* appendRoundRobin(category, 3, [2, 1, 3, 1, 2, 4])
        const events = yield* readCategory(category)
        expect(idsOf(events)).toEqual(appended)
        expectLogOrder(events)
        const sorted = [...events].sort(Position.order)
        expect(idsOf(sorted)).toEqual(appended)
      }))

    test("keeps the events of one append together: one transaction id, contiguous in the log", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const marker = yield* EventStore.append(streamIn(category), newEvents(1), ExpectedVersion.NoStream)
        const batches = range(1, 6).map(() => newEvents(4))
        yield* Effect.forEach(
          batches,
          (events) => EventStore.append(streamIn(category), events, ExpectedVersion.NoStream),
          { concurrency: "unbounded" }
        )
        // Unfiltered, so that nothing between a batch's events could be hidden by a filter.
        const log = yield* collect(EventStore.readAll({ after: marker.position }))
        expectLogOrder(log)
        const transactions = new Set<bigint>()
        for (const batch of batches) {
          const indexes = batch.map((event) => log.findIndex((recorded) => recorded.eventId === event.eventId))
          expect(indexes[0]).toBeGreaterThanOrEqual(0)
          expect(indexes).toEqual(range(indexes[0], indexes[0] + batch.length - 1))
          const transactionIds = new Set(indexes.map((index) => log[index].transactionId))
          expect(transactionIds.size).toBe(1)
          transactions.add(log[indexes[0]].transactionId)
        }
        expect(transactions.size).toBe(batches.length)
      }))

    test("reads strictly after the `after` position", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const appended = yield* appendRoundRobin(category, 2, [3, 3, 2])
        const events = yield* readCategory(category)
        expect(idsOf(yield* readCategory(category, { after: Position.of(events[2]) }))).toEqual(appended.slice(3))
        expect(idsOf(yield* readCategory(category, { after: Position.of(events[7]) }))).toEqual([])
        expect(idsOf(yield* readCategory(category, { after: Position.start }))).toEqual(appended)
      }))

    test("reads, unfiltered, what was appended after the position an append returned", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const first = yield* EventStore.append(streamIn(category), newEvents(2), ExpectedVersion.NoStream)
        const later = yield* appendRoundRobin(category, 2, [1, 3])
        const log = yield* collect(EventStore.readAll({ after: first.position }))
        const ours = log.filter((event) => StreamId.category(event.streamId) === category)
        expect(idsOf(ours)).toEqual(later)
      }))

    test("returns at most `limit` events, counting only events that pass the filter", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const appended = yield* appendRoundRobin(category, 2, [2, 2, 2])
        expect(idsOf(yield* readCategory(category, { limit: 3 }))).toEqual(appended.slice(0, 3))
        expect(idsOf(yield* readCategory(category, { limit: 100 }))).toEqual(appended)
        expect(yield* readCategory(category, { limit: 0 })).toEqual([])
      }))

    test("resuming after the last event read returns the rest, page by page, without gaps or repeats", () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const appended = yield* appendRoundRobin(category, 3, [3, 1, 4, 2])
        const pages: Array<ReadonlyArray<RecordedEvent.RecordedEvent>> = []
        let after = Position.start
        // bounded, so that a store which does not move past `after` fails instead of looping
        for (let read = 0; read < 10; read++) {
          const page = yield* readCategory(category, { after, limit: 4 })
          if (page.length === 0) break
          pages.push(page)
          after = Position.of(page[page.length - 1])
        }
        expect(pages.map((page) => page.length)).toEqual([4, 4, 2])
        expect(idsOf(pages.flat())).toEqual(appended)
      }))

    test("filters by categories: only the listed ones, in log order; an empty list selects nothing", () =>
      Effect.gen(function*() {
        const [a, b, c] = [uniqueCategory(), uniqueCategory(), uniqueCategory()]
        const order: Array<readonly [string, string]> = []
        for (const category of [a, b, c, b, a, c, a]) {
          const [event] = newEvents(1)
          yield* EventStore.append(streamIn(category), [event], ExpectedVersion.NoStream)
          order.push([category, event.eventId])
        }
        const idsIn = (...categories: ReadonlyArray<string>) =>
          order.filter(([category]) => categories.includes(category)).map(([, id]) => id)
        const read = (categories: ReadonlyArray<string>) =>
          Effect.map(collect(EventStore.readAll({ filter: { categories } })), idsOf)
        expect(yield* read([a])).toEqual(idsIn(a))
        expect(yield* read([a, b])).toEqual(idsIn(a, b))
        expect(yield* read([c, a, b])).toEqual(idsIn(a, b, c))
        expect(yield* read([])).toEqual([])
      }))

    test("matches categories exactly: the text before the first dash, with _ and % taken literally", () =>
      Effect.gen(function*() {
        const base = uniqueCategory()
        const category = `${base}_a%`
        const lookalikes = [`${base}Xab`, `${base}_a%b`, `${base}_a`, base]
        yield* seed(category, 1) // no dash: the whole id is the category
        yield* seed(`${category}-1`, 1)
        yield* seed(`${category}-2-with-dashes`, 1)
        for (const lookalike of lookalikes) yield* seed(`${lookalike}-1`, 1)
        const events = yield* collect(EventStore.readAll({ filter: { categories: [category] } }))
        expect(events.map((event) => event.streamId)).toEqual([category, `${category}-1`, `${category}-2-with-dashes`])
      }))

    test("filters by types, and by categories and types together", () =>
      Effect.gen(function*() {
        const [home, away] = [uniqueCategory(), uniqueCategory()]
        const [opened, moved, closed] = [uniqueType("Opened"), uniqueType("Moved"), uniqueType("Closed")]
        const appended: Array<readonly [category: string, type: string, id: string]> = []
        for (
          const [category, type] of [[home, opened], [away, opened], [home, moved], [away, closed], [home, closed]]
        ) {
          const event = newEvent(type)
          yield* EventStore.append(streamIn(category), [event], ExpectedVersion.NoStream)
          appended.push([category, type, event.eventId])
        }
        const expected = (categories: ReadonlyArray<string> | undefined, types: ReadonlyArray<string>) =>
          appended
            .filter(([category, type]) => (categories?.includes(category) ?? true) && types.includes(type))
            .map(([, , id]) => id)
        const read = (filter: EventStore.EventFilter) => Effect.map(collect(EventStore.readAll({ filter })), idsOf)
        expect(yield* read({ types: [opened] })).toEqual(expected(undefined, [opened]))
        expect(yield* read({ types: [closed, opened] })).toEqual(expected(undefined, [opened, closed]))
        expect(yield* read({ categories: [home], types: [closed] })).toEqual(expected([home], [closed]))
        expect(yield* read({ categories: [home, away], types: [moved, closed] })).toEqual(
          expected([home, away], [moved, closed])
        )
        expect(yield* read({ categories: [away], types: [moved] })).toEqual([])
      }))
  })

/**
 * Stores read the log in pages of their own (1,000 events by default on the in-memory and
 * PostgreSQL stores): `largeStreamEvents` spans several, so a page boundary that skips or
 * repeats an event shows.
 */
export const readAllPagingCases = ({ settings, test }: Suite) =>
  describe("readAll across the store's internal pages", () => {
    test(`reads ${settings.largeStreamEvents} events, filtered, unfiltered and limited, without gaps or repeats`, () =>
      Effect.gen(function*() {
        const category = uniqueCategory()
        const marker = yield* EventStore.append(streamIn(category), newEvents(1), ExpectedVersion.NoStream)
        const total = settings.largeStreamEvents
        const ids = yield* appendRoundRobin(category, 4, range(1, Math.ceil(total / 250)).map(() => 250))
        const filtered = yield* readCategory(category, { after: marker.position })
        expect(filtered.length).toBe(ids.length)
        expect(idsOf(filtered)).toEqual(ids)
        expectLogOrder(filtered)
        const unfiltered = yield* collect(EventStore.readAll({ after: marker.position }))
        expect(idsOf(unfiltered.filter((event) => StreamId.category(event.streamId) === category))).toEqual(ids)
        expect(new Set(idsOf(unfiltered)).size).toBe(unfiltered.length)
        const limit = ids.length - 7
        expect(idsOf(yield* readCategory(category, { after: marker.position, limit }))).toEqual(ids.slice(0, limit))
        // Resuming in the middle of what would be a page.
        const middle = Position.of(filtered[1_234 % filtered.length])
        expect(idsOf(yield* readCategory(category, { after: middle }))).toEqual(ids.slice((1_234 % ids.length) + 1))
      }))
  })

/**
 * The global log never lets a reader skip an event: identity values commit out of order, so
 * reads go by (transaction_id, global_position) and stop below the oldest open transaction.
 * These tests hold real transactions open on separate connections.
 */
import { expect, layer } from "@effect/vitest"
import { EventStore, ExpectedVersion, Position } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Chunk, Duration, Effect, Fiber, Option, Queue, Stream } from "effect"
import type pg from "pg"
import { rawClient, storesLayer } from "./support.js"

const schema = uniqueSchemaName()

const newEvent = (n: number) => ({
  eventId: crypto.randomUUID(),
  type: "Ticked",
  schemaVersion: 1,
  data: { n },
  metadata: {}
})

/** Appends through the SQL function on a raw connection (inside whatever transaction it has open). */
const appendRaw = (client: pg.Client, streamId: string, n: number) =>
  Effect.promise(() =>
    client.query(
      `SELECT outcome FROM ${schema}.append_events($1, 'any', 0, $2::uuid[], $3::text[], $4::integer[], $5::jsonb[], $6::jsonb[], $7)`,
      [streamId, [crypto.randomUUID()], ["Ticked"], [1], [JSON.stringify({ n })], ["{}"], `${schema}_events`]
    )
  )

const query = (client: pg.Client, text: string) => Effect.promise(() => client.query(text))

const dataOf = (events: Chunk.Chunk<{ readonly data: unknown }>) => Chunk.toReadonlyArray(events).map((e) => e.data)

layer(storesLayer(schema, { pollInterval: "100 millis" }), { excludeTestServices: true })(
  "gap-free global log (Postgres)",
  (it) => {
    it.effect("a subscriber delivers nothing past an open transaction until it commits, then both in order", () =>
      Effect.gen(function*() {
        const category = `gap${crypto.randomUUID().replace(/-/g, "")}`
        const received = yield* Queue.unbounded<{ readonly data: unknown }>()
        const subscriber = yield* EventStore.subscribe({ filter: { categories: [category] } }).pipe(
          Stream.runForEach((event) => Queue.offer(received, event)),
          Effect.fork
        )
        const early = yield* rawClient
        // T1 begins first and takes the lower transaction id, then stays open.
        yield* query(early, "BEGIN")
        yield* appendRaw(early, `${category}-a`, 1)
        // T2 begins later (higher transaction id) and commits.
        yield* EventStore.append(`${category}-b`, [newEvent(2)], ExpectedVersion.Any)
        // Several poll intervals and the commit notification pass: nothing may be delivered past T1.
        yield* Effect.sleep(Duration.millis(600))
        expect(yield* Queue.size(received)).toBe(0)
        yield* query(early, "COMMIT")
        const delivered = yield* Queue.takeBetween(received, 2, 2).pipe(Effect.timeout("10 seconds"))
        expect(dataOf(delivered)).toEqual([{ n: 1 }, { n: 2 }])
        yield* Fiber.interrupt(subscriber)
      }).pipe(Effect.scoped))

    it.effect("a reader resuming from its checkpoint gets a lower-position event committed after a higher one", () =>
      Effect.gen(function*() {
        const category = `gap${crypto.randomUUID().replace(/-/g, "")}`
        const first = yield* rawClient
        const second = yield* rawClient
        // T1 takes the lower transaction id but inserts later (higher position).
        yield* query(first, "BEGIN")
        yield* query(first, "SELECT pg_current_xact_id()")
        // T2 takes the higher transaction id and inserts first (lower position).
        yield* query(second, "BEGIN")
        yield* query(second, "SELECT pg_current_xact_id()")
        yield* appendRaw(second, `${category}-late`, 2)
        yield* appendRaw(first, `${category}-early`, 1)
        yield* query(first, "COMMIT")

        // T2 is still open: the reader sees T1's event only, and checkpoints after it.
        const firstRead = yield* Stream.runCollect(EventStore.readAll({ filter: { categories: [category] } }))
        expect(dataOf(firstRead)).toEqual([{ n: 1 }])
        const checkpoint = Position.of(Chunk.unsafeLast(firstRead))

        yield* query(second, "COMMIT")
        const resumed = yield* Stream.runCollect(
          EventStore.readAll({ after: checkpoint, filter: { categories: [category] } })
        )
        expect(dataOf(resumed)).toEqual([{ n: 2 }])
        // The event resumed to sits at a lower global position than the checkpoint: a
        // position-only checkpoint would have skipped it.
        expect(Chunk.unsafeHead(resumed).globalPosition).toBeLessThan(checkpoint.globalPosition)
      }).pipe(Effect.scoped))

    it.effect(
      "8 writers × 500 appends while a subscriber reads: it delivers exactly the committed events, in log order",
      () =>
        Effect.gen(function*() {
          const category = `stress${crypto.randomUUID().replace(/-/g, "")}`
          const writers = 8
          const appendsPerWriter = 500
          const total = writers * appendsPerWriter
          const subscriber = yield* EventStore.subscribe({ filter: { categories: [category] }, batchSize: 250 }).pipe(
            Stream.take(total),
            Stream.runCollect,
            Effect.fork
          )
          const committed = new Set<string>()
          yield* Effect.forEach(
            Array.from({ length: writers }, (_, writer) => writer),
            (writer) =>
              Effect.forEach(Array.from({ length: appendsPerWriter }, (_, i) => i), (i) => {
                const event = newEvent(i)
                // Writers share a few hot streams, so appends also contend on stream rows.
                return EventStore.append(`${category}-${(writer + i) % 5}`, [event], ExpectedVersion.Any).pipe(
                  Effect.tap(() => Effect.sync(() => committed.add(event.eventId)))
                )
              }, { discard: true }),
            { concurrency: writers, discard: true }
          )
          const delivered = Chunk.toReadonlyArray(yield* Fiber.join(subscriber).pipe(Effect.timeout("60 seconds")))
          const ids = delivered.map((e) => e.eventId)
          expect(new Set(ids).size).toBe(ids.length)
          expect(new Set(ids)).toEqual(committed)
          for (let i = 1; i < delivered.length; i++) {
            expect(Position.isAfter(delivered[i], delivered[i - 1])).toBe(true)
          }
          // Every stream is dense 1..n.
          for (let stream = 0; stream < 5; stream++) {
            const versions = Chunk.toReadonlyArray(
              yield* Stream.runCollect(EventStore.readStream(`${category}-${stream}`))
            ).map((e) => e.streamVersion)
            expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1))
          }
        }),
      { timeout: 120_000 }
    )
  }
)

layer(storesLayer(uniqueSchemaName(), { pollInterval: "1 hour" }), { excludeTestServices: true })(
  "live subscriptions (Postgres)",
  (it) => {
    it.effect("wake up on the commit notification, not by polling", () =>
      Effect.gen(function*() {
        const category = `live${crypto.randomUUID().replace(/-/g, "")}`
        const received = yield* Queue.unbounded<{ readonly data: unknown }>()
        yield* EventStore.subscribe({ filter: { categories: [category] } }).pipe(
          Stream.runForEach((event) => Queue.offer(received, event)),
          Effect.forkScoped
        )
        // Let the subscription catch up (to nothing) and go to sleep on LISTEN.
        yield* Effect.sleep("300 millis")
        for (let n = 1; n <= 3; n++) {
          yield* EventStore.append(`${category}-1`, [newEvent(n)], ExpectedVersion.Any)
          // With polling every hour, only the notification can deliver this in time.
          const event = yield* Queue.take(received).pipe(Effect.timeout("5 seconds"))
          expect(event.data).toEqual({ n })
        }
        expect(Option.isNone(yield* Queue.poll(received))).toBe(true)
      }).pipe(Effect.scoped))
  }
)

import { describe, expect, it } from "@effect/vitest"
import { EventStore, ExpectedVersion } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Effect, Exit, Fiber, Layer, Schedule, Scope, Stream } from "effect"
import type pg from "pg"
import { connect, query } from "./rawPostgres.js"
import { storesLayer } from "./support.js"

const event = (n: number) => ({
  eventId: crypto.randomUUID(),
  type: "Thing",
  schemaVersion: 1,
  data: { n },
  metadata: {}
})

/** Collects the payloads of the notifications `client` receives on `channel`. */
const listenOn = (client: pg.Client, channel: string) =>
  Effect.gen(function*() {
    const received: Array<string> = []
    client.on("notification", (message) => {
      if (message.channel === channel) received.push(message.payload ?? "")
    })
    yield* query(client, `LISTEN "${channel}"`)
    return received
  })

interface Lease {
  readonly live: boolean
}

const leases = (client: pg.Client, schema: string) =>
  query<{ live: boolean }>(client, `SELECT expires_at > now() AS live FROM "${schema}".listeners`).pipe(
    Effect.map((rows): ReadonlyArray<Lease> => rows)
  )

describe("append notifications", () => {
  it.scopedLive("an append notifies only while some process holds a live listener lease, held while a subscription runs", () =>
    Effect.gen(function*() {
      const schema = uniqueSchemaName()
      const channel = `${schema}_events`
      const storeScope = yield* Scope.make()
      const stores = yield* Layer.buildWithScope(storesLayer(schema), storeScope)
      const store = yield* Effect.provide(EventStore.EventStore, stores)
      const raw = yield* connect()
      const received = yield* listenOn(yield* connect(), channel)
      // What a notification would have delivered by now, had it been sent (they arrive in milliseconds).
      const settle = Effect.sleep("300 millis")
      const eventually = <A, E>(check: Effect.Effect<A, E>) =>
        check.pipe(Effect.retry(Schedule.intersect(Schedule.spaced("20 millis"), Schedule.recurs(150))), Effect.orDie)

      // Nobody holds a lease: a bare LISTEN is not told.
      yield* store.append("thing-1", [event(1)], ExpectedVersion.NoStream)
      yield* settle
      expect(received).toEqual([])
      expect(yield* leases(raw, schema)).toEqual([])

      // A subscriber takes a lease before it listens: from then on every append notifies.
      const seen: Array<number> = []
      const subscriber = yield* store.subscribe().pipe(
        Stream.runForEach((recorded) => Effect.sync(() => seen.push((recorded.data as { n: number }).n))),
        Effect.forkIn(storeScope)
      )
      yield* eventually(Effect.filterOrFail(Effect.sync(() => seen), (all) => all.length === 1))
      yield* eventually(Effect.filterOrFail(leases(raw, schema), (all) => all.length === 1))
      expect(yield* leases(raw, schema)).toEqual([{ live: true }])
      const second = yield* store.append("thing-1", [event(2)], ExpectedVersion.Exact(1))
      yield* eventually(Effect.filterOrFail(Effect.sync(() => received), (all) => all.length === 1))
      expect(received).toEqual([String(second.lastGlobalPosition)])
      yield* eventually(Effect.filterOrFail(Effect.sync(() => seen), (all) => all.length === 2))

      // An expired lease (a process that died holding it) silences the appends again.
      yield* query(raw, `UPDATE "${schema}".listeners SET expires_at = now() - interval '1 second'`)
      yield* store.append("thing-1", [event(3)], ExpectedVersion.Exact(2))
      yield* settle
      expect(received).toHaveLength(1)
      // The subscriber still gets the event: it polls.
      yield* eventually(Effect.filterOrFail(Effect.sync(() => seen), (all) => all.length === 3))
      expect(seen).toEqual([1, 2, 3])

      // When its last subscription ends the store gives its lease back (after a second's grace).
      yield* Fiber.interrupt(subscriber)
      yield* query(raw, `UPDATE "${schema}".listeners SET expires_at = now() + interval '30 seconds'`)
      yield* eventually(Effect.filterOrFail(leases(raw, schema), (all) => all.length === 0))
      yield* store.append("thing-1", [event(4)], ExpectedVersion.Exact(3))
      yield* settle
      expect(received).toHaveLength(1)

      // A new subscription takes a lease again.
      const again = yield* store.subscribe().pipe(Stream.take(4), Stream.runCollect, Effect.forkIn(storeScope))
      yield* eventually(Effect.filterOrFail(leases(raw, schema), (all) => all.length === 1 && all[0].live))
      yield* Fiber.join(again)
      yield* Scope.close(storeScope, Exit.void)
    }))
})

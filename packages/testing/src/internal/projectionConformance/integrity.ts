import { describe, expect } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import { CheckpointStore, Position, ProjectionStore } from "@facta/core"
import { Duration, Effect, Option, Schedule } from "effect"
import type { CaseRegistrar } from "./cases.js"

/** A parked-looking event at a chosen position, for cases that park through the store directly. */
const eventAt = (
  streamId: string,
  transactionId: bigint,
  globalPosition: bigint,
  eventId: string
): RecordedEvent.RecordedEvent => ({
  eventId,
  streamId: streamId as RecordedEvent.RecordedEvent["streamId"],
  streamVersion: 1,
  globalPosition,
  transactionId,
  type: "Counted",
  schemaVersion: 2,
  data: { n: 0, label: "" },
  metadata: {},
  recordedAt: new Date()
})

/** Resumes quickly after a store error, so a case that provokes one stays short. */
const quickRestart = Schedule.spaced(Duration.millis(20))

export const parkingCases = <R>(test: CaseRegistrar<R>) =>
  describe("parked events and the checkpoint", () => {
    test("a parking commit that fails parks nothing; resumed, the event is handled once and not parked", (f) =>
      Effect.gen(function*() {
        yield* f.append(5)
        const parkedAt = Position.of((yield* f.events)[2])
        let broken = true
        let failedSaves = 0
        const checkpoints = yield* CheckpointStore.CheckpointStore
        // The checkpoint save of the commit that parks event 3 fails once; meanwhile the handler
        // is fixed, so the resumed projection handles the event.
        const failingOnce: CheckpointStore.CheckpointStoreShape = {
          ...checkpoints,
          save: (name, position) =>
            Effect.suspend(() => {
              const passesParked = Position.format(position) === Position.format(parkedAt)
              if (name !== f.name || !passesParked || failedSaves > 0) return checkpoints.save(name, position)
              failedSaves++
              broken = false
              return Effect.fail(
                new CheckpointStore.CheckpointStoreUnavailable({
                  operation: "save",
                  name,
                  cause: "the suite failed this save"
                })
              )
            })
        }
        const runner = yield* f.runner([
          f.projection({
            batchSize: 10,
            onFailure: "park",
            failWhen: (event) => broken && event.data.n === 3
          })
        ], { restartSchedule: quickRestart }).pipe(Effect.provideService(CheckpointStore.CheckpointStore, failingOnce))
        yield* f.waitUntil(() => Effect.map(f.rows, (rows) => rows.length === 5))
        yield* runner.waitForCatchUp(f.name)
        expect(failedSaves).toBe(1)
        const rows = yield* f.rows
        expect(rows.map((row) => row.n).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5])
        expect(new Set(rows.map((row) => row.eventId)).size).toBe(5)
        // Handled, so not parked too: a replay would handle it a second time.
        expect(yield* runner.parked(f.name)).toEqual([])
        const events = yield* f.events
        expect(yield* f.checkpoint).toEqual(Option.some(Position.of(events[4])))
      }))

    test("parked events stay behind the checkpoint: every parked event is at or before it, none is also handled", (f) =>
      Effect.gen(function*() {
        yield* f.append(6)
        const runner = yield* f.runner([
          f.projection({ batchSize: 2, onFailure: "park", failWhen: (event) => event.data.n % 2 === 0 })
        ])
        yield* runner.waitForCatchUp(f.name)
        const events = yield* f.events
        const parked = yield* runner.parked(f.name)
        const checkpoint = Option.getOrThrow(yield* f.checkpoint)
        expect(parked.map((entry) => entry.event.eventId)).toEqual(
          [events[1], events[3], events[5]].map((e) => e.eventId)
        )
        for (const entry of parked) expect(Position.isAfter(entry.event, checkpoint)).toBe(false)
        const handled = new Set((yield* f.rows).map((row) => row.eventId))
        expect(parked.filter((entry) => handled.has(entry.event.eventId))).toEqual([])
      }))
  })

export const rebuildParkedCases = <R>(test: CaseRegistrar<R>) =>
  describe("rebuild and parked events", () => {
    test("a rebuild forgets the parked events: fixed, they are handled in the replay; still broken, parked once again", (f) =>
      Effect.gen(function*() {
        yield* f.append(4)
        let broken = true
        const runner = yield* f.runner([
          f.projection({ onFailure: "park", failWhen: (event) => broken && event.data.n === 2 })
        ])
        yield* runner.waitForCatchUp(f.name)
        const events = yield* f.events
        expect((yield* runner.parked(f.name)).map((entry) => entry.event.eventId)).toEqual([events[1].eventId])
        // Still broken: the replay parks it again, once.
        yield* runner.rebuild(f.name)
        yield* runner.waitForCatchUp(f.name)
        const again = yield* runner.parked(f.name)
        expect(again.map((entry) => entry.event.eventId)).toEqual([events[1].eventId])
        expect((yield* runner.status(f.name)).parked).toBe(1)
        // Fixed: the rebuild handles it, and nothing stays parked.
        broken = false
        yield* runner.rebuild(f.name)
        yield* runner.waitForCatchUp(f.name)
        expect(yield* runner.parked(f.name)).toEqual([])
        expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2, 3, 4])
        expect(yield* runner.status(f.name)).toMatchObject({ parked: 0, handled: 4 })
      }))
  })

export const parkedOrderCases = <R>(test: CaseRegistrar<R>) =>
  describe("parked events in log order", () => {
    test("lists parked events in log order (transaction id, then position), whatever order they were parked in", (f) =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const lease = Option.getOrThrow(yield* store.acquire(f.name, "parker", Duration.seconds(10)))
        const base = 2_000_000_000n + BigInt(Math.floor(Math.random() * 1_000_000)) * 1_000n
        const streamId = f.stream()
        // In log order: (base, base + 7), (base + 10, base + 3), (base + 10, base + 5), (base + 11, base + 1).
        // Their ids run against that order, and they are parked in none of these orders.
        const inLogOrder = [
          eventAt(streamId, base, base + 7n, "ffffffff-0000-4000-8000-000000000004"),
          eventAt(streamId, base + 10n, base + 3n, "cccccccc-0000-4000-8000-000000000003"),
          eventAt(streamId, base + 10n, base + 5n, "aaaaaaaa-0000-4000-8000-000000000002"),
          eventAt(streamId, base + 11n, base + 1n, "11111111-0000-4000-8000-000000000001")
        ]
        for (const index of [2, 0, 3, 1]) {
          yield* store.transaction(lease, store.park(f.name, inLogOrder[index], `reason ${index}`))
        }
        const parked = yield* store.parked(f.name)
        expect(parked.map((entry) => entry.event.eventId)).toEqual(inLogOrder.map((event) => event.eventId))
        expect(parked.map((entry) => entry.reason)).toEqual(["reason 0", "reason 1", "reason 2", "reason 3"])
        yield* store.release(lease)
      }))

    test("the runner lists what it parked in log order", (f) =>
      Effect.gen(function*() {
        for (let round = 0; round < 4; round++) yield* f.append(2)
        const runner = yield* f.runner([
          f.projection({ batchSize: 3, onFailure: "park", failWhen: (event) => event.data.n !== 4 })
        ])
        yield* runner.waitForCatchUp(f.name)
        const events = yield* f.events
        const parked = yield* runner.parked(f.name)
        expect(parked.map((entry) => entry.event.eventId)).toEqual(
          events.filter((_, index) => index !== 3).map((event) => event.eventId)
        )
      }))
  })

export const leaseRenewalCases = <R>(test: CaseRegistrar<R>) =>
  describe("lease renewal", () => {
    test("a live holder renews its lease: over several lease lifetimes nobody else can take it", (f) =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const ttl = Duration.millis(600)
        yield* f.append(2)
        const runner = yield* f.runner([f.projection()], {
          owner: "holder",
          leaseTtl: ttl,
          acquireInterval: "50 millis"
        })
        yield* runner.waitForCatchUp(f.name)
        const standby = yield* f.runner([f.projection()], {
          owner: "standby",
          leaseTtl: ttl,
          acquireInterval: "20 millis"
        })
        // 2.5 lease lifetimes without appends: only renewals keep the lease.
        const until = Date.now() + 2.5 * Duration.toMillis(ttl)
        while (Date.now() < until) {
          expect(yield* store.acquire(f.name, "probe", ttl)).toEqual(Option.none())
          expect((yield* standby.status(f.name)).state).toBe("standby")
          yield* Effect.sleep(Duration.millis(25))
        }
        yield* f.append(1)
        yield* runner.waitForCatchUp(f.name)
        expect((yield* runner.status(f.name)).handled).toBe(3)
        expect((yield* standby.status(f.name)).handled).toBe(0)
      }))
  })

import { describe, expect } from "@effect/vitest"
import { ProjectionStore } from "@facta/core"
import { Duration, Effect, Exit, Option, Scope } from "effect"
import type { CaseRegistrar } from "./cases.js"

export const leaseCases = <R>(test: CaseRegistrar<R>) =>
  describe("one active instance", () => {
    test("of two runners, one runs the projection and the other stands by; when it stops, the other takes over", (f) =>
      Effect.gen(function*() {
        yield* f.append(5)
        const firstScope = yield* Scope.make()
        const first = yield* Scope.extend(f.runner([f.projection()], { owner: "first" }), firstScope)
        yield* first.waitForCatchUp(f.name)
        const second = yield* f.runner([f.projection()], { owner: "second" })
        yield* f.append(3)
        yield* second.waitForCatchUp(f.name)
        expect((yield* second.status(f.name)).state).toBe("standby")
        expect((yield* first.status(f.name)).handled).toBe(8)
        yield* Scope.close(firstScope, Exit.void)
        yield* f.append(2)
        yield* f.waitUntil(() => Effect.map(second.status(f.name), (status) => status.handled === 2))
        const rows = yield* f.rows
        expect(rows.map((row) => row.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      }))

    test("when the holder dies without releasing, another instance takes over once the lease expires", (f) =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const ttl = Duration.millis(600)
        // A holder that took the lease and died.
        yield* store.acquire(f.name, "dead-holder", ttl)
        yield* f.append(3)
        const started = Date.now()
        const runner = yield* f.runner([f.projection()], {
          owner: "survivor",
          leaseTtl: ttl,
          acquireInterval: "50 millis"
        })
        expect((yield* runner.status(f.name)).state).toBe("standby")
        yield* f.waitUntil(() => Effect.map(f.rows, (rows) => rows.length === 3))
        const tookOver = Date.now() - started
        expect(tookOver).toBeGreaterThanOrEqual(400)
        expect((yield* runner.status(f.name)).state).not.toBe("standby")
      }))

    test("a stale owner's transaction is rejected with LeaseLost and writes nothing", (f) =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const ttl = Duration.millis(200)
        const stale = Option.getOrThrow(yield* store.acquire(f.name, "stale", ttl))
        yield* Effect.sleep(Duration.millis(300))
        const current = Option.getOrThrow(yield* store.acquire(f.name, "current", Duration.seconds(5)))
        expect(current.generation).toBeGreaterThan(stale.generation)
        const rejected = yield* Effect.flip(store.transaction(stale, store.park(f.name, fakeEvent(f.stream()), "x")))
        expect(rejected).toBeInstanceOf(ProjectionStore.LeaseLost)
        expect(yield* store.parked(f.name)).toEqual([])
        expect(yield* Effect.flip(store.renew(stale, ttl))).toBeInstanceOf(ProjectionStore.LeaseLost)
        // The current owner's transactions go through; a live lease cannot be taken.
        yield* store.transaction(current, store.park(f.name, fakeEvent(f.stream()), "y"))
        expect((yield* store.parked(f.name)).length).toBe(1)
        expect(yield* store.acquire(f.name, "stale", ttl)).toEqual(Option.none())
        // Released, it is free at once.
        yield* store.release(current)
        expect(Option.isSome(yield* store.acquire(f.name, "next", ttl))).toBe(true)
      }))
  })

let fakePosition = 1_000_000_000n
const fakeEvent = (streamId: string) => ({
  eventId: crypto.randomUUID(),
  streamId: streamId as never,
  streamVersion: 1,
  globalPosition: fakePosition++,
  transactionId: fakePosition,
  type: "Counted",
  schemaVersion: 2,
  data: { n: 0, label: "" },
  metadata: {},
  recordedAt: new Date()
})

import { describe, expect } from "@effect/vitest"
import { ProjectionStore } from "@facta/core"
import { Clock, Duration, Effect, Exit, Scope } from "effect"
import type { CaseRegistrar } from "./cases.js"

/** The real clock, `offset` ahead: its sleeps last as long as the real clock's. */
const runningAhead = (offset: Duration.DurationInput): Clock.Clock => {
  const real = Clock.make()
  const millis = Duration.toMillis(offset)
  const nanos = BigInt(millis) * 1_000_000n
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => real.unsafeCurrentTimeMillis() + millis,
    currentTimeMillis: Effect.sync(() => real.unsafeCurrentTimeMillis() + millis),
    unsafeCurrentTimeNanos: () => real.unsafeCurrentTimeNanos() + nanos,
    currentTimeNanos: Effect.sync(() => real.unsafeCurrentTimeNanos() + nanos),
    sleep: (duration) => real.sleep(duration)
  }
}

/** Leases are decided by the store's clock: a runner whose own clock is wrong cannot steal one. */
export const clockSkewCases = <R>(test: CaseRegistrar<R>) =>
  describe("leases under clock skew", () => {
    test("a runner whose clock runs 10 minutes ahead cannot take a live lease held by another", (f) =>
      Effect.gen(function*() {
        const ttl = Duration.millis(600)
        yield* f.append(3)
        const holderScope = yield* Scope.make()
        const holder = yield* Scope.extend(f.runner([f.projection()], { owner: "on-time", leaseTtl: ttl }), holderScope)
        yield* holder.waitForCatchUp(f.name)
        const ahead = yield* f.runner([f.projection()], { owner: "ahead", leaseTtl: ttl, acquireInterval: "20 millis" })
          .pipe(
            Effect.withClock(runningAhead("10 minutes"))
          )
        // Several lease lifetimes while the holder renews, and dozens of attempts to take it.
        yield* Effect.sleep(Duration.times(ttl, 3))
        yield* f.append(2)
        yield* holder.waitForCatchUp(f.name)
        expect(yield* ahead.status(f.name)).toMatchObject({ state: "standby", handled: 0 })
        expect(yield* holder.status(f.name)).toMatchObject({ handled: 5 })
        // Released, the lease passes to the runner that is ahead, which goes on from the checkpoint.
        yield* Scope.close(holderScope, Exit.void)
        yield* f.append(1)
        yield* f.waitUntil(() => Effect.map(ahead.status(f.name), (status) => status.handled === 1))
        expect((yield* f.rows).map((row) => row.n)).toEqual([1, 2, 3, 4, 5, 6])
      }))

    test("a lease whose holder stops renewing lapses after its ttl by the store's clock, not the taker's", (f) =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const ttl = Duration.millis(600)
        // A holder that took the lease and died without releasing it.
        yield* store.acquire(f.name, "dead-holder", ttl)
        yield* f.append(3)
        const started = Date.now()
        const ahead = yield* f.runner([f.projection()], { owner: "ahead", leaseTtl: ttl, acquireInterval: "20 millis" })
          .pipe(
            Effect.withClock(runningAhead("10 minutes"))
          )
        yield* f.waitUntil(() => Effect.map(f.rows, (rows) => rows.length === 3))
        expect(Date.now() - started).toBeGreaterThanOrEqual(400)
        expect((yield* ahead.status(f.name)).state).not.toBe("standby")
      }))
  })

/**
 * The in-memory projection store decides leases by one clock, its own (captured when it is
 * made), as a database server would: a caller whose Clock runs ahead cannot take a live lease.
 */
import { describe, expect, it } from "@effect/vitest"
import { ProjectionStore } from "@facta/core"
import { Clock, Duration, Effect, Option, TestClock } from "effect"

/** A clock `offset` ahead of the real one. */
const runningAhead = (offset: Duration.DurationInput): Clock.Clock => {
  const real = Clock.make()
  const millis = Duration.toMillis(offset)
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => real.unsafeCurrentTimeMillis() + millis,
    currentTimeMillis: Effect.sync(() => real.unsafeCurrentTimeMillis() + millis),
    unsafeCurrentTimeNanos: () => real.unsafeCurrentTimeNanos() + BigInt(millis) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => real.unsafeCurrentTimeNanos() + BigInt(millis) * 1_000_000n),
    sleep: (duration) => real.sleep(duration)
  }
}

describe("ProjectionStore.makeMemory: the store's clock decides leases", () => {
  it.effect("a caller 10 minutes ahead cannot take, renew or fence with a lease by its own clock", () =>
    Effect.gen(function*() {
      // Made under the TestClock: that is the store's clock from now on.
      const store = yield* ProjectionStore.makeMemory
      const ttl = Duration.seconds(10)
      const held = Option.getOrThrow(yield* store.acquire("p", "holder", ttl))
      const ahead = <A, E>(effect: Effect.Effect<A, E>) => Effect.withClock(effect, runningAhead("10 minutes"))

      expect(yield* ahead(store.acquire("p", "ahead", ttl))).toEqual(Option.none())
      // The holder's lease is still valid for the holder, whatever the caller's clock says.
      yield* ahead(store.transaction(held, Effect.void))
      yield* ahead(store.renew(held, ttl))

      // By the store's clock the lease lapses ttl after the last renewal, and only then.
      yield* TestClock.adjust(Duration.seconds(9))
      expect(yield* ahead(store.acquire("p", "ahead", ttl))).toEqual(Option.none())
      yield* TestClock.adjust(Duration.seconds(1))
      const taken = Option.getOrThrow(yield* ahead(store.acquire("p", "ahead", ttl)))
      expect(taken.generation).toBe(held.generation + 1)
      expect(yield* Effect.flip(store.renew(held, ttl))).toBeInstanceOf(ProjectionStore.LeaseLost)
    }))
})

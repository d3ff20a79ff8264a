/**
 * A projection's lease: waiting to take it, and renewing it while the projection runs.
 */
import { Data, Duration, Effect, Option, Schedule } from "effect"
import type * as ProjectionStore from "../../ProjectionStore.js"
import type { Environment, Slot } from "./environment.js"
import { setStatus } from "./status.js"

/** Another instance holds the lease (while waiting for it). */
class LeaseHeldElsewhere extends Data.TaggedError("LeaseHeldElsewhere")<{}> {}

/** Waits for the lease, however long it takes; a store that cannot be reached shows in `lastError`. */
export const acquireLease = (env: Environment, slot: Slot) =>
  env.projectionStore.acquire(slot.projection.name, env.owner, env.leaseTtl).pipe(
    Effect.tapError((error) => setStatus(slot, { lastError: Option.some(error.message) })),
    Effect.flatMap(Option.match({
      onNone: () => Effect.zipRight(setStatus(slot, { state: "standby" }), Effect.fail(new LeaseHeldElsewhere())),
      onSome: Effect.succeed
    })),
    Effect.retry(Schedule.spaced(env.acquireEvery)),
    Effect.orDie // the schedule never ends
  )

/** Renews the lease until it is lost; fails with `LeaseLost` (or a store error once the lease has lapsed). */
export const keepLease = (env: Environment, lease: ProjectionStore.Lease) =>
  env.projectionStore.renew(lease, env.leaseTtl).pipe(
    Effect.delay(env.renewEvery),
    // A renewal that cannot reach the store is retried while the lease may still be valid.
    Effect.retry(
      Schedule.spaced(Duration.millis(Math.max(10, Duration.toMillis(env.renewEvery) / 4))).pipe(
        Schedule.upTo(Duration.subtract(env.leaseTtl, env.renewEvery)),
        Schedule.whileInput((error: ProjectionStore.LeaseLost | ProjectionStore.ProjectionStoreUnavailable) =>
          error._tag === "ProjectionStoreUnavailable"
        )
      )
    ),
    Effect.forever
  )

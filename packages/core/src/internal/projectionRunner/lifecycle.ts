/**
 * The life of a projection on this instance: its run loop (lease, setup, reset, follow, and what
 * a failure leads to), and the controls that start, stop and rebuild it.
 */
import { Cause, Data, Deferred, Effect, Exit, Fiber, Option, Ref, Schedule, SubscriptionRef } from "effect"
import * as Projection from "../../Projection.js"
import type * as ProjectionStore from "../../ProjectionStore.js"
import { describeCause } from "../describeCause.js"
import { type CommitError, Halted } from "./commit.js"
import type { Environment, Slot } from "./environment.js"
import { follow } from "./follow.js"
import { HandlerFailed, runProjectionCode, runProjectionReset } from "./handler.js"
import { acquireLease, keepLease } from "./lease.js"
import { type RebuildError, ResetFailed } from "./models.js"
import { setStatus } from "./status.js"

/** A defect met while following the log. */
class Unexpected extends Data.TaggedError("Unexpected")<{ readonly message: string }> {}

/**
 * The projection's setup in a fenced transaction of its own, retried under its `retry`
 * schedule like a failing event; when that ends, `Halted` with `SetupFailed`. A store error
 * or a lost lease fails as it would in `follow` (pause and resume, back to standby).
 */
const runSetup = (
  env: Environment,
  slot: Slot,
  lease: ProjectionStore.Lease
): Effect.Effect<void, Halted | CommitError> => {
  const { name, retry, setup } = slot.projection
  if (setup === undefined) return Effect.void
  return env.projectionStore.transaction(lease, runProjectionCode(env, slot, "setup", setup)).pipe(
    Effect.uninterruptible,
    Effect.tapError((error) =>
      error._tag === "HandlerFailed"
        ? setStatus(slot, { lastError: Option.some(`setup failed: ${describeCause(error.cause)}`) })
        : Effect.void
    ),
    Effect.retry(Schedule.whileInput(retry, (error) => error instanceof HandlerFailed)),
    Effect.catchTag(
      "HandlerFailed",
      (error) =>
        Effect.fail(new Halted({ failure: new Projection.SetupFailed({ projection: name, cause: error.cause }) }))
    )
  )
}

/** Rebuild's first step, under the lease: reset, forget the checkpoint and parked events, atomically. */
const resetUnder = (env: Environment, slot: Slot, lease: ProjectionStore.Lease) => {
  const { name, reset } = slot.projection
  const work = Effect.all([
    reset === undefined ? Effect.void : runProjectionReset(env, reset),
    env.checkpoints.reset(name),
    env.projectionStore.clearParked(name)
  ], { discard: true })
  return env.projectionStore.transaction(lease, work).pipe(
    Effect.uninterruptible,
    Effect.zipRight(setStatus(slot, { checkpoint: Option.none(), handled: 0, parked: 0 }))
  )
}

/** Runs a requested rebuild's reset and reports to its caller; a failed reset leaves the read model as it was. */
const runReset = (
  env: Environment,
  slot: Slot,
  lease: ProjectionStore.Lease,
  done: Deferred.Deferred<void, RebuildError>
) =>
  Effect.gen(function*() {
    yield* setStatus(slot, { state: "rebuilding" })
    const exit = yield* Effect.exit(resetUnder(env, slot, lease))
    if (Exit.isSuccess(exit)) return yield* Deferred.succeed(done, undefined)
    const error = Cause.failureOption(exit.cause)
    if (Option.isNone(error)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
    switch (error.value._tag) {
      case "LeaseLost":
        return yield* Effect.fail(error.value) // retried under the next lease
      case "HandlerFailed": {
        const failed = new ResetFailed({ projection: slot.projection.name, cause: error.value.cause })
        yield* setStatus(slot, { lastError: Option.some(failed.message) })
        return yield* Deferred.fail(done, failed)
      }
      default:
        yield* Deferred.fail(done, error.value)
    }
  })

/**
 * The life of one projection on this instance: take the lease, set up, (reset,) follow the log;
 * on a lost lease go back to standby, on a store error back off and resume, on a failure
 * stop in state `failed`.
 */
const lifecycle = (env: Environment, slot: Slot, rebuild: Option.Option<Deferred.Deferred<void, RebuildError>>) =>
  Effect.gen(function*() {
    let pendingReset = rebuild
    const backoff = yield* Schedule.driver(env.restartSchedule)
    let handledAtLastError = -1
    for (;;) {
      yield* setStatus(slot, { state: "standby" })
      const lease = yield* acquireLease(env, slot)
      const run = Effect.gen(function*() {
        yield* runSetup(env, slot, lease)
        if (Option.isSome(pendingReset)) {
          yield* runReset(env, slot, lease, pendingReset.value)
          pendingReset = Option.none()
        }
        return yield* follow(env, slot, lease)
      })
      // The lease is renewed from the start: a setup's retries may outlast it.
      const outcome = yield* Effect.raceFirst(run, keepLease(env, lease)).pipe(
        Effect.ensuring(Effect.ignore(env.projectionStore.release(lease))),
        Effect.exit
      )
      if (Exit.isSuccess(outcome)) return
      if (Cause.isInterruptedOnly(outcome.cause)) {
        return yield* Effect.failCause(outcome.cause as Cause.Cause<never>)
      }
      // A defect (a failed COMMIT in @effect/sql, a bug) pauses the projection like a store error.
      const failure = Option.getOrElse(
        Cause.failureOption(outcome.cause),
        () => new Unexpected({ message: Cause.pretty(outcome.cause) })
      )
      if (failure._tag === "Halted") {
        yield* Effect.logError(`Facta: ${failure.failure.message}`)
        return yield* setStatus(slot, {
          state: "failed",
          failure: Option.some(failure.failure),
          lastError: Option.some(failure.failure.message)
        })
      }
      yield* setStatus(slot, { lastError: Option.some(failure.message) })
      if (failure._tag === "LeaseLost") {
        yield* Effect.logWarning(`Facta: ${failure.message}; back to standby`)
        continue
      }
      yield* Effect.logWarning(`Facta: projection ${slot.projection.name} paused: ${failure.message}`)
      const { handled } = yield* SubscriptionRef.get(slot.status)
      if (handled !== handledAtLastError) yield* backoff.reset
      handledAtLastError = handled
      const more = yield* Effect.option(backoff.next(undefined))
      if (Option.isNone(more)) return yield* setStatus(slot, { state: "stopped" })
    }
  })

/** Forks the projection's lifecycle into the runner's scope, with a rebuild to run first if asked. */
export const launch = (env: Environment, slot: Slot, rebuild: Option.Option<Deferred.Deferred<void, RebuildError>>) =>
  Effect.gen(function*() {
    yield* setStatus(slot, { state: "standby", failure: Option.none() })
    const fiber = yield* Effect.forkIn(lifecycle(env, slot, rebuild), env.scope)
    yield* Ref.set(slot.fiber, Option.some(fiber))
  })

/** Interrupts the projection's lifecycle, if it runs: the batch in flight commits, the lease is released. */
export const halt = (slot: Slot) =>
  Effect.gen(function*() {
    const fiber = yield* Ref.getAndSet(slot.fiber, Option.none())
    if (Option.isSome(fiber)) yield* Fiber.interrupt(fiber.value)
  })

const running = (slot: Slot) =>
  Effect.map(
    Ref.get(slot.fiber),
    Option.match({
      onNone: () => Effect.succeed(false),
      onSome: (fiber) => Effect.map(fiber.poll, Option.isNone)
    })
  ).pipe(Effect.flatten)

/** Stops the projection and gives its lease up; state `stopped`. */
export const stop = (slot: Slot) =>
  slot.control.withPermits(1)(Effect.zipRight(halt(slot), setStatus(slot, { state: "stopped" })))

/** Starts the projection from its checkpoint unless it runs. */
export const start = (env: Environment, slot: Slot) =>
  slot.control.withPermits(1)(
    Effect.flatMap(running(slot), (isRunning) => isRunning ? Effect.void : launch(env, slot, Option.none()))
  )

/** Stops the projection, then launches it with a rebuild; returns once the rebuild's reset has committed. */
export const rebuild = (env: Environment, slot: Slot) =>
  slot.control.withPermits(1)(
    Effect.gen(function*() {
      yield* halt(slot)
      const done = yield* Deferred.make<void, RebuildError>()
      yield* launch(env, slot, Option.some(done))
      return done
    })
  ).pipe(Effect.flatMap(Deferred.await))

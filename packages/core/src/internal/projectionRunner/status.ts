/**
 * A projection's progress and status: the changes the engine records, the lag and held-back
 * report read on each call, the held-back watch, and waiting for a projection to catch up.
 */
import { Clock, Duration, Effect, Metric, Option, Stream, SubscriptionRef } from "effect"
import * as Metrics from "../../Metrics.js"
import * as Position from "../../Position.js"
import type { RecordedEvent } from "../../RecordedEvent.js"
import { describeHeldBack, heldBackAnnotations } from "../heldBackWarning.js"
import type { Environment, Slot, Tracked } from "./environment.js"
import type { State } from "./models.js"
import { ProjectionStopped } from "./models.js"

const samePosition = Option.getEquivalence((a: Position.Position, b: Position.Position) => Position.order(a, b) === 0)

/** Changes what the runner tracks of the projection's status. */
export const setStatus = (slot: Slot, patch: Partial<Omit<Tracked, "projection">>) =>
  SubscriptionRef.update(slot.status, (status) => ({ ...status, ...patch }))

/** Records a commit; `state` (live or catching up) changes with the checkpoint, so readers never see one without the other. */
export const recordProgress = (slot: Slot, last: RecordedEvent, handled: number, parked: number, state?: State) =>
  Effect.zipRight(
    SubscriptionRef.update(slot.status, (status) => ({
      ...status,
      state: state ?? status.state,
      checkpoint: Option.some(Position.of(last)),
      handled: status.handled + handled,
      parked: status.parked + parked
    })),
    Metric.incrementBy(Metric.tagged(Metrics.eventsProjected, "projection", slot.projection.name), handled)
  )

/** The store's held-back report for the projection, once it has lasted `heldBackThreshold`. */
const heldBackOf = (env: Environment, slot: Slot) =>
  Effect.map(
    env.store.heldBack(slot.projection.filter),
    Option.filter((held) => Duration.greaterThanOrEqualTo(held.heldFor, env.heldBackThreshold))
  )

/**
 * While the projection makes no progress, asks the store whether an open transaction holds
 * its delivery back, and warns (at most once per `heldBackWarningInterval`) naming who.
 * Runs beside `follow`, which it never fails: a store error here is `follow`'s to meet.
 */
export const watchHeldBack = (env: Environment, slot: Slot) =>
  Effect.gen(function*() {
    const { name } = slot.projection
    let seen = (yield* SubscriptionRef.get(slot.status)).checkpoint
    let warned = false
    for (;;) {
      yield* Effect.sleep(env.heldBackCheckEvery)
      const { checkpoint } = yield* SubscriptionRef.get(slot.status)
      const progressed = !samePosition(checkpoint, seen)
      seen = checkpoint
      const held = progressed ? Option.none() : yield* Effect.orElseSucceed(heldBackOf(env, slot), () => undefined)
      if (held === undefined) continue
      if (Option.isSome(held)) {
        const now = yield* Clock.currentTimeMillis
        const last = env.heldBackWarnedAt.get(name)
        if (last === undefined || now - last >= env.heldBackWarningInterval) {
          env.heldBackWarnedAt.set(name, now)
          yield* Effect.logWarning(describeHeldBack(name, held.value)).pipe(
            Effect.annotateLogs(heldBackAnnotations(name, held.value))
          )
        }
        warned = true
      } else if (warned) {
        warned = false
        yield* Effect.logInfo(`Facta: projection ${JSON.stringify(name)} is no longer held back`)
      }
    }
  })

/** The projection's status, with its lag (and what holds it back) asked of the store now. */
export const withLag = (env: Environment, slot: Slot) =>
  Effect.gen(function*() {
    const status = yield* SubscriptionRef.get(slot.status)
    const checkpoint = Option.isSome(status.checkpoint)
      ? status.checkpoint
      : yield* env.checkpoints.load(slot.projection.name)
    const lag = yield* env.store.countAfter(Option.getOrElse(checkpoint, () => Position.start), slot.projection.filter)
    yield* Metric.set(Metric.tagged(Metrics.projectionLag, "projection", slot.projection.name), lag)
    // Held-back events are committed, so counted in the lag: no lag, nothing held back.
    const heldBack = lag === 0 || status.state === "stopped" || status.state === "failed"
      ? Option.none()
      : yield* heldBackOf(env, slot)
    return { ...status, checkpoint, lag, heldBack }
  })

/** Waits until the projection has handled every event committed before the call; fails if it stops or fails. */
export const waitForCatchUp = (env: Environment, slot: Slot) =>
  Effect.gen(function*() {
    const target = yield* env.store.head(slot.projection.filter)
    if (Option.isNone(target)) return
    for (;;) {
      const status = yield* SubscriptionRef.get(slot.status)
      if (status.state === "failed" && Option.isSome(status.failure)) {
        return yield* Effect.fail(status.failure.value)
      }
      if (status.state === "stopped") {
        return yield* Effect.fail(new ProjectionStopped({ projection: status.projection }))
      }
      // On standby another instance runs the projection: its checkpoint is in the store.
      const checkpoint = status.state === "standby" || status.state === "rebuilding"
        ? yield* env.checkpoints.load(slot.projection.name)
        : status.checkpoint
      if (Option.isSome(checkpoint) && Position.order(checkpoint.value, target.value) >= 0) return
      yield* Effect.raceFirst(
        slot.status.changes.pipe(Stream.drop(1), Stream.take(1), Stream.runDrain),
        Effect.sleep(Duration.millis(100))
      )
    }
  })

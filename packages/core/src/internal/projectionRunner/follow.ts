/**
 * Following the log from a projection's checkpoint: catching up on what was committed when it
 * started, then live, batch after batch.
 */
import { Chunk, Effect, Option, Stream } from "effect"
import * as Position from "../../Position.js"
import type * as ProjectionStore from "../../ProjectionStore.js"
import { handleBatch } from "./commit.js"
import type { Environment, Slot } from "./environment.js"
import { setStatus, watchHeldBack } from "./status.js"

/** Reads from the checkpoint on, forever; fails with a store error, `LeaseLost` or `Halted`. */
export const follow = (env: Environment, slot: Slot, lease: ProjectionStore.Lease) =>
  Effect.gen(function*() {
    const { batchSize, filter, name } = slot.projection
    // Catching up means reading what was committed when it started (its head then); live
    // from there on, or as soon as a short batch says nothing is left. `lag` tells the rest.
    const checkpoint = yield* env.checkpoints.load(name)
    const target = yield* env.store.head(filter)
    const reached = (position: Option.Option<Position.Position>) =>
      Option.isNone(target) || (Option.isSome(position) && Position.order(position.value, target.value) >= 0)
    let live = reached(checkpoint)
    yield* setStatus(slot, { state: live ? "live" : "catching-up", checkpoint })
    // A child of this fiber: it ends with it.
    yield* Effect.fork(watchHeldBack(env, slot))
    yield* env.store.subscribe({ after: Option.getOrElse(checkpoint, () => Position.start), filter, batchSize }).pipe(
      Stream.runForEachChunk((events) => {
        live ||= events.length < batchSize || reached(Option.map(Chunk.last(events), Position.of))
        return handleBatch(env, slot, lease, events, live ? "live" : "catching-up")
      })
    )
  })

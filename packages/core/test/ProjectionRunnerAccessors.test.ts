import { describe, expect, it } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import {
  CheckpointStore,
  EventCatalog,
  EventStore,
  ExpectedVersion,
  Projection,
  ProjectionRunner,
  ProjectionStore
} from "@facta/core"
import { Data, Effect, Layer, Schedule, Schema } from "effect"

const Counted = Schema.TaggedStruct("Counted", { n: Schema.Int })
const Events = EventCatalog.make([Counted])

class Refused extends Data.TaggedError("Refused")<{ readonly n: number }> {}

const appendCounted = (...ns: ReadonlyArray<number>) =>
  EventStore.append(
    `counted-${crypto.randomUUID()}`,
    ns.map((n): RecordedEvent.NewEvent => ({
      eventId: crypto.randomUUID(),
      type: "Counted",
      schemaVersion: 1,
      data: { n },
      metadata: {}
    })),
    ExpectedVersion.NoStream
  )

const stores = Layer.mergeAll(EventStore.layerMemory, CheckpointStore.layerMemory, ProjectionStore.layerMemory)

describe("ProjectionRunner accessors", () => {
  it.live("status, statuses, parked, replayParked, stop, start and rebuild reach the runner in the context", () => {
    let broken = true
    // In memory, a batch that fails halfway keeps what it wrote: the read model is a set.
    const rows = new Set<number>()
    const projection = Projection.make({
      name: "counts",
      catalog: Events,
      onFailure: "park",
      retry: Schedule.stop,
      handle: (event) =>
        broken && event.data.n === 2
          ? Effect.fail(new Refused({ n: 2 }))
          : Effect.sync(() => void rows.add(event.data.n))
    })
    return Effect.gen(function*() {
      yield* appendCounted(1, 2, 3)
      yield* ProjectionRunner.waitForCatchUp("counts")
      // Parked events count in `parked`, not in `handled`.
      expect(yield* ProjectionRunner.status("counts")).toMatchObject({ state: "live", handled: 2, parked: 1, lag: 0 })

      const parked = yield* ProjectionRunner.parked("counts")
      expect(parked.map((entry) => entry.event.data)).toEqual([{ n: 2 }])
      expect(yield* ProjectionRunner.replayParked("counts")).toBe(0)
      broken = false
      expect(yield* ProjectionRunner.replayParked("counts", parked[0].event.eventId)).toBe(1)
      expect(yield* ProjectionRunner.parked("counts")).toEqual([])
      expect([...rows].sort()).toEqual([1, 2, 3])
      // A replayed parked event is not counted in `handled` (nor taken off `parked`).
      expect(yield* ProjectionRunner.status("counts")).toMatchObject({ handled: 2, parked: 1 })

      yield* ProjectionRunner.stop("counts")
      expect((yield* ProjectionRunner.status("counts")).state).toBe("stopped")
      expect((yield* Effect.flip(ProjectionRunner.waitForCatchUp("counts")))._tag).toBe("ProjectionStopped")
      yield* appendCounted(4)
      yield* ProjectionRunner.start("counts")
      yield* ProjectionRunner.waitForCatchUp("counts")
      // `handled` goes on across stop and start…
      expect(yield* ProjectionRunner.statuses).toMatchObject([{ projection: "counts", state: "live", handled: 3 }])

      // …and starts over at a rebuild, which replays the log from the start.
      yield* ProjectionRunner.rebuild("counts")
      yield* ProjectionRunner.waitForCatchUp("counts")
      expect(yield* ProjectionRunner.status("counts")).toMatchObject({ handled: 4, parked: 0 })
    }).pipe(Effect.provide(ProjectionRunner.layer([projection]).pipe(Layer.provideMerge(stores))))
  })

  it.live("each fails with UnknownProjection for a name the runner does not have", () =>
    Effect.gen(function*() {
      const failures = yield* Effect.all([
        Effect.flip(ProjectionRunner.status("nope")),
        Effect.flip(ProjectionRunner.waitForCatchUp("nope")),
        Effect.flip(ProjectionRunner.rebuild("nope")),
        Effect.flip(ProjectionRunner.stop("nope")),
        Effect.flip(ProjectionRunner.start("nope")),
        Effect.flip(ProjectionRunner.parked("nope")),
        Effect.flip(ProjectionRunner.replayParked("nope"))
      ])
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(ProjectionRunner.UnknownProjection)
        expect(failure.message).toBe("No projection named \"nope\" runs here; the runner has \"counts\"")
      }
    }).pipe(
      Effect.provide(
        ProjectionRunner.layer([Projection.make({ name: "counts", catalog: Events, handle: () => Effect.void })]).pipe(
          Layer.provideMerge(stores)
        )
      )
    ))
})

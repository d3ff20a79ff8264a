import { describe, expect, it } from "@effect/vitest"
import type { RecordedEvent } from "@facta/core"
import {
  CheckpointStore,
  EventCatalog,
  EventStore,
  ExpectedVersion,
  InlineProjection,
  Projection,
  ProjectionRunner,
  ProjectionStore
} from "@facta/core"
import { Data, Duration, Effect, Exit, Layer, Option, Schedule, Schema } from "effect"

const Counted = Schema.TaggedStruct("Counted", { n: Schema.Int })
const Events = EventCatalog.make([Counted])

class TableMissing extends Data.TaggedError("TableMissing")<{ readonly table: string }> {
  override get message() {
    return `cannot create table ${this.table}: permission denied`
  }
}

const counted = (n: number): RecordedEvent.NewEvent => ({
  eventId: crypto.randomUUID(),
  type: "Counted",
  schemaVersion: 1,
  data: { n },
  metadata: {}
})

const appendCounted = (...ns: ReadonlyArray<number>) =>
  EventStore.append(`counted-${crypto.randomUUID()}`, ns.map(counted), ExpectedVersion.NoStream)

/**
 * The in-memory stores, with the steps the runner takes written to `journal`: leases taken,
 * fenced transactions begun and ended, checkpoints loaded.
 */
const journaledStores = (journal: Array<string>) => {
  const projectionStore = Layer.effect(
    ProjectionStore.ProjectionStore,
    Effect.map(ProjectionStore.makeMemory, (store): ProjectionStore.ProjectionStoreShape => ({
      ...store,
      acquire: (projection, owner, ttl) =>
        Effect.tap(
          store.acquire(projection, owner, ttl),
          (lease) => Option.isSome(lease) ? journal.push("acquire") : undefined
        ),
      transaction: (lease, effect) =>
        store.transaction(
          lease,
          Effect.acquireUseRelease(
            Effect.sync(() => journal.push("begin")),
            () => effect,
            () => Effect.sync(() => journal.push("end"))
          )
        )
    }))
  )
  const checkpoints = Layer.effect(
    CheckpointStore.CheckpointStore,
    Effect.map(CheckpointStore.makeMemory, (store): CheckpointStore.CheckpointStoreShape => ({
      ...store,
      load: (projection) => Effect.tap(store.load(projection), () => journal.push("checkpoint"))
    }))
  )
  return Layer.mergeAll(EventStore.layerMemory, checkpoints, projectionStore)
}

const until = (condition: () => boolean) =>
  Effect.suspend(() => condition() ? Effect.void : Effect.fail("not yet")).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(5))),
    Effect.timeout(Duration.seconds(5))
  )

const quickRetry = Schedule.spaced(Duration.millis(5)).pipe(Schedule.intersect(Schedule.recurs(2)))

describe("Projection setup in a ProjectionRunner", () => {
  it.live("runs under the lease, in a transaction of its own, before the checkpoint is loaded and any event handled", () => {
    const journal: Array<string> = []
    const tables = new Set<string>()
    const rows: Array<number> = []
    const projection = Projection.make({
      name: "counts",
      catalog: Events,
      setup: Effect.sync(() => {
        journal.push("setup")
        tables.add("counts")
      }),
      handle: (event) =>
        tables.has("counts")
          ? Effect.sync(() => void rows.push(event.data.n))
          : Effect.fail(new TableMissing({ table: "counts" }))
    })
    return Effect.gen(function*() {
      yield* appendCounted(1, 2, 3)
      const runner = yield* ProjectionRunner.make([projection], { restartSchedule: Schedule.stop })
      // Polled rather than waitForCatchUp, which loads the checkpoint itself.
      yield* until(() => rows.length === 3)
      expect(rows).toEqual([1, 2, 3])
      expect(journal.slice(0, 5)).toEqual(["acquire", "begin", "setup", "end", "checkpoint"])
      expect(journal.filter((step) => step === "setup")).toEqual(["setup"])
      expect(Option.isNone((yield* runner.status("counts")).lastError)).toBe(true)
      // Started again, it sets up again (setups are idempotent) before going on.
      yield* runner.stop("counts")
      yield* appendCounted(4)
      yield* runner.start("counts")
      yield* runner.waitForCatchUp("counts")
      expect(journal.filter((step) => step === "setup")).toHaveLength(2)
      expect(rows).toEqual([1, 2, 3, 4])
    }).pipe(Effect.scoped, Effect.provide(journaledStores(journal)))
  })

  it.live("runs before a rebuild's reset", () => {
    const journal: Array<string> = []
    const projection = Projection.make({
      name: "counts",
      catalog: Events,
      setup: Effect.sync(() => void journal.push("setup")),
      reset: Effect.sync(() => void journal.push("reset")),
      handle: () => Effect.void
    })
    return Effect.gen(function*() {
      yield* appendCounted(1)
      const runner = yield* ProjectionRunner.make([projection])
      yield* runner.waitForCatchUp("counts")
      journal.length = 0
      yield* runner.rebuild("counts")
      expect(journal.filter((step) => step === "setup" || step === "reset")).toEqual(["setup", "reset"])
    }).pipe(Effect.scoped, Effect.provide(journaledStores(journal)))
  })

  it.live("a setup that fails is retried under the projection's retry schedule; one that recovers goes on", () => {
    let attempts = 0
    const rows: Array<number> = []
    const projection = Projection.make({
      name: "counts",
      catalog: Events,
      retry: quickRetry,
      setup: Effect.suspend(() => ++attempts < 3 ? Effect.fail(new TableMissing({ table: "counts" })) : Effect.void),
      handle: (event) => Effect.sync(() => void rows.push(event.data.n))
    })
    return Effect.gen(function*() {
      yield* appendCounted(1, 2)
      const runner = yield* ProjectionRunner.make([projection])
      yield* runner.waitForCatchUp("counts")
      expect(attempts).toBe(3)
      expect(rows).toEqual([1, 2])
      const status = yield* runner.status("counts")
      expect(status).toMatchObject({ state: "live", handled: 2, failure: Option.none() })
      expect(Option.getOrThrow(status.lastError)).toContain("setup failed: TableMissing: cannot create table counts")
    }).pipe(Effect.scoped, Effect.provide(journaledStores([])))
  })

  it.live("a setup that keeps failing stops the projection as failed with SetupFailed, visible in status; start tries again", () => {
    let attempts = 0
    let broken = true
    const rows: Array<number> = []
    const projection = Projection.make({
      name: "counts",
      catalog: Events,
      retry: quickRetry,
      setup: Effect.suspend(() => {
        attempts++
        return broken ? Effect.fail(new TableMissing({ table: "counts" })) : Effect.void
      }),
      handle: (event) => Effect.sync(() => void rows.push(event.data.n))
    })
    return Effect.gen(function*() {
      yield* appendCounted(1, 2)
      const runner = yield* ProjectionRunner.make([projection])
      const failure = yield* Effect.flip(runner.waitForCatchUp("counts"))
      expect(failure).toBeInstanceOf(Projection.SetupFailed)
      expect(failure).toMatchObject({ projection: "counts", cause: new TableMissing({ table: "counts" }) })
      expect(failure.message).toBe(
        "The setup of projection \"counts\" failed, so it does not run: TableMissing: cannot create table counts: permission denied"
      )
      expect(attempts).toBe(3) // the first attempt and two retries
      const status = yield* runner.status("counts")
      expect(status).toMatchObject({ state: "failed", handled: 0, lag: 2, checkpoint: Option.none() })
      expect(status.failure).toEqual(Option.some(failure))
      expect(status.lastError).toEqual(Option.some(failure.message))
      expect(rows).toEqual([])
      broken = false
      yield* runner.start("counts")
      yield* runner.waitForCatchUp("counts")
      expect(rows).toEqual([1, 2])
      expect((yield* runner.status("counts")).failure).toEqual(Option.none())
    }).pipe(Effect.scoped, Effect.provide(journaledStores([])))
  })

  it.live("a defect in setup is a failure like any other", () => {
    const projection = Projection.make({
      name: "counts",
      catalog: Events,
      retry: Schedule.stop,
      setup: Effect.dieMessage("no such schema"),
      handle: () => Effect.void
    })
    return Effect.gen(function*() {
      yield* appendCounted(1)
      const runner = yield* ProjectionRunner.make([projection])
      const failure = yield* Effect.flip(runner.waitForCatchUp("counts"))
      expect(failure._tag).toBe("SetupFailed")
      expect(failure.message).toContain("no such schema")
    }).pipe(Effect.scoped, Effect.provide(journaledStores([])))
  })
})

describe("Projection setup of inline projections", () => {
  it.effect("runs once when the event store starts, before any append", () => {
    const journal: Array<string> = []
    const projection = Projection.make({
      name: "counts",
      catalog: Events,
      setup: Effect.sync(() => void journal.push("setup")),
      handle: (event) => Effect.sync(() => void journal.push(`handle ${event.data.n}`))
    })
    return Effect.gen(function*() {
      expect(journal).toEqual(["setup"])
      yield* appendCounted(1)
      yield* appendCounted(2)
      expect(journal).toEqual(["setup", "handle 1", "handle 2"])
    }).pipe(Effect.provide(InlineProjection.layerMemory([projection])))
  })

  it.effect("a failing setup fails the store's layer with SetupFailed", () => {
    const projection = Projection.make({
      name: "counts",
      catalog: Events,
      setup: Effect.fail(new TableMissing({ table: "counts" })),
      handle: () => Effect.void
    })
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.provide(appendCounted(1), InlineProjection.layerMemory([projection]))
      )
      expect(exit).toEqual(
        Exit.fail(new Projection.SetupFailed({ projection: "counts", cause: new TableMissing({ table: "counts" }) }))
      )
    })
  })
})

/**
 * Every store is built with its module's `make(backend)`, which adds the spans and metrics: one
 * operation of every kind on the four stores, in memory and on PostgreSQL, records each store's
 * span once (none doubled by a backend), with its attributes, and moves the counters.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  CheckpointStore,
  EventStore,
  ExpectedVersion,
  Metrics,
  Position,
  ProjectionStore,
  SnapshotStore
} from "@facta/core"
import { RecordingTracer } from "@facta/testing"
import { Duration, Effect, Layer, Metric, Option, Stream } from "effect"
import { storesLayer } from "../packages/postgres/test/support.js"

/** One operation of every kind on each store, and what the checks need of their results. */
const exercise = (streamId: string, projection: string) =>
  Effect.gen(function*() {
    const events = yield* EventStore.EventStore
    const snapshots = yield* SnapshotStore.SnapshotStore
    const checkpoints = yield* CheckpointStore.CheckpointStore
    const projections = yield* ProjectionStore.ProjectionStore
    const eventId = crypto.randomUUID()

    yield* events.append(
      streamId,
      [{ eventId, type: "Thing", schemaVersion: 1, data: {}, metadata: {} }],
      ExpectedVersion.NoStream
    )
    yield* Stream.runDrain(events.readStream(streamId))
    const [recorded] = yield* events.readStreamBatch(streamId)
    yield* events.readStreamPayloads(streamId)
    yield* Stream.runDrain(events.readAll({ limit: 10 }))
    yield* events.streamVersion(streamId)
    yield* events.locate(eventId)
    yield* events.head()
    yield* events.countAfter(Position.start)
    yield* events.heldBack()

    yield* snapshots.save(streamId, { version: 1, schemaVersion: 1, state: { count: 1 } })
    const snapshot = yield* snapshots.load(streamId)
    yield* snapshots.remove(streamId)

    yield* checkpoints.load(projection)
    yield* checkpoints.save(projection, Position.of(recorded))
    yield* checkpoints.reset(projection)

    const lease = Option.getOrThrow(yield* projections.acquire(projection, "owner-1", Duration.seconds(30)))
    yield* projections.renew(lease, Duration.seconds(30))
    yield* projections.transaction(
      lease,
      Effect.zipRight(
        projections.park(projection, recorded, "it failed"),
        checkpoints.save(projection, Position.of(recorded))
      )
    )
    const parked = yield* projections.parked(projection)
    yield* projections.unpark(projection, recorded.eventId)
    yield* projections.atomically(projection, projections.clearParked(projection))
    yield* projections.release(lease)
    const lost = yield* Effect.flip(projections.renew(lease, Duration.seconds(30)))
    return { snapshot, parked, lost, lease }
  })

/** The spans of the four stores, in order, for `exercise(streamId, projection)`. */
const expectedSpans = (streamId: string, projection: string, generation: number) => {
  const stream = { "facta.stream_id": streamId }
  const named = { "facta.projection": projection }
  const lease = { ...named, "facta.generation": generation }
  return [
    ["EventStore.append", { ...stream, "facta.expected_version": "no stream", "facta.written": true }],
    ["EventStore.readStream", { ...stream, "facta.direction": "forwards" }],
    ["EventStore.readStreamBatch", stream],
    ["EventStore.readStreamPayloads", stream],
    ["EventStore.readAll", { "facta.after": Position.format(Position.start) }],
    ["EventStore.streamVersion", stream],
    ["EventStore.locate", {}],
    ["EventStore.head", {}],
    ["EventStore.countAfter", { "facta.after": Position.format(Position.start) }],
    ["EventStore.heldBack", {}],
    ["SnapshotStore.save", stream],
    ["SnapshotStore.load", stream],
    ["SnapshotStore.remove", stream],
    ["CheckpointStore.load", named],
    ["CheckpointStore.save", named],
    ["CheckpointStore.reset", named],
    ["ProjectionStore.acquire", { ...named, "facta.owner": "owner-1" }],
    ["ProjectionStore.renew", lease],
    ["ProjectionStore.transaction", lease],
    ["ProjectionStore.park", named],
    ["CheckpointStore.save", named],
    ["ProjectionStore.parked", named],
    ["ProjectionStore.unpark", named],
    ["ProjectionStore.atomically", named],
    ["ProjectionStore.clearParked", named],
    ["ProjectionStore.release", lease],
    ["ProjectionStore.renew", lease]
  ] as const
}

const storeSpan = /^(EventStore|SnapshotStore|CheckpointStore|ProjectionStore)\./

/** How one store's spans nest: what runs inside a fenced transaction, and (on SQL) its statements. */
type NestingCheck = (
  spans: ReadonlyArray<RecordingTracer.RecordedSpan>,
  storeSpans: ReadonlyArray<RecordingTracer.RecordedSpan>
) => void

/** In memory, what runs inside a fenced transaction nests under its span. */
const memoryNesting: NestingCheck = (_spans, recorded) => {
  const inTransaction = recorded.filter((span) => span.parent === "ProjectionStore.transaction")
  expect(inTransaction.map((span) => span.name)).toEqual(["ProjectionStore.park", "CheckpointStore.save"])
  expect(recorded.find((span) => span.name === "ProjectionStore.clearParked")?.parent).toBe(
    "ProjectionStore.atomically"
  )
}

/**
 * On PostgreSQL, what runs inside a fenced transaction nests under @effect/sql's transaction span,
 * and that under the store's; the statements nest under the store's span.
 */
const postgresNesting: NestingCheck = (spans, recorded) => {
  const inTransaction = recorded.filter((span) => span.parent === "sql.transaction")
  expect(inTransaction.map((span) => span.name)).toEqual([
    "ProjectionStore.park",
    "CheckpointStore.save",
    "ProjectionStore.clearParked"
  ])
  expect(spans.filter((span) => span.name === "sql.transaction").map((span) => span.parent)).toEqual([
    "ProjectionStore.transaction",
    "ProjectionStore.atomically"
  ])
  const statementParents = spans.filter((span) => span.name === "sql.execute").map((span) => span.parent)
  expect(statementParents).toContain("CheckpointStore.save")
  expect(statementParents).toContain("SnapshotStore.load")
  expect(statementParents).toContain("ProjectionStore.park")
}

/** Runs {@link exercise} on the stores in the context under a recording tracer; checks spans and counters. */
const checkStoreSpans = (checkNesting: NestingCheck) =>
  Effect.gen(function*() {
    const spans: Array<RecordingTracer.RecordedSpan> = []
    const streamId = `thing-${crypto.randomUUID()}`
    const projection = `projection-${crypto.randomUUID()}`
    const loadedBefore = (yield* Metric.value(Metrics.snapshotsLoaded)).count
    const leasesLost = Metrics.leasesLost.pipe(Metric.tagged("projection", projection))

    const outcome = yield* exercise(streamId, projection).pipe(Effect.withTracer(RecordingTracer.make(spans)))

    expect(Option.isSome(outcome.snapshot)).toBe(true)
    expect(outcome.parked).toHaveLength(1)
    expect(outcome.lost).toBeInstanceOf(ProjectionStore.LeaseLost)
    const recorded = spans.filter((span) => storeSpan.test(span.name))
    const expected = expectedSpans(streamId, projection, outcome.lease.generation)
    expect(recorded.map((span) => span.name)).toEqual(expected.map(([name]) => name))
    recorded.forEach((span, index) => {
      expect(Object.fromEntries(span.attributes), span.name).toMatchObject(expected[index][1])
      expect(span.ended, span.name).toBeDefined()
    })
    checkNesting(spans, recorded)

    expect((yield* Metric.value(Metrics.snapshotsLoaded)).count - loadedBefore).toBe(1)
    expect((yield* Metric.value(leasesLost)).count).toBe(1)
  })

describe("store spans and metrics", () => {
  it.effect("in memory: every operation of the four stores records its span once, with its attributes, and counts", () =>
    checkStoreSpans(memoryNesting).pipe(
      Effect.provide(
        Layer.mergeAll(
          EventStore.layerMemory,
          SnapshotStore.layerMemory,
          CheckpointStore.layerMemory,
          ProjectionStore.layerMemory
        )
      )
    ))

  it.scoped("on PostgreSQL: every operation of the four stores records its span once, with its attributes, and counts", () =>
    Effect.flatMap(Layer.build(storesLayer()), (stores) => Effect.provide(checkStoreSpans(postgresNesting), stores)))

  it.effect("an invalid stream id fails the snapshot store inside its span, before the backend", () =>
    Effect.gen(function*() {
      const spans: Array<RecordingTracer.RecordedSpan> = []
      const store = yield* SnapshotStore.SnapshotStore
      const error = yield* Effect.flip(store.load("").pipe(Effect.withTracer(RecordingTracer.make(spans))))
      expect(error._tag).toBe("InvalidStreamId")
      expect(spans.map((span) => span.name)).toEqual(["SnapshotStore.load"])
      expect(spans[0].attributes.get("facta.stream_id")).toBe("")
    }).pipe(Effect.provide(SnapshotStore.layerMemory)))
})

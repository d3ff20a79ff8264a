import { describe, expect, it } from "@effect/vitest"
import { Aggregate, CommandHandler, EventStore, ExpectedVersion, Metrics, SnapshotStore } from "@facta/core"
import { RecordingTracer } from "@facta/testing"
import { Effect, Layer, Metric, Ref, Schedule, Stream } from "effect"
import { contendedCounter, Counter, currentStream, newStreamId, SnapshottedCounter } from "./fixtures/Counter.js"

const counters = [
  Metrics.appends,
  Metrics.eventsAppended,
  Metrics.conflicts,
  Metrics.commands,
  Metrics.commandsRejected,
  Metrics.commandRetries,
  Metrics.snapshotsSaved
] as const

const readCounters = Effect.forEach(counters, (counter) => Effect.map(Metric.value(counter), (state) => state.count))

describe("observability", () => {
  it.effect("counts appends, events, conflicts, commands, rejections, retries and snapshots", () =>
    Effect.gen(function*() {
      const before = yield* readCounters
      const streamId = newStreamId()
      // 12 successful commands → 12 appends, 12 events, one snapshot at version 10 (every 5 → 5, 10).
      for (let i = 0; i < 12; i++) {
        yield* CommandHandler.handle(SnapshottedCounter, streamId, { _tag: "Increment", by: 1 })
      }
      // One rejected command.
      yield* Effect.flip(CommandHandler.handle(Counter, streamId, { _tag: "Increment", by: 1000 }))
      // One raw conflict.
      yield* Effect.flip(EventStore.append(streamId, [], ExpectedVersion.Exact(3)))
      // A multi-event append.
      yield* EventStore.append(
        newStreamId(),
        [1, 2, 3].map((by) => ({
          eventId: crypto.randomUUID(),
          type: "Incremented",
          schemaVersion: 3,
          data: { by, note: "" },
          metadata: {}
        })),
        ExpectedVersion.NoStream
      )
      // A command that meets a rival writer: one conflict, one retry.
      const raced = newStreamId()
      yield* Ref.set(currentStream, raced)
      const rivals = yield* Ref.make(1)
      yield* CommandHandler.handle(contendedCounter(rivals), raced, { _tag: "Increment", by: 1 }, {
        retry: Schedule.recurs(5)
      })
      const after = yield* readCounters
      const delta = after.map((value, index) => value - before[index])
      const [appends, eventsAppended, conflicts, commands, rejected, retries, snapshots] = delta
      const racedVersion = yield* Aggregate.load(Counter, raced)
      expect(racedVersion.version).toBe(2)
      expect({ appends, eventsAppended, conflicts, commands, rejected, retries, snapshots }).toEqual({
        // 12 commands, the 3-event append, the rival's append and the retried command's.
        appends: 12 + 1 + 2,
        eventsAppended: 12 + 3 + 2,
        // The raw conflict and the rival's.
        conflicts: 2,
        commands: 12 + 1 + 1,
        rejected: 1,
        retries: 1,
        snapshots: 2
      })
    }).pipe(Effect.provide(Layer.merge(EventStore.layerMemory, SnapshotStore.layerMemory))))

  it.effect("wraps append, read, load and command handling in spans with stream and version attributes", () =>
    Effect.gen(function*() {
      const spans: Array<RecordingTracer.RecordedSpan> = []
      const streamId = newStreamId()
      yield* CommandHandler.handle(Counter, streamId, { _tag: "Increment", by: 1 }).pipe(
        Effect.withTracer(RecordingTracer.make(spans))
      )
      const byName = (name: string) => spans.find((span) => span.name === name)
      const handle = byName("CommandHandler.handle")
      const load = byName("Aggregate.load")
      const append = byName("EventStore.append")
      const read = byName("EventStore.readStreamPayloads")
      expect(handle?.attributes.get("facta.stream_id")).toBe(streamId)
      expect(handle?.attributes.get("facta.version")).toBe(1)
      expect(load?.attributes.get("facta.stream_id")).toBe(streamId)
      expect(load?.attributes.get("facta.version")).toBe(0)
      expect(load?.parent).toBe("CommandHandler.handle")
      expect(append?.attributes.get("facta.expected_version")).toBe("no stream")
      expect(append?.attributes.get("facta.next_expected_version")).toBe(1)
      expect(append?.parent).toBe("CommandHandler.handle")
      expect(read?.attributes.get("facta.stream_id")).toBe(streamId)
    }).pipe(Effect.provide(EventStore.layerMemory)))

  it.effect("counts the events each read delivers, under the reading fiber's metric labels", () =>
    Effect.gen(function*() {
      const reader = crypto.randomUUID()
      const eventsRead = Metrics.eventsRead.pipe(Metric.tagged("reader", reader))
      const streamId = newStreamId()
      yield* EventStore.append(
        streamId,
        Array.from({ length: 5 }, (_, by) => ({
          eventId: crypto.randomUUID(),
          type: "Incremented",
          schemaVersion: 3,
          data: { by, note: "" },
          metadata: {}
        })),
        ExpectedVersion.NoStream
      )
      const labelled = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.tagMetrics(effect, "reader", reader)
      // Unlabelled reads count too, but not under this reader's label.
      yield* Stream.runDrain(EventStore.readStream(streamId))
      expect((yield* Metric.value(eventsRead)).count).toBe(0)
      yield* labelled(Stream.runDrain(EventStore.readStream(streamId, { from: 2 })))
      expect((yield* Metric.value(eventsRead)).count).toBe(4)
      const log = yield* labelled(Stream.runCount(EventStore.readAll()))
      expect((yield* Metric.value(eventsRead)).count).toBe(4 + log)
      yield* labelled(Stream.runDrain(Stream.take(EventStore.subscribe(), log)))
      expect((yield* Metric.value(eventsRead)).count).toBe(4 + log + log)
    }).pipe(Effect.provide(EventStore.layerMemory)))
})

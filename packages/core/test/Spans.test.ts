import { describe, expect, it } from "@effect/vitest"
import { Aggregate, EventStore, ExpectedVersion, Spans } from "@facta/core"
import { RecordingTracer } from "@facta/testing"
import { Cause, Effect, Exit, Fiber, Option, TestClock } from "effect"
import { Counter, newStreamId } from "./fixtures/Counter.js"

/** A tracer that records every span, and the spans it has recorded. */
const recording = () => {
  const spans: Array<RecordingTracer.RecordedSpan> = []
  return { spans, tracer: RecordingTracer.make(spans) }
}

/** How `span` ended (it must have). */
const endOf = (span: RecordingTracer.RecordedSpan | undefined) => {
  if (span?.ended === undefined) throw new Error(`span ${span?.name} has not ended`)
  return span.ended
}

const page = Array.from({ length: 1_000 }, (_, index) => ({ index }))

describe("Spans", () => {
  it.effect("useSpan: a success ends the span once, timed by the clock, without the value it returned", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recording()
      yield* TestClock.setTime(1_000)
      const result = yield* Spans.useSpan("read", { "facta.stream_id": "account-1" }, (span) =>
        Effect.gen(function*() {
          span.attribute("facta.count", page.length)
          yield* TestClock.adjust(5)
          return page
        })).pipe(Effect.withTracer(tracer))
      expect(result).toBe(page)
      expect(spans).toHaveLength(1)
      const [span] = spans
      expect(span.name).toBe("read")
      expect(Object.fromEntries(span.attributes)).toEqual({ "facta.stream_id": "account-1", "facta.count": 1_000 })
      expect(span.startTime).toBe(1_000_000_000n)
      expect(endOf(span).endTime).toBe(1_005_000_000n)
      expect(Exit.isSuccess(endOf(span).exit)).toBe(true)
      expect(endOf(span).exit).toStrictEqual(Exit.void)
    }))

  it.effect("useSpan: a failure ends the span with its cause; the body's span is a handle, not the current span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recording()
      const error = yield* Effect.flip(
        Effect.withSpan(
          Spans.useSpan("inner", {}, (span) =>
            Effect.flatMap(Effect.currentSpan, (current) => {
              expect(current.name).toBe("outer")
              expect(span.name).toBe("inner")
              return Effect.fail("boom")
            })),
          "outer"
        ).pipe(Effect.withTracer(tracer))
      )
      expect(error).toBe("boom")
      const inner = spans.find((span) => span.name === "inner")
      expect(inner?.parent).toBe("outer")
      const { exit } = endOf(inner)
      expect(Exit.isFailure(exit) && Option.getOrUndefined(Cause.failureOption(exit.cause))).toBe("boom")
    }))

  it.effect("withSpan: the effect runs with the span as its current span, and an interruption ends it", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recording()
      const name = yield* Spans.withSpan(Effect.map(Effect.currentSpan, (span) => span.name), "current").pipe(
        Effect.withTracer(tracer)
      )
      expect(name).toBe("current")
      const fiber = yield* Effect.fork(Spans.withSpan(Effect.never, "waiting").pipe(Effect.withTracer(tracer)))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      const { exit } = endOf(spans.find((span) => span.name === "waiting"))
      expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
    }))

  it.effect("the event store's and aggregates' spans end without the pages and states they returned", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recording()
      const streamId = newStreamId()
      const events = [1, 2, 3].map((by) => ({
        eventId: crypto.randomUUID(),
        type: "Incremented",
        schemaVersion: 3,
        data: { by, note: "" },
        metadata: {}
      }))
      yield* Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        yield* store.append(streamId, events, ExpectedVersion.NoStream)
        yield* store.readStreamBatch(streamId)
        yield* store.readStreamPayloads(streamId)
        yield* Aggregate.load(Counter, streamId)
      }).pipe(Effect.provide(EventStore.layerMemory), Effect.withTracer(tracer))
      // In start order: the load reads its page inside its own span.
      expect(spans.map((span) => span.name)).toEqual([
        "EventStore.append",
        "EventStore.readStreamBatch",
        "EventStore.readStreamPayloads",
        "Aggregate.load",
        "EventStore.readStreamPayloads"
      ])
      for (const span of spans) expect(endOf(span).exit).toStrictEqual(Exit.void)
    }))
})

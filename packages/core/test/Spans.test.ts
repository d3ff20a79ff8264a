import { Aggregate, EventStore, ExpectedVersion, Spans } from "@facta/core"
import { describe, expect, it } from "@effect/vitest"
import type { Context } from "effect"
import { Cause, Effect, Exit, Fiber, Option, TestClock, Tracer } from "effect"
import { Counter, newStreamId } from "./fixtures/Counter.js"

interface Ended {
  readonly name: string
  readonly parent: string | undefined
  readonly attributes: ReadonlyMap<string, unknown>
  readonly startTime: bigint
  readonly endTime: bigint
  readonly exit: Exit.Exit<unknown, unknown>
}

/** A tracer that records every span's end: when, and with which exit. */
const endRecorder = () => {
  const ended: Array<Ended> = []
  const tracer = Tracer.make({
    span: (name, parent: Option.Option<Tracer.AnySpan>, context: Context.Context<never>, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      return {
        _tag: "Span",
        name,
        spanId: crypto.randomUUID(),
        traceId: "trace",
        parent,
        context,
        get status() {
          return status
        },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (endTime, exit) => {
          status = { _tag: "Ended", startTime, endTime, exit }
          ended.push({
            name,
            parent: parent._tag === "Some" && parent.value._tag === "Span" ? parent.value.name : undefined,
            attributes,
            startTime,
            endTime,
            exit
          })
        },
        attribute: (key, value) => void attributes.set(key, value),
        event: () => undefined,
        addLinks: () => undefined
      }
    },
    context: (f) => f()
  })
  return { ended, tracer }
}

const page = Array.from({ length: 1_000 }, (_, index) => ({ index }))

describe("Spans", () => {
  it.effect("useSpan: a success ends the span once, timed by the clock, without the value it returned", () =>
    Effect.gen(function*() {
      const { ended, tracer } = endRecorder()
      yield* TestClock.setTime(1_000)
      const result = yield* Spans.useSpan("read", { "facta.stream_id": "account-1" }, (span) =>
        Effect.gen(function*() {
          span.attribute("facta.count", page.length)
          yield* TestClock.adjust(5)
          return page
        })).pipe(Effect.withTracer(tracer))
      expect(result).toBe(page)
      expect(ended).toHaveLength(1)
      const [span] = ended
      expect(span.name).toBe("read")
      expect(Object.fromEntries(span.attributes)).toEqual({ "facta.stream_id": "account-1", "facta.count": 1_000 })
      expect(span.startTime).toBe(1_000_000_000n)
      expect(span.endTime).toBe(1_005_000_000n)
      expect(Exit.isSuccess(span.exit)).toBe(true)
      expect(span.exit).toStrictEqual(Exit.void)
    }))

  it.effect("useSpan: a failure ends the span with its cause; the body's span is a handle, not the current span", () =>
    Effect.gen(function*() {
      const { ended, tracer } = endRecorder()
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
      const inner = ended.find((span) => span.name === "inner")!
      expect(inner.parent).toBe("outer")
      expect(Exit.isFailure(inner.exit) && Option.getOrUndefined(Cause.failureOption(inner.exit.cause))).toBe("boom")
    }))

  it.effect("withSpan: the effect runs with the span as its current span, and an interruption ends it", () =>
    Effect.gen(function*() {
      const { ended, tracer } = endRecorder()
      const name = yield* Spans.withSpan(Effect.map(Effect.currentSpan, (span) => span.name), "current").pipe(Effect.withTracer(tracer))
      expect(name).toBe("current")
      const fiber = yield* Effect.fork(Spans.withSpan(Effect.never, "waiting").pipe(Effect.withTracer(tracer)))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      const waiting = ended.find((span) => span.name === "waiting")!
      expect(Exit.isFailure(waiting.exit) && Cause.isInterruptedOnly(waiting.exit.cause)).toBe(true)
    }))

  it.effect("the event store's and aggregates' spans end without the pages and states they returned", () =>
    Effect.gen(function*() {
      const { ended, tracer } = endRecorder()
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
      expect(ended.map((span) => span.name)).toEqual([
        "EventStore.append",
        "EventStore.readStreamBatch",
        "EventStore.readStreamPayloads",
        "EventStore.readStreamPayloads",
        "Aggregate.load"
      ])
      for (const span of ended) expect(span.exit).toStrictEqual(Exit.void)
    }))
})

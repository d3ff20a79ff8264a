import { describe, expect, it } from "@effect/vitest"
import { EventStore, ExpectedVersion } from "@facta/core"
import { RecordingTracer } from "@facta/testing"
import { Effect, Layer } from "effect"
import { storesLayer } from "./support.js"

const event = () => ({ eventId: crypto.randomUUID(), type: "Thing", schemaVersion: 1, data: {}, metadata: {} })

/** The spans `operation` starts, inside a "command" span, on the stores of `layer`. */
const traced = <A, E>(
  layer: Layer.Layer<EventStore.EventStore, unknown>,
  operation: (streamId: string) => Effect.Effect<A, E, EventStore.EventStore>
) =>
  Effect.gen(function*() {
    const spans: Array<RecordingTracer.RecordedSpan> = []
    const stores = yield* Layer.build(layer)
    const streamId = `thing-${crypto.randomUUID()}`
    yield* EventStore.append(streamId, [event()], ExpectedVersion.NoStream).pipe(Effect.provide(stores))
    yield* operation(streamId).pipe(
      Effect.withSpan("command"),
      Effect.withTracer(RecordingTracer.make(spans)),
      Effect.provide(stores)
    )
    return spans
  })

const operations: Record<string, (streamId: string) => Effect.Effect<unknown, unknown, EventStore.EventStore>> = {
  append: (streamId) => EventStore.append(streamId, [event()], ExpectedVersion.Exact(1)),
  streamVersion: (streamId) => EventStore.streamVersion(streamId)
}

describe("spans on Postgres", () => {
  for (const [name, operation] of Object.entries(operations)) {
    it.scoped(`${name}: through @effect/sql the statement's span nests under EventStore.${name}`, () =>
      Effect.gen(function*() {
        const spans = yield* traced(storesLayer(undefined, { withoutPool: true }), operation)
        expect(spans.find((span) => span.name === `EventStore.${name}`)?.parent).toBe("command")
        expect(spans.filter((span) => span.name === "sql.execute").map((span) => span.parent)).toEqual([
          `EventStore.${name}`
        ])
      }))

    it.scoped(`${name}: on the PgPool it makes no statement span, only its own`, () =>
      Effect.gen(function*() {
        const spans = yield* traced(storesLayer(), operation)
        expect(spans.map((span) => [span.name, span.parent])).toEqual([["command", undefined], [
          `EventStore.${name}`,
          "command"
        ]])
      }))
  }
})

import { EventStore, ExpectedVersion } from "@facta/core"
import { describe, expect, it } from "@effect/vitest"
import type { Context, Exit, Option } from "effect"
import { Effect, Layer, Tracer } from "effect"
import { storesLayer } from "./support.js"

interface Recorded {
  readonly name: string
  readonly parent: string | undefined
}

/** A tracer that keeps the name and parent of every span it starts. */
const recordingTracer = (spans: Array<Recorded>) =>
  Tracer.make({
    span: (name, parent: Option.Option<Tracer.AnySpan>, context: Context.Context<never>, links, startTime, kind) => {
      spans.push({ name, parent: parent._tag === "Some" && parent.value._tag === "Span" ? parent.value.name : undefined })
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const attributes = new Map<string, unknown>()
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
        end: (endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
          status = { _tag: "Ended", startTime, endTime, exit }
        },
        attribute: (key, value) => void attributes.set(key, value),
        event: () => undefined,
        addLinks: () => undefined
      } satisfies Tracer.Span
    },
    context: (f) => f()
  })

const event = () => ({ eventId: crypto.randomUUID(), type: "Thing", schemaVersion: 1, data: {}, metadata: {} })

/** The spans `operation` starts, inside a "command" span, on the stores of `layer`. */
const traced = <A, E>(
  layer: Layer.Layer<EventStore.EventStore, unknown>,
  operation: (streamId: string) => Effect.Effect<A, E, EventStore.EventStore>
) =>
  Effect.gen(function*() {
    const spans: Array<Recorded> = []
    const stores = yield* Layer.build(layer)
    const streamId = `thing-${crypto.randomUUID()}`
    yield* EventStore.append(streamId, [event()], ExpectedVersion.NoStream).pipe(Effect.provide(stores))
    yield* operation(streamId).pipe(
      Effect.withSpan("command"),
      Effect.withTracer(recordingTracer(spans)),
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
        expect(spans.filter((span) => span.name === "sql.execute").map((span) => span.parent)).toEqual([`EventStore.${name}`])
      }))

    it.scoped(`${name}: on the PgPool it makes no statement span, only its own`, () =>
      Effect.gen(function*() {
        const spans = yield* traced(storesLayer(), operation)
        expect(spans.map((span) => [span.name, span.parent])).toEqual([["command", undefined], [`EventStore.${name}`, "command"]])
      }))
  }
})

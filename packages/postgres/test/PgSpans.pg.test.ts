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

const appendTraced = (layer: Layer.Layer<EventStore.EventStore, unknown>) =>
  Effect.gen(function*() {
    const spans: Array<Recorded> = []
    const stores = yield* Layer.build(layer)
    yield* EventStore.append(`thing-${crypto.randomUUID()}`, [event()], ExpectedVersion.NoStream).pipe(
      Effect.withSpan("command"),
      Effect.withTracer(recordingTracer(spans)),
      Effect.provide(stores)
    )
    return spans
  })

describe("append spans on Postgres", () => {
  it.scoped("through @effect/sql the statement's span nests under EventStore.append", () =>
    Effect.gen(function*() {
      const spans = yield* appendTraced(storesLayer(undefined, { withoutPool: true }))
      expect(spans.find((span) => span.name === "EventStore.append")?.parent).toBe("command")
      expect(spans.filter((span) => span.name === "sql.execute").map((span) => span.parent)).toEqual(["EventStore.append"])
    }))

  it.scoped("on the PgPool the append makes no statement span, only its own", () =>
    Effect.gen(function*() {
      const spans = yield* appendTraced(storesLayer())
      expect(spans.map((span) => [span.name, span.parent])).toEqual([["command", undefined], ["EventStore.append", "command"]])
    }))
})

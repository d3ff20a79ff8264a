/**
 * Data PostgreSQL refuses is the caller's input, not an outage: an append whose statement fails
 * with SQLSTATE class 22 (data exception) or 54 (program limit exceeded) is `InvalidEvent`,
 * saying what PostgreSQL said, on the pool path, through `@effect/sql`, and inside the inline
 * projections' transaction. The backend is driven directly with serialized events that the
 * `EventStore` in front of it would refuse itself, so that PostgreSQL is the one refusing.
 * And the payload limits are options of the PostgreSQL store too.
 */
import { describe, expect, layer } from "@effect/vitest"
import type { StreamId } from "@facta/core"
import { EventCatalog, EventStore, ExpectedVersion, Projection } from "@facta/core"
import { PgEventStore, PgStore } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { dropSchemaOnRelease } from "./rawPostgres.js"
import { clientLayer, plainClientLayer } from "./support.js"

const Noted = Schema.TaggedStruct("Noted", { text: Schema.String })
const catalog = EventCatalog.make([Noted])

/** An inline projection that writes nothing: its presence runs the append in a transaction. */
const Quiet = Projection.make({ name: "quiet", catalog, handle: () => Effect.void })

const serialized = (overrides: Partial<EventStore.SerializedEvent> = {}): EventStore.SerializedEvent => ({
  eventId: crypto.randomUUID(),
  type: "Noted",
  schemaVersion: 1,
  data: JSON.stringify({ text: "fine" }),
  metadata: "{}",
  ...overrides
})

// 200,000 levels of arrays: PostgreSQL's JSON parser runs out of stack (54001) long before.
const tooDeepForPostgres = "[".repeat(200_000) + "]".repeat(200_000)

const refusedCases = [
  {
    label: "a schema version beyond integer (22003)",
    event: () => serialized({ schemaVersion: 2 ** 31 }),
    sqlState: "22003"
  },
  {
    label: "JSON nested beyond PostgreSQL's stack (54001)",
    event: () => serialized({ data: tooDeepForPostgres }),
    sqlState: "54001"
  }
] as const

/** The backend under test, built once per path. */
class RawBackend extends Context.Tag("test/RawBackend")<RawBackend, EventStore.Backend>() {}

const paths = [
  { name: "on the pool", client: () => clientLayer(4), inline: false },
  { name: "through @effect/sql", client: () => plainClientLayer(4), inline: false },
  { name: "with inline projections (in a transaction)", client: () => clientLayer(4), inline: true }
] as const

for (const path of paths) {
  const schema = uniqueSchemaName()
  const backend = Layer.scoped(
    RawBackend,
    PgEventStore.makeBackend({ schema, ...(path.inline ? { inline: [Quiet] } : {}) })
  )
  const store = Layer.effect(EventStore.EventStore, Effect.map(RawBackend, (raw) => EventStore.make(raw)))
  const layers = Layer.mergeAll(Layer.provideMerge(store, backend), dropSchemaOnRelease(schema)).pipe(
    Layer.provideMerge(path.client())
  )
  layer(layers, { excludeTestServices: true })(`append data PostgreSQL refuses, ${path.name}`, (it) => {
    const appendRaw = (streamId: string, events: ReadonlyArray<EventStore.SerializedEvent>) =>
      Effect.flatMap(
        RawBackend,
        (raw) =>
          Effect.useSpan("test append", (span) =>
            raw.append(streamId as StreamId.StreamId, events, ExpectedVersion.Any, span))
      )

    for (const refused of refusedCases) {
      it.effect(`${refused.label} is InvalidEvent naming the SQLSTATE, and writes nothing`, () =>
        Effect.gen(function*() {
          const streamId = `note-${crypto.randomUUID()}`
          const error = yield* Effect.flip(appendRaw(streamId, [refused.event()]))
          expect(error._tag).toBe("InvalidEvent")
          if (error._tag !== "InvalidEvent") return
          expect(error.index).toBe(0)
          expect(error.reason).toContain(`PostgreSQL refused its data (SQLSTATE ${refused.sqlState}: `)
          expect(error.message).toContain(error.reason)
          expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.none())
        }))
    }

    it.effect("in an append of several events, index -1: PostgreSQL does not say which", () =>
      Effect.gen(function*() {
        const streamId = `note-${crypto.randomUUID()}`
        yield* appendRaw(streamId, [serialized()])
        const error = yield* Effect.flip(appendRaw(streamId, [serialized(), serialized({ schemaVersion: 2 ** 31 })]))
        expect(error._tag).toBe("InvalidEvent")
        if (error._tag !== "InvalidEvent") return
        expect(error.index).toBe(-1)
        expect(error.reason).toContain("without saying which of the append's 2 events")
        expect(error.message).toMatch(/^An event of the append to stream/)
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(1))
      }))
  })
}

describe("payload limits as options of the PostgreSQL store", () => {
  const schema = uniqueSchemaName()
  layer(
    Layer.mergeAll(PgStore.layer({ schema, maxPayloadBytes: 64, maxDepth: 3 }), dropSchemaOnRelease(schema)).pipe(
      Layer.provideMerge(clientLayer(4))
    ),
    { excludeTestServices: true }
  )("a store with maxPayloadBytes 64 and maxDepth 3", (it) => {
    const append = (data: unknown) =>
      EventStore.append(`note-${crypto.randomUUID()}`, [{
        eventId: crypto.randomUUID(),
        type: "Noted",
        schemaVersion: 1,
        data,
        metadata: {}
      }], ExpectedVersion.NoStream)

    it.effect("takes what is within them and refuses what is not, naming the limit", () =>
      Effect.gen(function*() {
        yield* append({ a: { b: { c: "x".repeat(40) } } })
        const tooDeep = yield* Effect.flip(append({ a: { b: { c: {} } } }))
        expect(tooDeep._tag).toBe("InvalidEvent")
        expect(tooDeep._tag === "InvalidEvent" && tooDeep.reason).toContain("nested more than 3 levels deep")
        const tooLarge = yield* Effect.flip(append({ text: "x".repeat(60) }))
        expect(tooLarge._tag === "InvalidEvent" && tooLarge.reason).toContain(
          "over the limit of 64 (the maxPayloadBytes option)"
        )
      }))
  })
})

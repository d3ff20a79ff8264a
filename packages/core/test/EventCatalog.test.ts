import { describe, expect, it } from "@effect/vitest"
import { EventCatalog, EventStore, ExpectedVersion } from "@facta/core"
import { Effect, Either, FastCheck, Schema, Stream } from "effect"
import { CounterEvents, Incremented, IncrementedV1, IncrementedV2, newStreamId } from "./fixtures/Counter.js"

const recorded = (type: string, schemaVersion: number, data: unknown) => ({
  eventId: crypto.randomUUID(),
  streamId: "counter-1" as never,
  streamVersion: 7,
  globalPosition: 42n,
  transactionId: 9n,
  type,
  schemaVersion,
  data,
  metadata: {},
  recordedAt: new Date(0)
})

describe("EventCatalog", () => {
  const decode = EventCatalog.decode(CounterEvents)

  it("decodes every stored schema version into the current type", () => {
    expect(Either.getOrThrow(decode(recorded("Incremented", 1, { step: 3 }))).data)
      .toEqual({ _tag: "Incremented", by: 3, note: "upcast from v2" })
    expect(Either.getOrThrow(decode(recorded("Incremented", 2, { by: 4 }))).data)
      .toEqual({ _tag: "Incremented", by: 4, note: "upcast from v2" })
    expect(Either.getOrThrow(decode(recorded("Incremented", 3, { by: 5, note: "n" }))).data)
      .toEqual({ _tag: "Incremented", by: 5, note: "n" })
  })

  it("decodes old versions through the compiled chain exactly as through the schema transforms", () => {
    const history = EventCatalog.history(IncrementedV1)
      .upcast(IncrementedV2, (v1) => ({ _tag: "Incremented" as const, by: v1.step }))
      .upcast(Incremented, (v2) => ({ _tag: "Incremented" as const, by: v2.by, note: "upcast from v2" }))
    const bySchema = Schema.decodeUnknownEither(history.versions[0])
    FastCheck.assert(
      FastCheck.property(
        FastCheck.oneof(FastCheck.record({ step: FastCheck.double() }), FastCheck.jsonValue()),
        (payload) => {
          const viaCatalog = decode(recorded("Incremented", 1, payload))
          const viaSchema: Either.Either<unknown, unknown> =
            typeof payload === "object" && payload !== null && !Array.isArray(payload)
              ? bySchema({ ...payload, _tag: "Incremented" })
              : Either.left("not an object")
          expect(Either.isRight(viaCatalog)).toBe(Either.isRight(viaSchema))
          if (Either.isRight(viaCatalog) && Either.isRight(viaSchema)) {
            expect(viaCatalog.right.data).toEqual(
              viaSchema.right
            )
          }
        }
      ),
      { numRuns: 1_000 }
    )
  })

  it("turns an upcaster that throws into an EventDecodeError", () => {
    const Broken = EventCatalog.make([
      EventCatalog.history(IncrementedV1).upcast(Incremented, (): { _tag: "Incremented"; by: number; note: string } => {
        throw new Error("no idea what v1 meant")
      })
    ])
    const error = Either.getOrThrow(Either.flip(EventCatalog.decode(Broken)(recorded("Incremented", 1, { step: 1 }))))
    expect(error._tag).toBe("EventDecodeError")
    expect(error.message).toContain("no idea what v1 meant")
  })

  it("reads a renamed type as its new name", () => {
    const event = Either.getOrThrow(decode(recorded("CounterBumped", 3, { by: 1, note: "" })))
    expect(event.data._tag).toBe("Incremented")
    expect(event.type).toBe("CounterBumped")
  })

  it("gives EventDecodeError naming stream, version, position and type with a readable issue", () => {
    const error = Either.getOrThrow(Either.flip(decode(recorded("Incremented", 3, { by: "three", note: "" }))))
    expect(error._tag).toBe("EventDecodeError")
    if (error._tag !== "EventDecodeError") return
    expect(error).toMatchObject({
      streamId: "counter-1",
      streamVersion: 7,
      globalPosition: 42n,
      type: "Incremented",
      schemaVersion: 3
    })
    expect(error.issue).toContain("by")
    expect(error.message).toContain("counter-1")
    expect(error.message).toContain("global position 42")
  })

  it("rejects schema versions it does not know, and non-object payloads", () => {
    const newer = Either.getOrThrow(Either.flip(decode(recorded("Incremented", 4, { by: 1, note: "" }))))
    expect(newer._tag).toBe("EventDecodeError")
    expect(newer.message).toContain("versions 1 to 3")
    const scalar = Either.getOrThrow(Either.flip(decode(recorded("Reset", 1, 17))))
    expect(scalar._tag).toBe("EventDecodeError")
  })

  it("gives UnknownEventType listing the known types", () => {
    const error = Either.getOrThrow(Either.flip(decode(recorded("Exploded", 1, {}))))
    expect(error._tag).toBe("UnknownEventType")
    expect(error.message).toContain("Incremented")
  })

  it("encodes with the current schema version, without the _tag in the payload", () => {
    const encoded = Either.getOrThrow(EventCatalog.encode(CounterEvents)({ _tag: "Incremented", by: 2, note: "x" }))
    expect(encoded).toEqual({ type: "Incremented", data: { by: 2, note: "x" }, schemaVersion: 3 })
    expect(Either.getOrThrow(EventCatalog.encode(CounterEvents)({ _tag: "Reset" })).schemaVersion).toBe(1)
  })

  it("gives EventEncodeError for an event that breaks its schema", () => {
    const error = Either.getOrThrow(
      Either.flip(EventCatalog.encode(CounterEvents)({ _tag: "Incremented", by: 1.5, note: "" }))
    )
    expect(error._tag).toBe("EventEncodeError")
    expect(error.message).toContain("Incremented")
  })

  it("refuses catalogs with duplicate types, untagged schemas or dangling renames", () => {
    expect(() => EventCatalog.make([Incremented, Incremented])).toThrow(/listed twice/)
    expect(() => EventCatalog.make([Schema.Struct({ a: Schema.String })])).toThrow(/_tag/)
    expect(() => EventCatalog.make([Incremented], { renames: { Old: "Missing" } })).toThrow(/points to no event type/)
  })

  it("accepts TaggedClass events", () => {
    class Shipped extends Schema.TaggedClass<Shipped>()("Shipped", { at: Schema.Number }) {}
    const catalog = EventCatalog.make([Shipped])
    const decoded = Either.getOrThrow(EventCatalog.decode(catalog)(recorded("Shipped", 1, { at: 5 })))
    expect(decoded.data).toBeInstanceOf(Shipped)
    expect(Either.getOrThrow(EventCatalog.encode(catalog)(new Shipped({ at: 5 }))).data).toEqual({ at: 5 })
  })

  it("produces a JSON Schema of the current events", () => {
    const schema = EventCatalog.jsonSchema(CounterEvents)
    expect(JSON.stringify(schema)).toContain("Incremented")
  })

  it.effect("reads a stream through the catalog, upcasting old events and leaving them stored as they were", () =>
    Effect.gen(function*() {
      const streamId = newStreamId()
      const raw = [
        { type: "Incremented", schemaVersion: 1, data: { step: 1 } },
        { type: "CounterBumped", schemaVersion: 3, data: { by: 2, note: "renamed" } },
        { type: "Incremented", schemaVersion: 3, data: { by: 3, note: "now" } }
      ]
      yield* EventStore.append(
        streamId,
        raw.map((e) => ({ ...e, eventId: crypto.randomUUID(), metadata: {} })),
        ExpectedVersion.NoStream
      )
      const events = yield* Stream.runCollect(EventCatalog.readStream(CounterEvents, streamId))
      expect(Array.from(events, (e) => e.data)).toEqual([
        { _tag: "Incremented", by: 1, note: "upcast from v2" },
        { _tag: "Incremented", by: 2, note: "renamed" },
        { _tag: "Incremented", by: 3, note: "now" }
      ])
      const stored = yield* Stream.runCollect(EventStore.readStream(streamId))
      expect(Array.from(stored, (e) => ({ type: e.type, schemaVersion: e.schemaVersion, data: e.data }))).toEqual(raw)
    }).pipe(Effect.provide(EventStore.layerMemory)))
})

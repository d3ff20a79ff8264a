/**
 * Payloads are stored as exactly the JSON they were given, or refused: the exact-JSON check
 * itself, the catalog refusing to encode a value JSON would change (a NaN in a `Schema.Number`
 * field must not become a stored event that never decodes), the decoders keeping `"__proto__"`
 * keys from becoming prototypes, names from data looked up as own keys only, and the payload
 * limits as options of the in-memory store. The store contract itself is in the conformance
 * suite (payloads.ts), run against every store.
 */
import { describe, expect, it } from "@effect/vitest"
import type { RecordedEvent, StreamId } from "@facta/core"
import { EventCatalog, EventStore, ExpectedVersion } from "@facta/core"
import { Effect, Either, FastCheck, Schema } from "effect"
import { formatPath, Inexact, inexactness, prototypeKeyPath, toExactJson } from "../src/internal/exactJson.js"
import { invalid } from "../src/internal/fastDecode.js"
import { payloadDecoder } from "../src/internal/payloadDecoder.js"

const limits = { maxBytes: EventStore.defaultMaxPayloadBytes, maxDepth: EventStore.defaultMaxDepth }

const reasonOf = (value: unknown, maxBytes = limits.maxBytes, maxDepth = limits.maxDepth): string | undefined => {
  const json = toExactJson(value, "data", { maxBytes, maxDepth })
  return json instanceof Inexact ? json.reason : undefined
}

describe("exact JSON", () => {
  it("writes what JSON carries exactly as JSON.stringify does", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.jsonValue(), (value) => {
        const json = toExactJson(value, "data", limits)
        // jsonValue can hold -0 (which JSON writes as 0) and "__proto__" keys: refused, nothing else.
        if (json instanceof Inexact) {
          expect(json.reason).toMatch(/is -0|"__proto__" key/)
        } else {
          expect(json).toBe(JSON.stringify(value))
        }
      }),
      { numRuns: 500 }
    )
  })

  it("names paths as JavaScript would write them", () => {
    expect(formatPath("data", ["readings", 3])).toBe("data.readings[3]")
    expect(formatPath("metadata", ["two words", "$ok", "_x1", "1a"])).toBe(`metadata["two words"].$ok._x1["1a"]`)
    expect(formatPath("data", [])).toBe("data")
  })

  it("accepts null-prototype objects and arrays (JSON reads them back as ordinary ones)", () => {
    const bare = Object.assign(Object.create(null), { a: [1] })
    const array = Object.setPrototypeOf([1, 2], null)
    expect(toExactJson({ bare, array }, "data", limits)).toBe(`{"bare":{"a":[1]},"array":[1,2]}`)
  })

  it("refuses objects whose prototype is neither Object.prototype nor null", () => {
    expect(reasonOf({ a: Object.create({ hidden: 1 }) })).toMatch(/^data\.a has a plain object as its prototype/)
    expect(reasonOf({ n: new Number(1) })).toBe("data.n is an instance of Number, not a plain object or array")
    class Readings extends Array<number> {}
    expect(reasonOf({ r: Readings.from([1]) })).toMatch(/^data\.r is an instance of Readings/)
  })

  it("counts the size limit in UTF-8 bytes", () => {
    // "😀" is two UTF-16 units and four UTF-8 bytes; "é" one unit and two bytes.
    expect(reasonOf("😀".repeat(4), 18)).toBeUndefined()
    expect(reasonOf("😀".repeat(4), 17)).toBe(
      "data takes 18 bytes as JSON, over the limit of 17 (the maxPayloadBytes option)"
    )
    expect(reasonOf("é".repeat(5), 12)).toBeUndefined()
    expect(reasonOf("é".repeat(5), 11)).toMatch(/^data takes 12 bytes/)
    expect(reasonOf("x".repeat(20), 10)).toMatch(/^data takes at least 22 bytes/)
  })

  it("names the depth of a deep payload, and a cycle as a cycle, whatever the depth limit", () => {
    let deep: unknown = 1
    for (let level = 0; level < 10_000; level++) deep = [deep]
    expect(reasonOf(deep)).toMatch(
      /^data is nested more than 64 levels deep in objects and arrays \(the maxDepth option\), at data\[0\]\[0\]/
    )
    const loop: Record<string, unknown> = {}
    loop.next = { back: loop }
    expect(reasonOf({ loop }, limits.maxBytes, 1_000)).toBe("data.loop.next.back is a cycle: it is data.loop again")
    // A limit beyond the ceiling is the ceiling: the walk never recurses without bound.
    expect(inexactness(deep, "data", Number.MAX_SAFE_INTEGER)).toMatch(/nested more than 1000 levels/)
  })

  it("finds own \"__proto__\" keys anywhere in plain objects and arrays", () => {
    expect(prototypeKeyPath(JSON.parse(`{"a": [{"__proto__": 1}]}`), "data")).toBe("data.a[0].__proto__")
    expect(prototypeKeyPath({ a: [{ b: 1 }] }, "data")).toBeUndefined()
  })
})

const Measured = Schema.TaggedStruct("Measured", {
  readings: Schema.Array(Schema.Number),
  extra: Schema.optional(Schema.Unknown)
})
const Balances = Schema.TaggedStruct("Balances", {
  balances: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})
/** Decoded by the compiled fast path (strings, numbers, booleans, literals and structs only). */
const Plain = Schema.TaggedStruct("Plain", { n: Schema.Number })

describe("EventCatalog encoding", () => {
  const catalog = EventCatalog.make([Measured, Balances])
  const encode = EventCatalog.encode(catalog)

  it("refuses a NaN in a Schema.Number field with EventEncodeError naming its path", () => {
    const encoded = encode({ _tag: "Measured", readings: [1, Number.NaN] })
    expect(Either.isLeft(encoded) && encoded.left.issue).toBe("data.readings[1] is NaN, which JSON cannot carry")
    expect(Either.isLeft(encoded) && encoded.left.message).toContain("data.readings[1] is NaN")
  })

  it("refuses -0, ±Infinity, and values JSON would change in unknown fields", () => {
    const issue = (event: typeof catalog.schema.Type) =>
      Either.match(encode(event), { onLeft: (e) => e.issue, onRight: () => "" })
    expect(issue({ _tag: "Measured", readings: [Math.round(-0.4)] })).toMatch(/^data\.readings\[0\] is -0/)
    expect(issue({ _tag: "Measured", readings: [Number.POSITIVE_INFINITY] })).toMatch(
      /^data\.readings\[0\] is Infinity/
    )
    expect(issue({ _tag: "Measured", readings: [], extra: { at: new Date(0) } })).toMatch(/^data\.extra\.at is a Date/)
    expect(issue({ _tag: "Measured", readings: [], extra: { n: undefined } })).toMatch(/^data\.extra\.n is undefined/)
  })

  it.effect("toNewEvent fails, so the poison event is never appended", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(EventCatalog.toNewEvent(catalog)({ _tag: "Measured", readings: [Number.NaN] }))
      expect(error._tag).toBe("EventEncodeError")
      expect(error.issue).toContain("data.readings[0] is NaN")
    }))

  it("encodes plain values as before", () => {
    expect(encode({ _tag: "Measured", readings: [0, 1.5] })).toEqual(
      Either.right({ type: "Measured", data: { readings: [0, 1.5] }, schemaVersion: 1 })
    )
  })
})

const recorded = (type: string, data: unknown): RecordedEvent.RecordedEvent => ({
  eventId: crypto.randomUUID(),
  streamId: "thing-1" as StreamId.StreamId,
  streamVersion: 1,
  globalPosition: 1n,
  transactionId: 1n,
  type,
  schemaVersion: 1,
  data,
  metadata: {},
  recordedAt: new Date()
})

describe("decoding stored payloads with \"__proto__\" keys (as older releases could store them)", () => {
  const catalog = EventCatalog.make([Measured, Balances, Plain])
  const decode = EventCatalog.decodeDataOrError(catalog)

  it("a \"__proto__\" key in a record never becomes a prototype: the event does not decode, naming the key", () => {
    const payload = JSON.parse(`{"balances": {"eur": 1, "__proto__": {"admin": true}}}`)
    const decoded = decode(recorded("Balances", payload))
    expect(decoded).toBeInstanceOf(EventCatalog.EventDecodeError)
    expect((decoded as EventCatalog.EventDecodeError).issue).toContain(`"__proto__" key at data.balances.__proto__`)
    expect(payloadDecoder(catalog)("Balances", 1, payload)).toBe(invalid)
  })

  it("a top-level \"__proto__\" key is not dropped into the prototype of what Schema decodes", () => {
    const payload = JSON.parse(`{"balances": {"eur": 1}, "__proto__": {"admin": true}}`)
    const decoded = decode(recorded("Balances", payload))
    expect(decoded).toBeInstanceOf(EventCatalog.EventDecodeError)
    expect((decoded as EventCatalog.EventDecodeError).issue).toContain("at data.__proto__")
  })

  it("a fast-path struct ignores the key as Schema ignores any other excess key", () => {
    const value = decode(recorded("Plain", JSON.parse(`{"n": 1, "__proto__": {"admin": true}}`)))
    expect(value).toEqual({ _tag: "Plain", n: 1 })
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect((value as { admin?: boolean }).admin).toBeUndefined()
  })
})

describe("names from data are own keys only", () => {
  const Current = Schema.TaggedStruct("Current", { n: Schema.Number })
  const Constructor = Schema.TaggedStruct("constructor", { n: Schema.Number })
  const renames: Record<string, string> = {}
  for (const name of ["__proto__", "toString"]) {
    Object.defineProperty(renames, name, { value: "Current", enumerable: true })
  }
  const catalog = EventCatalog.make([Current, Constructor], { renames })

  it("decodeDataOrError and the fold's decoder resolve defined, renamed and unknown names alike", () => {
    const decode = EventCatalog.decodeDataOrError(catalog)
    const fold = payloadDecoder(catalog)
    expect(decode(recorded("constructor", { n: 1 }))).toEqual({ _tag: "constructor", n: 1 })
    expect(fold("constructor", 1, { n: 1 })).toEqual({ _tag: "constructor", n: 1 })
    for (const renamed of ["__proto__", "toString"]) {
      expect(decode(recorded(renamed, { n: 2 }))).toEqual({ _tag: "Current", n: 2 })
      expect(fold(renamed, 1, { n: 2 })).toEqual({ _tag: "Current", n: 2 })
    }
    for (const unknown of ["hasOwnProperty", "valueOf"]) {
      expect(decode(recorded(unknown, { n: 3 }))).toBeInstanceOf(EventCatalog.UnknownEventType)
      expect(fold(unknown, 1, { n: 3 })).toBe(invalid)
    }
  })
})

describe("payload limits of the in-memory store", () => {
  const append = (data: unknown, metadata: RecordedEvent.EventMetadata = {}) =>
    Effect.flatMap(EventStore.EventStore, (store) =>
      store.append(`note-${crypto.randomUUID()}`, [{
        eventId: crypto.randomUUID(),
        type: "Noted",
        schemaVersion: 1,
        data,
        metadata
      }], ExpectedVersion.NoStream))

  it.effect("maxPayloadBytes and maxDepth are options of layerMemoryWith", () =>
    Effect.gen(function*() {
      yield* append({ a: { b: { c: "x".repeat(40) } } })
      const tooDeep = yield* Effect.flip(append({ a: { b: { c: {} } } }))
      expect(tooDeep._tag === "InvalidEvent" && tooDeep.reason).toContain("nested more than 3 levels deep")
      const tooLarge = yield* Effect.flip(append({ text: "x".repeat(60) }))
      expect(tooLarge._tag === "InvalidEvent" && tooLarge.reason).toContain(
        "over the limit of 64 (the maxPayloadBytes option)"
      )
      const metadata = yield* Effect.flip(append({}, { note: "x".repeat(60) }))
      expect(metadata._tag === "InvalidEvent" && metadata.reason).toMatch(/^metadata takes/)
    }).pipe(Effect.provide(EventStore.layerMemoryWith({ maxPayloadBytes: 64, maxDepth: 3 }))))

  it.effect("a limit out of range is brought into it: at least 1, a depth of at most 1,000", () =>
    Effect.gen(function*() {
      let deep: unknown = 1
      for (let level = 0; level < 1_001; level++) deep = [deep]
      const error = yield* Effect.flip(append(deep))
      expect(error._tag === "InvalidEvent" && error.reason).toContain("nested more than 1000 levels deep")
    }).pipe(Effect.provide(EventStore.layerMemoryWith({ maxDepth: 5_000 }))))
})

/**
 * The compiled decoder is a fast path of Schema's: on every input it must give exactly what
 * `Schema.decodeUnknownEither` gives (the value, or "invalid" where Schema fails). Both back-ends
 * are checked: generated code, and the closures used where code generation is not allowed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import { compile, compileWithClosures, invalid } from "../src/internal/fastDecode.js"

const Tagged = Schema.TaggedStruct("Deposited", {
  amountCents: Schema.Int.pipe(Schema.positive()),
  currency: Schema.Literal("EUR", "USD"),
  note: Schema.NonEmptyTrimmedString,
  flag: Schema.Boolean
})

const schemas: Record<string, Schema.Schema.AnyNoContext> = {
  tagged: Tagged,
  nested: Schema.Struct({
    owner: Schema.Struct({ name: Schema.String, age: Schema.Number.pipe(Schema.between(0, 150)) }),
    kind: Schema.Literal("a")
  }),
  literals: Schema.Struct({ choice: Schema.Literal("a", 1, true, null), exactly: Schema.Literal(0) }),
  // Schema passes an empty struct's input through as it is.
  emptyNested: Schema.Struct({ meta: Schema.Struct({}), n: Schema.Number }),
  refinedStruct: Schema.Struct({ from: Schema.Number, to: Schema.Number }).pipe(
    Schema.filter((range) => range.from <= range.to)
  ),
  // Names are embedded in generated code: quotes, escapes, line separators, indices, and
  // names that objects inherit must all read as Schema reads them.
  oddKeys: Schema.Struct({
    "we\"ird\\key\u2028": Schema.String,
    "0": Schema.Number,
    constructor: Schema.String,
    toString: Schema.Boolean
  })
}

const backends = { generated: compile, closures: compileWithClosures }

/** Valid values, near misses built from them, and arbitrary JSON. */
const inputs = (schema: Schema.Schema.AnyNoContext) =>
  FastCheck.oneof(
    Arbitrary.make(Schema.encodedSchema(schema)),
    Arbitrary.make(Schema.encodedSchema(schema)).chain((valid) =>
      FastCheck.record({
        key: FastCheck.constantFrom(...Object.keys(valid), "_tag"),
        value: FastCheck.oneof(FastCheck.jsonValue(), FastCheck.constant([]), FastCheck.constant({}))
      }).map((patch) => ({ ...valid, [patch.key]: patch.value }))
    ),
    FastCheck.jsonValue(),
    FastCheck.object()
  )

describe("compiled decoders", () => {
  for (const [backend, compileWith] of Object.entries(backends)) {
    for (const [name, schema] of Object.entries(schemas)) {
      it(`agree with Schema on ${name} (${backend})`, () => {
        const fast = compileWith(schema.ast)
        expect(fast).toBeDefined()
        const slow = Schema.decodeUnknownEither(schema)
        FastCheck.assert(
          FastCheck.property(inputs(schema), (input) => {
            const expected = slow(input)
            const actual = fast!(input)
            if (Either.isLeft(expected)) expect(actual).toBe(invalid)
            else expect(actual).toEqual(expected.right)
          }),
          { numRuns: 2_000 }
        )
      })
    }

    it(`decode a payload stored without its tag as Schema decodes it with the tag assigned (${backend})`, () => {
      const fast = compileWith(Tagged.ast, { name: "_tag", value: "Deposited" })!
      const slow = Schema.decodeUnknownEither(Tagged)
      const { _tag, ...fields } = Tagged.fields
      const payloads = FastCheck.tuple(
        Arbitrary.make(Schema.encodedSchema(Schema.Struct(fields))),
        // A stored payload should not carry a tag, but if it does, Object.assign lets it win.
        FastCheck.option(
          FastCheck.oneof(FastCheck.constant("Deposited"), FastCheck.constant("Withdrawn"), FastCheck.jsonValue())
        )
      ).map(([valid, tag]) => (tag === null ? valid : { ...valid, _tag: tag }))
      FastCheck.assert(
        FastCheck.property(payloads, (payload) => {
          const expected = slow(Object.assign({ _tag: "Deposited" }, payload))
          const actual = fast(payload)
          if (Either.isLeft(expected)) expect(actual).toBe(invalid)
          else expect(actual).toEqual(expected.right)
        }),
        { numRuns: 2_000 }
      )
    })

    it(`inject the tag that payloads are stored without (${backend})`, () => {
      const fast = compileWith(schemas.tagged.ast, { name: "_tag", value: "Deposited" })!
      const input = { amountCents: 5, currency: "EUR", note: "hi", flag: true, extra: 1 }
      expect(fast(input)).toEqual({ _tag: "Deposited", amountCents: 5, currency: "EUR", note: "hi", flag: true })
      expect(Object.keys(fast(input) as object)).toEqual(["_tag", "amountCents", "currency", "note", "flag"])
      expect(fast({ ...input, amountCents: 0 })).toBe(invalid)
      expect(fast({ ...input, _tag: "Withdrawn" })).toBe(invalid)
    })
  }

  it("generate code where the runtime allows it", () => {
    expect(String(compile(schemas.tagged.ast))).toContain(`"amountCents"`)
  })

  it("decline schemas with transformations, optional keys, classes, index signatures or a __proto__ key", () => {
    class Shipped extends Schema.Class<Shipped>("Shipped")({ at: Schema.Number }) {}
    for (
      const schema of [
        Schema.Struct({ at: Schema.NumberFromString }),
        Schema.Struct({ at: Schema.optional(Schema.Number) }),
        Shipped,
        Schema.Record({ key: Schema.String, value: Schema.Number }),
        Schema.Struct({ at: Schema.Date }),
        Schema.Struct({ ["__proto__"]: Schema.String })
      ]
    ) {
      expect(compile(schema.ast)).toBeUndefined()
      expect(compileWithClosures(schema.ast)).toBeUndefined()
    }
  })
})

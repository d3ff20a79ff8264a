/**
 * The compiled decoder is a fast path of Schema's: on every input it must give exactly what
 * `Schema.decodeUnknownEither` gives (the value, or "invalid" where Schema fails).
 */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import { compile, invalid } from "../src/internal/fastDecode.js"

const schemas: Record<string, Schema.Schema<any, any, never>> = {
  tagged: Schema.TaggedStruct("Deposited", {
    amountCents: Schema.Int.pipe(Schema.positive()),
    currency: Schema.Literal("EUR", "USD"),
    note: Schema.NonEmptyTrimmedString,
    flag: Schema.Boolean
  }),
  nested: Schema.Struct({
    owner: Schema.Struct({ name: Schema.String, age: Schema.Number.pipe(Schema.between(0, 150)) }),
    kind: Schema.Literal("a")
  })
}

/** Valid values, near misses built from them, and arbitrary JSON. */
const inputs = (schema: Schema.Schema<any, any, never>) =>
  FastCheck.oneof(
    Arbitrary.make(Schema.encodedSchema(schema)),
    Arbitrary.make(Schema.encodedSchema(schema)).chain((valid) =>
      FastCheck.record({ key: FastCheck.constantFrom(...Object.keys(valid)), value: FastCheck.jsonValue() }).map((
        patch
      ) => ({ ...valid, [patch.key]: patch.value }))
    ),
    FastCheck.jsonValue(),
    FastCheck.object()
  )

describe("compiled decoders", () => {
  for (const [name, schema] of Object.entries(schemas)) {
    it(`agree with Schema on ${name}`, () => {
      const fast = compile(schema.ast)
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

  it("inject the tag that payloads are stored without", () => {
    const fast = compile(schemas.tagged.ast, { name: "_tag", value: "Deposited" })!
    const input = { amountCents: 5, currency: "EUR", note: "hi", flag: true, extra: 1 }
    expect(fast(input)).toEqual({ _tag: "Deposited", amountCents: 5, currency: "EUR", note: "hi", flag: true })
    expect(fast({ ...input, amountCents: 0 })).toBe(invalid)
  })

  it("decline schemas with transformations, optional keys, classes or index signatures", () => {
    class Shipped extends Schema.Class<Shipped>("Shipped")({ at: Schema.Number }) {}
    for (const schema of [
      Schema.Struct({ at: Schema.NumberFromString }),
      Schema.Struct({ at: Schema.optional(Schema.Number) }),
      Shipped,
      Schema.Record({ key: Schema.String, value: Schema.Number }),
      Schema.Struct({ at: Schema.Date })
    ]) {
      expect(compile(schema.ast)).toBeUndefined()
    }
  })
})

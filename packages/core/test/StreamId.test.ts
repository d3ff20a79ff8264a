import { describe, expect, it } from "@effect/vitest"
import { StreamId } from "@facta/core"
import { Effect, Either } from "effect"

describe("StreamId", () => {
  it("accepts category-id names, unicode, quotes and 512 characters", () => {
    for (const id of ["bank_account-42", "order-ü-€-😀", `quote'"; DROP TABLE events;--`, "x".repeat(512)]) {
      expect(Either.getOrThrow(StreamId.either(id))).toBe(id)
    }
  })

  it.effect("rejects empty, control characters and over-long ids with InvalidStreamId", () =>
    Effect.gen(function*() {
      for (
        const [id, reason] of [
          ["", "must not be empty"],
          ["a\u0000b", "U+0000"],
          ["line\nbreak", "U+000a"],
          ["x".repeat(513), "at most 512"]
        ] as const
      ) {
        const error = yield* Effect.flip(StreamId.make(id))
        expect(error._tag).toBe("InvalidStreamId")
        expect(error.message).toContain(reason)
      }
    }))

  it("derives the category from the text before the first dash", () => {
    expect(StreamId.category("bank_account-42-x")).toBe("bank_account")
    expect(StreamId.category("nodash")).toBe("nodash")
  })

  it.effect("builds ids from a category and rejects categories with a dash", () =>
    Effect.gen(function*() {
      expect(yield* StreamId.fromCategory("order", "7")).toBe("order-7")
      const error = yield* Effect.flip(StreamId.fromCategory("bad-category", "7"))
      expect(error._tag).toBe("InvalidStreamId")
    }))
})

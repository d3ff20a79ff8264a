import { describe, expect } from "@effect/vitest"
import { EventStore, ExpectedVersion } from "@facta/core"
import { Effect, Option } from "effect"
import type { Suite } from "./fixtures.js"
import { expectFailure, newEvents, readStream, seed, uniqueStream, versionsOf } from "./fixtures.js"

const n = 2

interface Row {
  readonly expectation: string
  readonly expected: ExpectedVersion.ExpectedVersion
  /** The stream's version before the append (0 = absent). */
  readonly start: number
  readonly accepted: boolean
}

const stateOf = (start: number) => (start === 0 ? "an absent stream" : `a stream at version ${start}`)

// Written out rather than derived, so the table is the specification.
const matrix: ReadonlyArray<Row> = [
  { expectation: "Any", expected: ExpectedVersion.Any, start: 0, accepted: true },
  { expectation: "Any", expected: ExpectedVersion.Any, start: n, accepted: true },
  { expectation: "Any", expected: ExpectedVersion.Any, start: n + 1, accepted: true },
  { expectation: "NoStream", expected: ExpectedVersion.NoStream, start: 0, accepted: true },
  { expectation: "NoStream", expected: ExpectedVersion.NoStream, start: n, accepted: false },
  { expectation: "NoStream", expected: ExpectedVersion.NoStream, start: n + 1, accepted: false },
  { expectation: "StreamExists", expected: ExpectedVersion.StreamExists, start: 0, accepted: false },
  { expectation: "StreamExists", expected: ExpectedVersion.StreamExists, start: n, accepted: true },
  { expectation: "StreamExists", expected: ExpectedVersion.StreamExists, start: n + 1, accepted: true },
  { expectation: `Exact(${n})`, expected: ExpectedVersion.Exact(n), start: 0, accepted: false },
  { expectation: `Exact(${n})`, expected: ExpectedVersion.Exact(n), start: n, accepted: true },
  { expectation: `Exact(${n})`, expected: ExpectedVersion.Exact(n), start: n + 1, accepted: false }
]

export const expectedVersionCases = ({ test }: Suite) =>
  describe("expected version", () => {
    for (const { accepted, expectation, expected, start } of matrix) {
      const outcome = accepted
        ? `appends (next expected version ${start + 1})`
        : `fails with ConcurrencyConflict (actual ${start})`
      test(`${expectation} on ${stateOf(start)} ${outcome}`, () =>
        Effect.gen(function*() {
          const streamId = uniqueStream()
          yield* seed(streamId, start)
          const append = EventStore.append(streamId, newEvents(1, "Checked"), expected)
          if (accepted) {
            const result = yield* append
            expect(result.nextExpectedVersion).toBe(start + 1)
            expect(result.written).toBe(true)
            expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(start + 1))
          } else {
            const conflict = yield* expectFailure(append, "ConcurrencyConflict")
            expect(conflict.streamId).toBe(streamId)
            expect(conflict.expected).toEqual(expected)
            expect(conflict.actual).toBe(start)
            expect(versionsOf(yield* readStream(streamId))).toEqual(Array.from({ length: start }, (_, i) => i + 1))
          }
        }))
    }

    test("Exact(0) on an absent stream creates it", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        const result = yield* EventStore.append(streamId, newEvents(2), ExpectedVersion.Exact(0))
        expect(result.nextExpectedVersion).toBe(2)
        expect(yield* EventStore.streamVersion(streamId)).toEqual(Option.some(2))
      }))

    test("Exact(0) on an existing stream fails with ConcurrencyConflict", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        yield* seed(streamId, 1)
        const conflict = yield* expectFailure(
          EventStore.append(streamId, newEvents(1), ExpectedVersion.Exact(0)),
          "ConcurrencyConflict"
        )
        expect(conflict.actual).toBe(1)
      }))

    test("chains appends with each result's nextExpectedVersion", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        let expected = ExpectedVersion.NoStream
        for (const size of [1, 3, 2]) {
          const result = yield* EventStore.append(streamId, newEvents(size), expected)
          expected = ExpectedVersion.Exact(result.nextExpectedVersion)
        }
        expect(expected).toEqual(ExpectedVersion.Exact(6))
        expect(versionsOf(yield* readStream(streamId))).toEqual([1, 2, 3, 4, 5, 6])
      }))

    test("explains a conflict in its message: the stream id and both versions", () =>
      Effect.gen(function*() {
        const streamId = uniqueStream()
        yield* seed(streamId, 5)
        const conflict = yield* expectFailure(
          EventStore.append(streamId, newEvents(1), ExpectedVersion.Exact(3)),
          "ConcurrencyConflict"
        )
        expect(conflict.message).toContain(streamId)
        const rest = conflict.message.replace(streamId, "")
        expect(rest).toMatch(/\b3\b/)
        expect(rest).toMatch(/\b5\b/)
      }))
  })

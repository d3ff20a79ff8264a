import { describe, expect } from "@effect/vitest"
import { EventStore, ExpectedVersion, StreamId } from "@facta/core"
import { Effect, Option } from "effect"
import type { Suite } from "./fixtures.js"
import { expectFailure, newEvents, readCategory, readStream, uniqueCategory } from "./fixtures.js"

const invalidIds: ReadonlyArray<readonly [label: string, id: string]> = [
  ["an empty id", ""],
  ["an id with a NUL character", "conformance-a\u0000b"],
  ["an id with a line break", "conformance-a\nb"],
  ["an id with a DEL control character", "conformance-a\u007fb"],
  ["an id with a lone high surrogate", "conformance-a\ud800b"],
  ["an id with a lone low surrogate", "conformance-\udfff"],
  [`an id longer than ${StreamId.maxLength} characters`, `conformance-${"x".repeat(StreamId.maxLength)}`]
]

const awkwardIds: ReadonlyArray<readonly [label: string, make: (category: string) => string]> = [
  ["unicode (accents, CJK, emoji)", (category) => `${category}-ünïcødé-日本語-😀-${crypto.randomUUID()}`],
  ["single and double quotes", (category) => `${category}-it's "quoted" \`too\`-${crypto.randomUUID()}`],
  ["semicolons and SQL", (category) => `${category}-x'; DROP TABLE events; --${crypto.randomUUID()}`],
  ["backslashes, % and _", (category) => `${category}-C:\\dir\\100%_done\\-${crypto.randomUUID()}`],
  [`exactly ${StreamId.maxLength} characters`, (category) => {
    const prefix = `${category}-${crypto.randomUUID()}-`
    return prefix + "z".repeat(StreamId.maxLength - prefix.length)
  }]
]

export const streamIdCases = ({ test }: Suite) =>
  describe("stream ids", () => {
    for (const [label, id] of invalidIds) {
      test(`rejects ${label} with InvalidStreamId on append, readStream and streamVersion`, () =>
        Effect.gen(function*() {
          const onAppend = yield* expectFailure(
            EventStore.append(id, newEvents(1), ExpectedVersion.Any),
            "InvalidStreamId"
          )
          expect(onAppend.streamId).toBe(id)
          expect(onAppend.reason.length).toBeGreaterThan(0)
          const onRead = yield* expectFailure(readStream(id), "InvalidStreamId")
          expect(onRead.streamId).toBe(id)
          const onVersion = yield* expectFailure(EventStore.streamVersion(id), "InvalidStreamId")
          expect(onVersion.streamId).toBe(id)
        }))
    }

    for (const [label, make] of awkwardIds) {
      test(`round-trips an id with ${label} exactly`, () =>
        Effect.gen(function*() {
          const category = uniqueCategory()
          const id = make(category)
          if (label.startsWith("exactly")) expect(id.length).toBe(StreamId.maxLength)
          yield* EventStore.append(id, newEvents(2), ExpectedVersion.NoStream)
          const events = yield* readStream(id)
          expect(events.map((event) => event.streamId)).toEqual([id, id])
          expect(yield* EventStore.streamVersion(id)).toEqual(Option.some(2))
          const inCategory = yield* readCategory(category)
          expect(inCategory.map((event) => event.streamId)).toEqual([id, id])
        }))
    }
  })

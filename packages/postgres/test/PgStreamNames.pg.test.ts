/**
 * Stream ids reach Postgres only as bound parameters: every valid name round-trips exactly, and
 * an invalid one is rejected before anything is sent.
 */
import { expect, layer } from "@effect/vitest"
import { EventStore, ExpectedVersion, StreamId } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Chunk, Effect, Option, Stream } from "effect"
import type pg from "pg"
import { connect, query } from "./rawPostgres.js"
import { storesLayer } from "./support.js"

const schema = uniqueSchemaName()

const event = (data: unknown, metadata: Record<string, unknown> = {}) => ({
  eventId: crypto.randomUUID(),
  type: "Named",
  schemaVersion: 1,
  data,
  metadata
})

/** A unique category per run, so category reads see only this file's streams. */
const tag = crypto.randomUUID().slice(0, 8)

const names: ReadonlyArray<readonly [label: string, streamId: string]> = [
  ["quotes", `q${tag}-it's "quoted" \`back\``],
  ["semicolons and SQL", `semi${tag}-1; DROP TABLE streams; --`],
  ["backslashes", `bs${tag}-C:\\path\\to\\x \\\\ \\0 \\u0000 \\n`],
  ["emoji", `emoji${tag}-🎉🚀👩‍👩‍👧‍👦`],
  ["CJK", `cjk${tag}-漢字かなカナ한국어`],
  ["RTL", `rtl${tag}-עברית مرحبا \u200f`],
  ["percent", `pct${tag}%-100%`],
  ["underscore", `u_${tag}-_x_`],
  ["combining (NFD)", `nfd${tag}-cafe\u0301`],
  ["precomposed (NFC)", `nfd${tag}-caf\u00e9`],
  ["no dash", `nodash${tag}`],
  ["spaces", `sp ${tag}- leading and trailing `],
  ["512 ASCII characters", `long${tag}-`.padEnd(512, "x")],
  // 13 + 249 × 2 + 1 = 512 UTF-16 units, without splitting a surrogate pair.
  ["512 UTF-16 units of emoji", `wide${tag}-${"😀".repeat(249)}y`]
]

const storedName = (raw: pg.Client, streamId: string) =>
  query<{ readonly stream_id: string; readonly bytes: number; readonly events: number; readonly category: string }>(
    raw,
    `SELECT s.stream_id, octet_length(s.stream_id) AS bytes,
            (SELECT count(*)::int FROM "${schema}".events e WHERE e.stream_id = s.stream_id) AS events,
            (SELECT min(e.category) FROM "${schema}".events e WHERE e.stream_id = s.stream_id) AS category
       FROM "${schema}".streams s WHERE s.stream_id = $1`,
    [streamId]
  )

const rowCounts = (raw: pg.Client) =>
  query<{ readonly events: number; readonly streams: number }>(
    raw,
    `SELECT (SELECT count(*)::int FROM "${schema}".events) AS events, (SELECT count(*)::int FROM "${schema}".streams) AS streams`
  )

layer(storesLayer(schema))("Postgres stream names", (it) => {
  it.effect("names with quotes, SQL, backslashes, unicode, % and _ and of 512 characters round-trip exactly", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      expect(names.map(([, name]) => name.length).slice(-2)).toEqual([512, 512])
      for (const [label, streamId] of names) {
        const first = yield* EventStore.append(
          streamId,
          [event({ label, n: 1 }), event({ n: 2 })],
          ExpectedVersion.NoStream
        )
        expect(first.nextExpectedVersion, label).toBe(2)
        yield* EventStore.append(streamId, [event({ n: 3 })], ExpectedVersion.Exact(2))
        const read = Chunk.toReadonlyArray(yield* Stream.runCollect(EventStore.readStream(streamId)))
        expect(read.map((e) => e.streamId), label).toEqual([streamId, streamId, streamId])
        expect(read.map((e) => e.streamVersion), label).toEqual([1, 2, 3])
        const backwards = yield* Stream.runCollect(
          EventStore.readStream(streamId, { direction: "backwards", limit: 1 })
        )
        expect(Chunk.toReadonlyArray(backwards).map((e) => e.streamVersion), label).toEqual([3])
        expect(yield* EventStore.streamVersion(streamId), label).toEqual(Option.some(3))
        const [row] = yield* storedName(raw, streamId)
        expect(row, label).toEqual({
          stream_id: streamId,
          bytes: Buffer.byteLength(streamId, "utf8"),
          events: 3,
          category: StreamId.category(streamId)
        })
      }
      // NFC and NFD spellings are different streams: nothing normalizes names on the way.
      expect(yield* EventStore.streamVersion(`nfd${tag}-cafe\u0301`)).toEqual(Option.some(3))
      expect(yield* EventStore.streamVersion(`nfd${tag}-caf\u00e9`)).toEqual(Option.some(3))
      expect(yield* EventStore.streamVersion(`nfd${tag}-cafe`)).toEqual(Option.none())
    }).pipe(Effect.scoped))

  it.effect("category reads match the category exactly (no LIKE: % and _ are plain characters)", () =>
    Effect.gen(function*() {
      for (const [label, streamId] of names) {
        const category = StreamId.category(streamId)
        const events = Chunk.toReadonlyArray(
          yield* Stream.runCollect(EventStore.readAll({ filter: { categories: [category] } }))
        )
        const expected = names.filter(([, other]) => StreamId.category(other) === category).map(([, other]) => other)
        expect([...new Set(events.map((e) => e.streamId))].sort(), label).toEqual([...new Set(expected)].sort())
      }
      // `u_x` must not match a category `uax`, nor `pct%` one named `pctanything`.
      yield* EventStore.append(`ua${tag}-decoy`, [event({})], ExpectedVersion.NoStream)
      yield* EventStore.append(`pct${tag}anything-decoy`, [event({})], ExpectedVersion.NoStream)
      const underscore = yield* Stream.runCollect(EventStore.readAll({ filter: { categories: [`u_${tag}`] } }))
      expect(Chunk.toReadonlyArray(underscore).map((e) => e.streamId)).toEqual(Array(3).fill(`u_${tag}-_x_`))
      const percent = yield* Stream.runCollect(EventStore.readAll({ filter: { categories: [`pct${tag}%`] } }))
      expect(Chunk.toReadonlyArray(percent).map((e) => e.streamId)).toEqual(Array(3).fill(`pct${tag}%-100%`))
    }))

  it.effect("a NUL in a stream id or a payload is rejected before anything reaches the database", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const before = yield* rowCounts(raw)
      const withNul = `nul${tag}-a\u0000b`
      const append = yield* Effect.flip(EventStore.append(withNul, [event({})], ExpectedVersion.Any))
      expect(append).toBeInstanceOf(StreamId.InvalidStreamId)
      expect(append).toMatchObject({ streamId: withNul })
      expect(append.message).toContain("U+0000")
      expect(yield* Effect.flip(Stream.runDrain(EventStore.readStream(withNul)))).toBeInstanceOf(
        StreamId.InvalidStreamId
      )
      expect(yield* Effect.flip(EventStore.streamVersion(withNul))).toBeInstanceOf(StreamId.InvalidStreamId)
      // Other control characters, lone surrogates (UTF-8 cannot hold them: Postgres would store
      // U+FFFD, merging distinct names) and overlong names alike.
      const rejected = [
        `nul${tag}-\u001b[31m`,
        `nul${tag}-\u007f`,
        `nul${tag}-a\ud800b`,
        `nul${tag}-a\udc00`,
        `nul${tag}-`.padEnd(513, "x"),
        ""
      ]
      for (const bad of rejected) {
        expect(yield* Effect.flip(EventStore.append(bad, [event({})], ExpectedVersion.Any))).toBeInstanceOf(
          StreamId.InvalidStreamId
        )
      }

      const streamId = `nul${tag}-payload`
      const payloads = [
        [event({ text: "a\u0000b" })],
        [event({ ["key\u0000"]: 1 })],
        [event({ nested: [{ deep: "\u0000" }] })],
        [event({ fine: true }), event({ text: "\u0000" })],
        [event({ fine: true }, { userId: "u\u0000" })],
        [event({ text: "lone \ud800 surrogate" })],
        [{ ...event({}), type: "Type\u0000" }]
      ]
      for (const events of payloads) {
        const error = yield* Effect.flip(EventStore.append(streamId, events, ExpectedVersion.Any))
        expect(error).toBeInstanceOf(EventStore.InvalidEvent)
        expect(error).toMatchObject({ streamId, index: events.length - 1 })
      }
      // An escaped backslash followed by "u0000" is not a NUL: it is stored as written.
      const notNul = { text: "\\u0000" }
      yield* EventStore.append(streamId, [event(notNul)], ExpectedVersion.NoStream)
      const read = yield* Stream.runCollect(EventStore.readStream(streamId))
      expect(Chunk.toReadonlyArray(read).map((e) => e.data)).toEqual([notNul])

      const after = yield* rowCounts(raw)
      expect(after).toEqual([{ events: before[0].events + 1, streams: before[0].streams + 1 }])
    }).pipe(Effect.scoped))
})

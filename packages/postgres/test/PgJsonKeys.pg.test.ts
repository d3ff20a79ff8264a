/**
 * Payloads round-trip with their keys untouched even when the application's `PgClient` renames
 * columns and JSON keys (camelCase ⇄ snake_case): the stores work without the transforms.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { expect, layer } from "@effect/vitest"
import {
  Aggregate,
  CheckpointStore,
  CommandHandler,
  Decider,
  EventCatalog,
  EventStore,
  ExpectedVersion,
  Position,
  SnapshotStore
} from "@facta/core"
import { PgStore } from "@facta/postgres"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Chunk, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import { camelToSnake, snakeToCamel } from "effect/String"
import { connect, dropSchemaOnRelease, query } from "./rawPostgres.js"
import { databaseUrl } from "./support.js"

const schema = uniqueSchemaName()

const camelCaseClient = PgClient.layer({
  url: Redacted.make(databaseUrl()),
  maxConnections: 4,
  transformQueryNames: camelToSnake,
  transformResultNames: snakeToCamel
})

const stores = Layer.mergeAll(PgStore.layer({ schema }), dropSchemaOnRelease(schema)).pipe(
  Layer.provideMerge(camelCaseClient)
)

const payload = {
  snake_case_key: "s",
  camelCaseKey: "c",
  PascalKey: 1,
  "kebab-key": 2,
  "with space": 3,
  UPPER_SNAKE: 4,
  _leading: 5,
  trailing_: 6,
  a__b: 7,
  nested_object: { inner_key: { deeper_key: [1, { array_item_key: true }] }, innerCamel: null },
  list_of_objects: [{ item_id: 1, itemName: "x" }, { item_id: 2, itemName: "y" }],
  numbers: { zero: 0, negative: -1.5, big: 9007199254740991, tiny: 5e-324, fraction: 0.30000000000000004 },
  text: "snake_case_value stays camelCaseValue too — ünïcödé 🎉"
}

const metadata = {
  correlationId: "corr-1",
  causationId: "cause-1",
  userId: "user-1",
  tenant_id: "t-1",
  requestSource: "api"
}

const Configured = Schema.TaggedStruct("Configured", {
  setting_name: Schema.String,
  settingValue: Schema.Number,
  nested_parts: Schema.Array(Schema.Struct({ part_id: Schema.Number, partLabel: Schema.String }))
})
const SettingsEvents = EventCatalog.make([Configured])
type SettingsState = { readonly last_setting: string; readonly settingCount: number }
const SettingsState = Schema.Struct({ last_setting: Schema.String, settingCount: Schema.Number })

const Settings = Aggregate.make({
  category: "settings",
  catalog: SettingsEvents,
  decider: Decider.make({
    initialState: { last_setting: "", settingCount: 0 } as SettingsState,
    decide: (
      command: { readonly setting_name: string },
      state: SettingsState
    ): ReadonlyArray<typeof Configured.Type> => [
      {
        _tag: "Configured",
        setting_name: command.setting_name,
        settingValue: state.settingCount + 1,
        nested_parts: [{ part_id: 1, partLabel: "one" }]
      }
    ],
    evolve: (state: SettingsState, event: typeof Configured.Type): SettingsState => ({
      last_setting: event.setting_name,
      settingCount: state.settingCount + 1
    })
  }),
  snapshots: { schema: SettingsState, every: 2 }
})

layer(stores)("Postgres payload keys under camelCase transforms", (it) => {
  it.effect("the application's client really rewrites names and JSON keys", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql`SELECT '{"inner_key": 1}'::jsonb AS outer_key`
      expect(rows).toEqual([{ outerKey: { innerKey: 1 } }])
    }))

  it.effect("event payloads and metadata read back identical through readStream and readAll", () =>
    Effect.gen(function*() {
      const raw = yield* connect()
      const streamId = `keys-${crypto.randomUUID()}`
      const eventId = crypto.randomUUID()
      yield* EventStore.append(
        streamId,
        [{ eventId, type: "KeysKept", schemaVersion: 1, data: payload, metadata }, {
          eventId: crypto.randomUUID(),
          type: "KeysKept",
          schemaVersion: 1,
          data: [{ top_level_array: true }],
          metadata: {}
        }],
        ExpectedVersion.NoStream
      )
      const read = Chunk.toReadonlyArray(yield* Stream.runCollect(EventStore.readStream(streamId)))
      expect(read.map((e) => e.data)).toEqual([payload, [{ top_level_array: true }]])
      expect(read[0].metadata).toEqual(metadata)
      expect(read[0].eventId).toBe(eventId)
      const logged = Chunk.toReadonlyArray(
        yield* Stream.runCollect(EventStore.readAll({ filter: { categories: ["keys"] } }))
      )
      expect(logged.map((e) => e.data)).toEqual([payload, [{ top_level_array: true }]])
      expect(logged[0].metadata).toEqual(metadata)
      // Stored as written, too: nothing renamed on the way in.
      const stored = yield* query(raw, `SELECT data, metadata FROM "${schema}".events WHERE event_id = $1`, [eventId])
      expect(stored).toEqual([{ data: payload, metadata }])
    }).pipe(Effect.scoped))

  it.effect("a catalog with snake_case and camelCase fields decodes, and snapshots keep their keys", () =>
    Effect.gen(function*() {
      const streamId = `settings-${crypto.randomUUID()}`
      for (const name of ["first_setting", "secondSetting", "third_one"]) {
        yield* CommandHandler.handle(Settings, streamId, { setting_name: name })
      }
      const decoded = Chunk.toReadonlyArray(yield* Stream.runCollect(EventCatalog.readStream(SettingsEvents, streamId)))
      expect(decoded.map((e) => e.data)).toEqual([
        {
          _tag: "Configured",
          setting_name: "first_setting",
          settingValue: 1,
          nested_parts: [{ part_id: 1, partLabel: "one" }]
        },
        {
          _tag: "Configured",
          setting_name: "secondSetting",
          settingValue: 2,
          nested_parts: [{ part_id: 1, partLabel: "one" }]
        },
        {
          _tag: "Configured",
          setting_name: "third_one",
          settingValue: 3,
          nested_parts: [{ part_id: 1, partLabel: "one" }]
        }
      ])
      const snapshots = yield* SnapshotStore.SnapshotStore
      const snapshot = Option.getOrThrow(yield* snapshots.load(streamId))
      expect(snapshot).toMatchObject({ version: 2, state: { last_setting: "secondSetting", settingCount: 2 } })
      const loaded = yield* Aggregate.load(Settings, streamId)
      expect(loaded).toMatchObject({
        state: { last_setting: "third_one", settingCount: 3 },
        version: 3,
        snapshotVersion: Option.some(2),
        eventsFolded: 1
      })
      yield* snapshots.save(streamId, { version: 3, schemaVersion: 1, state: payload })
      expect(Option.getOrThrow(yield* snapshots.load(streamId)).state).toEqual(payload)
    }))

  it.effect("checkpoints save and load under the transforms", () =>
    Effect.gen(function*() {
      const checkpoints = yield* CheckpointStore.CheckpointStore
      const position = Position.make(2n ** 62n, 2n ** 60n + 7n)
      yield* checkpoints.save("read_model_name", position)
      expect(yield* checkpoints.load("read_model_name")).toEqual(Option.some(position))
    }))
})

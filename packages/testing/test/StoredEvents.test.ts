import { describe, expect, it } from "@effect/vitest"
import { Aggregate, Decider, EventCatalog, EventStore, ExpectedVersion, SnapshotStore } from "@facta/core"
import { StoredEvents } from "@facta/testing"
import * as StoredEventsModule from "@facta/testing/StoredEvents"
import { Chunk, Effect, Layer, Schema, Stream } from "effect"
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"

// Release 1 stored `{ amount }` in whole euros; release 2 `{ amountCents }`; today's adds the
// currency. Only today's catalog exists in the code: the old shapes are stored by hand.
const DepositedV1 = Schema.TaggedStruct("FundsDeposited", { amount: Schema.Number })
const DepositedV2 = Schema.TaggedStruct("FundsDeposited", { amountCents: Schema.Int })
const Deposited = Schema.TaggedStruct("FundsDeposited", { amountCents: Schema.Int, currency: Schema.String })
const Events = EventCatalog.make([
  EventCatalog.history(DepositedV1)
    .upcast(DepositedV2, (v1) => ({ _tag: "FundsDeposited" as const, amountCents: Math.round(v1.amount * 100) }))
    .upcast(Deposited, (v2) => ({ ...v2, currency: "EUR" }))
], { renames: { MoneyDeposited: "FundsDeposited" } })

const Account = Aggregate.make({
  category: "account",
  catalog: Events,
  decider: Decider.make({
    initialState: { balanceCents: 0 },
    decide: () => [],
    evolve: (state: { readonly balanceCents: number }, event: typeof Deposited.Type) => ({
      balanceCents: state.balanceCents + event.amountCents
    })
  })
})

const stores = Layer.merge(EventStore.layerMemory, SnapshotStore.layerMemory)

describe("StoredEvents.append", () => {
  it.effect("stores old shapes as they were written; today's catalog upcasts them on load (v1 → v2 → v3)", () =>
    Effect.gen(function*() {
      const streamId = `account-${crypto.randomUUID()}`
      const current = yield* EventCatalog.toNewEvent(Events)({
        _tag: "FundsDeposited",
        amountCents: 100,
        currency: "USD"
      })
      yield* StoredEvents.append(streamId, [
        { type: "FundsDeposited", schemaVersion: 1, data: { amount: 5 } },
        { type: "FundsDeposited", schemaVersion: 2, data: { amountCents: 250 } },
        { type: "MoneyDeposited", schemaVersion: 1, data: { amount: 0.5 } }
      ], ExpectedVersion.NoStream)
      yield* EventStore.append(streamId, [current], ExpectedVersion.Exact(3))

      // Stored exactly as given: type, schema version and payload untouched.
      const stored = yield* EventStore.readStream(streamId).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
      expect(stored.map(({ data, schemaVersion, type }) => ({ type, schemaVersion, data }))).toEqual([
        { type: "FundsDeposited", schemaVersion: 1, data: { amount: 5 } },
        { type: "FundsDeposited", schemaVersion: 2, data: { amountCents: 250 } },
        { type: "MoneyDeposited", schemaVersion: 1, data: { amount: 0.5 } },
        { type: "FundsDeposited", schemaVersion: 3, data: { amountCents: 100, currency: "USD" } }
      ])

      const decoded = yield* EventCatalog.readStream(Events, streamId).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      expect(decoded.map((event) => event.data)).toEqual([
        { _tag: "FundsDeposited", amountCents: 500, currency: "EUR" },
        { _tag: "FundsDeposited", amountCents: 250, currency: "EUR" },
        { _tag: "FundsDeposited", amountCents: 50, currency: "EUR" },
        { _tag: "FundsDeposited", amountCents: 100, currency: "USD" }
      ])
      expect(yield* Aggregate.load(Account, streamId)).toMatchObject({ state: { balanceCents: 900 }, version: 4 })
    }).pipe(Effect.provide(stores)))

  it.effect("keeps the given event ids and metadata, and appends at the expected version", () =>
    Effect.gen(function*() {
      const streamId = `account-${crypto.randomUUID()}`
      const eventId = crypto.randomUUID()
      const result = yield* StoredEvents.append(streamId, [
        { eventId, type: "FundsDeposited", schemaVersion: 1, data: { amount: 1 }, metadata: { userId: "ada" } }
      ])
      expect(result.nextExpectedVersion).toBe(1)
      const [recorded] = yield* EventStore.readStream(streamId).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      expect(recorded).toMatchObject({ eventId, metadata: { userId: "ada" } })
      const conflict = yield* Effect.flip(
        StoredEvents.append(
          streamId,
          [{ type: "FundsDeposited", schemaVersion: 1, data: { amount: 1 } }],
          ExpectedVersion.NoStream
        )
      )
      expect(conflict._tag).toBe("ConcurrencyConflict")
      // A stored shape that no version decodes shows as the decode error an old event would give.
      yield* StoredEvents.append(streamId, [{ type: "FundsDeposited", schemaVersion: 2, data: { amount: 1 } }])
      const error = yield* Effect.flip(Aggregate.load(Account, streamId))
      expect(error).toMatchObject({ _tag: "EventDecodeError", streamVersion: 2, schemaVersion: 2 })
    }).pipe(Effect.provide(stores)))

  it("is the module of the @facta/testing/StoredEvents subpath, which imports neither vitest nor the rest of the kit", () => {
    expect(StoredEventsModule.append).toBe(StoredEvents.append)
    const source = readFileSync(join(import.meta.dirname, "..", "src", "StoredEvents.ts"), "utf8")
    const imported = [...source.matchAll(/^import .* from "([^"]+)"/gm)].map((match) => match[1])
    expect(imported.sort()).toEqual(["@facta/core", "@facta/core", "effect"])
  })

  it("loads and runs outside vitest", () => {
    const script = [
      `import * as StoredEvents from "@facta/testing/StoredEvents"`,
      `import { EventStore } from "@facta/core"`,
      `import { Effect } from "effect"`,
      `const program = StoredEvents.append("account-1", [{ type: "FundsDeposited", schemaVersion: 1, data: { amount: 5 } }])`,
      `Effect.runPromise(Effect.provide(program, EventStore.layerMemory)).then((r) => console.log("version", r.nextExpectedVersion))`
    ].join("\n")
    const output = execFileSync(
      process.execPath,
      ["--conditions=@facta/source", "--import", "tsx", "--input-type=module", "--eval", script],
      { cwd: join(import.meta.dirname, ".."), encoding: "utf8" }
    )
    expect(output).toContain("version 1")
  })
})

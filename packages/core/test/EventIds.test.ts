import { describe, expect, it } from "@effect/vitest"
import { CommandHandler, EventStore, SnapshotStore } from "@facta/core"
import { Effect, Layer } from "effect"
import { Counter, newStreamId } from "./fixtures/Counter.js"

// Ids computed by the hand-written SHA-1 implementation that `uuid`'s v5 replaced: stored
// events keep their ids, so a retried command still finds what an older release recorded.
const known: ReadonlyArray<readonly [key: string, index: number, id: string]> = [
  ["order-7/place", 0, "87be75b8-a387-514d-a966-e5050296e3eb"],
  ["order-7/place", 1, "7324199d-206f-526d-ae47-3883c8b48a28"],
  ["clé-ü-✓", 2, "58986382-a9a5-5f8d-80e3-8c417f159e5e"],
  ["", 0, "732a5c20-ef81-57f5-8304-9f07432a41af"]
]

describe("CommandHandler.eventIdFor", () => {
  it("derives the ids earlier releases derived, for every key (non-ASCII and empty included)", () => {
    for (const [key, index, id] of known) expect(CommandHandler.eventIdFor(key, index)).toBe(id)
  })

  it.effect("a keyed command records its events under those ids", () =>
    Effect.gen(function*() {
      const result = yield* CommandHandler.handle(Counter, newStreamId(), { _tag: "Increment", by: 1 }, {
        context: { idempotencyKey: "order-7/place" }
      })
      expect(result.eventIds).toEqual(["87be75b8-a387-514d-a966-e5050296e3eb"])
    }).pipe(Effect.provide(Layer.merge(EventStore.layerMemory, SnapshotStore.layerMemory))))
})

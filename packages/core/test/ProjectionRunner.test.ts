import { CheckpointStore, EventStore, ProjectionStore } from "@facta/core"
import { ProjectionRunnerConformance } from "@facta/testing"
import { Effect, Layer } from "effect"

// The in-memory read model: rows per projection. Inserts are idempotent by event id, as the
// in-memory stores cannot roll a failed batch back (see ProjectionStore.makeMemory).
const rows = new Map<string, Array<ProjectionRunnerConformance.Row>>()
const rowsOf = (projection: string) => {
  let list = rows.get(projection)
  if (list === undefined) rows.set(projection, list = [])
  return list
}

ProjectionRunnerConformance.run(
  "in memory",
  Layer.mergeAll(EventStore.layerMemory, CheckpointStore.layerMemory, ProjectionStore.layerMemory),
  {
    insert: (projection, row) =>
      Effect.sync(() => {
        const list = rowsOf(projection)
        if (!list.some((existing) => existing.eventId === row.eventId)) list.push(row)
      }),
    rows: (projection) => Effect.sync(() => [...rowsOf(projection)]),
    clear: (projection) => Effect.sync(() => void rows.delete(projection)),
    transactional: false
  }
)

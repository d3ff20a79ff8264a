/**
 * The stops of the tour, in order: each example's `tour`, run on fresh stores.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { CheckpointStore, EventStore, ProjectionStore, SnapshotStore } from "@facta/core"
import type { Effect } from "effect"
import { tour as bankAccount } from "../../bank-account/src/tour.js"
import { tour as promptWorkflow } from "../../prompt-workflow/src/tour.js"

/** What every stop's tour may use. */
export type Services =
  | EventStore.EventStore
  | SnapshotStore.SnapshotStore
  | CheckpointStore.CheckpointStore
  | ProjectionStore.ProjectionStore
  | SqlClient.SqlClient

/** A stop of the tour. */
export interface Stop {
  readonly title: string
  readonly summary: string
  readonly tour: Effect.Effect<void, unknown, Services>
}

/** The stops, in order. */
export const stops: ReadonlyArray<Stop> = [
  {
    title: "Bank accounts (examples/bank-account)",
    summary: "Commands, a domain error, a concurrency conflict resolved by retry, a live read model, upcasting, snapshots, temporal queries.",
    tour: bankAccount
  },
  {
    title: "Prompt-engineering workflow (examples/prompt-workflow)",
    summary: "Two aggregates, sessions that retry and fail, read models with queries, an alert raised exactly once, temporal and audit views.",
    tour: promptWorkflow
  }
]

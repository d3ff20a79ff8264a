/**
 * The stops of the tour, in order: each example's `tour`, run on fresh stores.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { CheckpointStore, EventStore, ProjectionStore, SnapshotStore } from "@facta/core"
import type { Effect } from "effect"
import { tour as bankAccount } from "../../bank-account/src/tour.js"
import { tour as executionLog } from "../../execution-log/src/tour.js"
import { tour as jobs } from "../../jobs/src/tour.js"
import { tour as orders } from "../../orders/src/tour.js"
import { tour as promptWorkflow } from "../../prompt-workflow/src/tour.js"
import { tour as tasks } from "../../tasks/src/tour.js"

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
    summary:
      "Commands, a domain error, a concurrency conflict resolved by retry, a live read model, upcasting, snapshots, temporal queries.",
    tour: bankAccount
  },
  {
    title: "Prompt-engineering workflow (examples/prompt-workflow)",
    summary:
      "Two aggregates, sessions that retry and fail, read models with queries, an alert raised exactly once, temporal and audit views.",
    tour: promptWorkflow
  },
  {
    title: "Orders (examples/orders)",
    summary:
      "Invariants, a compensating cancellation, an event type upgraded from v1 to v2 with old events in the store, the order list.",
    tour: orders
  },
  {
    title: "Job execution (examples/jobs)",
    summary:
      "Tenants, retry limits, commands and queries dispatched by type from JSON, the job view and a job's history.",
    tour: jobs
  },
  {
    title: "Task & session orchestration (examples/tasks)",
    summary:
      "Policies that react to events and issue commands exactly once, backoff as data, active sessions and task statistics.",
    tour: tasks
  },
  {
    title: "Workflow execution log (examples/execution-log)",
    summary:
      "Postings through script and LLM actors, circuit breakers, idempotency keys, causation chains, snapshots from the environment, a rebuild.",
    tour: executionLog
  }
]

/**
 * The orchestration policies (process managers): projections whose handler issues a command.
 *
 * - {@link inProgressMovesToCurrent}: a task whose status becomes `in_progress` moves from the
 *   backlog to `current`.
 * - {@link failedSessionsRequeue}: a failed session is re-queued with exponential backoff, up
 *   to `maxRetries` times; the next failure abandons it.
 *
 * Each command carries `commandId` = the triggering event's id and the triggering event's
 * correlation id, so every caused event records its cause. The runner runs a batch's handlers
 * and its checkpoint in one transaction (`ProjectionStore.transaction`); on PostgreSQL the
 * command's append goes through the same `SqlClient`, joins that transaction, and commits
 * together with the checkpoint and the journal row — so a policy acts exactly once per event,
 * across crashes and restarts.
 *
 * A command the domain rejects (the task was moved by hand already, say) is **done**, not a
 * failure: the rejection is journaled and the policy goes on. Infrastructure errors fail the
 * handler, so the runner retries the batch (nothing of it committed) and then stops.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { EventStore, RecordedEvent } from "@facta/core"
import { CommandHandler, Projection } from "@facta/core"
import { Effect } from "effect"
import * as PolicyJournal from "./PolicyJournal.js"
import { Session, SessionEvents } from "./Session.js"
import * as SessionModule from "./Session.js"
import { Task, TaskEvents } from "./Task.js"
import * as TaskModule from "./Task.js"

/** The command context of a command a policy issues because of `event`. */
export const contextOf = (event: RecordedEvent.RecordedEvent<unknown>): CommandHandler.CommandContext => ({
  commandId: event.eventId,
  correlationId: event.metadata.correlationId ?? event.eventId
})

const isTaskError = (error: TaskModule.TaskError | CommandHandler.HandleError): error is TaskModule.TaskError =>
  error instanceof TaskModule.TaskAlreadyExists || error instanceof TaskModule.TaskNotFound ||
  error instanceof TaskModule.TaskAlreadyInState || error instanceof TaskModule.TaskNotInExpectedState ||
  error instanceof TaskModule.TaskIsDone

const isSessionError = (
  error: SessionModule.SessionError | CommandHandler.HandleError
): error is SessionModule.SessionError =>
  error instanceof SessionModule.SessionAlreadyQueued || error instanceof SessionModule.SessionNotFound ||
  error instanceof SessionModule.SessionNotQueued || error instanceof SessionModule.SessionNotDue ||
  error instanceof SessionModule.SessionNotRunning || error instanceof SessionModule.SessionNotFailed ||
  error instanceof SessionModule.RequeueOutOfOrder

interface Issued {
  readonly events: ReadonlyArray<{ readonly _tag: string }>
  readonly eventIds: ReadonlyArray<string>
}

/** Runs the command, turns a domain rejection into a `rejected` outcome and journals the outcome. */
const issue = <A extends Issued, E, Rejection extends E & { readonly _tag: string; readonly message: string }, R>(
  schema: string,
  policy: string,
  source: RecordedEvent.RecordedEvent<unknown>,
  command: Effect.Effect<A, E, R>,
  isRejection: (error: E) => error is Rejection
): Effect.Effect<void, Exclude<E, Rejection> | SqlError, R | SqlClient.SqlClient> =>
  command.pipe(
    Effect.map((result): PolicyJournal.Outcome => ({
      outcome: "issued",
      detail: result.events.map((event) => event._tag).join(", ") || "no change",
      causedEventIds: result.eventIds
    })),
    Effect.catchIf(isRejection, (error) =>
      Effect.succeed<PolicyJournal.Outcome>({
        outcome: "rejected",
        detail: `${error._tag}: ${error.message}`,
        causedEventIds: []
      })),
    Effect.flatMap((outcome) => PolicyJournal.record(schema, policy, source, outcome))
  )

/** The name of the {@link inProgressMovesToCurrent} policy (its checkpoint key). */
export const inProgressMovesToCurrentName = "policy_in_progress_moves_to_current"

/** Options of a policy: another name (and so another checkpoint and journal key) than the default. */
export interface PolicyOptions {
  readonly name?: string
}

/** A task set in progress moves from the backlog to `current`; tasks elsewhere stay where they are. */
export const inProgressMovesToCurrent = (schema: string, options: PolicyOptions = {}) => {
  const name = options.name ?? inProgressMovesToCurrentName
  return Projection.make({
    name,
    catalog: TaskEvents,
    types: ["TaskStatusChanged"],
    handle: (
      event
    ): Effect.Effect<void, CommandHandler.HandleError | SqlError, EventStore.EventStore | SqlClient.SqlClient> =>
      event.data.to !== "in_progress" ? Effect.void : issue(
        schema,
        name,
        event,
        CommandHandler.handle(Task, event.streamId, { _tag: "MoveTask", to: "current", expectedFrom: "backlog" }, {
          context: contextOf(event)
        }),
        isTaskError
      ),
    batchSize: 50
  })
}

/** How failed sessions are retried. */
export interface RetryPolicy {
  /** How many times a session is re-queued before it is abandoned. */
  readonly maxRetries: number
  /** The wait before the first re-queue is due; it doubles with each re-queue. */
  readonly baseDelayMillis: number
}

/** Three re-queues, after 30 s, 60 s and 120 s. */
export const defaultRetryPolicy: RetryPolicy = { maxRetries: 3, baseDelayMillis: 30_000 }

/** The name of the {@link failedSessionsRequeue} policy (its checkpoint key). */
export const failedSessionsRequeueName = "policy_failed_sessions_requeue"

/**
 * A failed run `n` of a session becomes re-queue attempt `n`, due at failedAt + base · 2^(n−1);
 * past `maxRetries` the session is abandoned. Either way, one event per failure.
 */
export const failedSessionsRequeue = (
  schema: string,
  retry: RetryPolicy = defaultRetryPolicy,
  options: PolicyOptions = {}
) => {
  const name = options.name ?? failedSessionsRequeueName
  return Projection.make({
    name,
    catalog: SessionEvents,
    types: ["SessionCompleted"],
    handle: (
      event
    ): Effect.Effect<void, CommandHandler.HandleError | SqlError, EventStore.EventStore | SqlClient.SqlClient> =>
      event.data.outcome !== "failure" ? Effect.void : issue(
        schema,
        name,
        event,
        CommandHandler.handle(Session, event.streamId, {
          _tag: "RequeueSession",
          attempt: event.data.run,
          maxRetries: retry.maxRetries,
          baseDelayMillis: retry.baseDelayMillis
        }, { context: contextOf(event) }),
        isSessionError
      ),
    batchSize: 50
  })
}

/**
 * A work session on a task: queued, started by a worker, using tools, completed with success
 * or failure. A failed session can be re-queued; each re-queue waits longer (exponential
 * backoff, kept as data: the `SessionRequeued` event carries `attempt` and `notBefore`), and
 * once the retries are spent the session is abandoned.
 */
import { Aggregate, Decider, EventCatalog } from "@facta/core"
import { Data, Effect, Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

/** How a session ended. */
export const SessionOutcome = Schema.Literal("success", "failure")
/** How a session ended. */
export type SessionOutcome = typeof SessionOutcome.Type

/** A session was queued for a task (its first run, due at once). */
export const SessionQueued = Schema.TaggedStruct("SessionQueued", { taskId: Schema.String, queuedAt: Schema.Date })

/** A worker started run number `run` of the session. */
export const SessionStarted = Schema.TaggedStruct("SessionStarted", { run: Schema.Int, startedAt: Schema.Date })

/** The running session used a tool. */
export const SessionToolUsed = Schema.TaggedStruct("SessionToolUsed", { tool: Schema.String, usedAt: Schema.Date })

/** Run number `run` ended, with success or failure. */
export const SessionCompleted = Schema.TaggedStruct("SessionCompleted", {
  run: Schema.Int,
  outcome: SessionOutcome,
  reason: Schema.String,
  completedAt: Schema.Date
})

/**
 * The failed session was queued again: re-queue number `attempt` (1 for the first), due at
 * `notBefore` = failedAt + baseDelay · 2^(attempt − 1).
 */
export const SessionRequeued = Schema.TaggedStruct("SessionRequeued", { attempt: Schema.Int, notBefore: Schema.Date })

/** The session failed with no retries left. */
export const SessionAbandoned = Schema.TaggedStruct("SessionAbandoned", { runs: Schema.Int, reason: Schema.String })

/** Every session event. */
export const SessionEvents = EventCatalog.make([
  SessionQueued,
  SessionStarted,
  SessionToolUsed,
  SessionCompleted,
  SessionRequeued,
  SessionAbandoned
])

/** A session event. */
export type SessionEvent = typeof SessionEvents.schema.Type

// ---------------------------------------------------------------------------------------------
// backoff
// ---------------------------------------------------------------------------------------------

/** When re-queue number `attempt` of a session that failed at `failedAt` is due. */
export const notBeforeOf = (failedAt: Date, attempt: number, baseDelayMillis: number): Date =>
  new Date(failedAt.getTime() + baseDelayMillis * 2 ** (attempt - 1))

// ---------------------------------------------------------------------------------------------
// commands and domain errors
// ---------------------------------------------------------------------------------------------

/** Queues a new session for a task. */
export const QueueSession = Schema.TaggedStruct("QueueSession", { taskId: Schema.String, at: Schema.Date })
/** A worker starts the queued session (only once it is due). */
export const StartSession = Schema.TaggedStruct("StartSession", { at: Schema.Date })
/** The running session used a tool. */
export const UseTool = Schema.TaggedStruct("UseTool", { tool: Schema.NonEmptyTrimmedString, at: Schema.Date })
/** The running session ended. */
export const CompleteSession = Schema.TaggedStruct("CompleteSession", {
  outcome: SessionOutcome,
  reason: Schema.String,
  at: Schema.Date
})
/**
 * Re-queues the failed session as re-queue number `attempt`, which must be the next one; past
 * `maxRetries` the session is abandoned instead.
 */
export const RequeueSession = Schema.TaggedStruct("RequeueSession", {
  attempt: Schema.Int.pipe(Schema.positive()),
  maxRetries: Schema.Int.pipe(Schema.between(0, 10)),
  baseDelayMillis: Schema.Int.pipe(Schema.between(0, 86_400_000))
})

/** Every session command. */
export const SessionCommand = Schema.Union(QueueSession, StartSession, UseTool, CompleteSession, RequeueSession)
/** A session command. */
export type SessionCommand = typeof SessionCommand.Type

/** `QueueSession` on a session id already used. */
export class SessionAlreadyQueued extends Data.TaggedError("SessionAlreadyQueued")<{}> {
  override get message() {
    return "This session id is already in use; queue a new session under a fresh id"
  }
}

/** A command on a session that was never queued. */
export class SessionNotFound extends Data.TaggedError("SessionNotFound")<{}> {
  override get message() {
    return "No session with this id was queued; queue it first"
  }
}

/** `StartSession` on a session that is not waiting in the queue. */
export class SessionNotQueued extends Data.TaggedError("SessionNotQueued")<{ readonly state: string }> {
  override get message() {
    return `The session is ${this.state}, not queued; only a queued session can start`
  }
}

/** `StartSession` before the session's backoff has passed. */
export class SessionNotDue extends Data.TaggedError("SessionNotDue")<{ readonly notBefore: Date; readonly at: Date }> {
  override get message() {
    return `The session is not due before ${this.notBefore.toISOString()} (asked at ${this.at.toISOString()}); take it from the due-sessions list`
  }
}

/** `UseTool` or `CompleteSession` on a session that is not running. */
export class SessionNotRunning extends Data.TaggedError("SessionNotRunning")<{ readonly state: string }> {
  override get message() {
    return `The session is ${this.state}, not running; start it first`
  }
}

/** `RequeueSession` on a session that has not failed. */
export class SessionNotFailed extends Data.TaggedError("SessionNotFailed")<{ readonly state: string }> {
  override get message() {
    return `The session is ${this.state}; only a failed session can be re-queued`
  }
}

/** `RequeueSession` with another attempt than the next one (a repeat of one already done, usually). */
export class RequeueOutOfOrder extends Data.TaggedError("RequeueOutOfOrder")<{
  readonly expected: number
  readonly requested: number
}> {
  override get message() {
    return `Re-queue attempt ${this.requested} was asked, but the next one is ${this.expected}`
  }
}

/** Every way a session command can be rejected. */
export type SessionError =
  | SessionAlreadyQueued
  | SessionNotFound
  | SessionNotQueued
  | SessionNotDue
  | SessionNotRunning
  | SessionNotFailed
  | RequeueOutOfOrder

// ---------------------------------------------------------------------------------------------
// state and decider
// ---------------------------------------------------------------------------------------------

const common = { taskId: Schema.String, run: Schema.Int, requeues: Schema.Int }

/** A session's state (dates encode as ISO strings in snapshots); `run` counts the runs started or due (1-based), `requeues` the re-queues. */
export const SessionState = Schema.Union(
  Schema.TaggedStruct("NoSession", {}),
  Schema.TaggedStruct("Queued", { ...common, notBefore: Schema.Date }),
  Schema.TaggedStruct("Running", { ...common, toolsUsed: Schema.Int }),
  Schema.TaggedStruct("Succeeded", common),
  Schema.TaggedStruct("Failed", { ...common, failedAt: Schema.Date, reason: Schema.String }),
  Schema.TaggedStruct("Abandoned", common)
)
/** A session's state. */
export type SessionState = typeof SessionState.Type

const describe = (state: SessionState): string => state._tag.toLowerCase()

/** Decides a session command on the session's state. */
export const decide = (
  command: SessionCommand,
  state: SessionState
): Effect.Effect<ReadonlyArray<SessionEvent>, SessionError> => {
  if (command._tag === "QueueSession") {
    return state._tag === "NoSession"
      ? Effect.succeed([{ _tag: "SessionQueued", taskId: command.taskId, queuedAt: command.at }])
      : Effect.fail(new SessionAlreadyQueued())
  }
  if (state._tag === "NoSession") return Effect.fail(new SessionNotFound())
  switch (command._tag) {
    case "StartSession":
      if (state._tag !== "Queued") return Effect.fail(new SessionNotQueued({ state: describe(state) }))
      if (command.at.getTime() < state.notBefore.getTime()) {
        return Effect.fail(new SessionNotDue({ notBefore: state.notBefore, at: command.at }))
      }
      return Effect.succeed([{ _tag: "SessionStarted", run: state.run, startedAt: command.at }])
    case "UseTool":
      return state._tag === "Running"
        ? Effect.succeed([{ _tag: "SessionToolUsed", tool: command.tool, usedAt: command.at }])
        : Effect.fail(new SessionNotRunning({ state: describe(state) }))
    case "CompleteSession":
      return state._tag === "Running"
        ? Effect.succeed([{
          _tag: "SessionCompleted",
          run: state.run,
          outcome: command.outcome,
          reason: command.reason,
          completedAt: command.at
        }])
        : Effect.fail(new SessionNotRunning({ state: describe(state) }))
    case "RequeueSession": {
      if (state._tag !== "Failed") return Effect.fail(new SessionNotFailed({ state: describe(state) }))
      const expected = state.requeues + 1
      if (command.attempt !== expected) {
        return Effect.fail(new RequeueOutOfOrder({ expected, requested: command.attempt }))
      }
      if (command.attempt > command.maxRetries) {
        return Effect.succeed([{
          _tag: "SessionAbandoned",
          runs: state.run,
          reason: `failed ${state.run} times; last: ${state.reason}`
        }])
      }
      return Effect.succeed([{
        _tag: "SessionRequeued",
        attempt: command.attempt,
        notBefore: notBeforeOf(state.failedAt, command.attempt, command.baseDelayMillis)
      }])
    }
  }
}

/** Folds a session event into the state; events that do not fit the state leave it as it is. */
export const evolve = (state: SessionState, event: SessionEvent): SessionState => {
  switch (event._tag) {
    case "SessionQueued":
      return state._tag === "NoSession"
        ? { _tag: "Queued", taskId: event.taskId, run: 1, requeues: 0, notBefore: event.queuedAt }
        : state
    case "SessionStarted":
      return state._tag === "Queued"
        ? { _tag: "Running", taskId: state.taskId, run: state.run, requeues: state.requeues, toolsUsed: 0 }
        : state
    case "SessionToolUsed":
      return state._tag === "Running" ? { ...state, toolsUsed: state.toolsUsed + 1 } : state
    case "SessionCompleted": {
      if (state._tag !== "Running") return state
      const { requeues, run, taskId } = state
      return event.outcome === "success"
        ? { _tag: "Succeeded", taskId, run, requeues }
        : { _tag: "Failed", taskId, run, requeues, failedAt: event.completedAt, reason: event.reason }
    }
    case "SessionRequeued":
      return state._tag === "Failed"
        ? {
          _tag: "Queued",
          taskId: state.taskId,
          run: state.run + 1,
          requeues: state.requeues + 1,
          notBefore: event.notBefore
        }
        : state
    case "SessionAbandoned":
      return state._tag === "Failed"
        ? { _tag: "Abandoned", taskId: state.taskId, run: state.run, requeues: state.requeues }
        : state
  }
}

/** The session decider; succeeded and abandoned sessions are final. */
export const SessionDecider = Decider.make({
  initialState: { _tag: "NoSession" } as SessionState,
  decide,
  evolve,
  isTerminal: (state: SessionState) => state._tag === "Succeeded" || state._tag === "Abandoned"
})

/** The session aggregate: streams `session-<id>`, a snapshot every 20 events. */
export const Session = Aggregate.make({
  category: "session",
  catalog: SessionEvents,
  decider: SessionDecider,
  snapshots: { schema: SessionState, schemaVersion: 1, every: 20 }
})

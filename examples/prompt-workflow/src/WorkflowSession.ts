/**
 * A prompt-engineering session: a user asks for a prompt ("summarize support emails for the
 * on-call engineer"), and the session makes up to `maxAttempts` attempts at it. Each attempt
 * analyzes the task (once per session is enough; a later attempt may analyze again), generates
 * a prompt, validates it (a quality score from 0 to 1 with a breakdown per criterion), and
 * then either approves it — which completes the session — or rejects it with feedback. After a
 * rejection the feedback is applied and the next attempt begins; when the last attempt is
 * rejected the session fails. Nothing changes a completed or failed session.
 *
 * Streams are named `workflow_session-<sessionId>`.
 */
import { Aggregate, Decider, EventCatalog } from "@facta/core"
import { Data, Effect, Schema } from "effect"
import * as QualityScore from "./QualityScore.js"

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

/** A prompt's name: a lowercase slug (it names the prompt's specification stream). */
export const PromptName = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
    message: () => "a prompt name is a lowercase slug: letters, digits, '_' and '-', at most 64 characters"
  })
)

/** The most attempts a session may allow. */
export const maxAttemptsLimit = 10

const AttemptNumber = Schema.Int.pipe(Schema.positive())

/** A session began: what the user asked for and how many attempts it may take. */
export const SessionStarted = Schema.TaggedStruct("SessionStarted", {
  userRequest: Schema.NonEmptyTrimmedString,
  maxAttempts: Schema.Int.pipe(Schema.between(1, maxAttemptsLimit))
})
/** An attempt (1-based) began. */
export const AttemptInitiated = Schema.TaggedStruct("AttemptInitiated", { attempt: AttemptNumber })
/** The task was analyzed: what kind of task it is and what the prompt must cover. */
export const TaskAnalyzed = Schema.TaggedStruct("TaskAnalyzed", {
  attempt: AttemptNumber,
  taskType: Schema.NonEmptyTrimmedString,
  requirements: Schema.Array(Schema.NonEmptyTrimmedString)
})
/** The attempt produced a prompt. */
export const PromptGenerated = Schema.TaggedStruct("PromptGenerated", {
  attempt: AttemptNumber,
  promptName: PromptName,
  text: Schema.NonEmptyTrimmedString
})
/** The attempt's prompt was validated with an overall score and a score per criterion. */
export const PromptValidated = Schema.TaggedStruct("PromptValidated", {
  attempt: AttemptNumber,
  promptName: PromptName,
  qualityScore: QualityScore.QualityScore,
  breakdown: QualityScore.ScoreBreakdown
})
/** The attempt's prompt was rejected, with feedback for the next attempt. */
export const PromptRejected = Schema.TaggedStruct("PromptRejected", {
  attempt: AttemptNumber,
  promptName: PromptName,
  feedback: Schema.NonEmptyTrimmedString
})
/** The rejection's feedback was worked in; the next attempt may begin. */
export const FeedbackApplied = Schema.TaggedStruct("FeedbackApplied", {
  attempt: AttemptNumber,
  changes: Schema.NonEmptyTrimmedString
})
/** The attempt's validated prompt was approved. */
export const PromptApproved = Schema.TaggedStruct("PromptApproved", {
  attempt: AttemptNumber,
  promptName: PromptName,
  qualityScore: QualityScore.QualityScore
})
/** The session ended with an approved prompt. */
export const SessionCompleted = Schema.TaggedStruct("SessionCompleted", {
  attempts: AttemptNumber,
  promptName: PromptName,
  qualityScore: QualityScore.QualityScore
})
/** The session ended without a prompt: its last attempt was rejected. */
export const SessionFailed = Schema.TaggedStruct("SessionFailed", {
  attempts: AttemptNumber,
  lastFeedback: Schema.NonEmptyTrimmedString
})

/** Every event of a workflow session. */
export const WorkflowSessionEvents = EventCatalog.make([
  SessionStarted,
  AttemptInitiated,
  TaskAnalyzed,
  PromptGenerated,
  PromptValidated,
  PromptRejected,
  FeedbackApplied,
  PromptApproved,
  SessionCompleted,
  SessionFailed
])

/** An event of a workflow session. */
export type WorkflowSessionEvent = typeof WorkflowSessionEvents.schema.Type

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

/** Starts a session (and its first attempt). `maxAttempts` is a whole number from 1 to 10. */
export const StartSession = Schema.TaggedStruct("StartSession", {
  userRequest: Schema.NonEmptyTrimmedString,
  maxAttempts: Schema.Int
})
/** Records the analysis of the task. */
export const AnalyzeTask = Schema.TaggedStruct("AnalyzeTask", {
  taskType: Schema.NonEmptyTrimmedString,
  requirements: Schema.Array(Schema.NonEmptyTrimmedString)
})
/** Records the prompt the current attempt generated. */
export const GeneratePrompt = Schema.TaggedStruct("GeneratePrompt", {
  promptName: PromptName,
  text: Schema.NonEmptyTrimmedString
})
/** Records a validation of the current prompt; scores are checked to be from 0 to 1. */
export const ValidatePrompt = Schema.TaggedStruct("ValidatePrompt", {
  qualityScore: Schema.Number,
  breakdown: Schema.Record({ key: QualityScore.Criterion, value: Schema.Number })
})
/** Rejects the current prompt with feedback. */
export const RejectPrompt = Schema.TaggedStruct("RejectPrompt", { feedback: Schema.NonEmptyTrimmedString })
/** Records that the rejection's feedback was worked in. */
export const ApplyFeedback = Schema.TaggedStruct("ApplyFeedback", { changes: Schema.NonEmptyTrimmedString })
/** Begins the next attempt after a rejection whose feedback was applied. */
export const RetryAttempt = Schema.TaggedStruct("RetryAttempt", {})
/** Approves the current, validated prompt, which completes the session. */
export const ApprovePrompt = Schema.TaggedStruct("ApprovePrompt", {})

/** Every command of a workflow session. */
export const WorkflowSessionCommand = Schema.Union(
  StartSession,
  AnalyzeTask,
  GeneratePrompt,
  ValidatePrompt,
  RejectPrompt,
  ApplyFeedback,
  RetryAttempt,
  ApprovePrompt
)
/** A command of a workflow session. */
export type WorkflowSessionCommand = typeof WorkflowSessionCommand.Type

// ---------------------------------------------------------------------------------------------
// state
// ---------------------------------------------------------------------------------------------

/**
 * Where the current attempt is. `starting` only shows between `SessionStarted` and the first
 * `AttemptInitiated` (which `StartSession` records together), `approved` between
 * `PromptApproved` and `SessionCompleted`.
 */
export const Phase = Schema.Literal(
  "starting",
  "awaiting-prompt",
  "prompt-generated",
  "prompt-validated",
  "prompt-rejected",
  "feedback-applied",
  "approved"
)
/** Where the current attempt is. */
export type Phase = typeof Phase.Type

/** The state of a session. */
export const WorkflowSessionState = Schema.Union(
  Schema.TaggedStruct("NotStarted", {}),
  Schema.TaggedStruct("Active", {
    userRequest: Schema.String,
    maxAttempts: Schema.Int,
    attempt: Schema.Int,
    phase: Phase,
    analysis: Schema.NullOr(Schema.Struct({ taskType: Schema.String, requirements: Schema.Array(Schema.String) })),
    prompt: Schema.NullOr(Schema.Struct({ name: Schema.String, text: Schema.String })),
    qualityScore: Schema.NullOr(Schema.Number),
    feedback: Schema.NullOr(Schema.String)
  }),
  Schema.TaggedStruct("Completed", {
    userRequest: Schema.String,
    maxAttempts: Schema.Int,
    attempts: Schema.Int,
    promptName: Schema.String,
    qualityScore: Schema.Number
  }),
  Schema.TaggedStruct("Failed", {
    userRequest: Schema.String,
    maxAttempts: Schema.Int,
    attempts: Schema.Int,
    lastFeedback: Schema.String
  })
)
/** The state of a session. */
export type WorkflowSessionState = typeof WorkflowSessionState.Type
type Active = Extract<WorkflowSessionState, { readonly _tag: "Active" }>

// ---------------------------------------------------------------------------------------------
// domain errors
// ---------------------------------------------------------------------------------------------

/** A command other than `StartSession` reached a stream with no session. */
export class SessionNotStarted extends Data.TaggedError("SessionNotStarted")<{}> {
  override get message() {
    return "No session was started on this stream; send StartSession first"
  }
}

/** `StartSession` reached a stream that already has a session. */
export class SessionAlreadyStarted extends Data.TaggedError("SessionAlreadyStarted")<{ readonly userRequest: string }> {
  override get message() {
    return `A session was already started here (for ${
      JSON.stringify(this.userRequest)
    }); start a new session on another stream`
  }
}

/** `StartSession` asked for a number of attempts outside 1..10. */
export class InvalidMaxAttempts extends Data.TaggedError("InvalidMaxAttempts")<{ readonly maxAttempts: number }> {
  override get message() {
    return `maxAttempts must be a whole number from 1 to ${maxAttemptsLimit}, got ${this.maxAttempts}`
  }
}

/** The session completed or failed: nothing can change it any more. */
export class SessionEnded extends Data.TaggedError("SessionEnded")<{
  readonly outcome: "completed" | "failed"
  readonly attempts: number
  readonly maxAttempts: number
}> {
  override get message() {
    return this.outcome === "completed"
      ? `The session already completed with an approved prompt after ${this.attempts} attempt(s); start a new session to change it`
      : `The session failed: all ${this.attempts} of ${this.maxAttempts} attempt(s) were rejected; start a new session to try again`
  }
}

/** `GeneratePrompt` before the task was analyzed in this session. */
export class TaskNotAnalyzed extends Data.TaggedError("TaskNotAnalyzed")<{ readonly attempt: number }> {
  override get message() {
    return `Attempt ${this.attempt} cannot generate a prompt before the task is analyzed; send AnalyzeTask first`
  }
}

/** `ApprovePrompt` on a prompt that was generated but not validated. */
export class PromptNotValidated extends Data.TaggedError("PromptNotValidated")<{
  readonly promptName: string
  readonly attempt: number
}> {
  override get message() {
    return `Prompt ${
      JSON.stringify(this.promptName)
    } (attempt ${this.attempt}) has not been validated; send ValidatePrompt before approving it`
  }
}

/** `ApprovePrompt` on a prompt that was rejected. */
export class PromptAlreadyRejected extends Data.TaggedError("PromptAlreadyRejected")<{
  readonly promptName: string
  readonly attempt: number
  readonly feedback: string
}> {
  override get message() {
    return `Prompt ${JSON.stringify(this.promptName)} (attempt ${this.attempt}) was rejected (${
      JSON.stringify(this.feedback)
    }) ` +
      `and cannot be approved; apply the feedback and retry`
  }
}

/** A command that does not fit where the current attempt is (say, validating before generating). */
export class StepOutOfOrder extends Data.TaggedError("StepOutOfOrder")<{
  readonly command: WorkflowSessionCommand["_tag"]
  readonly attempt: number
  readonly phase: Phase
}> {
  override get message() {
    return `${this.command} cannot run now: attempt ${this.attempt} is at "${this.phase}", and ${this.command} ${
      needs[this.command]
    }`
  }
}

const needs: Record<WorkflowSessionCommand["_tag"], string> = {
  StartSession: "only starts a new session",
  AnalyzeTask: "needs an attempt that has no prompt yet",
  GeneratePrompt: "needs an attempt that has no prompt yet",
  ValidatePrompt: "needs a freshly generated prompt",
  RejectPrompt: "needs a generated or validated prompt",
  ApplyFeedback: "needs a rejected prompt",
  RetryAttempt: "needs a rejected prompt whose feedback was applied",
  ApprovePrompt: "needs a validated prompt"
}

/** Every domain error of a workflow session. */
export type WorkflowSessionError =
  | SessionNotStarted
  | SessionAlreadyStarted
  | InvalidMaxAttempts
  | SessionEnded
  | TaskNotAnalyzed
  | PromptNotValidated
  | PromptAlreadyRejected
  | StepOutOfOrder
  | QualityScore.InvalidQualityScore

// ---------------------------------------------------------------------------------------------
// decider
// ---------------------------------------------------------------------------------------------

type Decision = ReadonlyArray<WorkflowSessionEvent> | WorkflowSessionError

const outOfOrder = (command: WorkflowSessionCommand, state: Active) =>
  new StepOutOfOrder({ command: command._tag, attempt: state.attempt, phase: state.phase })

/** Decides a command on an active session. */
const decideActive = (command: WorkflowSessionCommand, state: Active): Decision => {
  const attempt = state.attempt
  switch (command._tag) {
    case "StartSession":
      return new SessionAlreadyStarted({ userRequest: state.userRequest })
    case "AnalyzeTask":
      return state.phase === "awaiting-prompt"
        ? [{ _tag: "TaskAnalyzed", attempt, taskType: command.taskType, requirements: command.requirements }]
        : outOfOrder(command, state)
    case "GeneratePrompt":
      if (state.phase !== "awaiting-prompt") return outOfOrder(command, state)
      return state.analysis === null
        ? new TaskNotAnalyzed({ attempt })
        : [{ _tag: "PromptGenerated", attempt, promptName: command.promptName, text: command.text }]
    case "ValidatePrompt": {
      if (state.phase !== "prompt-generated" || state.prompt === null) return outOfOrder(command, state)
      const invalid = QualityScore.check(command.qualityScore, command.breakdown)
      return invalid ?? [{
        _tag: "PromptValidated",
        attempt,
        promptName: state.prompt.name,
        qualityScore: command.qualityScore,
        breakdown: command.breakdown
      }]
    }
    case "RejectPrompt": {
      if ((state.phase !== "prompt-generated" && state.phase !== "prompt-validated") || state.prompt === null) {
        return outOfOrder(command, state)
      }
      const rejected: WorkflowSessionEvent = {
        _tag: "PromptRejected",
        attempt,
        promptName: state.prompt.name,
        feedback: command.feedback
      }
      return attempt >= state.maxAttempts
        ? [rejected, { _tag: "SessionFailed", attempts: attempt, lastFeedback: command.feedback }]
        : [rejected]
    }
    case "ApplyFeedback":
      return state.phase === "prompt-rejected"
        ? [{ _tag: "FeedbackApplied", attempt, changes: command.changes }]
        : outOfOrder(command, state)
    case "RetryAttempt":
      // A rejection of the last attempt fails the session, so an active session always has one left.
      return state.phase === "feedback-applied" && attempt < state.maxAttempts
        ? [{ _tag: "AttemptInitiated", attempt: attempt + 1 }]
        : outOfOrder(command, state)
    case "ApprovePrompt":
      switch (state.phase) {
        case "prompt-validated":
          return state.prompt === null || state.qualityScore === null ? outOfOrder(command, state) : [
            { _tag: "PromptApproved", attempt, promptName: state.prompt.name, qualityScore: state.qualityScore },
            {
              _tag: "SessionCompleted",
              attempts: attempt,
              promptName: state.prompt.name,
              qualityScore: state.qualityScore
            }
          ]
        case "prompt-generated":
          return new PromptNotValidated({ promptName: state.prompt?.name ?? "", attempt })
        case "prompt-rejected":
        case "feedback-applied":
          return new PromptAlreadyRejected({
            promptName: state.prompt?.name ?? "",
            attempt,
            feedback: state.feedback ?? ""
          })
        default:
          return outOfOrder(command, state)
      }
  }
}

/** Decides which events a command causes, or which domain error refuses it. */
export const decide = (
  command: WorkflowSessionCommand,
  state: WorkflowSessionState
): Effect.Effect<ReadonlyArray<WorkflowSessionEvent>, WorkflowSessionError> => {
  const decision = ((): Decision => {
    switch (state._tag) {
      case "NotStarted":
        if (command._tag !== "StartSession") return new SessionNotStarted()
        if (
          !Number.isInteger(command.maxAttempts) || command.maxAttempts < 1 || command.maxAttempts > maxAttemptsLimit
        ) {
          return new InvalidMaxAttempts({ maxAttempts: command.maxAttempts })
        }
        return [
          { _tag: "SessionStarted", userRequest: command.userRequest, maxAttempts: command.maxAttempts },
          { _tag: "AttemptInitiated", attempt: 1 }
        ]
      case "Active":
        return decideActive(command, state)
      case "Completed":
      case "Failed":
        return new SessionEnded({
          outcome: state._tag === "Completed" ? "completed" : "failed",
          attempts: state.attempts,
          maxAttempts: state.maxAttempts
        })
    }
  })()
  return Array.isArray(decision) ? Effect.succeed(decision) : Effect.fail(decision as WorkflowSessionError)
}

/** Folds one event into the state; an event that does not fit the state leaves it as it is. */
export const evolve = (state: WorkflowSessionState, event: WorkflowSessionEvent): WorkflowSessionState => {
  if (event._tag === "SessionStarted") {
    return state._tag === "NotStarted"
      ? {
        _tag: "Active",
        userRequest: event.userRequest,
        maxAttempts: event.maxAttempts,
        attempt: 0,
        phase: "starting",
        analysis: null,
        prompt: null,
        qualityScore: null,
        feedback: null
      }
      : state
  }
  if (state._tag !== "Active") return state
  switch (event._tag) {
    case "AttemptInitiated":
      // Never more attempts than the session allows, whatever the log says.
      return state.attempt < state.maxAttempts
        ? {
          ...state,
          attempt: state.attempt + 1,
          phase: "awaiting-prompt",
          prompt: null,
          qualityScore: null,
          feedback: null
        }
        : state
    case "TaskAnalyzed":
      return { ...state, analysis: { taskType: event.taskType, requirements: event.requirements } }
    case "PromptGenerated":
      return { ...state, phase: "prompt-generated", prompt: { name: event.promptName, text: event.text } }
    case "PromptValidated":
      return { ...state, phase: "prompt-validated", qualityScore: event.qualityScore }
    case "PromptRejected":
      return { ...state, phase: "prompt-rejected", feedback: event.feedback }
    case "FeedbackApplied":
      return { ...state, phase: "feedback-applied" }
    case "PromptApproved":
      return { ...state, phase: "approved", qualityScore: event.qualityScore }
    case "SessionCompleted":
      return {
        _tag: "Completed",
        userRequest: state.userRequest,
        maxAttempts: state.maxAttempts,
        attempts: event.attempts,
        promptName: event.promptName,
        qualityScore: event.qualityScore
      }
    case "SessionFailed":
      return {
        _tag: "Failed",
        userRequest: state.userRequest,
        maxAttempts: state.maxAttempts,
        attempts: event.attempts,
        lastFeedback: event.lastFeedback
      }
  }
}

/** The session's decider: pure `decide` and total `evolve`; completed and failed sessions are terminal. */
export const WorkflowSessionDecider = Decider.make({
  initialState: { _tag: "NotStarted" } as WorkflowSessionState,
  decide,
  evolve,
  isTerminal: (state: WorkflowSessionState) => state._tag === "Completed" || state._tag === "Failed"
})

/** The workflow session aggregate: streams `workflow_session-<sessionId>`, a snapshot every 20 events. */
export const WorkflowSession = Aggregate.make({
  category: "workflow_session",
  catalog: WorkflowSessionEvents,
  decider: WorkflowSessionDecider,
  snapshots: { schema: WorkflowSessionState, schemaVersion: 1, every: 20 }
})

/** The stream id of session `sessionId`. */
export const streamIdOf = (sessionId: string): string => `workflow_session-${sessionId}`

/**
 * The session's state as of a stream version (`{ version: 3 }`) or a time (`{ time }`: the
 * events recorded at or before it) — for "what did this session look like when …" questions.
 */
export const stateAsOf = (sessionId: string, asOf: Aggregate.AsOf) =>
  Aggregate.load(WorkflowSession, streamIdOf(sessionId), asOf)

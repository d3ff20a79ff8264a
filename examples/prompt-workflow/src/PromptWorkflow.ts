/**
 * The application service: runs session commands and keeps each prompt's specification in step
 * with the session that produced it. Generating a prompt creates its specification (or refines
 * it, on a later attempt under the same name); approving the prompt approves the specification
 * with the validated score. The two streams are written one after the other, not atomically:
 * when the second write fails, sending the same approval again is refused by the session, so
 * `syncSpecification` can be run on its own to finish the job.
 */
import type { CommandHandler } from "@facta/core"
import { Aggregate, CommandHandler as Handler } from "@facta/core"
import { Effect } from "effect"
import type { PromptSpecificationCommand } from "./PromptSpecification.js"
import {
  PromptSpecification,
  SpecificationAlreadyApproved,
  SpecificationAlreadyExists,
  streamIdOf as specificationStreamId
} from "./PromptSpecification.js"
import type { WorkflowSessionCommand, WorkflowSessionState } from "./WorkflowSession.js"
import { streamIdOf as sessionStreamId, WorkflowSession } from "./WorkflowSession.js"

/** Handles a command on one session stream (no specification side effects). */
export const handleSession = (
  sessionId: string,
  command: WorkflowSessionCommand,
  context: CommandHandler.CommandContext = {}
) => Handler.handle(WorkflowSession, sessionStreamId(sessionId), command, { context })

/** Handles a command on the specification of prompt `name`. */
export const handleSpecification = (
  name: string,
  command: PromptSpecificationCommand,
  context: CommandHandler.CommandContext = {}
) => Handler.handle(PromptSpecification, specificationStreamId(name), command, { context })

/** The context for the specification command that a session command caused: same request and user. */
const followUp = (
  context: CommandHandler.CommandContext,
  causedBy: string | undefined
): CommandHandler.CommandContext => ({
  ...(context.correlationId === undefined ? {} : { correlationId: context.correlationId }),
  ...(context.userId === undefined ? {} : { userId: context.userId }),
  metadata: { ...context.metadata, ...(causedBy === undefined ? {} : { causedByEvent: causedBy }) }
})

/**
 * Brings the specification of the session's current prompt in step with the session: creates
 * or refines it after a generated prompt, approves it after an approved one. Does nothing in
 * other states.
 */
export const syncSpecification = (
  sessionId: string,
  state: WorkflowSessionState,
  context: CommandHandler.CommandContext = {},
  causedBy?: string
) =>
  Effect.gen(function*() {
    const specContext = followUp(context, causedBy)
    if (state._tag === "Completed") {
      yield* handleSpecification(
        state.promptName,
        { _tag: "ApproveSpecification", qualityScore: state.qualityScore },
        specContext
      )
      return
    }
    if (state._tag !== "Active" || state.phase !== "prompt-generated" || state.prompt === null) return
    const { name, text } = state.prompt
    const current = yield* Aggregate.load(PromptSpecification, specificationStreamId(name))
    const command: PromptSpecificationCommand = current.state._tag === "Absent"
      ? { _tag: "GenerateSpecification", name, text, sessionId }
      : { _tag: "RefineSpecification", text, reason: `attempt ${state.attempt} of session ${sessionId}` }
    yield* handleSpecification(name, command, specContext)
  })

/**
 * Checks, before a session records a generated prompt, that its name is free for this session:
 * not approved already, and not a specification another session is working on.
 */
const checkNameIsFree = (sessionId: string, name: string) =>
  Effect.gen(function*() {
    const { state } = yield* Aggregate.load(PromptSpecification, specificationStreamId(name))
    if (state._tag === "Approved") return yield* Effect.fail(new SpecificationAlreadyApproved({ name }))
    if (state._tag === "Draft" && state.sessionId !== sessionId) {
      return yield* Effect.fail(new SpecificationAlreadyExists({ name }))
    }
  })

/**
 * Sends a command to session `sessionId`; a generated or approved prompt also updates the
 * prompt's specification. A prompt name that is approved already, or that another session's
 * specification uses, is refused before anything is recorded. Returns the session's handling
 * result.
 */
export const send = (sessionId: string, command: WorkflowSessionCommand, context: CommandHandler.CommandContext = {}) =>
  Effect.gen(function*() {
    if (command._tag === "GeneratePrompt") yield* checkNameIsFree(sessionId, command.promptName)
    const result = yield* handleSession(sessionId, command, context)
    if (command._tag === "GeneratePrompt" || command._tag === "ApprovePrompt") {
      yield* syncSpecification(sessionId, result.state, context, result.eventIds[0])
    }
    return result
  })

import { describe, it } from "@effect/vitest"
import { DeciderSpec } from "@facta/testing"
import { InvalidQualityScore } from "../src/QualityScore.js"
import type { WorkflowSessionCommand, WorkflowSessionEvent, WorkflowSessionState } from "../src/WorkflowSession.js"
import {
  InvalidMaxAttempts,
  PromptAlreadyRejected,
  PromptNotValidated,
  SessionAlreadyStarted,
  SessionEnded,
  SessionNotStarted,
  StepOutOfOrder,
  TaskNotAnalyzed,
  WorkflowSession
} from "../src/WorkflowSession.js"

const spec = DeciderSpec.for(WorkflowSession)

const request = "Summarize support emails for the on-call engineer"
const started = (maxAttempts = 2): WorkflowSessionEvent => ({
  _tag: "SessionStarted",
  userRequest: request,
  maxAttempts
})
const initiated = (attempt: number): WorkflowSessionEvent => ({ _tag: "AttemptInitiated", attempt })
const analyzed = (attempt = 1): WorkflowSessionEvent => ({
  _tag: "TaskAnalyzed",
  attempt,
  taskType: "summarization",
  requirements: ["keep it under 5 lines", "name the customer"]
})
const generated = (attempt = 1, text = "Summarize {{email}} in 5 lines."): WorkflowSessionEvent => ({
  _tag: "PromptGenerated",
  attempt,
  promptName: "email-summary",
  text
})
const breakdown = { clarity: 0.9, specificity: 0.5 }
const validated = (attempt = 1, qualityScore = 0.7): WorkflowSessionEvent => ({
  _tag: "PromptValidated",
  attempt,
  promptName: "email-summary",
  qualityScore,
  breakdown
})
const rejected = (attempt = 1): WorkflowSessionEvent => ({
  _tag: "PromptRejected",
  attempt,
  promptName: "email-summary",
  feedback: "too vague about urgency"
})
const feedbackApplied = (attempt = 1): WorkflowSessionEvent => ({
  _tag: "FeedbackApplied",
  attempt,
  changes: "ask for an urgency line"
})

const start = (maxAttempts = 2): WorkflowSessionCommand => ({ _tag: "StartSession", userRequest: request, maxAttempts })
const analyze: WorkflowSessionCommand = {
  _tag: "AnalyzeTask",
  taskType: "summarization",
  requirements: ["keep it under 5 lines", "name the customer"]
}
const generate: WorkflowSessionCommand = {
  _tag: "GeneratePrompt",
  promptName: "email-summary",
  text: "Summarize {{email}} in 5 lines."
}
const validate = (qualityScore = 0.7, scores: Record<string, number> = breakdown): WorkflowSessionCommand => ({
  _tag: "ValidatePrompt",
  qualityScore,
  breakdown: scores
})
const reject: WorkflowSessionCommand = { _tag: "RejectPrompt", feedback: "too vague about urgency" }
const applyFeedback: WorkflowSessionCommand = { _tag: "ApplyFeedback", changes: "ask for an urgency line" }
const retry: WorkflowSessionCommand = { _tag: "RetryAttempt" }
const approve: WorkflowSessionCommand = { _tag: "ApprovePrompt" }

/** A session whose first attempt has a generated prompt. */
const firstPrompt = [started(), initiated(1), analyzed(), generated()]
/** A session whose first attempt was rejected and the feedback applied. */
const readyToRetry = [...firstPrompt, validated(), rejected(), feedbackApplied()]
const completed = [...firstPrompt, validated(1, 0.8), {
  _tag: "PromptApproved",
  attempt: 1,
  promptName: "email-summary",
  qualityScore: 0.8
}, { _tag: "SessionCompleted", attempts: 1, promptName: "email-summary", qualityScore: 0.8 }] satisfies ReadonlyArray<
  WorkflowSessionEvent
>
const failed: ReadonlyArray<WorkflowSessionEvent> = [
  ...readyToRetry,
  initiated(2),
  generated(2),
  rejected(2),
  { _tag: "SessionFailed", attempts: 2, lastFeedback: "too vague about urgency" }
]

const active = (patch: Partial<Extract<WorkflowSessionState, { _tag: "Active" }>>): WorkflowSessionState => ({
  _tag: "Active",
  userRequest: request,
  maxAttempts: 2,
  attempt: 1,
  phase: "awaiting-prompt",
  analysis: null,
  prompt: null,
  qualityScore: null,
  feedback: null,
  ...patch
})

describe("WorkflowSession", () => {
  describe("starting", () => {
    it.effect("starts a session and its first attempt", () =>
      spec.when(start(3)).then([started(3), initiated(1)], { state: active({ maxAttempts: 3 }) }))

    it.effect("allows from 1 to 10 attempts", () => spec.when(start(10)).then([started(10), initiated(1)]))

    it.effect("refuses zero attempts", () => spec.when(start(0)).thenFails(new InvalidMaxAttempts({ maxAttempts: 0 })))

    it.effect("refuses more than 10 attempts", () =>
      spec.when(start(11)).thenFails(new InvalidMaxAttempts({ maxAttempts: 11 })))

    it.effect("refuses a fractional number of attempts", () => spec.when(start(2.5)).thenFails("InvalidMaxAttempts"))

    it.effect("refuses to start a session twice", () =>
      spec.given([started(), initiated(1)]).when(start()).thenFails(
        new SessionAlreadyStarted({ userRequest: request })
      ))

    it.effect("refuses every other command before the session started", () =>
      spec.when(analyze).thenFails(new SessionNotStarted()))

    it.effect("refuses approval before the session started", () =>
      spec.when(approve).thenFails(new SessionNotStarted()))
  })

  describe("analyzing the task", () => {
    it.effect("records the analysis of the attempt", () =>
      spec.given([started(), initiated(1)]).when(analyze).then([analyzed(1)], {
        state: active({
          analysis: { taskType: "summarization", requirements: ["keep it under 5 lines", "name the customer"] }
        })
      }))

    it.effect("may analyze again in a later attempt", () =>
      spec.given([...readyToRetry, initiated(2)]).when(analyze).then([analyzed(2)]))

    it.effect("refuses to analyze once the attempt has a prompt", () =>
      spec.given(firstPrompt).when(analyze).thenFails(
        new StepOutOfOrder({ command: "AnalyzeTask", attempt: 1, phase: "prompt-generated" })
      ))
  })

  describe("generating a prompt", () => {
    it.effect("generates the attempt's prompt after the analysis", () =>
      spec.given([started(), initiated(1), analyzed()]).when(generate).then([generated()]))

    it.effect("refuses to generate before the task is analyzed", () =>
      spec.given([started(), initiated(1)]).when(generate).thenFails(new TaskNotAnalyzed({ attempt: 1 })))

    it.effect("a retry generates without a new analysis: the session's analysis carries over", () =>
      spec.given([...readyToRetry, initiated(2)]).when(generate).then([generated(2)]))

    it.effect("refuses a second prompt in the same attempt", () =>
      spec.given(firstPrompt).when(generate).thenFails(
        new StepOutOfOrder({ command: "GeneratePrompt", attempt: 1, phase: "prompt-generated" })
      ))
  })

  describe("validating a prompt", () => {
    it.effect("records the score and its breakdown", () =>
      spec.given(firstPrompt).when(validate(0.7)).then([validated(1, 0.7)], {
        state: active({
          phase: "prompt-validated",
          analysis: { taskType: "summarization", requirements: ["keep it under 5 lines", "name the customer"] },
          prompt: { name: "email-summary", text: "Summarize {{email}} in 5 lines." },
          qualityScore: 0.7
        })
      }))

    it.effect("accepts the bounds 0 and 1", () =>
      spec.given(firstPrompt).when(validate(1, { clarity: 0, specificity: 1 })).then([
        {
          _tag: "PromptValidated",
          attempt: 1,
          promptName: "email-summary",
          qualityScore: 1,
          breakdown: { clarity: 0, specificity: 1 }
        }
      ]))

    it.effect("refuses a score above 1 (a 0..100 score, say)", () =>
      spec.given(firstPrompt).when(validate(85)).thenFails(
        new InvalidQualityScore({ field: "qualityScore", value: 85 })
      ))

    it.effect("refuses a negative score", () =>
      spec.given(firstPrompt).when(validate(-0.1)).thenFails(
        new InvalidQualityScore({ field: "qualityScore", value: -0.1 })
      ))

    it.effect("refuses a score that is not a number", () =>
      spec.given(firstPrompt).when(validate(Number.NaN)).thenFails("InvalidQualityScore"))

    it.effect("refuses a breakdown criterion out of range, naming it", () =>
      spec.given(firstPrompt).when(validate(0.7, { clarity: 0.9, tone: 1.5 })).thenFails(
        new InvalidQualityScore({ field: "breakdown.tone", value: 1.5 })
      ))

    it.effect("refuses to validate before a prompt is generated", () =>
      spec.given([started(), initiated(1), analyzed()]).when(validate()).thenFails(
        new StepOutOfOrder({ command: "ValidatePrompt", attempt: 1, phase: "awaiting-prompt" })
      ))

    it.effect("refuses to validate a rejected prompt", () =>
      spec.given([...firstPrompt, rejected()]).when(validate()).thenFails("StepOutOfOrder"))
  })

  describe("rejecting a prompt", () => {
    it.effect("rejects a validated prompt with feedback while attempts remain", () =>
      spec.given([...firstPrompt, validated()]).when(reject).then([rejected()]))

    it.effect("may reject a prompt without validating it", () =>
      spec.given(firstPrompt).when(reject).then([rejected()]))

    it.effect("rejecting the last attempt fails the session", () =>
      spec.given([...readyToRetry, initiated(2), generated(2), validated(2, 0.4)]).when(reject).then([
        rejected(2),
        { _tag: "SessionFailed", attempts: 2, lastFeedback: "too vague about urgency" }
      ], {
        state: {
          _tag: "Failed",
          userRequest: request,
          maxAttempts: 2,
          attempts: 2,
          lastFeedback: "too vague about urgency"
        }
      }))

    it.effect("with a single attempt, the first rejection fails the session", () =>
      spec.given([started(1), initiated(1), analyzed(), generated()]).when(reject).then([
        rejected(),
        { _tag: "SessionFailed", attempts: 1, lastFeedback: "too vague about urgency" }
      ]))

    it.effect("refuses to reject when there is no prompt", () =>
      spec.given([started(), initiated(1), analyzed()]).when(reject).thenFails(
        new StepOutOfOrder({ command: "RejectPrompt", attempt: 1, phase: "awaiting-prompt" })
      ))

    it.effect("refuses to reject twice", () =>
      spec.given([...firstPrompt, rejected()]).when(reject).thenFails(
        new StepOutOfOrder({ command: "RejectPrompt", attempt: 1, phase: "prompt-rejected" })
      ))
  })

  describe("applying feedback and retrying", () => {
    it.effect("applies the rejection's feedback", () =>
      spec.given([...firstPrompt, rejected()]).when(applyFeedback).then([feedbackApplied()]))

    it.effect("refuses to apply feedback when nothing was rejected", () =>
      spec.given([...firstPrompt, validated()]).when(applyFeedback).thenFails(
        new StepOutOfOrder({ command: "ApplyFeedback", attempt: 1, phase: "prompt-validated" })
      ))

    it.effect("begins the next attempt once the feedback is applied", () =>
      spec.given(readyToRetry).when(retry).then([initiated(2)], {
        state: active({
          attempt: 2,
          analysis: { taskType: "summarization", requirements: ["keep it under 5 lines", "name the customer"] }
        })
      }))

    it.effect("refuses to retry before the feedback is applied", () =>
      spec.given([...firstPrompt, rejected()]).when(retry).thenFails(
        new StepOutOfOrder({ command: "RetryAttempt", attempt: 1, phase: "prompt-rejected" })
      ))

    it.effect("refuses to retry an attempt that was not rejected", () =>
      spec.given([...firstPrompt, validated()]).when(retry).thenFails("StepOutOfOrder"))

    it.effect("a failed session cannot retry: no attempt beyond the maximum", () =>
      spec.given(failed).when(retry).thenFails(new SessionEnded({ outcome: "failed", attempts: 2, maxAttempts: 2 })))
  })

  describe("approving a prompt", () => {
    it.effect("approves a validated prompt and completes the session", () =>
      spec.given([...firstPrompt, validated(1, 0.8)]).when(approve).then([
        { _tag: "PromptApproved", attempt: 1, promptName: "email-summary", qualityScore: 0.8 },
        { _tag: "SessionCompleted", attempts: 1, promptName: "email-summary", qualityScore: 0.8 }
      ], {
        state: {
          _tag: "Completed",
          userRequest: request,
          maxAttempts: 2,
          attempts: 1,
          promptName: "email-summary",
          qualityScore: 0.8
        }
      }))

    it.effect("approves the second attempt's prompt after a rejection", () =>
      spec.given([
        ...readyToRetry,
        initiated(2),
        generated(2, "Summarize {{email}}; start with urgency."),
        validated(2, 0.9)
      ])
        .when(approve).thenState({
          _tag: "Completed",
          userRequest: request,
          maxAttempts: 2,
          attempts: 2,
          promptName: "email-summary",
          qualityScore: 0.9
        }))

    it.effect("refuses to approve an unvalidated prompt", () =>
      spec.given(firstPrompt).when(approve).thenFails(
        new PromptNotValidated({ promptName: "email-summary", attempt: 1 })
      ))

    it.effect("refuses to approve a rejected prompt", () =>
      spec.given([...firstPrompt, validated(), rejected()]).when(approve).thenFails(
        new PromptAlreadyRejected({ promptName: "email-summary", attempt: 1, feedback: "too vague about urgency" })
      ))

    it.effect("refuses to approve a rejected prompt even after its feedback was applied", () =>
      spec.given(readyToRetry).when(approve).thenFails("PromptAlreadyRejected"))

    it.effect("refuses to approve before any prompt exists", () =>
      spec.given([started(), initiated(1)]).when(approve).thenFails(
        new StepOutOfOrder({ command: "ApprovePrompt", attempt: 1, phase: "awaiting-prompt" })
      ))
  })

  describe("after the end", () => {
    const everyCommand = [start(), analyze, generate, validate(), reject, applyFeedback, retry, approve]

    it.effect.each(everyCommand.map((command) => [command._tag, command] as const))(
      "a completed session refuses %s",
      ([, command]) =>
        spec.given(completed).when(command).thenFails(
          new SessionEnded({ outcome: "completed", attempts: 1, maxAttempts: 2 })
        )
    )

    it.effect.each(everyCommand.map((command) => [command._tag, command] as const))(
      "a failed session refuses %s",
      ([, command]) =>
        spec.given(failed).when(command).thenFails(new SessionEnded({ outcome: "failed", attempts: 2, maxAttempts: 2 }))
    )
  })
})

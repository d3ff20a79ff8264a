import { describe, expect, it } from "@effect/vitest"
import { Laws } from "@facta/testing"
import { Arbitrary, Effect, FastCheck, Schema } from "effect"
import type { PromptSpecificationCommand } from "../src/PromptSpecification.js"
import {
  PromptSpecification,
  PromptSpecificationCommand as SpecificationCommandSchema
} from "../src/PromptSpecification.js"
import type { WorkflowSessionCommand, WorkflowSessionEvent } from "../src/WorkflowSession.js"
import {
  AnalyzeTask,
  ApplyFeedback,
  ApprovePrompt,
  GeneratePrompt,
  RejectPrompt,
  RetryAttempt,
  StartSession,
  ValidatePrompt,
  WorkflowSession,
  WorkflowSessionCommand as SessionCommandSchema
} from "../src/WorkflowSession.js"

/** Scores mostly in range, sometimes on the wrong scale, so both paths of validation show up. */
const scores = [0, 0.35, 0.7, 0.92, 1, 1.5, 85] as const
const pick = <A>(values: ReadonlyArray<A>, seed: number): A => values[Math.abs(Math.trunc(seed)) % values.length]!

/** Keeps the generated commands in the ranges that make sessions progress, with a few out of range. */
const shape = (command: WorkflowSessionCommand): WorkflowSessionCommand => {
  switch (command._tag) {
    case "StartSession":
      return { ...command, maxAttempts: pick([1, 2, 3, 3, 0, 11], command.maxAttempts) }
    case "ValidatePrompt":
      return {
        ...command,
        qualityScore: pick(scores, command.qualityScore * 7),
        breakdown: Object.fromEntries(
          Object.entries(command.breakdown).slice(0, 3).map(([key, value]) => [key, pick(scores, value)])
        )
      }
    default:
      return command
  }
}

/** Every kind of command, derived from the command schema. */
const anyCommand = Arbitrary.make(SessionCommandSchema).map(shape)
/**
 * Every command before `StartSession` is refused, so starts come often enough to begin early;
 * the steps of an attempt come most often, so sessions get far.
 */
const starts = Arbitrary.make(StartSession).map(shape)
const attemptSteps = Arbitrary.make(
  Schema.Union(AnalyzeTask, GeneratePrompt, ValidatePrompt, RejectPrompt, ApplyFeedback, RetryAttempt, ApprovePrompt)
).map(shape)
const sessionCommands = FastCheck.oneof(
  { arbitrary: anyCommand, weight: 1 },
  { arbitrary: starts, weight: 1 },
  { arbitrary: attemptSteps, weight: 4 }
)
const maxCommands = 50

/** What every history must satisfy, whatever the commands were. */
const checkInvariants = (events: ReadonlyArray<WorkflowSessionEvent>) => {
  let maxAttempts = 0
  let attempts = 0
  let validatedInAttempt = false
  let rejectedInAttempt = false
  let ended = false
  for (const event of events) {
    expect(ended, `an event after the session ended: ${event._tag}`).toBe(false)
    switch (event._tag) {
      case "SessionStarted":
        expect(maxAttempts, "a second SessionStarted").toBe(0)
        maxAttempts = event.maxAttempts
        break
      case "AttemptInitiated":
        attempts++
        expect(event.attempt).toBe(attempts)
        expect(attempts).toBeLessThanOrEqual(maxAttempts)
        validatedInAttempt = false
        rejectedInAttempt = false
        break
      case "PromptValidated":
        expect(event.qualityScore).toBeGreaterThanOrEqual(0)
        expect(event.qualityScore).toBeLessThanOrEqual(1)
        validatedInAttempt = true
        break
      case "PromptRejected":
        rejectedInAttempt = true
        break
      case "PromptApproved":
        expect(validatedInAttempt && !rejectedInAttempt, "approved a prompt that was not validated, or was rejected")
          .toBe(true)
        break
      case "SessionFailed":
        expect(rejectedInAttempt && attempts === maxAttempts, "failed before the last attempt was rejected").toBe(true)
        ended = true
        break
      case "SessionCompleted":
        ended = true
        break
    }
  }
}

describe("WorkflowSession laws", () => {
  it.effect("the command arbitrary gives interesting histories", () =>
    Effect.gen(function*() {
      const samples = FastCheck.sample(FastCheck.array(sessionCommands, { maxLength: maxCommands, size: "max" }), {
        numRuns: 400,
        seed: 7
      })
      const histories = yield* Effect.forEach(samples, (sample) => Laws.history(WorkflowSession, sample))
      const share = (predicate: (history: (typeof histories)[number]) => boolean) =>
        histories.filter(predicate).length / histories.length
      // Seeded, so these shares are the same on every run (7.75%, 8.75%, 11.75% and 8.25% today).
      expect(share((h) => h.state._tag === "Completed")).toBeGreaterThan(0.05)
      expect(share((h) => h.state._tag === "Failed")).toBeGreaterThan(0.05)
      expect(share((h) => h.events.some((e) => e._tag === "AttemptInitiated" && e.attempt >= 2))).toBeGreaterThan(0.08)
      expect(share((h) => h.steps.some((s) => s._tag === "Rejected" && s.error._tag === "InvalidQualityScore")))
        .toBeGreaterThan(0.05)
    }))

  it.effect("all laws hold", () =>
    Effect.gen(function*() {
      const checked = yield* Laws.check(WorkflowSession, { commands: sessionCommands, maxCommands, numRuns: 200 })
      expect(checked).toEqual(["replayIsDeterministic", "snapshotRestoresState", "eventsRoundTrip", "evolveIsTotal"])
    }))

  it.effect("the laws also hold for commands straight from the schema", () =>
    Effect.asVoid(Laws.check(WorkflowSession, { commands: Arbitrary.make(SessionCommandSchema), numRuns: 50 })))

  it.effect.prop(
    "no attempt beyond the maximum, no approval without a validation or after a rejection, nothing after the end",
    [FastCheck.array(sessionCommands, { maxLength: maxCommands })],
    ([commands]) =>
      Effect.gen(function*() {
        const history = yield* Laws.history(WorkflowSession, commands)
        checkInvariants(history.events)
      }),
    { fastCheck: { numRuns: 300 } }
  )
})

const inputNames = ["email", "engineer", "tone"] as const

/** Few distinct input names and sources, so duplicates and repeats happen. */
const shapeSpecification = (command: PromptSpecificationCommand): PromptSpecificationCommand => {
  switch (command._tag) {
    case "AddInputs":
      return {
        ...command,
        inputs: [
          { ...command.inputs[0], name: pick(inputNames, command.inputs[0].description.length) },
          ...command.inputs.slice(1, 2).map((input) => ({
            ...input,
            name: pick(inputNames, input.description.length + 1)
          }))
        ]
      }
    case "AddContextSources":
      return {
        ...command,
        sources: [pick(["runbook", "wiki"], command.sources[0].length), ...command.sources.slice(1, 2)]
      }
    case "ApproveSpecification":
      return { ...command, qualityScore: pick(scores, command.qualityScore * 7) }
    default:
      return command
  }
}

const specificationCommands = Arbitrary.make(SpecificationCommandSchema).map(shapeSpecification)

describe("PromptSpecification laws", () => {
  it.effect("the command arbitrary gives interesting histories", () =>
    Effect.gen(function*() {
      const samples = FastCheck.sample(FastCheck.array(specificationCommands, { maxLength: 20, size: "max" }), {
        numRuns: 300,
        seed: 11
      })
      const histories = yield* Effect.forEach(samples, (sample) => Laws.history(PromptSpecification, sample))
      const share = (predicate: (history: (typeof histories)[number]) => boolean) =>
        histories.filter(predicate).length / histories.length
      expect(share((h) => h.state._tag === "Approved")).toBeGreaterThan(0.1)
      expect(share((h) => h.state._tag !== "Absent" && h.state.revision >= 2)).toBeGreaterThan(0.1)
      expect(share((h) => h.steps.some((s) => s._tag === "Rejected" && s.error._tag === "DuplicateInput")))
        .toBeGreaterThan(0.05)
    }))

  it.effect("all laws hold", () =>
    Effect.gen(function*() {
      const checked = yield* Laws.check(PromptSpecification, {
        commands: specificationCommands,
        maxCommands: 20,
        numRuns: 200
      })
      expect(checked).toEqual(["replayIsDeterministic", "snapshotRestoresState", "eventsRoundTrip", "evolveIsTotal"])
    }))

  it.effect("the laws also hold for commands straight from the schema", () =>
    Effect.asVoid(
      Laws.check(PromptSpecification, { commands: Arbitrary.make(SpecificationCommandSchema), numRuns: 50 })
    ))
})

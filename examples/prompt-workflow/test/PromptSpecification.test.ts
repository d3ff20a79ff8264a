import { describe, it } from "@effect/vitest"
import { DeciderSpec } from "@facta/testing"
import type { PromptSpecificationCommand, PromptSpecificationEvent } from "../src/PromptSpecification.js"
import {
  DuplicateInput,
  PromptSpecification,
  SpecificationAlreadyApproved,
  SpecificationAlreadyExists,
  SpecificationNotFound
} from "../src/PromptSpecification.js"
import { InvalidQualityScore } from "../src/QualityScore.js"

const spec = DeciderSpec.for(PromptSpecification)

const text = "Summarize {{email}} for {{engineer}} in 5 lines."
const generatedSpec: PromptSpecificationEvent = {
  _tag: "SpecificationGenerated",
  name: "email-summary",
  text,
  sessionId: "s-1"
}
const emailInput = { name: "email", description: "the raw support email" }
const engineerInput = { name: "engineer", description: "who is on call" }
const inputsAdded: PromptSpecificationEvent = { _tag: "InputsAdded", inputs: [emailInput] }
const sourcesAdded: PromptSpecificationEvent = { _tag: "ContextSourcesAdded", sources: ["runbook"] }
const refined: PromptSpecificationEvent = {
  _tag: "SpecificationRefined",
  text: "Summarize {{email}}; urgency first.",
  reason: "attempt 2",
  revision: 2
}
const approvedSpec: PromptSpecificationEvent = { _tag: "SpecificationApproved", qualityScore: 0.9, revision: 1 }

const generate: PromptSpecificationCommand = {
  _tag: "GenerateSpecification",
  name: "email-summary",
  text,
  sessionId: "s-1"
}
const addInputs = (...inputs: ReadonlyArray<{ name: string; description: string }>): PromptSpecificationCommand => ({
  _tag: "AddInputs",
  inputs: [inputs[0]!, ...inputs.slice(1)]
})
const addSources = (...sources: ReadonlyArray<string>): PromptSpecificationCommand => ({
  _tag: "AddContextSources",
  sources: [sources[0]!, ...sources.slice(1)]
})
const refine: PromptSpecificationCommand = {
  _tag: "RefineSpecification",
  text: "Summarize {{email}}; urgency first.",
  reason: "attempt 2"
}
const approve = (qualityScore: number): PromptSpecificationCommand => ({ _tag: "ApproveSpecification", qualityScore })

describe("PromptSpecification", () => {
  describe("generating", () => {
    it.effect("creates a draft at revision 1", () =>
      spec.when(generate).then([generatedSpec], {
        state: { _tag: "Draft", name: "email-summary", text, sessionId: "s-1", inputs: [], sources: [], revision: 1 }
      }))

    it.effect("refuses a name that is taken", () =>
      spec.given([generatedSpec]).when(generate).thenFails(new SpecificationAlreadyExists({ name: "email-summary" })))

    it.effect("refuses a name that is taken by an approved prompt", () =>
      spec.given([generatedSpec, approvedSpec]).when(generate).thenFails("SpecificationAlreadyExists"))

    it.effect("every other command needs the specification first", () =>
      spec.when(addInputs(emailInput)).thenFails(new SpecificationNotFound()))
  })

  describe("inputs", () => {
    it.effect("declares inputs", () =>
      spec.given([generatedSpec]).when(addInputs(emailInput, engineerInput)).then([
        { _tag: "InputsAdded", inputs: [emailInput, engineerInput] }
      ]))

    it.effect("refuses an input declared before", () =>
      spec.given([generatedSpec, inputsAdded]).when(addInputs(engineerInput, emailInput)).thenFails(
        new DuplicateInput({ names: ["email"] })
      ))

    it.effect("refuses an input declared twice in one command", () =>
      spec.given([generatedSpec]).when(addInputs(emailInput, { name: "email", description: "again" })).thenFails(
        new DuplicateInput({ names: ["email"] })
      ))
  })

  describe("context sources", () => {
    it.effect("attaches the sources not attached yet, once each", () =>
      spec.given([generatedSpec, sourcesAdded]).when(addSources("runbook", "status page", "status page")).then([
        { _tag: "ContextSourcesAdded", sources: ["status page"] }
      ]))

    it.effect("attaching only known sources changes nothing", () =>
      spec.given([generatedSpec, sourcesAdded]).when(addSources("runbook")).thenNothing())
  })

  describe("refining", () => {
    it.effect("revises the text and counts the revision", () =>
      spec.given([generatedSpec, inputsAdded]).when(refine).then([refined], {
        state: {
          _tag: "Draft",
          name: "email-summary",
          text: "Summarize {{email}}; urgency first.",
          sessionId: "s-1",
          inputs: [emailInput],
          sources: [],
          revision: 2
        }
      }))

    it.effect("the same text again changes nothing", () =>
      spec.given([generatedSpec]).when({ _tag: "RefineSpecification", text, reason: "no change" }).thenNothing())
  })

  describe("approving", () => {
    it.effect("approves the current revision with its score", () =>
      spec.given([generatedSpec, refined]).when(approve(0.9)).then([
        { _tag: "SpecificationApproved", qualityScore: 0.9, revision: 2 }
      ]))

    it.effect("refuses a score outside 0..1", () =>
      spec.given([generatedSpec]).when(approve(90)).thenFails(
        new InvalidQualityScore({ field: "qualityScore", value: 90 })
      ))

    it.effect("approving again with the same score changes nothing", () =>
      spec.given([generatedSpec, approvedSpec]).when(approve(0.9)).thenNothing())

    it.effect("an approved specification cannot be approved with another score", () =>
      spec.given([generatedSpec, approvedSpec]).when(approve(0.5)).thenFails(
        new SpecificationAlreadyApproved({ name: "email-summary" })
      ))

    it.effect.each(
      [
        ["AddInputs", addInputs(engineerInput)],
        ["AddContextSources", addSources("wiki")],
        ["RefineSpecification", refine]
      ] as const
    )(
      "an approved specification refuses %s",
      ([, command]) =>
        spec.given([generatedSpec, approvedSpec]).when(command).thenFails(
          new SpecificationAlreadyApproved({ name: "email-summary" })
        )
    )
  })
})

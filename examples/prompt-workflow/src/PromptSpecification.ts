/**
 * A prompt specification: the prompt a workflow session produced, as a reusable asset — its
 * current text, the inputs it takes (`{{customer_name}}`, …), the context sources it draws on,
 * its refinements and finally its approval with a quality score. An approved specification is
 * frozen: changing it means a new prompt name.
 *
 * Streams are named `prompt_spec-<promptName>`.
 */
import { Aggregate, Decider, EventCatalog } from "@facta/core"
import { Data, Effect, Schema } from "effect"
import * as QualityScore from "./QualityScore.js"
import { PromptName } from "./WorkflowSession.js"

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

/** An input the prompt takes: a placeholder name and what to fill in. */
export const PromptInput = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)),
  description: Schema.NonEmptyTrimmedString
})
/** An input the prompt takes. */
export type PromptInput = typeof PromptInput.Type

/** The specification was created from a generated prompt. */
export const SpecificationGenerated = Schema.TaggedStruct("SpecificationGenerated", {
  name: PromptName,
  text: Schema.NonEmptyTrimmedString,
  sessionId: Schema.NonEmptyTrimmedString
})
/** Inputs were declared. */
export const InputsAdded = Schema.TaggedStruct("InputsAdded", { inputs: Schema.NonEmptyArray(PromptInput) })
/** Context sources (documents, tools, knowledge bases) were attached. */
export const ContextSourcesAdded = Schema.TaggedStruct("ContextSourcesAdded", {
  sources: Schema.NonEmptyArray(Schema.NonEmptyTrimmedString)
})
/** The text was revised; `revision` counts the texts so far (the generated one is revision 1). */
export const SpecificationRefined = Schema.TaggedStruct("SpecificationRefined", {
  text: Schema.NonEmptyTrimmedString,
  reason: Schema.NonEmptyTrimmedString,
  revision: Schema.Int.pipe(Schema.greaterThan(1))
})
/** The specification was approved with the quality score its last validation gave. */
export const SpecificationApproved = Schema.TaggedStruct("SpecificationApproved", {
  qualityScore: QualityScore.QualityScore,
  revision: Schema.Int.pipe(Schema.positive())
})

/** Every event of a prompt specification. */
export const PromptSpecificationEvents = EventCatalog.make([
  SpecificationGenerated,
  InputsAdded,
  ContextSourcesAdded,
  SpecificationRefined,
  SpecificationApproved
])
/** An event of a prompt specification. */
export type PromptSpecificationEvent = typeof PromptSpecificationEvents.schema.Type

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------

/** Creates the specification. */
export const GenerateSpecification = Schema.TaggedStruct("GenerateSpecification", {
  name: PromptName,
  text: Schema.NonEmptyTrimmedString,
  sessionId: Schema.NonEmptyTrimmedString
})
/** Declares inputs; a name may be declared once. */
export const AddInputs = Schema.TaggedStruct("AddInputs", { inputs: Schema.NonEmptyArray(PromptInput) })
/** Attaches context sources; ones already attached are ignored. */
export const AddContextSources = Schema.TaggedStruct("AddContextSources", {
  sources: Schema.NonEmptyArray(Schema.NonEmptyTrimmedString)
})
/** Revises the text; the same text again changes nothing. */
export const RefineSpecification = Schema.TaggedStruct("RefineSpecification", {
  text: Schema.NonEmptyTrimmedString,
  reason: Schema.NonEmptyTrimmedString
})
/** Approves the specification with a quality score from 0 to 1. */
export const ApproveSpecification = Schema.TaggedStruct("ApproveSpecification", { qualityScore: Schema.Number })

/** Every command of a prompt specification. */
export const PromptSpecificationCommand = Schema.Union(
  GenerateSpecification,
  AddInputs,
  AddContextSources,
  RefineSpecification,
  ApproveSpecification
)
/** A command of a prompt specification. */
export type PromptSpecificationCommand = typeof PromptSpecificationCommand.Type

// ---------------------------------------------------------------------------------------------
// state and errors
// ---------------------------------------------------------------------------------------------

const SpecificationFields = {
  name: Schema.String,
  text: Schema.String,
  sessionId: Schema.String,
  inputs: Schema.Array(PromptInput),
  sources: Schema.Array(Schema.String),
  revision: Schema.Int
}

/** The state of a prompt specification. */
export const PromptSpecificationState = Schema.Union(
  Schema.TaggedStruct("Absent", {}),
  Schema.TaggedStruct("Draft", SpecificationFields),
  Schema.TaggedStruct("Approved", { ...SpecificationFields, qualityScore: Schema.Number })
)
/** The state of a prompt specification. */
export type PromptSpecificationState = typeof PromptSpecificationState.Type

/** A command other than `GenerateSpecification` reached a specification that does not exist. */
export class SpecificationNotFound extends Data.TaggedError("SpecificationNotFound")<{}> {
  override get message() {
    return "There is no prompt specification here yet; send GenerateSpecification first"
  }
}

/** `GenerateSpecification` for a name that is taken. */
export class SpecificationAlreadyExists
  extends Data.TaggedError("SpecificationAlreadyExists")<{ readonly name: string }>
{
  override get message() {
    return `A prompt specification named ${JSON.stringify(this.name)} already exists; refine it, or choose another name`
  }
}

/** A change to an approved specification. */
export class SpecificationAlreadyApproved
  extends Data.TaggedError("SpecificationAlreadyApproved")<{ readonly name: string }>
{
  override get message() {
    return `The prompt specification ${
      JSON.stringify(this.name)
    } is approved and can no longer change; generate a new prompt under another name`
  }
}

/** `AddInputs` with a name that is already declared (or twice in the command). */
export class DuplicateInput extends Data.TaggedError("DuplicateInput")<{ readonly names: ReadonlyArray<string> }> {
  override get message() {
    return `The input(s) ${
      this.names.map((name) => JSON.stringify(name)).join(", ")
    } are already declared; each input is declared once`
  }
}

/** Every domain error of a prompt specification. */
export type PromptSpecificationError =
  | SpecificationNotFound
  | SpecificationAlreadyExists
  | SpecificationAlreadyApproved
  | DuplicateInput
  | QualityScore.InvalidQualityScore

type Decision = ReadonlyArray<PromptSpecificationEvent> | PromptSpecificationError
type Draft = Extract<PromptSpecificationState, { readonly _tag: "Draft" }>

const decideDraft = (command: PromptSpecificationCommand, state: Draft): Decision => {
  switch (command._tag) {
    case "GenerateSpecification":
      return new SpecificationAlreadyExists({ name: state.name })
    case "AddInputs": {
      const seen = new Set(state.inputs.map((input) => input.name))
      const duplicates: Array<string> = []
      for (const input of command.inputs) {
        if (seen.has(input.name)) duplicates.push(input.name)
        seen.add(input.name)
      }
      return duplicates.length > 0
        ? new DuplicateInput({ names: duplicates })
        : [{ _tag: "InputsAdded", inputs: command.inputs }]
    }
    case "AddContextSources": {
      const fresh = [...new Set(command.sources)].filter((source) => !state.sources.includes(source))
      return fresh.length === 0 ? [] : [{ _tag: "ContextSourcesAdded", sources: [fresh[0]!, ...fresh.slice(1)] }]
    }
    case "RefineSpecification":
      return command.text === state.text
        ? []
        : [{ _tag: "SpecificationRefined", text: command.text, reason: command.reason, revision: state.revision + 1 }]
    case "ApproveSpecification":
      return QualityScore.check(command.qualityScore) ??
        [{ _tag: "SpecificationApproved", qualityScore: command.qualityScore, revision: state.revision }]
  }
}

/** Decides which events a command causes, or which domain error refuses it. */
export const decide = (
  command: PromptSpecificationCommand,
  state: PromptSpecificationState
): Effect.Effect<ReadonlyArray<PromptSpecificationEvent>, PromptSpecificationError> => {
  const decision = ((): Decision => {
    switch (state._tag) {
      case "Absent":
        return command._tag === "GenerateSpecification"
          ? [{ _tag: "SpecificationGenerated", name: command.name, text: command.text, sessionId: command.sessionId }]
          : new SpecificationNotFound()
      case "Draft":
        return decideDraft(command, state)
      case "Approved":
        if (command._tag === "GenerateSpecification") return new SpecificationAlreadyExists({ name: state.name })
        // Approving again with the same score is a repeat, not a change.
        if (command._tag === "ApproveSpecification" && command.qualityScore === state.qualityScore) return []
        return new SpecificationAlreadyApproved({ name: state.name })
    }
  })()
  return Array.isArray(decision) ? Effect.succeed(decision) : Effect.fail(decision as PromptSpecificationError)
}

/** Folds one event into the state; an event that does not fit the state leaves it as it is. */
export const evolve = (state: PromptSpecificationState, event: PromptSpecificationEvent): PromptSpecificationState => {
  if (event._tag === "SpecificationGenerated") {
    return state._tag === "Absent"
      ? {
        _tag: "Draft",
        name: event.name,
        text: event.text,
        sessionId: event.sessionId,
        inputs: [],
        sources: [],
        revision: 1
      }
      : state
  }
  if (state._tag !== "Draft") return state
  switch (event._tag) {
    case "InputsAdded":
      return { ...state, inputs: [...state.inputs, ...event.inputs] }
    case "ContextSourcesAdded":
      return { ...state, sources: [...state.sources, ...event.sources] }
    case "SpecificationRefined":
      return { ...state, text: event.text, revision: state.revision + 1 }
    case "SpecificationApproved":
      return { ...state, _tag: "Approved", qualityScore: event.qualityScore }
  }
}

/** The specification's decider; an approved specification is terminal. */
export const PromptSpecificationDecider = Decider.make({
  initialState: { _tag: "Absent" } as PromptSpecificationState,
  decide,
  evolve,
  isTerminal: (state: PromptSpecificationState) => state._tag === "Approved"
})

/** The prompt specification aggregate: streams `prompt_spec-<promptName>`. */
export const PromptSpecification = Aggregate.make({
  category: "prompt_spec",
  catalog: PromptSpecificationEvents,
  decider: PromptSpecificationDecider,
  snapshots: { schema: PromptSpecificationState, schemaVersion: 1, every: 20 }
})

/** The stream id of the specification of prompt `name`. */
export const streamIdOf = (name: string): string => `prompt_spec-${name}`

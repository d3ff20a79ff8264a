/** The workflow service on the in-memory store: sessions and specifications move together. */
import { describe, expect, layer } from "@effect/vitest"
import { Aggregate, EventStore } from "@facta/core"
import { Effect } from "effect"
import { PromptSpecification } from "../src/PromptSpecification.js"
import * as PromptWorkflow from "../src/PromptWorkflow.js"
import type { WorkflowSessionCommand } from "../src/WorkflowSession.js"
import { WorkflowSession } from "../src/WorkflowSession.js"

const start: WorkflowSessionCommand = { _tag: "StartSession", userRequest: "Summarize support emails", maxAttempts: 2 }
const analyze: WorkflowSessionCommand = { _tag: "AnalyzeTask", taskType: "summarization", requirements: [] }
const generate = (promptName: string, text: string): WorkflowSessionCommand => ({
  _tag: "GeneratePrompt",
  promptName,
  text
})
const validate: WorkflowSessionCommand = { _tag: "ValidatePrompt", qualityScore: 0.8, breakdown: { clarity: 0.8 } }
const send = (sessionId: string, ...commands: ReadonlyArray<WorkflowSessionCommand>) =>
  Effect.forEach(commands, (command) => PromptWorkflow.send(sessionId, command, { userId: "ada" }), { discard: true })
const specification = (name: string) =>
  Effect.map(Aggregate.load(PromptSpecification, `prompt_spec-${name}`), (loaded) => loaded.state)
const sessionVersion = (id: string) =>
  Effect.map(Aggregate.load(WorkflowSession, `workflow_session-${id}`), (loaded) => loaded.version)

layer(EventStore.layerMemory)("PromptWorkflow", (it) => {
  describe("keeping specifications in step with sessions", () => {
    it.effect("a generated prompt creates its specification; a retry refines it; the approval approves it", () =>
      Effect.gen(function*() {
        yield* send("s-1", start, analyze, generate("digest", "Summarize {{email}}."))
        expect(yield* specification("digest")).toMatchObject({
          _tag: "Draft",
          text: "Summarize {{email}}.",
          revision: 1,
          sessionId: "s-1"
        })
        yield* send(
          "s-1",
          { _tag: "RejectPrompt", feedback: "urgency first" },
          { _tag: "ApplyFeedback", changes: "urgency line" },
          { _tag: "RetryAttempt" },
          generate("digest", "Summarize {{email}}, urgency first."),
          validate,
          { _tag: "ApprovePrompt" }
        )
        expect(yield* specification("digest")).toMatchObject({
          _tag: "Approved",
          text: "Summarize {{email}}, urgency first.",
          revision: 2,
          qualityScore: 0.8
        })
      }))

    it.effect("a name that is already approved is refused before the session records anything", () =>
      Effect.gen(function*() {
        yield* send("s-2", start, analyze)
        const before = yield* sessionVersion("s-2")
        const error = yield* Effect.flip(PromptWorkflow.send("s-2", generate("digest", "Another text.")))
        expect(error._tag).toBe("SpecificationAlreadyApproved")
        expect(yield* sessionVersion("s-2")).toBe(before)
      }))

    it.effect("a name another session is working on is refused too", () =>
      Effect.gen(function*() {
        yield* send("s-3", start, analyze, generate("triage", "Classify {{ticket}}."))
        yield* send("s-4", start, analyze)
        const error = yield* Effect.flip(PromptWorkflow.send("s-4", generate("triage", "Sort {{ticket}}.")))
        expect(error._tag).toBe("SpecificationAlreadyExists")
        expect(error.message).toContain("\"triage\" already exists")
      }))

    it.effect("a rejected session command changes no specification", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(PromptWorkflow.send("s-5", generate("orphan", "Text.")))
        expect(error._tag).toBe("SessionNotStarted")
        expect(yield* specification("orphan")).toEqual({ _tag: "Absent" })
      }))
  })
})

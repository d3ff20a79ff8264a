import { expect, layer } from "@effect/vitest"
import { Console, Effect } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import { tour } from "../src/tour.js"

const stores = storesLayer()

/** The current console, except that `log` keeps the lines instead of printing them. */
const recordingConsole = (lines: Array<string>) =>
  Effect.map(Effect.console, (console): Console.Console => ({
    ...console,
    log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
  }))

layer(stores, { excludeTestServices: true })("the tour", (it) => {
  it.effect("tells the story, the same way on every run", () =>
    Effect.gen(function*() {
      const runs: Array<Array<string>> = [[], []]
      for (const lines of runs) yield* Effect.withConsole(tour, yield* recordingConsole(lines))
      expect(runs[0]).toEqual(runs[1])
      expect(runs[0]).toEqual([
        "Prompt workflow tour: Ada's session succeeds on its second attempt",
        "  ada: StartSession -> SessionStarted, AttemptInitiated",
        "  ada: AnalyzeTask -> TaskAnalyzed",
        "  ada: GeneratePrompt -> PromptGenerated",
        "  ada: ValidatePrompt -> PromptValidated",
        "  ada: RejectPrompt -> PromptRejected",
        "  ada: ApplyFeedback -> FeedbackApplied",
        "  ada: RetryAttempt -> AttemptInitiated",
        "  ada: GeneratePrompt -> PromptGenerated",
        "  ada: ValidatePrompt -> PromptValidated",
        "  ada: ApprovePrompt -> PromptApproved, SessionCompleted",
        "  approving again is refused: The session already completed with an approved prompt after 2 attempt(s); start a new session to change it",
        "Bob's single-attempt session: started, analyzed, generated, then",
        "  bob: RejectPrompt -> PromptRejected, SessionFailed",
        "Read models, caught up:",
        "  session happy: completed after 2/3 attempt(s)",
        "  session doomed: failed after 1/1 attempt(s)",
        "  catalog: email-summary is approved at 0.88, text \"Summarize {{email}}, urgency first.\"",
        "  quality trend: 0.45 -> 0.88 (improving)",
        "  alerts for Bob's session: 1 (last feedback \"no audience\")",
        "  Ada's session as of version 5: prompt-validated",
        "Audit trail of Ada's session (first three entries):",
        "  #1 ada started the session for \"Summarize support emails\" with 3 attempt(s)",
        "  #2 ada began attempt 1",
        "  #3 ada analyzed the task as \"summarization\" (1 requirement(s))"
      ])
    }))
})

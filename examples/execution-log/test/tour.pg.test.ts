import { expect, layer } from "@effect/vitest"
import { Console, Effect } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import { tour } from "../src/tour.js"

/** The current console, except that `log` keeps the lines instead of printing them. */
const recordingConsole = (lines: Array<string>) =>
  Effect.map(Effect.console, (console): Console.Console => ({
    ...console,
    log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
  }))

layer(storesLayer(), { excludeTestServices: true })("the tour", (it) => {
  it.effect("tells the story, the same way on every run", () =>
    Effect.gen(function*() {
      const runs: Array<Array<string>> = [[], []]
      for (const lines of runs) yield* Effect.withConsole(tour, yield* recordingConsole(lines))
      expect(runs[1]).toEqual(runs[0])
      expect(runs[0]).toEqual([
        "Execution log tour (snapshot every 4 events, from FACTA_SNAPSHOT_EVERY)",
        "  invoice: CompleteScript(lint) -> ScriptExecutionCompleted",
        "  invoice: FailLlmCall(summarize) -> LlmCallFailed",
        "  invoice: CompleteLlmCall(summarize) -> LlmCallCompleted",
        "  invoice: CompleteLlmCall(summarize) -> LlmCallCompleted (repeat: nothing appended)",
        "  invoice: CompleteScript(publish) -> ScriptExecutionCompleted, PostingTerminal",
        "  report: FailScript(lint) -> ScriptExecutionFailed",
        "  report: FailScript(lint) -> ScriptExecutionFailed",
        "  report: FailScript(lint) -> ScriptExecutionFailed, CircuitBreakerOpened, PostingTerminal",
        "Audit trail of invoice (correlation invoice-request, unbroken chain: true):",
        "  #1 submitted to lint(script) -> summarize(llm) -> publish(script), breaker at 3  <- the submission",
        "  #2 lint ran in 80 ms  <- #1",
        "  #3 summarize call to m1 failed: rate limited  <- #2",
        "  #4 summarize answered with m1, 512 tokens  <- #3",
        "  #5 publish ran in 40 ms  <- #4",
        "  #6 completed: all 3 actor(s) completed  <- #5",
        "  latest snapshot of invoice: version 4",
        "  posting invoice: completed, step 3/3",
        "  posting report: failed, step 0/3, breaker open on lint",
        "  rebuilt read model equals the live one: true"
      ])
    }))
})

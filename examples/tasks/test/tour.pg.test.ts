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
        "Tasks tour: two tasks set in progress, one session failing until it is abandoned",
        "  'Design the API' was moved to current by hand",
        "  both tasks set in progress",
        "  board: Design the API is in_progress in current",
        "  board: Write the README is in_progress in current",
        "  run 1 failed at 09:00:01 -> re-queued (attempt 1), due 09:00:31: due a second earlier? no; then? yes",
        "  run 2 failed at 09:00:32 -> re-queued (attempt 2), due 09:01:32: due a second earlier? no; then? yes",
        "  run 3 failed at 09:01:33 -> re-queued (attempt 3), due 09:03:33: due a second earlier? no; then? yes",
        "  run 4 failed at 09:03:34 -> session abandoned",
        "  statistics: 2 tasks; backlog 0, current 2, in progress 2; active sessions 0",
        "  policy journal (each triggering event handled once):",
        "    moves: issued (TaskMoved) x1",
        "    moves: rejected (TaskNotInExpectedState: The task was expected in backlog but is in current) x1",
        "    requeues: issued (SessionRequeued) x1",
        "    requeues: issued (SessionRequeued) x1",
        "    requeues: issued (SessionRequeued) x1",
        "    requeues: issued (SessionAbandoned) x1"
      ])
    }))
})

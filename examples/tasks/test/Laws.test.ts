import { describe, expect, it } from "@effect/vitest"
import { Laws } from "@facta/testing"
import { Arbitrary, Effect, FastCheck } from "effect"
import type { SessionCommand } from "../src/Session.js"
import { Session, SessionCommand as SessionCommandSchema, SessionEvents } from "../src/Session.js"
import { Task, TaskCommand } from "../src/Task.js"
import { Worktree, WorktreeCommand } from "../src/Worktree.js"

/**
 * Dates from the schema reach the year 275760, where adding a backoff overflows `Date`; a few
 * minutes of 2026 keep backoffs valid and make "not due yet" and "due" both common.
 */
const minute = (n: number) => new Date(Date.UTC(2026, 0, 1, 9, Math.abs(n) % 60))
const saneDates = (command: SessionCommand): SessionCommand => {
  switch (command._tag) {
    case "QueueSession":
    case "StartSession":
    case "UseTool":
    case "CompleteSession":
      return { ...command, at: minute(command.at.getTime() / 60_000) }
    case "RequeueSession":
      return { ...command, attempt: 1 + (command.attempt % 5), maxRetries: command.maxRetries % 4 }
  }
}
const sessionCommands = FastCheck.oneof(
  { arbitrary: Arbitrary.make(SessionCommandSchema).map(saneDates), weight: 1 },
  // The lifecycle commands, so histories reach failures, re-queues and abandonment.
  {
    arbitrary: FastCheck.constantFrom<SessionCommand>(
      { _tag: "QueueSession", taskId: "t1", at: minute(0) },
      { _tag: "StartSession", at: minute(59) },
      { _tag: "CompleteSession", outcome: "failure", reason: "boom", at: minute(59) },
      { _tag: "RequeueSession", attempt: 1, maxRetries: 1, baseDelayMillis: 0 },
      { _tag: "RequeueSession", attempt: 2, maxRetries: 1, baseDelayMillis: 0 }
    ),
    weight: 3
  }
)
/** Random events with dates that survive JSON (the schema's extremes do too, but keep them readable). */
const sessionEvents = Arbitrary.make(SessionEvents.schema)

describe("laws", () => {
  it.effect("session histories reach re-queues and abandonment", () =>
    Effect.gen(function*() {
      const samples = FastCheck.sample(FastCheck.array(sessionCommands, { maxLength: 40, size: "max" }), {
        numRuns: 300,
        seed: 7
      })
      const histories = yield* Effect.forEach(samples, (sample) => Laws.history(Session, sample))
      const share = (predicate: (history: (typeof histories)[number]) => boolean) =>
        histories.filter(predicate).length / histories.length
      expect(share((h) => h.events.some((event) => event._tag === "SessionRequeued"))).toBeGreaterThan(0.1)
      expect(share((h) => h.state._tag === "Abandoned")).toBeGreaterThan(0.05)
    }))

  it.effect("all laws hold for tasks", () =>
    Effect.gen(function*() {
      const checked = yield* Laws.check(Task, { commands: Arbitrary.make(TaskCommand), maxCommands: 30, numRuns: 100 })
      expect(checked).toEqual(["replayIsDeterministic", "snapshotRestoresState", "eventsRoundTrip", "evolveIsTotal"])
    }))

  it.effect("all laws hold for sessions", () =>
    Effect.gen(function*() {
      const checked = yield* Laws.check(Session, {
        commands: sessionCommands,
        events: sessionEvents,
        maxCommands: 40,
        numRuns: 100
      })
      expect(checked).toEqual(["replayIsDeterministic", "snapshotRestoresState", "eventsRoundTrip", "evolveIsTotal"])
    }))

  it.effect("all laws hold for worktrees", () =>
    Effect.gen(function*() {
      const checked = yield* Laws.check(Worktree, { commands: Arbitrary.make(WorktreeCommand), numRuns: 100 })
      expect(checked).toEqual(["replayIsDeterministic", "snapshotRestoresState", "eventsRoundTrip", "evolveIsTotal"])
    }))
})

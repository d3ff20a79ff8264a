import { describe, expect, it } from "@effect/vitest"
import { Laws } from "@facta/testing"
import { Arbitrary, Effect, FastCheck } from "effect"
import type { PostingCommand } from "../src/Posting.js"
import * as Posting from "../src/Posting.js"

const actors = ["lint", "summarize", "publish"] as const
const kinds = { lint: "script", summarize: "llm", publish: "script" } as const
/** Steps of a fixed three-actor workflow, so histories get far: completions, failures, breakers. */
const steps: FastCheck.Arbitrary<PostingCommand> = FastCheck.tuple(
  FastCheck.constantFrom(...actors),
  FastCheck.boolean(),
  FastCheck.boolean()
).map(([actor, success, sameKind]): PostingCommand => {
  const kind = sameKind ? kinds[actor] : kinds[actor] === "script" ? "llm" : "script"
  if (kind === "script") {
    return success
      ? { _tag: "CompleteScript", idempotencyKey: "k", actor, durationMs: 5 }
      : { _tag: "FailScript", idempotencyKey: "k", actor, exitCode: 2, error: "boom" }
  }
  return success
    ? { _tag: "CompleteLlmCall", idempotencyKey: "k", actor, model: "m", tokens: 9 }
    : { _tag: "FailLlmCall", idempotencyKey: "k", actor, model: "m", error: "boom" }
})
const submit: PostingCommand = {
  _tag: "SubmitPosting",
  idempotencyKey: "k",
  workflow: actors.map((name) => ({ name, kind: kinds[name] })) as [Posting.Actor, ...Array<Posting.Actor>],
  breakerThreshold: 2
}
const commands = FastCheck.oneof(
  { arbitrary: FastCheck.constant(submit), weight: 1 },
  { arbitrary: steps, weight: 6 },
  { arbitrary: Arbitrary.make(Posting.PostingCommand), weight: 1 }
)

describe("Posting laws", () => {
  it.effect("generated histories complete postings and open breakers", () =>
    Effect.gen(function*() {
      const samples = FastCheck.sample(FastCheck.array(commands, { maxLength: 40, size: "max" }), {
        numRuns: 300,
        seed: 3
      })
      const histories = yield* Effect.forEach(samples, (sample) => Laws.history(Posting.make(5), sample))
      const share = (predicate: (history: (typeof histories)[number]) => boolean) =>
        histories.filter(predicate).length / histories.length
      expect(share((h) => h.state._tag === "Terminal" && h.state.outcome === "completed")).toBeGreaterThan(0.02)
      expect(share((h) => h.state._tag === "Terminal" && h.state.outcome === "failed")).toBeGreaterThan(0.1)
    }))

  it.effect("all laws hold", () =>
    Effect.gen(function*() {
      const checked = yield* Laws.check(Posting.make(5), { commands, maxCommands: 40, numRuns: 100 })
      expect(checked).toEqual(["replayIsDeterministic", "snapshotRestoresState", "eventsRoundTrip", "evolveIsTotal"])
    }))
})

import { describe, expect, it } from "@effect/vitest"
import { EventStore, SnapshotStore } from "@facta/core"
import { Chunk, ConfigProvider, Effect, Layer, Option, Stream } from "effect"
import * as AuditTrail from "../src/AuditTrail.js"
import * as IdempotentCommands from "../src/IdempotentCommands.js"
import type { PostingCommand } from "../src/Posting.js"
import * as Posting from "../src/Posting.js"
import * as Workflow from "../src/Workflow.js"

const stores = Layer.merge(EventStore.layerMemory, SnapshotStore.layerMemory)
const posting = Posting.make(10)

const submit = (key: string, breakerThreshold = 3): Extract<PostingCommand, { _tag: "SubmitPosting" }> => ({
  _tag: "SubmitPosting",
  idempotencyKey: key,
  workflow: [{ name: "lint", kind: "script" }, { name: "summarize", kind: "llm" }],
  breakerThreshold
})
const failLint = (key: string): PostingCommand => ({
  _tag: "FailScript",
  idempotencyKey: key,
  actor: "lint",
  exitCode: 1,
  error: "E1"
})
const completeLint = (key: string): PostingCommand => ({
  _tag: "CompleteScript",
  idempotencyKey: key,
  actor: "lint",
  durationMs: 7
})
const completeLlm = (key: string): PostingCommand => ({
  _tag: "CompleteLlmCall",
  idempotencyKey: key,
  actor: "summarize",
  model: "m1",
  tokens: 42
})

const eventCount = (postingId: string) => EventStore.readStream(Workflow.streamOf(postingId)).pipe(Stream.runCount)

describe("idempotent command handling", () => {
  it("derives UUID v5 event ids from the key and the event's index", () => {
    const id = IdempotentCommands.eventIdFor("order-1/submit", 0)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(IdempotentCommands.eventIdFor("order-1/submit", 0)).toBe(id)
    expect(IdempotentCommands.eventIdFor("order-1/submit", 1)).not.toBe(id)
    expect(IdempotentCommands.eventIdFor("order-2/submit", 0)).not.toBe(id)
  })

  it.effect("a retried command returns the original events and appends nothing", () =>
    Effect.gen(function*() {
      const first = yield* Workflow.submit(posting, "p1", submit("p1/submit"), "corr-p1")
      const again = yield* Workflow.submit(posting, "p1", submit("p1/submit"), "corr-p1")
      expect(first.repeated).toBe(false)
      expect(again).toMatchObject({ repeated: true, eventIds: first.eventIds, events: first.events, version: 1 })
      expect(yield* eventCount("p1")).toBe(1)
    }).pipe(Effect.provide(stores)))

  it.effect("a step retried after the posting moved on still returns its original events (it is not decided again)", () =>
    Effect.gen(function*() {
      yield* Workflow.submit(posting, "p2", submit("p2/submit"), "corr-p2")
      const lint = yield* Workflow.record(posting, "p2", completeLint("p2/lint"))
      yield* Workflow.record(posting, "p2", completeLlm("p2/llm"))
      const retried = yield* Workflow.record(posting, "p2", completeLint("p2/lint"))
      expect(retried).toMatchObject({ repeated: true, eventIds: lint.eventIds, version: 2 })
      // Decided again, the same command would be refused: it is no longer lint's turn.
      const fresh = yield* Effect.flip(Workflow.record(posting, "p2", completeLint("p2/lint-again")))
      expect(fresh._tag).toBe("PostingIsTerminal")
      expect(yield* eventCount("p2")).toBe(4)
    }).pipe(Effect.provide(stores)))

  it.effect("the same decision appended twice (a lost acknowledgement) is an exact repeat: the store returns the original result", () =>
    Effect.gen(function*() {
      const context = { correlationId: "corr-p3" }
      const events: ReadonlyArray<Posting.PostingEvent> = [{
        _tag: "PostingSubmitted",
        workflow: submit("x").workflow,
        breakerThreshold: 3
      }]
      const first = yield* IdempotentCommands.appendDecided(
        Posting.PostingEvents,
        "posting-p3",
        0,
        events,
        "p3/submit",
        context
      )
      const second = yield* IdempotentCommands.appendDecided(
        Posting.PostingEvents,
        "posting-p3",
        0,
        events,
        "p3/submit",
        context
      )
      expect(first.appended.written).toBe(true)
      expect(second.appended).toEqual({ ...first.appended, written: false })
      expect(second.eventIds).toEqual(first.eventIds)
      expect(yield* eventCount("p3")).toBe(1)
    }).pipe(Effect.provide(stores)))

  it.effect("a key reused for another stream is refused by the store, not recorded twice", () =>
    Effect.gen(function*() {
      yield* Workflow.submit(posting, "p4", submit("shared-key"), "corr-p4")
      const error = yield* Effect.flip(Workflow.submit(posting, "p5", submit("shared-key"), "corr-p5"))
      expect(error._tag).toBe("DuplicateEventId")
      expect(yield* eventCount("p5")).toBe(0)
    }).pipe(Effect.provide(stores)))
})

describe("causation chain and audit trail", () => {
  it.effect("every event is caused by the one before it, all under the posting's correlation id", () =>
    Effect.gen(function*() {
      yield* Workflow.submit(posting, "c1", submit("c1/submit", 2), "corr-c1")
      yield* Workflow.record(posting, "c1", completeLint("c1/lint"))
      yield* Workflow.record(posting, "c1", {
        _tag: "FailLlmCall",
        idempotencyKey: "c1/llm-1",
        actor: "summarize",
        model: "m1",
        error: "429"
      })
      yield* Workflow.record(posting, "c1", {
        _tag: "FailLlmCall",
        idempotencyKey: "c1/llm-2",
        actor: "summarize",
        model: "m1",
        error: "429"
      })
      const trail = yield* AuditTrail.of("posting-c1")
      expect(trail.unbroken).toBe(true)
      expect(trail.correlationIds).toEqual(["corr-c1"])
      expect(trail.entries.map((entry) => [entry.version, entry.causedByVersion, entry.idempotencyKey, entry.summary]))
        .toEqual([
          [1, undefined, "c1/submit", "submitted to lint(script) -> summarize(llm), breaker at 2"],
          [2, 1, "c1/lint", "lint ran in 7 ms"],
          [3, 2, "c1/llm-1", "summarize call to m1 failed: 429"],
          [4, 3, "c1/llm-2", "summarize call to m1 failed: 429"],
          [5, 4, "c1/llm-2", "breaker of summarize opened after 2 failures"],
          [6, 5, "c1/llm-2", "failed: the circuit breaker of summarize opened after 2 consecutive failure(s)"]
        ])
      expect(trail.entries[0]!.causationId).toBe("c1/submit")
    }).pipe(Effect.provide(stores)))
})

describe("snapshots every N events, N from FACTA_SNAPSHOT_EVERY", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.effect("reads the interval from the configuration, 10 when unset", () =>
    Effect.gen(function*() {
      expect((yield* Posting.fromConfig.pipe(withEnv({ FACTA_SNAPSHOT_EVERY: "3" }))).snapshots?.every).toBe(3)
      expect((yield* Posting.fromConfig.pipe(withEnv({}))).snapshots?.every).toBe(10)
    }))

  it.effect("refuses an interval that is not a positive integer", () =>
    Effect.gen(function*() {
      const zero = yield* Effect.flip(Posting.fromConfig.pipe(withEnv({ FACTA_SNAPSHOT_EVERY: "0" })))
      expect(String(zero)).toContain("FACTA_SNAPSHOT_EVERY must be a positive integer")
      const words = yield* Effect.flip(Posting.fromConfig.pipe(withEnv({ FACTA_SNAPSHOT_EVERY: "often" })))
      expect(String(words)).toContain("FACTA_SNAPSHOT_EVERY")
    }))

  it.effect("snapshots the posting each time it crosses a multiple of N", () =>
    Effect.gen(function*() {
      const every3 = yield* Posting.fromConfig.pipe(withEnv({ FACTA_SNAPSHOT_EVERY: "3" }))
      const snapshots = yield* SnapshotStore.SnapshotStore
      yield* Workflow.submit(every3, "s1", submit("s1/submit", 99), "corr-s1")
      const versions: Array<number> = []
      for (let i = 1; i <= 7; i++) {
        yield* Workflow.record(every3, "s1", failLint(`s1/fail-${i}`))
        const saved = yield* snapshots.load("posting-s1")
        versions.push(Option.match(saved, { onNone: () => 0, onSome: (snapshot) => snapshot.version }))
      }
      expect(versions).toEqual([0, 3, 3, 3, 6, 6, 6])
      const events = yield* EventStore.readStream("posting-s1").pipe(Stream.runCollect, Effect.map(Chunk.size))
      expect(events).toBe(8)
    }).pipe(Effect.provide(stores)))
})

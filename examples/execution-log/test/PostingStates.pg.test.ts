import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, layer } from "@effect/vitest"
import { EventCatalog, ProjectionRunner } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Chunk, Effect, Fiber, Layer, Stream } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import * as IdempotentCommands from "../src/IdempotentCommands.js"
import type { PostingCommand } from "../src/Posting.js"
import * as Posting from "../src/Posting.js"
import * as PostingStates from "../src/PostingStates.js"
import * as Workflow from "../src/Workflow.js"

const posting = Posting.make(4)
const workflow: readonly [Posting.Actor, ...Array<Posting.Actor>] = [
  { name: "lint", kind: "script" },
  { name: "summarize", kind: "llm" },
  { name: "publish", kind: "script" }
]

/**
 * Drives posting `id` through `pattern`: one letter per step of the current actor, `s` for a
 * success and `f` for a failure (the breaker opens at 2 failures in a row).
 */
const drive = (id: string, pattern: string) =>
  Effect.gen(function*() {
    yield* Workflow.submit(posting, id, {
      _tag: "SubmitPosting",
      idempotencyKey: `${id}/submit`,
      workflow,
      breakerThreshold: 2
    }, `corr-${id}`)
    let step = 0
    for (const [i, letter] of [...pattern].entries()) {
      const actor = workflow[step]!
      const key = `${id}/${i}`
      const command: PostingCommand = actor.kind === "script"
        ? letter === "s"
          ? { _tag: "CompleteScript", idempotencyKey: key, actor: actor.name, durationMs: 10 * i }
          : { _tag: "FailScript", idempotencyKey: key, actor: actor.name, exitCode: 1, error: "red" }
        : letter === "s"
        ? { _tag: "CompleteLlmCall", idempotencyKey: key, actor: actor.name, model: "m1", tokens: 100 + i }
        : { _tag: "FailLlmCall", idempotencyKey: key, actor: actor.name, model: "m1", error: "timeout" }
      yield* Workflow.record(posting, id, command)
      if (letter === "s") step++
    }
  })

const patterns = ["sss", "fsss", "ff", "sff", "sfsfs", "s", "", "sfs"]

const appIn = (schema: string) => {
  const stores = storesLayer(schema)
  return Layer.merge(stores, Layer.effectDiscard(PostingStates.migrate(schema)).pipe(Layer.provide(stores)))
}

const replay = (schema: string) =>
  EventCatalog.readAll(Posting.PostingEvents).pipe(
    Stream.runCollect,
    Effect.flatMap((events) =>
      Effect.forEach(Chunk.toReadonlyArray(events), PostingStates.projection(schema).handle, { discard: true })
    )
  )

const direct = uniqueSchemaName()

layer(appIn(direct), { excludeTestServices: true })("posting states on Postgres, handlers applied directly", (it) => {
  describe("the rows", () => {
    it.effect("given postings that complete, fail, open breakers or wait, shows where each one is", () =>
      Effect.gen(function*() {
        yield* Effect.forEach(patterns, (pattern, i) => drive(`p${i}`, pattern), { discard: true })
        yield* replay(direct)
        const rows = (yield* PostingStates.list(direct)).map((
          row
        ) => [row.postingId, row.status, row.currentActor, row.step, row.failures, row.openBreaker, row.version])
        expect(rows).toEqual([
          ["p0", "completed", null, 3, 0, null, 5],
          ["p1", "completed", null, 3, 0, null, 6],
          ["p2", "failed", null, 0, 2, "lint", 5],
          ["p3", "failed", null, 1, 2, "summarize", 6],
          ["p4", "completed", null, 3, 0, null, 7],
          ["p5", "in_flight", "summarize", 1, 0, null, 2],
          ["p6", "in_flight", "lint", 0, 0, null, 1],
          ["p7", "in_flight", "publish", 2, 0, null, 4]
        ])
        const all = yield* PostingStates.list(direct)
        expect(all.every((row) => row.correlationId === `corr-${row.postingId}` && row.stepsTotal === 3)).toBe(true)
        expect((yield* PostingStates.list(direct, { status: "failed" })).map((row) => row.postingId)).toEqual([
          "p2",
          "p3"
        ])
      }))

    it.effect("replaying the same events again changes no row", () =>
      Effect.gen(function*() {
        const before = yield* PostingStates.list(direct)
        yield* replay(direct)
        expect(yield* PostingStates.list(direct)).toEqual(before)
      }))

    it.effect("on Postgres too, a retried command appends nothing and returns the original events", () =>
      Effect.gen(function*() {
        const first = yield* Workflow.record(posting, "p6", {
          _tag: "CompleteScript",
          idempotencyKey: "p6/late",
          actor: "lint",
          durationMs: 1
        })
        const retried = yield* Workflow.record(posting, "p6", {
          _tag: "CompleteScript",
          idempotencyKey: "p6/late",
          actor: "lint",
          durationMs: 1
        })
        expect(retried).toMatchObject({ repeated: true, eventIds: first.eventIds, version: first.version })
        const events = [{ _tag: "PostingSubmitted" as const, workflow, breakerThreshold: 2 }]
        const once = yield* IdempotentCommands.appendDecided(
          Posting.PostingEvents,
          "posting-lost-ack",
          0,
          events,
          "lost-ack",
          { correlationId: "c" }
        )
        const twice = yield* IdempotentCommands.appendDecided(
          Posting.PostingEvents,
          "posting-lost-ack",
          0,
          events,
          "lost-ack",
          { correlationId: "c" }
        )
        expect(twice.appended).toEqual({ ...once.appended, written: false })
      }))
  })
})

const live = uniqueSchemaName()
const rebuilt = `${live}_rebuilt`
const projections = [
  PostingStates.projection(live, { name: "posting_states_live" }),
  PostingStates.projection(rebuilt, { name: "posting_states_rebuilt" })
]
const secondSchema = Layer.scopedDiscard(
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(rebuilt)}`
    yield* PostingStates.migrate(rebuilt)
    yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP SCHEMA IF EXISTS ${sql(rebuilt)} CASCADE`))
  })
)
const base = appIn(live)
const app = ProjectionRunner.layer(projections, { leaseTtl: "2 seconds" }).pipe(
  Layer.provideMerge(Layer.merge(base, Layer.provide(secondSchema, base)))
)
const caughtUp = Effect.forEach(projections, (p) => ProjectionRunner.waitForCatchUp(p.name), { discard: true })

layer(app, { excludeTestServices: true })("posting states on Postgres under a runner", (it) => {
  it.effect("a rebuild while postings go on gives the same rows as the projection that stayed live", () =>
    Effect.gen(function*() {
      yield* Effect.forEach(patterns, (pattern, i) => drive(`a${i}`, pattern), { discard: true })
      yield* caughtUp
      expect(yield* PostingStates.list(rebuilt)).toEqual(yield* PostingStates.list(live))

      // More postings are driven while the second projection is reset and replayed.
      const writer = yield* Effect.fork(
        Effect.forEach([...patterns, ...patterns], (pattern, i) => drive(`b${i}`, pattern), { discard: true })
      )
      yield* Effect.sleep("20 millis")
      yield* ProjectionRunner.rebuild("posting_states_rebuilt")
      // The reset committed while the writer was still appending.
      expect((yield* Fiber.poll(writer))._tag).toBe("None")
      yield* Fiber.join(writer)
      yield* caughtUp

      const liveRows = yield* PostingStates.list(live)
      expect(liveRows).toHaveLength(patterns.length * 3)
      expect(yield* PostingStates.list(rebuilt)).toEqual(liveRows)
      const status = yield* ProjectionRunner.status("posting_states_rebuilt")
      expect(status.handled).toBeGreaterThan(0)
    }))
})

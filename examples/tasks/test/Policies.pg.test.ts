/**
 * The policies on PostgreSQL: exactly once per triggering event across runner restarts and
 * failures between a command's append and the checkpoint, effectively once (the domain refuses
 * the repeat) when the checkpoint is moved back.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, layer } from "@effect/vitest"
import type { Position, RecordedEvent } from "@facta/core"
import {
  Aggregate,
  CheckpointStore,
  CommandHandler,
  EventCatalog,
  type EventStore,
  Projection,
  ProjectionRunner,
  ProjectionStore
} from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Chunk, Effect, Layer, Option, Schedule, Stream } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import * as Policies from "../src/Policies.js"
import * as PolicyJournal from "../src/PolicyJournal.js"
import * as ReadModels from "../src/ReadModels.js"
import type { SessionCommand, SessionEvent } from "../src/Session.js"
import { Session, SessionEvents } from "../src/Session.js"
import type { TaskCommand, TaskEvent } from "../src/Task.js"
import { Task, TaskEvents } from "../src/Task.js"

const retry: Policies.RetryPolicy = { maxRetries: 3, baseDelayMillis: 1_000 }
const start = Date.UTC(2026, 0, 1, 9)
const at = (seconds: number) => new Date(start + seconds * 1_000)

const taskIds = Array.from({ length: 10 }, (_, i) => `t${i + 1}`)
/** How often each session fails before it succeeds (Infinity: it never does). */
const sessionPlan: Record<string, number> = { s1: Infinity, s2: 1, s3: 0, s4: Infinity, s5: 2 }

const task = (id: string, command: TaskCommand) =>
  CommandHandler.handle(Task, `task-${id}`, command, { context: { correlationId: `corr-${id}` } })
const session = (id: string, command: SessionCommand) =>
  CommandHandler.handle(Session, `session-${id}`, command, { context: { correlationId: `corr-${id}` } })

/** Tasks 1–8 set in progress (7 and 8 moved to current by hand first), 9 blocked, 10 in progress twice. */
const seedTasks = Effect.gen(function*() {
  for (const id of taskIds) yield* task(id, { _tag: "CreateTask", title: `Task ${id}`, section: "main" })
  yield* task("t7", { _tag: "MoveTask", to: "current" })
  yield* task("t8", { _tag: "MoveTask", to: "current" })
  for (const id of taskIds.slice(0, 8)) yield* task(id, { _tag: "ChangeTaskStatus", to: "in_progress" })
  yield* task("t9", { _tag: "ChangeTaskStatus", to: "blocked" })
  yield* task("t10", { _tag: "ChangeTaskStatus", to: "in_progress" })
  yield* task("t10", { _tag: "ChangeTaskStatus", to: "todo" })
  yield* task("t10", { _tag: "ChangeTaskStatus", to: "in_progress" })
})

/**
 * A worker at time `now`: starts every due queued session and ends it as planned. Returns how
 * many sessions it ran.
 */
const work = (now: Date) =>
  Effect.gen(function*() {
    let ran = 0
    for (const [id, failures] of Object.entries(sessionPlan)) {
      const loaded = yield* Aggregate.load(Session, `session-${id}`)
      const state = loaded.state
      if (state._tag === "NoSession") {
        yield* session(id, { _tag: "QueueSession", taskId: "t1", at: now })
      } else if (state._tag !== "Queued" || state.notBefore.getTime() > now.getTime()) {
        continue
      }
      const run = state._tag === "Queued" ? state.run : 1
      yield* session(id, { _tag: "StartSession", at: now })
      yield* session(id, { _tag: "UseTool", tool: "bash", at: now })
      yield* session(id, {
        _tag: "CompleteSession",
        outcome: run <= failures ? "failure" : "success",
        reason: run <= failures ? `run ${run} failed` : "",
        at: new Date(now.getTime() + 500)
      })
      ran++
    }
    return ran
  })

const readAll = <E extends { readonly _tag: string }>(catalog: EventCatalog.EventCatalog<E>, category: string) =>
  EventCatalog.readAll(catalog, { filter: { categories: [category] } }).pipe(
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )

/** For each trigger, the events whose causation id is the trigger's id. */
const causedBy = <T, E>(
  triggers: ReadonlyArray<RecordedEvent.RecordedEvent<T>>,
  events: ReadonlyArray<RecordedEvent.RecordedEvent<E>>
) => triggers.map((trigger) => events.filter((event) => event.metadata.causationId === trigger.eventId))

const isInProgress = (event: RecordedEvent.RecordedEvent<TaskEvent>) =>
  event.data._tag === "TaskStatusChanged" && event.data.to === "in_progress"
const isFailure = (event: RecordedEvent.RecordedEvent<SessionEvent>) =>
  event.data._tag === "SessionCompleted" && event.data.outcome === "failure"

/** Runs `projections` in a runner of its own for `millis`, then closes it (batches in flight commit). */
const runFor = (projections: ReadonlyArray<Policy>, millis: number) =>
  Effect.scoped(
    Effect.gen(function*() {
      yield* Layer.build(ProjectionRunner.layer(projections, { leaseTtl: "2 seconds" }))
      yield* Effect.sleep(millis)
    })
  )

/** A policy: a projection whose handler issues commands and writes its journal. */
type Policy = Projection.Projection<never, unknown, EventStore.EventStore | SqlClient.SqlClient>

/** What a runner of policies needs; the test's layer provides it. */
type RunnerNeeds =
  | EventStore.EventStore
  | CheckpointStore.CheckpointStore
  | ProjectionStore.ProjectionStore
  | SqlClient.SqlClient

/** Runs `projections` until each has caught up, then closes the runner. */
const runUntilCaughtUp = (
  projections: ReadonlyArray<Policy>,
  runner: (ps: ReadonlyArray<Policy>) => Layer.Layer<ProjectionRunner.ProjectionRunner, never, RunnerNeeds> = (ps) =>
    ProjectionRunner.layer(ps, { leaseTtl: "2 seconds" })
) =>
  Effect.scoped(
    Effect.gen(function*() {
      const context = yield* Layer.build(runner(projections))
      yield* Effect.forEach(projections, (p) => ProjectionRunner.waitForCatchUp(p.name), { discard: true }).pipe(
        Effect.provide(context),
        Effect.timeout("20 seconds")
      )
    })
  )

const schemas = [uniqueSchemaName(), uniqueSchemaName(), uniqueSchemaName()]

/** The stores and read models in a fresh schema. */
const appIn = (schema: string) => {
  const stores = storesLayer(schema)
  return Layer.merge(stores, Layer.effectDiscard(ReadModels.migrate(schema)).pipe(Layer.provide(stores)))
}

layer(appIn(schemas[0]!), { excludeTestServices: true })(
  "policies on Postgres: stopped and restarted mid-way",
  (it) => {
    const schema = schemas[0]!
    // One event per batch, so a runner closed after a few milliseconds stops in the middle.
    const policies = [
      { ...Policies.inProgressMovesToCurrent(schema), batchSize: 1 },
      { ...Policies.failedSessionsRequeue(schema, retry), batchSize: 1 }
    ]
    let midway: Option.Option<Position.Position> = Option.none()

    describe("exactly once per triggering event", () => {
      {
        it.effect("restarts of the runner neither skip nor repeat a command", () =>
          Effect.gen(function*() {
            yield* seedTasks
            const journalSizes: Array<number> = []
            const finished = Effect.forEach(Object.keys(sessionPlan), (id) => Aggregate.load(Session, `session-${id}`))
              .pipe(
                Effect.map((loaded) =>
                  loaded.every(({ state }) => state._tag === "Succeeded" || state._tag === "Abandoned")
                )
              )
            for (let round = 0; !(yield* finished); round++) {
              expect(round).toBeLessThan(60)
              yield* work(at(round * 10))
              yield* runFor(policies, 15 + (round % 4) * 20)
              journalSizes.push((yield* PolicyJournal.entries(schema)).length)
              if (round === 0) {
                midway = yield* Effect.flatMap(
                  CheckpointStore.CheckpointStore,
                  (store) => store.load(Policies.inProgressMovesToCurrentName)
                )
              }
            }
            yield* runUntilCaughtUp(policies)

            const taskEvents = yield* readAll(TaskEvents, "task")
            const triggers = taskEvents.filter(isInProgress)
            const moves = causedBy(triggers, taskEvents)
            expect(triggers).toHaveLength(10)
            // Tasks 7 and 8 were moved by hand and t10's second trigger finds it current: 7 moves.
            expect(moves.map((caused) => caused.length)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 1, 0])
            for (const [i, caused] of moves.entries()) {
              for (const event of caused) {
                expect(event.data).toEqual({ _tag: "TaskMoved", from: "backlog", to: "current" })
                expect(event.metadata.correlationId).toBe(triggers[i]!.metadata.correlationId)
              }
            }

            const sessionEvents = yield* readAll(SessionEvents, "session")
            const failures = sessionEvents.filter(isFailure)
            const reactions = causedBy(failures, sessionEvents)
            expect(failures).toHaveLength(4 + 1 + 4 + 2)
            expect(reactions.every((caused) => caused.length === 1)).toBe(true)
            const tags = (id: string) =>
              reactions.flat().filter((event) => event.streamId === `session-${id}`).map((event) =>
                event.data._tag === "SessionRequeued" ? `requeued ${event.data.attempt}` : event.data._tag
              )
            expect(tags("s1")).toEqual(["requeued 1", "requeued 2", "requeued 3", "SessionAbandoned"])
            expect(tags("s4")).toEqual(["requeued 1", "requeued 2", "requeued 3", "SessionAbandoned"])
            expect(tags("s2")).toEqual(["requeued 1"])
            expect(tags("s5")).toEqual(["requeued 1", "requeued 2"])
            expect(tags("s3")).toEqual([])
            // Backoff as data: re-queue k of a failure at time f is due at f + 1 s · 2^(k-1).
            for (const [i, caused] of reactions.entries()) {
              const failure = failures[i]!
              const reaction = caused[0]!
              if (reaction.data._tag === "SessionRequeued" && failure.data._tag === "SessionCompleted") {
                expect(reaction.data.notBefore.getTime() - failure.data.completedAt.getTime()).toBe(
                  1_000 * 2 ** (reaction.data.attempt - 1)
                )
              }
            }

            const journal = yield* PolicyJournal.entries(schema)
            expect(journal).toHaveLength(10 + 11)
            expect(journal.filter((entry) => entry.handledCount !== 1)).toEqual([])
            expect(journal.filter((entry) => entry.outcome === "rejected").map((entry) => entry.detail.split(":")[0]))
              .toEqual(["TaskNotInExpectedState", "TaskNotInExpectedState", "TaskNotInExpectedState"])
            // The runner really was stopped with work left: the journal grew over several rounds.
            expect(journalSizes.filter((size) => size > 0 && size < journal.length).length).toBeGreaterThan(1)
          }))

        it.effect("a checkpoint moved back (restored from an older backup) repeats nothing: the domain refuses the repeats", () =>
          Effect.gen(function*() {
            const before = (yield* readAll(TaskEvents, "task")).length
            const checkpoints = yield* CheckpointStore.CheckpointStore
            // The task policy goes back to where it was after the first round, the session policy to the start.
            yield* Option.match(midway, {
              onNone: () => checkpoints.reset(Policies.inProgressMovesToCurrentName),
              onSome: (position) => checkpoints.save(Policies.inProgressMovesToCurrentName, position)
            })
            yield* checkpoints.reset(Policies.failedSessionsRequeueName)
            yield* runUntilCaughtUp(policies)

            expect((yield* readAll(TaskEvents, "task")).length).toBe(before)
            const sessionEvents = yield* readAll(SessionEvents, "session")
            expect(causedBy(sessionEvents.filter(isFailure), sessionEvents).every((caused) => caused.length === 1))
              .toBe(true)
            const journal = yield* PolicyJournal.entries(schema)
            const replayed = journal.filter((entry) => entry.handledCount === 2)
            // Every session failure was handled again (checkpoint reset), and refused by the session.
            expect(replayed.filter((entry) => entry.policy === Policies.failedSessionsRequeueName)).toHaveLength(11)
            expect(replayed.every((entry) => entry.outcome === "rejected")).toBe(true)
            expect(
              replayed.map((entry) => entry.detail.split(":")[0]).filter((tag) =>
                tag !== "RequeueOutOfOrder" && tag !== "SessionNotFailed" && tag !== "TaskNotInExpectedState"
              )
            ).toEqual([])
            expect(journal.every((entry) => entry.handledCount <= 2)).toBe(true)
          }))
      }
    })
  }
)

/** Fails right after the policy's handler, once per event: a crash between the append and the checkpoint. */
const failingAfterHandle = <P extends Projection.Any>(projection: P): P => {
  const failed = new Set<string>()
  return {
    ...projection,
    retry: Schedule.recurs(3),
    batchSize: 4,
    handle: (event: RecordedEvent.RecordedEvent<never>) =>
      Effect.zipRight(
        projection.handle(event),
        Effect.suspend(() => {
          if (failed.has(event.eventId)) return Effect.void
          failed.add(event.eventId)
          return Effect.fail("injected failure after the command was appended")
        })
      )
  }
}

layer(appIn(schemas[1]!), { excludeTestServices: true })(
  "policies on Postgres: a failure after the command's append",
  (it) => {
    const schema = schemas[1]!
    {
      it.effect("rolls the append back with the batch: each event is acted on once", () =>
        Effect.gen(function*() {
          yield* seedTasks
          yield* runUntilCaughtUp([failingAfterHandle(Policies.inProgressMovesToCurrent(schema))])
          const taskEvents = yield* readAll(TaskEvents, "task")
          const moves = causedBy(taskEvents.filter(isInProgress), taskEvents)
          expect(moves.map((caused) => caused.length)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 1, 0])
          const journal = yield* PolicyJournal.entries(schema)
          expect(journal.map((entry) => entry.handledCount)).toEqual(journal.map(() => 1))
          expect(journal.filter((entry) => entry.outcome === "issued")).toHaveLength(7)
        }))
    }
  }
)

layer(appIn(schemas[2]!), { excludeTestServices: true })(
  "policies without a shared transaction (the contrast)",
  (it) => {
    const schema = schemas[2]!
    {
      it.effect("with an in-memory projection store, the same failure makes the policy act twice (the domain refuses the second)", () =>
        Effect.gen(function*() {
          yield* seedTasks
          yield* runUntilCaughtUp(
            [failingAfterHandle(Policies.inProgressMovesToCurrent(schema))],
            (ps) =>
              ProjectionRunner.layer(ps, { leaseTtl: "2 seconds" }).pipe(Layer.provide(ProjectionStore.layerMemory))
          )
          const journal = yield* PolicyJournal.entries(schema)
          // The first attempt's append and journal row committed on their own; the retry found the task moved.
          expect(journal.filter((entry) => entry.handledCount === 2).length).toBeGreaterThan(0)
        }))
    }
  }
)

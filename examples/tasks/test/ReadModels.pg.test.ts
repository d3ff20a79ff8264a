import { describe, expect, layer } from "@effect/vitest"
import { CommandHandler, EventCatalog, ProjectionRunner } from "@facta/core"
import { uniqueSchemaName } from "@facta/testing/TestDatabase"
import { Chunk, Effect, Layer, Stream } from "effect"
import { storesLayer } from "../../../packages/postgres/test/support.js"
import * as ActiveSessions from "../src/ActiveSessions.js"
import * as Policies from "../src/Policies.js"
import * as ReadModels from "../src/ReadModels.js"
import type { SessionCommand } from "../src/Session.js"
import { Session, SessionEvents } from "../src/Session.js"
import type { TaskCommand } from "../src/Task.js"
import { Task, TaskEvents } from "../src/Task.js"
import * as TaskStatistics from "../src/TaskStatistics.js"

const start = Date.UTC(2026, 0, 1, 9)
const at = (seconds: number) => new Date(start + seconds * 1_000)

const task = (id: string, ...commands: ReadonlyArray<TaskCommand>) =>
  Effect.forEach(commands, (command) => CommandHandler.handle(Task, `task-${id}`, command), { discard: true })
const session = (id: string, ...commands: ReadonlyArray<SessionCommand>) =>
  Effect.forEach(commands, (command) => CommandHandler.handle(Session, `session-${id}`, command), { discard: true })

const queue = (taskId: string, second: number): SessionCommand => ({ _tag: "QueueSession", taskId, at: at(second) })
const startAt = (second: number): SessionCommand => ({ _tag: "StartSession", at: at(second) })
const fail = (second: number): SessionCommand => ({
  _tag: "CompleteSession",
  outcome: "failure",
  reason: "red",
  at: at(second)
})
const succeed = (second: number): SessionCommand => ({
  _tag: "CompleteSession",
  outcome: "success",
  reason: "",
  at: at(second)
})
const requeue = (attempt: number): SessionCommand => ({
  _tag: "RequeueSession",
  attempt,
  maxRetries: 3,
  baseDelayMillis: 10_000
})

const replayAll = (schema: string) =>
  Effect.gen(function*() {
    const sessions = yield* EventCatalog.readAll(SessionEvents).pipe(
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray)
    )
    const tasks = yield* EventCatalog.readAll(TaskEvents).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
    yield* Effect.forEach(sessions, ActiveSessions.projection(schema).handle, { discard: true })
    yield* Effect.forEach(tasks, TaskStatistics.projection(schema).handle, { discard: true })
  })

const appIn = (schema: string) => {
  const stores = storesLayer(schema)
  return Layer.merge(stores, Layer.effectDiscard(ReadModels.migrate(schema)).pipe(Layer.provide(stores)))
}

const direct = uniqueSchemaName()

layer(appIn(direct), { excludeTestServices: true })("read models on Postgres, handlers applied directly", (it) => {
  const schema = direct
  describe("the session list", () => {
    it.effect("given queued, running, failed, re-queued and finished sessions, shows each with its run count", () =>
      Effect.gen(function*() {
        yield* session("a", queue("t1", 0))
        yield* session("b", queue("t1", 0), startAt(1))
        yield* session("c", queue("t2", 0), startAt(1), fail(5), requeue(1))
        yield* session("d", queue("t2", 0), startAt(1), fail(5), requeue(1), startAt(15), fail(20), requeue(2))
        yield* session("e", queue("t3", 0), startAt(1), { _tag: "UseTool", tool: "git", at: at(2) }, succeed(3))
        yield* replayAll(schema)
        const rows = (yield* ActiveSessions.all(schema)).map(({ notBefore, ...row }) => ({
          ...row,
          due: notBefore.getTime() - start
        }))
        expect(rows).toEqual([
          { sessionId: "a", taskId: "t1", status: "queued", run: 1, requeues: 0, toolsUsed: 0, due: 0 },
          { sessionId: "b", taskId: "t1", status: "running", run: 1, requeues: 0, toolsUsed: 0, due: 0 },
          { sessionId: "e", taskId: "t3", status: "succeeded", run: 1, requeues: 0, toolsUsed: 1, due: 0 },
          { sessionId: "c", taskId: "t2", status: "queued", run: 2, requeues: 1, toolsUsed: 0, due: 15_000 },
          { sessionId: "d", taskId: "t2", status: "queued", run: 3, requeues: 2, toolsUsed: 0, due: 40_000 }
        ])
        expect((yield* ActiveSessions.active(schema)).map((row) => row.sessionId)).toEqual(["a", "b", "c", "d"])
      }))

    it.effect("the due sessions are the queued ones whose backoff has passed at the given time", () =>
      Effect.gen(function*() {
        const dueAt = (second: number) =>
          Effect.map(ActiveSessions.due(schema, at(second)), (rows) => rows.map((row) => row.sessionId))
        expect(yield* dueAt(0)).toEqual(["a"])
        expect(yield* dueAt(14)).toEqual(["a"])
        expect(yield* dueAt(15)).toEqual(["a", "c"])
        expect(yield* dueAt(40)).toEqual(["a", "c", "d"])
      }))

    it.effect("replaying the same events again changes no row", () =>
      Effect.gen(function*() {
        const before = yield* ActiveSessions.all(schema)
        yield* replayAll(schema)
        expect(yield* ActiveSessions.all(schema)).toEqual(before)
      }))
  })

  describe("the task board", () => {
    it.effect("given tasks created, moved, re-sectioned and with statuses, counts them per status and workflow state", () =>
      Effect.gen(function*() {
        yield* task("t1", { _tag: "CreateTask", title: "One", section: "api" }, {
          _tag: "ChangeTaskStatus",
          to: "in_progress"
        }, {
          _tag: "MoveTask",
          to: "current"
        })
        yield* task("t2", { _tag: "CreateTask", title: "Two", section: "api" }, { _tag: "MoveTask", to: "current" }, {
          _tag: "MoveTask",
          to: "done"
        }, { _tag: "ChangeTaskStatus", to: "done" })
        yield* task("t3", { _tag: "CreateTask", title: "Three", section: "docs" }, {
          _tag: "ChangeTaskStatus",
          to: "blocked"
        }, {
          _tag: "UpdateTaskSection",
          section: "web"
        })
        yield* task("t4", { _tag: "CreateTask", title: "Four", section: "docs" })
        yield* replayAll(schema)
        expect(yield* TaskStatistics.tasks(schema)).toEqual([
          { taskId: "t1", title: "One", section: "api", status: "in_progress", workflow: "current" },
          { taskId: "t2", title: "Two", section: "api", status: "done", workflow: "done" },
          { taskId: "t3", title: "Three", section: "web", status: "blocked", workflow: "backlog" },
          { taskId: "t4", title: "Four", section: "docs", status: "todo", workflow: "backlog" }
        ])
        expect(yield* TaskStatistics.statistics(schema)).toEqual({
          total: 4,
          byStatus: { todo: 1, in_progress: 1, blocked: 1, done: 1 },
          byWorkflow: { backlog: 2, current: 1, done: 1 }
        })
      }))

    it.effect("replaying the same events again counts nothing twice", () =>
      Effect.gen(function*() {
        const before = yield* TaskStatistics.statistics(schema)
        yield* replayAll(schema)
        expect(yield* TaskStatistics.statistics(schema)).toEqual(before)
      }))
  })
})

const running = uniqueSchemaName()
const projections = [
  ActiveSessions.projection(running),
  TaskStatistics.projection(running),
  Policies.inProgressMovesToCurrent(running),
  Policies.failedSessionsRequeue(running, { maxRetries: 3, baseDelayMillis: 10_000 })
]
const app = ProjectionRunner.layer(projections, { leaseTtl: "2 seconds" }).pipe(Layer.provideMerge(appIn(running)))
const caughtUp = Effect.forEach(projections, (p) => ProjectionRunner.waitForCatchUp(p.name), { discard: true })

layer(app, { excludeTestServices: true })("read models and policies under a runner on Postgres", (it) => {
  it.effect("the board and the session list follow the policies' commands live", () =>
    Effect.gen(function*() {
      yield* task("t1", { _tag: "CreateTask", title: "One", section: "api" }, {
        _tag: "ChangeTaskStatus",
        to: "in_progress"
      })
      yield* task("t2", { _tag: "CreateTask", title: "Two", section: "api" })
      yield* session("s1", queue("t1", 0), startAt(1), fail(5))
      yield* caughtUp
      // The policies' commands were appended; wait for the read models to see them too.
      yield* caughtUp
      expect((yield* TaskStatistics.statistics(running)).byWorkflow).toEqual({ backlog: 1, current: 1, done: 0 })
      expect(yield* ActiveSessions.active(running)).toEqual([
        { sessionId: "s1", taskId: "t1", status: "queued", run: 2, requeues: 1, toolsUsed: 0, notBefore: at(15) }
      ])
      expect(yield* ActiveSessions.due(running, at(14))).toEqual([])
    }))

  it.effect("a rebuild gives the same rows", () =>
    Effect.gen(function*() {
      const sessions = yield* ActiveSessions.all(running)
      const board = yield* TaskStatistics.tasks(running)
      yield* ProjectionRunner.rebuild(ActiveSessions.projectionName)
      yield* ProjectionRunner.rebuild(TaskStatistics.projectionName)
      yield* caughtUp
      expect(yield* ActiveSessions.all(running)).toEqual(sessions)
      expect(yield* TaskStatistics.tasks(running)).toEqual(board)
    }))
})

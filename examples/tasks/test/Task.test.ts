import { describe, it } from "@effect/vitest"
import { DeciderSpec } from "@facta/testing"
import type { TaskCommand, TaskEvent } from "../src/Task.js"
import {
  Task,
  TaskAlreadyExists,
  TaskAlreadyInState,
  TaskIsDone,
  TaskNotFound,
  TaskNotInExpectedState
} from "../src/Task.js"

const spec = DeciderSpec.for(Task)

const created: TaskEvent = { _tag: "TaskCreated", title: "Write the README", section: "docs" }
const inProgress: TaskEvent = { _tag: "TaskStatusChanged", from: "todo", to: "in_progress" }
const toCurrent: TaskEvent = { _tag: "TaskMoved", from: "backlog", to: "current" }
const toDone: TaskEvent = { _tag: "TaskMoved", from: "current", to: "done" }

const create: TaskCommand = { _tag: "CreateTask", title: "Write the README", section: "docs" }
const status = (to: "todo" | "in_progress" | "blocked" | "done"): TaskCommand => ({ _tag: "ChangeTaskStatus", to })
const move = (to: "backlog" | "current" | "done", expectedFrom?: "backlog" | "current" | "done"): TaskCommand =>
  expectedFrom === undefined ? { _tag: "MoveTask", to } : { _tag: "MoveTask", to, expectedFrom }

describe("Task", () => {
  describe("creating", () => {
    it.effect("creates a task in the backlog with status todo", () =>
      spec.when(create).then([created], {
        state: { _tag: "Task", title: "Write the README", section: "docs", status: "todo", workflow: "backlog" }
      }))

    it.effect("refuses to create the same task twice", () =>
      spec.given([created]).when(create).thenFails(new TaskAlreadyExists({ title: "Write the README" })))
  })

  describe("status", () => {
    it.effect("records the old and new status", () =>
      spec.given([created]).when(status("in_progress")).then([inProgress]))

    it.effect("setting the status the task has changes nothing", () =>
      spec.given([created, inProgress]).when(status("in_progress")).thenNothing())

    it.effect("refuses a status change on a task that does not exist", () =>
      spec.when(status("blocked")).thenFails(new TaskNotFound()))
  })

  describe("workflow moves", () => {
    it.effect("moves a task from the backlog to current", () =>
      spec.given([created]).when(move("current")).then([toCurrent], {
        state: { _tag: "Task", title: "Write the README", section: "docs", status: "todo", workflow: "current" }
      }))

    it.effect("moves with an expected origin when the task is there", () =>
      spec.given([created]).when(move("current", "backlog")).then([toCurrent]))

    it.effect("refuses the move when the task is not where it was expected", () =>
      spec.given([created, toCurrent]).when(move("current", "backlog")).thenFails(
        new TaskNotInExpectedState({ expected: "backlog", actual: "current" })
      ))

    it.effect("refuses a move to the state the task is in", () =>
      spec.given([created, toCurrent]).when(move("current")).thenFails(new TaskAlreadyInState({ state: "current" })))

    it.effect("a done task cannot move back", () =>
      spec.given([created, toCurrent, toDone]).when(move("backlog")).thenFails(new TaskIsDone()))

    it.effect("refuses a move of a task that does not exist", () =>
      spec.when(move("current")).thenFails("TaskNotFound"))
  })

  describe("sections", () => {
    it.effect("moves the task to another section", () =>
      spec.given([created]).when({ _tag: "UpdateTaskSection", section: "api" }).then([
        { _tag: "TaskSectionUpdated", section: "api" }
      ]))

    it.effect("the same section changes nothing", () =>
      spec.given([created]).when({ _tag: "UpdateTaskSection", section: "docs" }).thenNothing())

    it.effect("refuses a section change on a task that does not exist", () =>
      spec.when({ _tag: "UpdateTaskSection", section: "api" }).thenFails(new TaskNotFound()))
  })
})

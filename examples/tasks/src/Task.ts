/**
 * A task on the board: it has a status (what the assignee says: todo, in progress, blocked,
 * done), a workflow state (where it sits on the board: backlog, current, done) and a section.
 * Status and workflow state move independently; the `InProgressMovesToCurrent` policy ties
 * them together.
 */
import { Aggregate, Decider, EventCatalog } from "@facta/core"
import { Data, Effect, Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

/** What the assignee says about a task. */
export const TaskStatus = Schema.Literal("todo", "in_progress", "blocked", "done")
/** What the assignee says about a task. */
export type TaskStatus = typeof TaskStatus.Type

/** Where a task sits on the board. */
export const WorkflowState = Schema.Literal("backlog", "current", "done")
/** Where a task sits on the board. */
export type WorkflowState = typeof WorkflowState.Type

/** A task was created, in the backlog with status `todo`. */
export const TaskCreated = Schema.TaggedStruct("TaskCreated", {
  title: Schema.NonEmptyTrimmedString,
  section: Schema.String
})

/** The task's status changed. */
export const TaskStatusChanged = Schema.TaggedStruct("TaskStatusChanged", { from: TaskStatus, to: TaskStatus })

/** The task moved between workflow states. */
export const TaskMoved = Schema.TaggedStruct("TaskMoved", { from: WorkflowState, to: WorkflowState })

/** The task moved to another section of the board. */
export const TaskSectionUpdated = Schema.TaggedStruct("TaskSectionUpdated", { section: Schema.String })

/** Every task event. */
export const TaskEvents = EventCatalog.make([TaskCreated, TaskStatusChanged, TaskMoved, TaskSectionUpdated])

/** A task event. */
export type TaskEvent = typeof TaskEvents.schema.Type

// ---------------------------------------------------------------------------------------------
// commands and domain errors
// ---------------------------------------------------------------------------------------------

/** Creates a task in the backlog. */
export const CreateTask = Schema.TaggedStruct("CreateTask", {
  title: Schema.NonEmptyTrimmedString,
  section: Schema.String
})
/** Sets the task's status; setting the status it has changes nothing. */
export const ChangeTaskStatus = Schema.TaggedStruct("ChangeTaskStatus", { to: TaskStatus })
/**
 * Moves the task to another workflow state. With `expectedFrom`, only from that state
 * (policies use it so that a task someone already moved is left alone).
 */
export const MoveTask = Schema.TaggedStruct("MoveTask", {
  to: WorkflowState,
  expectedFrom: Schema.optional(WorkflowState)
})
/** Moves the task to another section; the same section changes nothing. */
export const UpdateTaskSection = Schema.TaggedStruct("UpdateTaskSection", { section: Schema.String })

/** Every task command. */
export const TaskCommand = Schema.Union(CreateTask, ChangeTaskStatus, MoveTask, UpdateTaskSection)
/** A task command. */
export type TaskCommand = typeof TaskCommand.Type

/** `CreateTask` on a task that exists. */
export class TaskAlreadyExists extends Data.TaggedError("TaskAlreadyExists")<{ readonly title: string }> {
  override get message() {
    return `The task already exists (${JSON.stringify(this.title)}); pick another task id`
  }
}

/** A command on a task that was never created. */
export class TaskNotFound extends Data.TaggedError("TaskNotFound")<{}> {
  override get message() {
    return "No task with this id was created; create it first"
  }
}

/** `MoveTask` to the state the task is already in. */
export class TaskAlreadyInState extends Data.TaggedError("TaskAlreadyInState")<{ readonly state: WorkflowState }> {
  override get message() {
    return `The task is already in ${this.state}`
  }
}

/** `MoveTask` with `expectedFrom` on a task that is elsewhere. */
export class TaskNotInExpectedState extends Data.TaggedError("TaskNotInExpectedState")<{
  readonly expected: WorkflowState
  readonly actual: WorkflowState
}> {
  override get message() {
    return `The task was expected in ${this.expected} but is in ${this.actual}; someone moved it already`
  }
}

/** Tasks in `done` stay there: reopening is a new task. */
export class TaskIsDone extends Data.TaggedError("TaskIsDone")<{}> {
  override get message() {
    return "The task is done and cannot move back; create a follow-up task instead"
  }
}

/** Every way a task command can be rejected. */
export type TaskError = TaskAlreadyExists | TaskNotFound | TaskAlreadyInState | TaskNotInExpectedState | TaskIsDone

// ---------------------------------------------------------------------------------------------
// state and decider
// ---------------------------------------------------------------------------------------------

/** A task's state. */
export const TaskState = Schema.Union(
  Schema.TaggedStruct("NoTask", {}),
  Schema.TaggedStruct("Task", {
    title: Schema.String,
    section: Schema.String,
    status: TaskStatus,
    workflow: WorkflowState
  })
)
/** A task's state. */
export type TaskState = typeof TaskState.Type

/** Decides a task command on the task's state. */
export const decide = (command: TaskCommand, state: TaskState): Effect.Effect<ReadonlyArray<TaskEvent>, TaskError> => {
  if (command._tag === "CreateTask") {
    return state._tag === "NoTask"
      ? Effect.succeed([{ _tag: "TaskCreated", title: command.title, section: command.section }])
      : Effect.fail(new TaskAlreadyExists({ title: state.title }))
  }
  if (state._tag === "NoTask") return Effect.fail(new TaskNotFound())
  switch (command._tag) {
    case "ChangeTaskStatus":
      return Effect.succeed(
        command.to === state.status ? [] : [{ _tag: "TaskStatusChanged", from: state.status, to: command.to }]
      )
    case "MoveTask":
      if (command.expectedFrom !== undefined && command.expectedFrom !== state.workflow) {
        return Effect.fail(new TaskNotInExpectedState({ expected: command.expectedFrom, actual: state.workflow }))
      }
      if (command.to === state.workflow) return Effect.fail(new TaskAlreadyInState({ state: state.workflow }))
      if (state.workflow === "done") return Effect.fail(new TaskIsDone())
      return Effect.succeed([{ _tag: "TaskMoved", from: state.workflow, to: command.to }])
    case "UpdateTaskSection":
      return Effect.succeed(
        command.section === state.section ? [] : [{ _tag: "TaskSectionUpdated", section: command.section }]
      )
  }
}

/** Folds a task event into the state; events that do not fit the state leave it as it is. */
export const evolve = (state: TaskState, event: TaskEvent): TaskState => {
  if (event._tag === "TaskCreated") {
    return state._tag === "NoTask"
      ? { _tag: "Task", title: event.title, section: event.section, status: "todo", workflow: "backlog" }
      : state
  }
  if (state._tag === "NoTask") return state
  switch (event._tag) {
    case "TaskStatusChanged":
      return { ...state, status: event.to }
    case "TaskMoved":
      return { ...state, workflow: event.to }
    case "TaskSectionUpdated":
      return { ...state, section: event.section }
  }
}

/** The task decider. */
export const TaskDecider = Decider.make({ initialState: { _tag: "NoTask" } as TaskState, decide, evolve })

/** The task aggregate: streams `task-<id>`, a snapshot every 20 events. */
export const Task = Aggregate.make({
  category: "task",
  catalog: TaskEvents,
  decider: TaskDecider,
  snapshots: { schema: TaskState, schemaVersion: 1, every: 20 }
})

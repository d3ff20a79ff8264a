/**
 * A git worktree a session works in: created for a task on a branch, possibly found in
 * conflict with its base, and finally recycled (its directory handed back to the pool).
 */
import { Aggregate, Decider, EventCatalog } from "@facta/core"
import { Data, Effect, Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

/** A worktree was created for a task. */
export const WorktreeCreated = Schema.TaggedStruct("WorktreeCreated", {
  taskId: Schema.String,
  branch: Schema.NonEmptyTrimmedString,
  path: Schema.NonEmptyTrimmedString
})

/** Merging the base into the worktree's branch conflicts on these files. */
export const WorktreeConflictDetected = Schema.TaggedStruct("WorktreeConflictDetected", {
  files: Schema.NonEmptyArray(Schema.String)
})

/** The worktree was recycled: its directory is free for another task. */
export const WorktreeRecycled = Schema.TaggedStruct("WorktreeRecycled", { reason: Schema.String })

/** Every worktree event. */
export const WorktreeEvents = EventCatalog.make([WorktreeCreated, WorktreeConflictDetected, WorktreeRecycled])

/** A worktree event. */
export type WorktreeEvent = typeof WorktreeEvents.schema.Type

// ---------------------------------------------------------------------------------------------
// commands and domain errors
// ---------------------------------------------------------------------------------------------

/** Creates the worktree. */
export const CreateWorktree = Schema.TaggedStruct("CreateWorktree", {
  taskId: Schema.String,
  branch: Schema.NonEmptyTrimmedString,
  path: Schema.NonEmptyTrimmedString
})
/** Records a merge conflict; files already reported are not reported again. */
export const DetectConflict = Schema.TaggedStruct("DetectConflict", { files: Schema.NonEmptyArray(Schema.String) })
/** Recycles the worktree; recycling a recycled worktree changes nothing. */
export const RecycleWorktree = Schema.TaggedStruct("RecycleWorktree", { reason: Schema.String })

/** Every worktree command. */
export const WorktreeCommand = Schema.Union(CreateWorktree, DetectConflict, RecycleWorktree)
/** A worktree command. */
export type WorktreeCommand = typeof WorktreeCommand.Type

/** `CreateWorktree` on a worktree id already used. */
export class WorktreeAlreadyExists extends Data.TaggedError("WorktreeAlreadyExists")<{ readonly path: string }> {
  override get message() {
    return `The worktree already exists at ${this.path}; use a new worktree id`
  }
}

/** A command on a worktree that was never created. */
export class WorktreeNotFound extends Data.TaggedError("WorktreeNotFound")<{}> {
  override get message() {
    return "No worktree with this id was created; create it first"
  }
}

/** `DetectConflict` on a recycled worktree. */
export class WorktreeIsRecycled extends Data.TaggedError("WorktreeIsRecycled")<{}> {
  override get message() {
    return "The worktree was recycled; its conflicts no longer matter"
  }
}

/** Every way a worktree command can be rejected. */
export type WorktreeError = WorktreeAlreadyExists | WorktreeNotFound | WorktreeIsRecycled

// ---------------------------------------------------------------------------------------------
// state and decider
// ---------------------------------------------------------------------------------------------

/** A worktree's state. */
export const WorktreeState = Schema.Union(
  Schema.TaggedStruct("NoWorktree", {}),
  Schema.TaggedStruct("Active", {
    taskId: Schema.String,
    branch: Schema.String,
    path: Schema.String,
    conflicts: Schema.Array(Schema.String)
  }),
  Schema.TaggedStruct("Recycled", { taskId: Schema.String, path: Schema.String })
)
/** A worktree's state. */
export type WorktreeState = typeof WorktreeState.Type

/** Decides a worktree command on the worktree's state. */
export const decide = (
  command: WorktreeCommand,
  state: WorktreeState
): Effect.Effect<ReadonlyArray<WorktreeEvent>, WorktreeError> => {
  switch (command._tag) {
    case "CreateWorktree":
      return state._tag === "NoWorktree"
        ? Effect.succeed([{
          _tag: "WorktreeCreated",
          taskId: command.taskId,
          branch: command.branch,
          path: command.path
        }])
        : Effect.fail(new WorktreeAlreadyExists({ path: state.path }))
    case "DetectConflict": {
      if (state._tag === "NoWorktree") return Effect.fail(new WorktreeNotFound())
      if (state._tag === "Recycled") return Effect.fail(new WorktreeIsRecycled())
      const fresh = [...new Set(command.files)].filter((file) => !state.conflicts.includes(file))
      const [first, ...rest] = fresh
      return Effect.succeed(first === undefined ? [] : [{ _tag: "WorktreeConflictDetected", files: [first, ...rest] }])
    }
    case "RecycleWorktree":
      if (state._tag === "NoWorktree") return Effect.fail(new WorktreeNotFound())
      return Effect.succeed(state._tag === "Recycled" ? [] : [{ _tag: "WorktreeRecycled", reason: command.reason }])
  }
}

/** Folds a worktree event into the state; events that do not fit the state leave it as it is. */
export const evolve = (state: WorktreeState, event: WorktreeEvent): WorktreeState => {
  switch (event._tag) {
    case "WorktreeCreated":
      return state._tag === "NoWorktree"
        ? { _tag: "Active", taskId: event.taskId, branch: event.branch, path: event.path, conflicts: [] }
        : state
    case "WorktreeConflictDetected":
      return state._tag === "Active"
        ? {
          ...state,
          conflicts: [...state.conflicts, ...event.files.filter((file) => !state.conflicts.includes(file))]
        }
        : state
    case "WorktreeRecycled":
      return state._tag === "Active" ? { _tag: "Recycled", taskId: state.taskId, path: state.path } : state
  }
}

/** The worktree decider; a recycled worktree is final. */
export const WorktreeDecider = Decider.make({
  initialState: { _tag: "NoWorktree" } as WorktreeState,
  decide,
  evolve,
  isTerminal: (state: WorktreeState) => state._tag === "Recycled"
})

/** The worktree aggregate: streams `worktree-<id>`, a snapshot every 20 events. */
export const Worktree = Aggregate.make({
  category: "worktree",
  catalog: WorktreeEvents,
  decider: WorktreeDecider,
  snapshots: { schema: WorktreeState, schemaVersion: 1, every: 20 }
})

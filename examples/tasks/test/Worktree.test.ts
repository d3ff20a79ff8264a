import { describe, it } from "@effect/vitest"
import { DeciderSpec } from "@facta/testing"
import type { WorktreeEvent } from "../src/Worktree.js"
import { Worktree, WorktreeAlreadyExists, WorktreeIsRecycled, WorktreeNotFound } from "../src/Worktree.js"

const spec = DeciderSpec.for(Worktree)

const created: WorktreeEvent = { _tag: "WorktreeCreated", taskId: "t1", branch: "task/t1", path: "/work/wt/t1" }
const conflict: WorktreeEvent = { _tag: "WorktreeConflictDetected", files: ["README.md"] }
const recycled: WorktreeEvent = { _tag: "WorktreeRecycled", reason: "merged" }

describe("Worktree", () => {
  it.effect("creates a worktree for a task", () =>
    spec.when({ _tag: "CreateWorktree", taskId: "t1", branch: "task/t1", path: "/work/wt/t1" }).then([created], {
      state: { _tag: "Active", taskId: "t1", branch: "task/t1", path: "/work/wt/t1", conflicts: [] }
    }))

  it.effect("refuses to create a worktree twice", () =>
    spec.given([created]).when({ _tag: "CreateWorktree", taskId: "t2", branch: "b", path: "/p" }).thenFails(
      new WorktreeAlreadyExists({ path: "/work/wt/t1" })
    ))

  it.effect("records the files in conflict", () =>
    spec.given([created]).when({ _tag: "DetectConflict", files: ["README.md", "README.md"] }).then([conflict]))

  it.effect("reports only files not already in conflict", () =>
    spec.given([created, conflict]).when({ _tag: "DetectConflict", files: ["README.md", "src/a.ts"] }).then([
      { _tag: "WorktreeConflictDetected", files: ["src/a.ts"] }
    ]))

  it.effect("a conflict already known changes nothing", () =>
    spec.given([created, conflict]).when({ _tag: "DetectConflict", files: ["README.md"] }).thenNothing())

  it.effect("refuses a conflict on a worktree that does not exist", () =>
    spec.when({ _tag: "DetectConflict", files: ["a"] }).thenFails(new WorktreeNotFound()))

  it.effect("refuses a conflict on a recycled worktree", () =>
    spec.given([created, recycled]).when({ _tag: "DetectConflict", files: ["a"] }).thenFails(new WorktreeIsRecycled()))

  it.effect("recycles a worktree, conflicts or not", () =>
    spec.given([created, conflict]).when({ _tag: "RecycleWorktree", reason: "merged" }).then([recycled], {
      state: { _tag: "Recycled", taskId: "t1", path: "/work/wt/t1" }
    }))

  it.effect("recycling twice changes nothing", () =>
    spec.given([created, recycled]).when({ _tag: "RecycleWorktree", reason: "again" }).thenNothing())

  it.effect("refuses to recycle a worktree that does not exist", () =>
    spec.when({ _tag: "RecycleWorktree", reason: "x" }).thenFails("WorktreeNotFound"))
})

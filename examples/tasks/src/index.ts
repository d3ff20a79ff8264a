/** The tasks example: tasks, sessions and worktrees, two durable policies and their read models. */
export * as ActiveSessions from "./ActiveSessions.js"
export * as Policies from "./Policies.js"
export * as PolicyJournal from "./PolicyJournal.js"
export * as ReadModels from "./ReadModels.js"
export * as Session from "./Session.js"
export * as Task from "./Task.js"
export * as TaskStatistics from "./TaskStatistics.js"
export * as Worktree from "./Worktree.js"

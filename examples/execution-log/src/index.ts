/** The workflow execution log example: postings through actors, causation chains, idempotent appends, breakers. */
export * as AuditTrail from "./AuditTrail.js"
export * as IdempotentCommands from "./IdempotentCommands.js"
export * as Posting from "./Posting.js"
export * as PostingStates from "./PostingStates.js"
export * as Workflow from "./Workflow.js"

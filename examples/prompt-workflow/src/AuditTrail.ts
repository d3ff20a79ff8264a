/**
 * The audit trail of a session: who did what and when, from the events' metadata (`userId`,
 * `correlationId`, `causationId`) and payloads, as entries and as readable lines.
 */
import type { EventStore } from "@facta/core"
import { EventCatalog } from "@facta/core"
import { Chunk, Effect, Stream } from "effect"
import type { WorkflowSessionEvent } from "./WorkflowSession.js"
import { streamIdOf, WorkflowSessionEvents } from "./WorkflowSession.js"

/** One thing that happened to a session. */
export interface AuditEntry {
  readonly version: number
  readonly at: Date
  readonly type: WorkflowSessionEvent["_tag"]
  /** Who sent the command; `"unknown"` when the command named nobody. */
  readonly userId: string
  readonly correlationId: string | undefined
  readonly causationId: string | undefined
  /** What happened, in words. */
  readonly summary: string
}

const score = (value: number): string => value.toFixed(2)

/** What an event says, in words. */
export const describe = (event: WorkflowSessionEvent): string => {
  switch (event._tag) {
    case "SessionStarted":
      return `started the session for ${JSON.stringify(event.userRequest)} with ${event.maxAttempts} attempt(s)`
    case "AttemptInitiated":
      return `began attempt ${event.attempt}`
    case "TaskAnalyzed":
      return `analyzed the task as ${JSON.stringify(event.taskType)} (${event.requirements.length} requirement(s))`
    case "PromptGenerated":
      return `generated prompt ${JSON.stringify(event.promptName)} in attempt ${event.attempt}`
    case "PromptValidated":
      return `validated ${JSON.stringify(event.promptName)}: score ${score(event.qualityScore)} (${
        Object.entries(event.breakdown).map(([criterion, value]) => `${criterion} ${score(value)}`).join(", ") ||
        "no breakdown"
      })`
    case "PromptRejected":
      return `rejected ${JSON.stringify(event.promptName)}: ${JSON.stringify(event.feedback)}`
    case "FeedbackApplied":
      return `applied the feedback: ${JSON.stringify(event.changes)}`
    case "PromptApproved":
      return `approved ${JSON.stringify(event.promptName)} at score ${score(event.qualityScore)}`
    case "SessionCompleted":
      return `completed the session after ${event.attempts} attempt(s)`
    case "SessionFailed":
      return `failed the session after ${event.attempts} rejected attempt(s)`
  }
}

/** The audit trail of session `sessionId`, in stream order. */
export const ofSession = (
  sessionId: string
): Effect.Effect<ReadonlyArray<AuditEntry>, EventStore.ReadError | EventCatalog.DecodeError, EventStore.EventStore> =>
  EventCatalog.readStream(WorkflowSessionEvents, streamIdOf(sessionId)).pipe(
    Stream.map((event): AuditEntry => ({
      version: event.streamVersion,
      at: event.recordedAt,
      type: event.data._tag,
      userId: event.metadata.userId ?? "unknown",
      correlationId: event.metadata.correlationId,
      causationId: event.metadata.causationId,
      summary: describe(event.data)
    })),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )

/**
 * An entry as one line: `2025-03-04T09:15:00.000Z #3 ada analyzed the task as … [correlation r-1, cause c-2]`.
 */
export const formatLine = (entry: AuditEntry): string =>
  `${entry.at.toISOString()} #${entry.version} ${entry.userId} ${entry.summary} [correlation ${
    entry.correlationId ?? "-"
  }, cause ${entry.causationId ?? "-"}]`

/** The audit trail of a session as readable lines. */
export const lines = (sessionId: string) => Effect.map(ofSession(sessionId), (entries) => entries.map(formatLine))

/**
 * The audit trail of a posting: its events in order with who caused each one. Every step's
 * command is caused by the previous step's last event and every further event of a command by
 * the event before it, so the trail is one unbroken causation chain from the submission to the
 * terminal event, all under the posting's correlation id.
 */
import type { EventStore } from "@facta/core"
import { EventCatalog } from "@facta/core"
import { Chunk, Effect, Stream } from "effect"
import type { PostingEvent } from "./Posting.js"
import { PostingEvents } from "./Posting.js"

/** One entry of the trail. */
export interface Entry {
  readonly version: number
  readonly eventId: string
  readonly type: string
  /** What the event says, in a few words. */
  readonly summary: string
  readonly correlationId: string | undefined
  readonly causationId: string | undefined
  /** The stream version of the event that caused this one; `undefined` for a cause outside the stream. */
  readonly causedByVersion: number | undefined
  readonly idempotencyKey: string | undefined
}

/** A posting's trail and whether it is one chain under one correlation id. */
export interface Trail {
  readonly entries: ReadonlyArray<Entry>
  /** Every event after the first is caused by the event just before it. */
  readonly unbroken: boolean
  /** The correlation ids found (one, for a healthy posting). */
  readonly correlationIds: ReadonlyArray<string>
}

/** Describes an event in a few words. */
export const summarize = (event: PostingEvent): string => {
  switch (event._tag) {
    case "PostingSubmitted":
      return `submitted to ${
        event.workflow.map((actor) => `${actor.name}(${actor.kind})`).join(" -> ")
      }, breaker at ${event.breakerThreshold}`
    case "ScriptExecutionCompleted":
      return `${event.actor} ran in ${event.durationMs} ms`
    case "ScriptExecutionFailed":
      return `${event.actor} failed (exit ${event.exitCode}): ${event.error}`
    case "LlmCallCompleted":
      return `${event.actor} answered with ${event.model}, ${event.tokens} tokens`
    case "LlmCallFailed":
      return `${event.actor} call to ${event.model} failed: ${event.error}`
    case "CircuitBreakerOpened":
      return `breaker of ${event.actor} opened after ${event.consecutiveFailures} failures`
    case "PostingTerminal":
      return `${event.outcome}: ${event.reason}`
  }
}

const text = (value: unknown): string | undefined => typeof value === "string" ? value : undefined

/** The audit trail of the posting stream `streamId`. */
export const of = (
  streamId: string
): Effect.Effect<Trail, EventStore.ReadError | EventCatalog.DecodeError, EventStore.EventStore> =>
  EventCatalog.readStream(PostingEvents, streamId).pipe(
    Stream.runCollect,
    Effect.map((chunk) => {
      const events = Chunk.toReadonlyArray(chunk)
      const versionOf = new Map(events.map((event) => [event.eventId, event.streamVersion]))
      const entries = events.map((event): Entry => ({
        version: event.streamVersion,
        eventId: event.eventId,
        type: event.type,
        summary: summarize(event.data),
        correlationId: event.metadata.correlationId,
        causationId: event.metadata.causationId,
        causedByVersion: event.metadata.causationId === undefined
          ? undefined
          : versionOf.get(event.metadata.causationId),
        idempotencyKey: text(event.metadata["idempotencyKey"])
      }))
      const unbroken = entries.every((entry, index) => index === 0 || entry.causedByVersion === entry.version - 1)
      const correlationIds = [
        ...new Set(entries.flatMap((entry) => entry.correlationId === undefined ? [] : [entry.correlationId]))
      ]
      return { entries, unbroken, correlationIds }
    })
  )

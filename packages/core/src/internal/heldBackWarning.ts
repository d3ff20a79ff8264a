/** What the runner logs when an open transaction in the store holds a projection's delivery back. */
import { Duration, Option } from "effect"
import type { HeldBack } from "../EventStore.js"

const formatMillis = (millis: number) =>
  Duration.format(Duration.millis(millis >= 1_000 ? Math.round(millis / 1_000) * 1_000 : millis))

/** The held-back warning: what waits, behind which session, and what to do about it. */
export const describeHeldBack = (projection: string, held: HeldBack): string => {
  const holder = Option.match(held.blocker, {
    onNone: () => `open transaction ${held.transactionId} (no session runs it: a prepared transaction?)`,
    onSome: (session) => {
      const details = [
        `application ${JSON.stringify(session.applicationName)}`,
        ...Option.toArray(Option.map(session.user, (user) => `user ${user}`)),
        ...Option.toArray(Option.map(session.database, (database) => `database ${database}`)),
        ...Option.toArray(session.state),
        ...Option.toArray(Option.map(session.transactionStart, (start) => `transaction started ${start.toISOString()}`))
      ]
      return `open transaction ${held.transactionId} of session pid ${session.pid} (${details.join(", ")})`
    }
  })
  return `Facta: projection ${JSON.stringify(projection)} is held back: ${held.events} committed event(s) have waited ${
    formatMillis(Duration.toMillis(held.heldFor))
  } behind ${holder}. They are delivered, in order, once it commits or rolls back; end it if it is stuck.`
}

/** The warning's log annotations, for structured logs and alerts. */
export const heldBackAnnotations = (projection: string, held: HeldBack): Record<string, unknown> => ({
  "facta.projection": projection,
  "facta.held_back_events": held.events,
  "facta.held_back_ms": Duration.toMillis(held.heldFor),
  "facta.blocking_transaction_id": String(held.transactionId),
  ...Option.match(held.blocker, {
    onNone: () => ({}),
    onSome: (session) => ({ "facta.blocking_pid": session.pid, "facta.blocking_application": session.applicationName })
  })
})

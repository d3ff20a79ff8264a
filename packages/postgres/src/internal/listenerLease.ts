/**
 * A process that LISTENs for appends holds a lease in the schema's `listeners` table; appends
 * send their NOTIFY only while some lease is live (see `appendFunctions`). The lease is taken
 * before LISTEN starts, renewed well before it expires, and given back when its scope closes; a
 * process that dies without giving it back stops being notified for once its lease has expired.
 * Missing a notification never loses an event: subscribers also poll.
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { TransactionConnection } from "@effect/sql/SqlClient"
import { Context, Duration, Effect, Schedule, type Scope } from "effect"

/** How long a lease lasts, and how often it is renewed. */
const leaseSeconds = 30
const renewEvery = Duration.seconds(10)

/**
 * Takes a listener lease in `schema` (waiting for it to commit) and keeps renewing it until the
 * scope closes, which removes it. Never fails: without a lease, subscribers still poll.
 */
export const holdListenerLease = (sql: SqlClient, schema: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const s = sql(schema)
    const id = crypto.randomUUID()
    // Added first, so it runs last: after the renewals have stopped.
    yield* Effect.addFinalizer(() => Effect.ignore(sql`DELETE FROM ${s}.listeners WHERE id = ${id}::uuid`))
    const renew = sql`
      INSERT INTO ${s}.listeners (id, expires_at) VALUES (${id}::uuid, now() + ${leaseSeconds} * interval '1 second')
      ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at`.pipe(
      // Leases of processes that died without giving theirs back.
      Effect.zipRight(sql`DELETE FROM ${s}.listeners WHERE expires_at < now()`),
      Effect.tapErrorCause((cause) =>
        Effect.logDebug("Facta: could not renew the listener lease; appends may not notify until it is back", cause)
      ),
      Effect.ignore
    )
    yield* renew
    yield* Effect.forkScoped(Effect.interruptible(Effect.repeat(renew, Schedule.spaced(renewEvery))))
  }).pipe(
    // The lease is the process's, not part of whatever transaction the first subscriber runs in.
    Effect.mapInputContext(Context.omit(TransactionConnection))
  )

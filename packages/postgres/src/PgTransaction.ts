/**
 * A transaction of your own around appends, checkpoints and read-model writes, whose failed
 * `COMMIT` is a typed error that says what became of the transaction.
 *
 * `SqlClient.withTransaction` turns a failed `COMMIT` into a defect: a deferred constraint
 * violated at commit, a serialization failure under `SERIALIZABLE`, a connection lost while
 * committing all kill the fiber, and nothing can retry or handle them. `PgTransaction.run` is the
 * same transaction (everything `EventStore.append`, `CheckpointStore.save` and your own statements
 * run through the context's `PgClient` joins it) with that failure as {@link TransactionFailed}.
 *
 * @since 0.1.0
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { SqlError } from "@effect/sql/SqlError"
import { Data, Effect, Exit } from "effect"
import { commitRolledBack, sqlErrorDefectAsFailure, sqlStateOf } from "./internal/sqlState.js"

/**
 * What became of a transaction that failed to commit: `rolled-back` (nothing of it was
 * committed; running it again is safe) or `unknown` (it may have committed or not).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "rolled-back" | "unknown"

/**
 * The transaction could not begin, or its `COMMIT` failed. Your effect's own failures are not
 * wrapped: they roll the transaction back and reach you as they are.
 *
 * - `rolled-back`: it never began (no connection, `BEGIN` failed), or the server refused the
 *   commit and rolled it back: a deferred constraint (SQLSTATE class 23), a serialization
 *   failure (40001) or a deadlock (40P01). Run the whole transaction again (decide again first
 *   for a serialization failure or a conflict).
 * - `unknown`: `COMMIT` was sent and no answer came (a lost connection, class 08, a server
 *   shutting down, 57P01). Find out before going on: appends are idempotent by event id, so
 *   running the transaction again with the same event ids returns the recorded result
 *   (`written: false`) if it committed; a projection re-reads its checkpoint.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransactionFailed extends Data.TaggedError("TransactionFailed")<{
  /** Whether the transaction is known to be rolled back, or may have committed. */
  readonly outcome: Outcome
  /** Which step failed: `begin` (acquiring a connection or `BEGIN`) or `commit`. */
  readonly step: "begin" | "commit"
  /** The SQLSTATE the server answered with, when it answered. */
  readonly sqlState?: string
  /** The `SqlError` of the failed step. */
  readonly cause: SqlError
}> {
  /** Says which step failed and why, what is known of the outcome, and what to do. */
  override get message(): string {
    const reason = `${this.sqlState === undefined ? "" : `SQLSTATE ${this.sqlState}: `}${describe(this.cause)}`
    if (this.step === "begin") return `The transaction could not begin (${reason}): nothing of it ran or was committed.`
    return this.outcome === "rolled-back"
      ? `The transaction was rolled back at COMMIT (${reason}): nothing of it was committed, and it can be run again.`
      : `COMMIT was sent but its outcome is unknown (${reason}): the transaction may or may not have committed. Find out before going on: appends retried with the same event ids return the recorded result if it committed.`
  }
}

/** The server's message under an `SqlError`, or the error's own. */
const describe = (error: SqlError): string =>
  error.cause instanceof Error && error.cause.message !== "" ? error.cause.message : error.message

/** The caller's own failure, carried through the transaction untouched (told apart from the transaction's). */
class Passthrough<E> {
  constructor(readonly error: E) {}
}

/**
 * Runs `effect` in one transaction on the context's `PgClient`: committed when it succeeds,
 * rolled back when it fails (with its failure) or is interrupted. A failed `BEGIN` or `COMMIT`
 * is {@link TransactionFailed}, never a defect. Inside another transaction it is a savepoint,
 * and the outer transaction's commit decides.
 *
 * @since 0.1.0
 * @category combinators
 */
export const run = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | TransactionFailed, R | PgClient.PgClient> =>
  Effect.flatMap(PgClient.PgClient, (sql) =>
    Effect.suspend(() => {
      // How the body ended tells a failed COMMIT (it succeeded) from a failed ROLLBACK or BEGIN.
      let body: Exit.Exit<A, E> | undefined = undefined
      const recorded = Effect.onExit(effect, (exit) => Effect.sync(() => void (body = exit)))
      return sql.withTransaction(Effect.mapError(recorded, (error) => new Passthrough(error))).pipe(
        Effect.catchSomeDefect(sqlErrorDefectAsFailure),
        Effect.catchAll((error): Effect.Effect<never, E | TransactionFailed> => {
          if (error instanceof Passthrough) return Effect.fail((error as Passthrough<E>).error)
          const ended: Exit.Exit<A, E> | undefined = body
          // A ROLLBACK that failed after the body failed: the transaction did not commit either way.
          if (ended !== undefined && Exit.isFailure(ended)) return Effect.failCause(ended.cause)
          const sqlState = sqlStateOf(error)
          const committing = ended !== undefined
          return Effect.fail(
            new TransactionFailed({
              outcome: !committing || commitRolledBack(sqlState) ? "rolled-back" : "unknown",
              step: committing ? "commit" : "begin",
              ...(sqlState === undefined ? {} : { sqlState }),
              cause: error
            })
          )
        })
      )
    }))

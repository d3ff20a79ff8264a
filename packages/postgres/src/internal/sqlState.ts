/**
 * What a PostgreSQL error says about a statement or a transaction, read from its SQLSTATE, and
 * the one place that turns `@effect/sql`'s failed COMMIT (a defect) back into a failure.
 */
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Option } from "effect"

/** The SQLSTATE of `cause` (an `SqlError`, or what it wraps), if it carries one. */
export const sqlStateOf = (cause: unknown): string | undefined => {
  let current: unknown = cause
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    if ("code" in current && typeof current.code === "string" && /^[0-9A-Z]{5}$/.test(current.code)) return current.code
    current = "cause" in current ? current.cause : undefined
  }
  return undefined
}

/** `lock_not_available`: a lock wait ran past `lock_timeout`; the statement (and its writes) rolled back. */
export const isLockTimeout = (cause: unknown): boolean => sqlStateOf(cause) === "55P03"

/**
 * Whether a COMMIT that failed with `sqlState` is known to have rolled the transaction back: an
 * integrity violation checked at commit (class 23, deferred constraints) or a transaction
 * rollback (class 40: serialization failure, deadlock) except 40003 (statement completion
 * unknown). Anything else (class 08, 57P01–57P03, a socket error, no SQLSTATE) may have
 * committed or not.
 */
export const commitRolledBack = (sqlState: string | undefined): boolean =>
  sqlState !== undefined && (sqlState.startsWith("23") || (sqlState.startsWith("40") && sqlState !== "40003"))

/**
 * For `Effect.catchSomeDefect` around `withTransaction`: `@effect/sql` dies with the `SqlError`
 * when COMMIT or ROLLBACK fails, which is the database failing, not a bug; it becomes a failure.
 */
export const sqlErrorDefectAsFailure = (defect: unknown): Option.Option<Effect.Effect<never, SqlError>> =>
  defect instanceof SqlError ? Option.some(Effect.fail(defect)) : Option.none()

/**
 * Whether `sqlState` says PostgreSQL refused the data a statement carried rather than failed to
 * run it: class 22 (data exception: a value out of range, a character the encoding lacks) or 54
 * (program limit exceeded: a string too long for jsonb, JSON nested too deep to parse).
 */
export const isDataRefusal = (sqlState: string | undefined): boolean =>
  sqlState !== undefined && (sqlState.startsWith("22") || sqlState.startsWith("54"))

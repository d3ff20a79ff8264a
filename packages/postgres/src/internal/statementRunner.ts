/**
 * Runs the event store's hottest statements on the `PgPool` directly when there is one (see
 * `PgPool`). A statement is still written with `@effect/sql`'s tagged template and compiled by it;
 * only its execution skips the per-statement span and scope.
 */
import type { Statement } from "@effect/sql/Statement"
import { SqlError } from "@effect/sql/SqlError"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Tracer } from "effect"
import { Effect, Option } from "effect"
import type pg from "pg"
import { PgPool } from "../PgPool.js"

/**
 * Runs a statement and returns its rows. Through `@effect/sql` its span nests under `parent`
 * when given (the direct path creates no span).
 */
export type Run = <Row extends object>(
  statement: Statement<Row>,
  parent?: Tracer.Span
) => Effect.Effect<ReadonlyArray<Row>, SqlError>

const viaClient: Run = (statement, parent) => parent === undefined ? statement : Effect.withParentSpan(statement, parent)

/**
 * Runs statements on the pool directly when the context has a `PgPool` and the fiber is not
 * inside an `@effect/sql` transaction, and as ordinary `@effect/sql` statements otherwise. The
 * statements must come from a client without name transforms (`sql.withoutTransforms()`); the
 * rows come back as node-postgres parses them either way, and errors are `SqlError`s.
 *
 * With `prepare`, a direct statement is a named prepared statement (named after its text), so
 * each connection parses and plans it once instead of on every run: ~55 µs less per append
 * (an append's round trip took 449 µs unnamed and 394 µs named, embedded PostgreSQL 17).
 */
export const makeRunner = (options: { readonly prepare: boolean }): Effect.Effect<Run> =>
  Effect.map(Effect.serviceOption(PgPool), (pool) => {
    if (Option.isNone(pool)) return viaClient
    const direct = directQuery(pool.value, options.prepare)
    return <Row extends object>(statement: Statement<Row>, parent?: Tracer.Span) =>
      Effect.flatMap(
        Effect.serviceOption(SqlClient.TransactionConnection),
        (transaction) => Option.isSome(transaction) ? viaClient(statement, parent) : direct<Row>(...statement.compile(true))
      )
  })

/**
 * One statement on a pooled connection. The connection goes back to the pool when the
 * statement has finished, even if the fiber was interrupted meanwhile (a connection handed back
 * mid-statement would make its next user wait behind it).
 */
const directQuery = (pool: pg.Pool, prepare: boolean) =>
<Row>(text: string, values: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<Row>, SqlError> =>
  Effect.async<ReadonlyArray<Row>, SqlError>((resume) => {
    const query: pg.QueryConfig = prepare
      ? { name: statementName(text), text, values: values as Array<unknown> }
      : { text, values: values as Array<unknown> }
    let interrupted = false
    pool.connect((connectError, client, release) => {
      if (connectError || !client) {
        if (!interrupted) {
          resume(Effect.fail(new SqlError({ cause: connectError, message: "Failed to acquire connection" })))
        }
        return
      }
      if (interrupted) return release()
      // A connection that breaks mid-statement emits "error" besides failing the statement.
      let broken: unknown = undefined
      const onError = (cause: unknown) => void (broken = cause)
      client.on("error", onError)
      client.query(query, (error: Error | null | undefined, result: pg.QueryResult) => {
        client.off("error", onError)
        // The pool discards a connection released with an error.
        release(broken === undefined ? undefined : broken as Error)
        if (interrupted) return
        resume(
          error === null || error === undefined
            ? Effect.succeed(result.rows as ReadonlyArray<Row>)
            : Effect.fail(new SqlError({ cause: error, message: "Failed to execute statement" }))
        )
      })
    })
    return Effect.sync(() => void (interrupted = true))
  })

/**
 * A prepared statement's name from its text: `facta_` and a 64-bit FNV-1a hash in hex (two 32-bit
 * lanes). A connection holds one statement per name, so different texts must never share one; a
 * hash keeps the name inside PostgreSQL's 63 bytes whatever the schema's name.
 */
const statementName = (text: string): string => {
  let low = 0x811c9dc5
  let high = 0xcbf29ce4
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    low = Math.imul(low ^ code, 0x01000193)
    high = Math.imul(high ^ code ^ (low >>> 24), 0x01000193)
  }
  return `facta_${(high >>> 0).toString(16).padStart(8, "0")}${(low >>> 0).toString(16).padStart(8, "0")}`
}

/**
 * Runs the event store's hottest statements on the `PgPool` directly when there is one (see
 * `PgPool`), and through `@effect/sql` otherwise (or inside one of its transactions).
 *
 * On the direct path a statement is one `Effect.async` step: the connection, the round trip and
 * what the caller makes of the rows (`complete`), with no span, scope or per-statement
 * bookkeeping. At one append at a time every step an append takes comes out of its latency:
 * with the statement compiled per call and its error and rows mapped in steps of their own, an
 * append took 304–319 µs of main-thread CPU; as one step with its text written once, 262–273 µs
 * (1-event appends at concurrency 1 on embedded PostgreSQL 17, three processes each). The same
 * statement through `pool.query` alone takes ~110 µs: the rest is the `EventStore` around it.
 */
import { SqlError } from "@effect/sql/SqlError"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Fiber, Tracer } from "effect"
import { Cause, Context, Effect, FiberRef, Option, RuntimeFlags } from "effect"
import type pg from "pg"
import { PgPool } from "../PgPool.js"

/**
 * What a statement's caller makes of its outcome: its rows, or the `SqlError` it failed with
 * (then `rows` is empty).
 */
export type Complete<Row, A, E> = (error: SqlError | undefined, rows: ReadonlyArray<Row>) => Effect.Effect<A, E>

/**
 * Runs statements of PostgreSQL text with `$1, $2, …` placeholders.
 */
export interface Runner {
  /**
   * Runs `text` with `values` and continues with `complete`. Through `@effect/sql` its span
   * nests under `parent` when given (the direct path creates no span).
   */
  readonly query: <Row, A, E>(
    text: string,
    values: ReadonlyArray<unknown>,
    complete: Complete<Row, A, E>,
    parent?: Tracer.Span
  ) => Effect.Effect<A, E>
}

const noRows: ReadonlyArray<never> = []

/** The `Complete` that keeps the rows, or fails with the `SqlError`. */
export const rowsOrFailure = <Row>(error: SqlError | undefined, rows: ReadonlyArray<Row>): Effect.Effect<ReadonlyArray<Row>, SqlError> =>
  error === undefined ? Effect.succeed(rows) : Effect.fail(error)

/**
 * A runner over the `SqlClient` in the context, and over the `PgPool` directly when the context
 * has one and the fiber is not inside an `@effect/sql` transaction. The rows come back as
 * node-postgres parses them either way (the client must be one without name transforms), and
 * errors are `SqlError`s.
 *
 * With `prepare`, a direct statement is a named prepared statement (named after its text), so
 * each connection parses and plans it once instead of on every run: ~55 µs less per append
 * (an append's round trip took 449 µs unnamed and 394 µs named, embedded PostgreSQL 17).
 */
export const makeRunner = (options: { readonly prepare: boolean }): Effect.Effect<Runner, never, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const pool = yield* Effect.serviceOption(PgPool)

    const viaClient = <Row, A, E>(
      text: string,
      values: ReadonlyArray<unknown>,
      complete: Complete<Row, A, E>,
      parent?: Tracer.Span
    ): Effect.Effect<A, E> => {
      const statement = sql.unsafe<Row & object>(text, values)
      return Effect.matchEffect(parent === undefined ? statement : Effect.withParentSpan(statement, parent), {
        onFailure: (error) => complete(error, noRows),
        onSuccess: (rows) => complete(undefined, rows)
      })
    }

    if (Option.isNone(pool)) return { query: viaClient }

    const direct = directQuery(pool.value, options.prepare)
    const query: Runner["query"] = (text, values, complete, parent) =>
      Effect.withFiberRuntime((fiber, status) =>
        Context.getOption(fiber.currentContext, SqlClient.TransactionConnection)._tag === "Some"
          ? viaClient(text, values, complete, parent)
          // An interruptible fiber can be interrupted while it waits for the pool: watch it.
          : direct(text, values, complete, RuntimeFlags.interruptible(status.runtimeFlags) ? fiber : undefined)
      )
    return { query }
  })

/**
 * One statement on a pooled connection, then `complete`, in a single step. The connection goes
 * back to the pool when the statement has finished, even if the fiber was interrupted meanwhile
 * (a connection handed back mid-statement would make its next user wait behind it).
 *
 * Interruption: an interruptible fiber stops waiting at once (Effect resumes it with the
 * interruption, and ignores the resumption that comes later); a statement whose `fiber` was
 * interrupted before it got a connection is not sent. That is checked on the fiber rather than
 * with a canceler: `Effect.async` wraps a canceler in an interruption handler, six more steps
 * on every statement.
 */
const directQuery = (pool: pg.Pool, prepare: boolean) => {
  // The event store's texts are few (one per statement and filter shape): each is named once.
  const names = new Map<string, string>()
  const nameOf = (text: string): string => {
    let name = names.get(text)
    if (name === undefined) {
      name = statementName(text)
      if (names.size < 1_000) names.set(text, name)
    }
    return name
  }
  return <Row, A, E>(
    text: string,
    values: ReadonlyArray<unknown>,
    complete: Complete<Row, A, E>,
    fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  ): Effect.Effect<A, E> =>
    Effect.async<A, E>((resume) => {
      const query: pg.QueryConfig = prepare
        ? { name: nameOf(text), text, values: values as Array<unknown> }
        : { text, values: values as Array<unknown> }
      pool.connect((connectError, client, release) => {
        if (connectError || !client) {
          resume(complete(new SqlError({ cause: connectError, message: "Failed to acquire connection" }), noRows))
          return
        }
        if (fiber !== undefined && !Cause.isEmpty(fiber.getFiberRef(FiberRef.interruptedCause))) return release()
        // A connection that breaks mid-statement emits "error" besides failing the statement.
        let broken: unknown = undefined
        const onError = (cause: unknown) => void (broken = cause)
        client.on("error", onError)
        client.query(query, (error: Error | null | undefined, result: pg.QueryResult) => {
          client.off("error", onError)
          // The pool discards a connection released with an error.
          release(broken === undefined ? undefined : broken as Error)
          resume(
            error === null || error === undefined
              ? complete(undefined, result.rows as ReadonlyArray<Row>)
              : complete(new SqlError({ cause: error, message: "Failed to execute statement" }), noRows)
          )
        })
      })
    })
}

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
